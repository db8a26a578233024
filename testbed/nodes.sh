#!/usr/bin/env bash
# Real nodes for the test bed (HTD_NODES_MODE=real): a network namespace of the bed's own, and in
# it containerd + runc + CNI bridge and a kubelet per node, one kube-proxy (nftables), CoreDNS,
# a CNCF Distribution registry that stands where GHCR stands, Pebble (ACME) and the Kafka broker
# (SASL_SSL) the pods publish to. testbed/cluster.sh calls this;
# the control plane (kwokctl, kwok controller disabled) runs in the same namespace.
#
#   testbed/nodes.sh net-up      create the namespace and its one veth pair (stale leftovers go first)
#   testbed/nodes.sh up          registry, runtimes, kubelets, kube-proxy, CoreDNS (control plane up)
#   testbed/nodes.sh down        stop all of it; no process, mount, cgroup, veth or namespace stays
#   testbed/nodes.sh status      exit 0 when the namespace and every node process are up
#   testbed/nodes.sh env         the addresses as KEY=VALUE (also written to $HTD_STATE/nodes/env)
#   testbed/nodes.sh leftovers   list what `down` would have to remove (empty when clean)
#   testbed/nodes.sh foreign     print the state directory of ANOTHER bed that owns this name's
#                                nodes and is still up (exit 0), else exit 1: `down` leaves those
#
# Network rule: nothing leaves the namespace. It has no default route and no NAT; the host reaches
# it through one veth pair (host 10.213.0.1, namespace 10.213.0.2) and, for Services, a route to
# the Service range through that pair. Pods and Services use private ranges known only inside.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
HTD_STATE=${HTD_STATE:-$root/.testbed}
NAME=${HTD_CLUSTER_NAME:-htd}
NETNS=${HTD_NETNS:-$NAME}
NODES=${HTD_NODES:-2}
API_PORT=${HTD_APISERVER_PORT:-36443}
NET=${HTD_BED_NET:-10.213.0}              # a /24: .1 host end, .2 namespace end, .11.. nodes
HOST_IP=$NET.1 BED_IP=$NET.2
POD_CIDR=${HTD_POD_CIDR:-10.244.0.0/16} POD_GW=${HTD_POD_GW:-10.244.0.1}
SVC_CIDR=${HTD_SERVICE_CIDR:-10.96.0.0/16} DNS_IP=${HTD_DNS_IP:-10.96.0.10}
API_SERVICE_IP=${HTD_API_SERVICE_IP:-10.96.0.1}   # the `kubernetes` Service: first address of SVC_CIDR
REGISTRY_PORT=${HTD_REGISTRY_PORT:-5000}
# The bed's public DNS (Pebble's challenge test server) for the reserved `.test` names (RFC 6761)
# the local inventory uses, and Pebble, Let's Encrypt's ACME test server.
PUBLIC_DNS_PORT=${HTD_PUBLIC_DNS_PORT:-8053} PUBLIC_DNS_API_PORT=${HTD_PUBLIC_DNS_API_PORT:-8055}
ACME_PORT=${HTD_ACME_PORT:-14000} ACME_MANAGEMENT_PORT=${HTD_ACME_MANAGEMENT_PORT:-15000}
CLUSTER_DOMAIN=cluster.local
bin="$root/.tools/bin"
export PATH="$bin:$PATH"
state="$HTD_STATE/nodes"
run="/run/htd/$NAME"                      # sockets (short paths) and containerd state
cgroot="htd-$NAME"                        # cgroup parent of every node's pods
pki="$HTD_STATE/kwok/clusters/$NAME/pki"  # the control plane's CA (kwokctl)
hostveth="${NETNS:0:11}-h0"
owner="$run/owner"                        # the state directory of the bed whose nodes these are
kubeconfig="$HTD_STATE/kubeconfig"

log() { printf '[nodes] %s\n' "$*"; }
die() { printf 'nodes: %s\n' "$*" >&2; exit 1; }
inns() { nsenter --net="/run/netns/$NETNS" "$@"; }   # only the network: /sys keeps its cgroup mounts
node_ip() { echo "$NET.$((10 + $1))"; }
node_name() { echo "$NAME-node-$1"; }
kctl() { kubectl --kubeconfig "$kubeconfig" "$@"; }

# start NAME CMD...: a supervised background process in the namespace (pidfile, log file).
start() {
  local name=$1; shift
  mkdir -p "$state/pids" "$state/logs"
  inns setsid "$@" >"$state/logs/$name.log" 2>&1 < /dev/null &
  echo $! > "$state/pids/$name.pid"
}
# wait_for WHAT SECONDS CMD...: poll CMD every 0.2 s, at most SECONDS.
wait_for() {
  local what=$1 secs=$2 i; shift 2
  for ((i = 0; i < secs * 5; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  die "$what not ready after ${secs}s (logs in $state/logs/)"
}

write_env() {
  mkdir -p "$state"
  cat > "$state/env" <<ENV
HTD_NETNS=$NETNS
HTD_BED_HOST_IP=$HOST_IP
HTD_BED_IP=$BED_IP
HTD_POD_CIDR=$POD_CIDR
HTD_SERVICE_CIDR=$SVC_CIDR
HTD_API_SERVICE_IP=$API_SERVICE_IP
HTD_DNS_IP=$DNS_IP
HTD_REGISTRY=$BED_IP:$REGISTRY_PORT
HTD_REGISTRY_URL=https://$BED_IP:$REGISTRY_PORT
HTD_REGISTRY_CA=$state/pki/ca.crt
HTD_REGISTRY_USER_FILE=$state/registry/username
HTD_REGISTRY_PASSWORD_FILE=$state/registry/password
HTD_NODES=$NODES
HTD_PUBLIC_DNS=$BED_IP:$PUBLIC_DNS_PORT
HTD_PUBLIC_DNS_API=http://$BED_IP:$PUBLIC_DNS_API_PORT
HTD_ACME_DIRECTORY=https://$BED_IP:$ACME_PORT/dir
HTD_ACME_CA=$state/pki/ca.crt
HTD_ACME_ROOTS=$state/acme/roots.pem
ENV
  cat "$state/env"
}

# --- the namespace -------------------------------------------------------------------------------
# Another bed's state directory when the nodes of this name are that bed's and it is still up
# (its state has them): a second bed must never take them down (set HTD_CLUSTER_NAME instead).
foreign() {
  local o; o=$(cat "$owner" 2>/dev/null) || return 1
  [[ -n $o && $o != "$HTD_STATE" && -d $o/nodes ]] || return 1
  echo "$o"
}
refuse_foreign() {
  local o; o=$(foreign) || return 0
  die "the real nodes named $NAME (namespace $NETNS) belong to the bed in $o, which is up: not touched; give this bed another HTD_CLUSTER_NAME"
}

net_up() {
  refuse_foreign
  net_down_quiet
  ip netns add "$NETNS"
  mkdir -p "$run"; echo "$HTD_STATE" > "$owner"
  inns ip link set lo up
  ip link add "$hostveth" type veth peer name eth0 netns "$NETNS"
  ip addr add "$HOST_IP/24" dev "$hostveth"
  ip link set "$hostveth" up
  inns ip addr add "$BED_IP/24" dev eth0
  local i; for ((i = 1; i <= NODES; i++)); do inns ip addr add "$(node_ip "$i")/32" dev eth0; done
  inns ip link set eth0 up
  # Locally started connections to a ClusterIP (the API server calling a webhook or an
  # aggregated API) need a route before kube-proxy's DNAT rewrites them: it points at the pods'
  # bridge, made here already (the CNI bridge plugin adopts it).
  inns ip link add htdcni0 type bridge
  inns ip link set htdcni0 up
  inns ip route add "$SVC_CIDR" dev htdcni0
  # Routing between pods, Services and the host end happens inside; no default route, no NAT.
  inns sysctl -qw net.ipv4.ip_forward=1
  modprobe br_netfilter 2>/dev/null || true
  [[ -e /proc/sys/net/bridge/bridge-nf-call-iptables ]] \
    || die "br_netfilter is not available (bridged pod traffic must pass kube-proxy's rules)"
  inns sysctl -qw net.bridge.bridge-nf-call-iptables=1
  # The host reaches ClusterIPs through the pair (kube-proxy answers them in the namespace).
  ip route replace "$SVC_CIDR" via "$BED_IP" dev "$hostveth"
  log "network namespace $NETNS: host $HOST_IP <-> $BED_IP, nodes $(node_ip 1)..$(node_ip "$NODES"), no route out"
}
net_down_quiet() {
  ip link del "$hostveth" 2>/dev/null || true
  # only this bed's route (through its own veth): another bed may route the same range
  ip route del "$SVC_CIDR" via "$BED_IP" dev "$hostveth" 2>/dev/null || true
  if [[ -e "/run/netns/$NETNS" ]]; then ip netns del "$NETNS" 2>/dev/null || true; fi
}

# --- the bed's CA, and certificates it signs --------------------------------------------------
bed_ca() {
  mkdir -p "$state/pki"
  [[ -f "$state/pki/ca.crt" ]] && return 0
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 \
    -subj "/CN=htd test bed CA ($NAME)" -keyout "$state/pki/ca.key" -out "$state/pki/ca.crt" 2>/dev/null
  chmod 600 "$state/pki/ca.key"
}
# sign DIR NAME CA_PREFIX SUBJECT [SAN]: DIR/NAME.{crt,key} signed by CA_PREFIX.{crt,key}.
sign() {
  local dir=$1 name=$2 ca=$3 subj=$4 san=${5:-}
  mkdir -p "$dir"
  local ext; ext=$(mktemp)
  { echo "basicConstraints=CA:FALSE"; echo "keyUsage=digitalSignature,keyEncipherment"
    if [[ -n $san ]]; then echo "extendedKeyUsage=serverAuth"; echo "subjectAltName=$san"
    else echo "extendedKeyUsage=clientAuth"; fi; } > "$ext"
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "$subj" \
    -keyout "$dir/$name.key" -out "$dir/$name.csr" 2>/dev/null
  openssl x509 -req -in "$dir/$name.csr" -CA "$ca.crt" -CAkey "$ca.key" -CAcreateserial \
    -days 365 -extfile "$ext" -out "$dir/$name.crt" 2>/dev/null
  rm -f "$dir/$name.csr" "$ext"; chmod 600 "$dir/$name.key"
}
# client_kubeconfig FILE CERT_PREFIX: a kubeconfig for the API server inside the namespace.
client_kubeconfig() {
  cat > "$1" <<YAML
apiVersion: v1
kind: Config
clusters:
- name: bed
  cluster: {server: "https://$BED_IP:$API_PORT", certificate-authority: "$pki/ca.crt"}
users:
- name: u
  user: {client-certificate: "$2.crt", client-key: "$2.key"}
contexts:
- name: bed
  context: {cluster: bed, user: u}
current-context: bed
YAML
  chmod 600 "$1"
}

# --- the registry (CNCF Distribution) ------------------------------------------------------------
registry_up() {
  local d="$state/registry"
  mkdir -p "$d/data"
  sign "$d" tls "$state/pki/ca" "/CN=registry.$NAME.test" "IP:$BED_IP,DNS:registry.$NAME.test"
  if [[ ! -f "$d/password" ]]; then
    echo htd-registry > "$d/username"
    (umask 077; python3 -c 'import secrets; print(secrets.token_urlsafe(24))' > "$d/password")
  fi
  python3 -W ignore -c 'import crypt,sys; u,p=sys.argv[1],open(sys.argv[2]).read().strip(); print(u+":"+crypt.crypt(p, crypt.mksalt(crypt.METHOD_BLOWFISH)))' \
    "$(cat "$d/username")" "$d/password" > "$d/htpasswd"
  cat > "$d/config.yml" <<YAML
version: 0.1
log: {level: info, formatter: text, accesslog: {disabled: false}}
storage:
  filesystem: {rootdirectory: "$d/data"}
  delete: {enabled: true}
http:
  addr: "$BED_IP:$REGISTRY_PORT"
  tls: {certificate: "$d/tls.crt", key: "$d/tls.key"}
  debug: {addr: "", prometheus: {enabled: false}}
auth:
  htpasswd: {realm: htd-registry, path: "$d/htpasswd"}
YAML
  OTEL_TRACES_EXPORTER=none start registry registry serve "$d/config.yml"
  wait_for "registry" 20 curl -s --cacert "$state/pki/ca.crt" -o /dev/null "https://$BED_IP:$REGISTRY_PORT/v2/"
}

# --- public DNS and the ACME CA (Pebble) ------------------------------------------------------
# On DigitalOcean the platform role writes the hosts' A records and Let's Encrypt validates
# HTTP-01 over the internet. In the namespace: pebble-challtestsrv is the public DNS (no default
# answer; testbed/nodes/load_balancers.py publishes each Ingress host at the address in the
# Ingress's status, as ExternalDNS would), CoreDNS forwards `.test` to it, and Pebble validates
# through it: real HTTP-01 through the load balancer and the ingress controller.
acme_up() {
  local d="$state/acme"
  mkdir -p "$d"
  start public-dns pebble-challtestsrv -defaultIPv4 "" -defaultIPv6 "" \
    -dnsserver "$BED_IP:$PUBLIC_DNS_PORT" -management "$BED_IP:$PUBLIC_DNS_API_PORT" \
    -http01 "" -https01 "" -tlsalpn01 "" -doh ""
  sign "$d" tls "$state/pki/ca" "/CN=acme.$NAME.test" "IP:$BED_IP,DNS:acme.$NAME.test"
  cat > "$d/pebble.json" <<JSON
{"pebble": {
  "listenAddress": "$BED_IP:$ACME_PORT", "managementListenAddress": "$BED_IP:$ACME_MANAGEMENT_PORT",
  "certificate": "$d/tls.crt", "privateKey": "$d/tls.key",
  "httpPort": 80, "tlsPort": 443, "ocspResponderURL": "", "externalAccountBindingRequired": false,
  "retryAfter": {"authz": 1, "order": 1},
  "profiles": {"default": {"description": "90 days, as Let's Encrypt", "validityPeriod": 7776000}}
}}
JSON
  # Real validation (never "always valid"), no artificial sleeps; nonces rejected only when stale.
  start acme env PEBBLE_VA_NOSLEEP=1 PEBBLE_VA_ALWAYS_VALID=0 PEBBLE_WFE_NONCEREJECT=0 \
    pebble -config "$d/pebble.json" -dnsserver "$BED_IP:$PUBLIC_DNS_PORT" -strict
  wait_for "public DNS" 20 curl -s -o /dev/null "http://$BED_IP:$PUBLIC_DNS_API_PORT/"
  wait_for "Pebble" 20 curl -sf --cacert "$state/pki/ca.crt" -o /dev/null "https://$BED_IP:$ACME_PORT/dir"
  # The roots Pebble issues under (new at every start): what clients of the bed's HTTPS trust.
  curl -sf --cacert "$state/pki/ca.crt" "https://$BED_IP:$ACME_MANAGEMENT_PORT/roots/0" > "$d/roots.pem"
}

# --- the broker: the bed's Apache Kafka (testbed/kafka.sh), in the namespace where the pods reach it --
# SASL_SSL with a certificate from the bed's CA, as Redpanda serves it; its state stays where
# kafka.sh keeps it ($HTD_STATE/kafka), so the local inventory and the tests find it as on kwok.
broker_up() {
  sign "$state/kafka" tls "$state/pki/ca" "/CN=kafka.$NAME.test" "IP:$BED_IP,DNS:kafka.$NAME.test"
  HTD_KAFKA_NETNS=$NETNS HTD_KAFKA_HOST=$BED_IP HTD_KAFKA_TLS_CA="$state/pki/ca.crt" \
    HTD_KAFKA_TLS_CERT="$state/kafka/tls.crt" HTD_KAFKA_TLS_KEY="$state/kafka/tls.key" \
    bash "$here/kafka.sh" up | sed 's/^/[nodes] /'
}
broker_down() {
  if grep -qs "^HTD_KAFKA_BOOTSTRAP=$BED_IP:" "$HTD_STATE/kafka/env"; then
    bash "$here/kafka.sh" down >/dev/null
  fi
}

# --- images the bed provides itself: pause, CoreDNS, ..., and the platform programs -----------
system_images() { python3 "$here/images/build.py" system; python3 "$here/images/build.py" platform; }

# --- nodes: containerd + kubelet each -------------------------------------------------------------
cni_config() {
  mkdir -p "$state/cni/net.d" "$state/cni/ipam"
  cat > "$state/cni/net.d/10-htd.conflist" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "htd",
  "plugins": [
    {
      "type": "bridge", "bridge": "htdcni0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
      "ipam": {
        "type": "host-local", "dataDir": "$state/cni/ipam",
        "ranges": [[{"subnet": "$POD_CIDR", "gateway": "$POD_GW"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    }
  ]
}
JSON
}

containerd_config() {  # N
  local n=$1 d="$state/n$1" r="$run/n$1"
  mkdir -p "$d/containerd" "$r" "$state/certs.d/ghcr.io"
  cat > "$d/containerd.toml" <<TOML
version = 3
root = "$d/containerd"
state = "$r/containerd"
disabled_plugins = ["io.containerd.nri.v1.nri"]
[grpc]
  address = "$r/containerd.sock"
[ttrpc]
  address = "$r/containerd.sock.ttrpc"
[plugins."io.containerd.cri.v1.runtime"]
  netns_mounts_under_state_dir = true
  enable_unprivileged_ports = true
  # This machine withholds CAP_SYS_RESOURCE: oom_score_adj can rise but never fall below ours
  # (0). Kubelet asks -998 for sandboxes; unrestricted, runc init fails every one ("can't get
  # final child's PID from pipe: EOF" ... "failed to update /proc/self/oom_score_adj").
  restrict_oom_score_adj = true
[plugins."io.containerd.cri.v1.runtime".containerd]
  default_runtime_name = "runc"
[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
  BinaryName = "$bin/runc"
  SystemdCgroup = false
[plugins."io.containerd.cri.v1.runtime".cni]
  bin_dirs = ["$root/.tools/cni-plugins/bin"]
  conf_dir = "$state/cni/net.d"
[plugins."io.containerd.cri.v1.images"]
  snapshotter = "overlayfs"
[plugins."io.containerd.cri.v1.images".pinned_images]
  sandbox = "registry.k8s.io/pause:3.10"
[plugins."io.containerd.cri.v1.images".registry]
  config_path = "$state/certs.d"
[plugins."io.containerd.grpc.v1.cri"]
  stream_server_address = "$(node_ip "$n")"
TOML
}

# GHCR's name, served by the bed's registry: pulls of ghcr.io/... go to it, with the bed's CA.
registry_mirror() {
  mkdir -p "$state/certs.d/ghcr.io"
  cat > "$state/certs.d/ghcr.io/hosts.toml" <<TOML
server = "https://ghcr.io"
[host."https://$BED_IP:$REGISTRY_PORT"]
  capabilities = ["pull", "resolve"]
  ca = "$state/pki/ca.crt"
  override_path = false
TOML
}

kubelet_config() {  # N
  local n=$1 d="$state/n$1" ip; ip=$(node_ip "$1")
  local name; name=$(node_name "$n")
  sign "$d/pki" kubelet-client "$pki/ca" "/O=system:nodes/CN=system:node:$name"
  client_kubeconfig "$d/kubeconfig" "$d/pki/kubelet-client"
  # Pods' upstream resolver: none (CoreDNS answers cluster names; nothing is forwarded out).
  : > "$state/resolv.conf"
  local c
  for c in /sys/fs/cgroup/*/; do
    [[ -e "$c/cgroup.procs" && ! -e "$c/cgroup.subtree_control" ]] && mkdir -p "$c/$cgroot/n$n"
  done
  cat > "$d/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: "$ip"
port: 10250
readOnlyPort: 0
healthzBindAddress: "$ip"
healthzPort: 10248
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: "$pki/ca.crt"}
authorization: {mode: Webhook}
cgroupDriver: cgroupfs
cgroupRoot: "/$cgroot/n$n"
cgroupsPerQOS: true
# The machines' cgroup v1 hierarchy (hybrid): kubelet 1.36 refuses it unless told.
failCgroupV1: false
failSwapOn: false
containerRuntimeEndpoint: "unix://$run/n$n/containerd.sock"
clusterDNS: ["$DNS_IP"]
clusterDomain: $CLUSTER_DOMAIN
resolvConf: "$state/resolv.conf"
podLogsDir: "$d/pod-logs"
maxPods: 110
serializeImagePulls: false
# The nodes share the host's disk: evict only when it is really short.
evictionHard: {memory.available: "200Mi", nodefs.available: "2%", imagefs.available: "2%"}
imageGCHighThresholdPercent: 98
imageGCLowThresholdPercent: 95
protectKernelDefaults: false
enforceNodeAllocatable: [pods]
shutdownGracePeriod: 0s
# Our own oom_score_adj may not fall below 0 here (no CAP_SYS_RESOURCE).
oomScoreAdj: 0
YAML
}

node_up() {  # N
  local n=$1 d="$state/n$1"
  containerd_config "$n"
  kubelet_config "$n"
  start "containerd-n$n" env PATH="$bin:$PATH" containerd --config "$d/containerd.toml"
  wait_for "containerd n$n" 20 ctr --address "$run/n$n/containerd.sock" version
  local img; for img in $system_images; do
    ctr --address "$run/n$n/containerd.sock" -n k8s.io images import "$img" >"$state/logs/import-n$n.log" 2>&1 \
      || die "importing $img into n$n failed: $(tail -3 "$state/logs/import-n$n.log")"
  done
  start "kubelet-n$n" env PATH="$bin:$PATH" kubelet --config "$d/kubelet.yaml" \
    --kubeconfig "$d/kubeconfig" --root-dir "$d/kubelet" --cert-dir "$d/pki" \
    --hostname-override "$(node_name "$n")" --node-ip "$(node_ip "$n")" \
    --node-labels "testbed.hackathon-todo.dev/node-mode=real"
}

kube_proxy_up() {
  local d="$state/kube-proxy"
  sign "$d" client "$pki/ca" "/CN=system:kube-proxy"
  client_kubeconfig "$d/kubeconfig" "$d/client"
  # One kube-proxy for the shared namespace: the nodes' netfilter is one and the same.
  cat > "$d/config.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: nftables
clientConnection: {kubeconfig: "$d/kubeconfig"}
hostnameOverride: "$(node_name 1)"
bindAddress: "$BED_IP"
healthzBindAddress: "$BED_IP:10256"
metricsBindAddress: "$BED_IP:10249"
clusterCIDR: "$POD_CIDR"
nodePortAddresses: ["$NET.0/24"]
# Leave the host's conntrack sysctls alone (they are not per namespace).
conntrack: {maxPerCore: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
YAML
  start kube-proxy env PATH="$bin:$PATH" kube-proxy --config "$d/config.yaml"
}

coredns_up() {
  sed -e "s/@DNS_IP@/$DNS_IP/g" -e "s/@DOMAIN@/$CLUSTER_DOMAIN/g" \
    -e "s/@PUBLIC_DNS@/$BED_IP:$PUBLIC_DNS_PORT/g" "$here/nodes/coredns.yaml" | kctl apply -f - >/dev/null
  kctl -n kube-system rollout status deployment/coredns --timeout=120s >/dev/null \
    || die "CoreDNS did not become ready: $(kctl -n kube-system get pods -l k8s-app=kube-dns -o wide 2>&1)"
}

# metrics-server as upstream deploys it (the module's own kustomize base), in an image of the
# bed's; the kubelets serve self-signed certificates, hence --kubelet-insecure-tls.
metrics_server_up() {
  local d="$state/metrics-server"
  mkdir -p "$d"; cp -r "$root/.tools/metrics-server/manifests" "$d/base"; chmod -R u+w "$d/base"
  cat > "$d/kustomization.yaml" <<YAML
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [base]
images:
  - {name: gcr.io/k8s-staging-metrics-server/metrics-server, newName: registry.k8s.io/metrics-server/metrics-server, newTag: htd}
patches:
  - target: {kind: Deployment, name: metrics-server}
    patch: |
      - {op: add, path: /spec/template/spec/containers/0/args/-, value: --kubelet-insecure-tls}
      - {op: replace, path: /spec/template/spec/containers/0/imagePullPolicy, value: Never}
YAML
  kctl apply -k "$d" >/dev/null
  kctl -n kube-system rollout status deployment/metrics-server --timeout=120s >/dev/null \
    || die "metrics-server did not become ready: $(kctl -n kube-system get pods -l k8s-app=metrics-server -o wide 2>&1)"
}

up() {
  [[ -e "/run/netns/$NETNS" ]] || die "network namespace $NETNS missing: run net-up first (cluster.sh up does)"
  for b in kubelet kube-proxy containerd containerd-shim-runc-v2 ctr runc registry coredns nft \
           traefik cert-manager pebble pebble-challtestsrv daprd dapr-operator dapr-sentry \
           dapr-placement dapr-scheduler dapr-injector; do
    [[ -x "$bin/$b" ]] || die "$bin/$b missing; run: make toolchain"
  done
  write_env >/dev/null
  bed_ca
  registry_up
  acme_up
  broker_up &
  local broker=$!
  registry_mirror
  cni_config
  system_images=$(system_images)
  local i; for ((i = 1; i <= NODES; i++)); do node_up "$i"; done
  kube_proxy_up
  kctl wait --for=condition=Ready node --all --timeout=120s >/dev/null \
    || die "nodes not Ready: $(kctl get nodes 2>&1) (logs in $state/logs/)"
  # DigitalOcean's cloud controller, for load balancers: a stand-in (testbed/nodes/load_balancers.py).
  start load-balancers python3 "$here/nodes/load_balancers.py" "$kubeconfig" "$NETNS" "$state/"
  # The hosts' public DNS records: a stand-in (testbed/nodes/public_dns.py).
  start public-dns-records python3 "$here/nodes/public_dns.py" "$kubeconfig" \
    "http://$BED_IP:$PUBLIC_DNS_API_PORT" "$state/"
  coredns_up
  metrics_server_up
  wait "$broker" || die "the broker did not start (kafka.sh; logs in $HTD_STATE/kafka/)"
  log "$NODES real nodes Ready; registry https://$BED_IP:$REGISTRY_PORT (ghcr.io), DNS $DNS_IP"
}

# --- down: nothing stays ---------------------------------------------------------------------------
pids_under() {  # every process whose command line names our state or run directory
  local p
  for p in /proc/[0-9]*; do
    [[ -r $p/cmdline ]] || continue
    if tr '\0' ' ' < "$p/cmdline" 2>/dev/null | grep -qF -e "$state/" -e "$run/"; then echo "${p#/proc/}"; fi
  done
}
cgroup_pids() {
  local c; for c in /sys/fs/cgroup/*/"$cgroot"; do
    [[ -d $c ]] && find "$c" -name cgroup.procs -exec cat {} + 2>/dev/null
  done
}
our_mounts() { awk -v a="$state/" -v b="$run/" 'index($2, a) == 1 || index($2, b) == 1 {print $2}' /proc/self/mounts | sort -r; }

down() {
  local f
  refuse_foreign
  broker_down
  for f in "$state"/pids/*.pid; do
    if [[ -f $f ]]; then kill "$(cat "$f")" 2>/dev/null || true; fi
  done
  sleep 0.5
  local p; for p in $(pids_under) $(cgroup_pids); do kill -9 "$p" 2>/dev/null || true; done
  for _ in $(seq 1 50); do [[ -z "$(pids_under)$(cgroup_pids)" ]] && break; sleep 0.1; done
  local m; for m in $(our_mounts); do umount -l "$m" 2>/dev/null || true; done
  local c; for c in /sys/fs/cgroup/*/"$cgroot"; do
    if [[ -d $c ]]; then find "$c" -depth -type d -exec rmdir {} + 2>/dev/null || true; fi
  done
  net_down_quiet
  rm -rf "$state" "$run"
  local left; left=$(leftovers)
  [[ -z $left ]] || die "left behind after down: $left"
}

status() {  # the namespace is there and every process the bed started is alive
  [[ -e "/run/netns/$NETNS" && -d "$state/pids" ]] || return 1
  local f; for f in "$state"/pids/*.pid; do kill -0 "$(cat "$f")" 2>/dev/null || return 1; done
}

leftovers() {
  local out=()
  [[ -n "$(pids_under)" ]] && out+=("processes: $(pids_under | tr '\n' ' ')")
  [[ -n "$(cgroup_pids)" ]] && out+=("processes in cgroups")
  [[ -n "$(our_mounts)" ]] && out+=("mounts: $(our_mounts | tr '\n' ' ')")
  compgen -G "/sys/fs/cgroup/*/$cgroot" >/dev/null && out+=("cgroups /sys/fs/cgroup/*/$cgroot")
  [[ -e "/run/netns/$NETNS" ]] && out+=("network namespace $NETNS")
  ip link show "$hostveth" >/dev/null 2>&1 && out+=("veth $hostveth")
  [[ -e $state || -e $run ]] && out+=("state $state $run")
  printf '%s\n' "${out[@]}" | sed '/^$/d'
}

case ${1:-} in
  net-up) net_up ;;
  up) up ;;
  down) down ;;
  env) write_env ;;
  status) status ;;
  leftovers) leftovers ;;
  foreign) foreign ;;
  *) echo "usage: $0 net-up|up|down|status|env|leftovers|foreign" >&2; exit 2 ;;
esac
