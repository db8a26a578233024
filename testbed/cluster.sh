#!/usr/bin/env bash
# The local Kubernetes test bed: real kube-apiserver, kube-controller-manager, kube-scheduler and
# etcd (built by testbed/toolchain.sh), and nodes of one of two kinds (HTD_NODES_MODE):
#   real  real kubelets, containerd + runc, CNI bridge, kube-proxy, CoreDNS and an OCI registry,
#         all inside a network namespace of the bed's own (testbed/nodes.sh): containers run;
#   kwok  kwok plays the kubelets of simulated nodes: nothing runs, everything is fast.
#
#   testbed/cluster.sh up       create, or reuse the running cluster (no-op when up)
#   testbed/cluster.sh down     delete it: processes stopped, ports freed, state removed
#   testbed/cluster.sh status   exit 0 when the API server answers
#
# Kubeconfig: $HTD_STATE/kubeconfig (default .testbed/kubeconfig), context "kwok-htd".
# kwok mode: pod lifecycle comes from testbed/kwok/stages/ (label a pod
# testbed.hackathon-todo.dev/readiness=fail to keep it NotReady). metrics-server serves
# metrics.k8s.io from kwok's simulated usage (pod annotation kwok.x-k8s.io/usage-cpu), so real
# HorizontalPodAutoscalers scale.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
HTD_STATE=${HTD_STATE:-$root/.testbed}
NAME=${HTD_CLUSTER_NAME:-htd}
API_PORT=${HTD_APISERVER_PORT:-36443}
MODE=${HTD_NODES_MODE:-kwok}
case $MODE in real) NODES=${HTD_NODES:-2} ;; kwok) NODES=${HTD_NODES:-3} ;;
  *) echo "cluster: HTD_NODES_MODE must be real or kwok, not '$MODE'" >&2; exit 2 ;; esac
export HTD_NODES=$NODES
# Like a DOKS s-4vcpu-8gb node after system reservations: enough for both environments + platform.
NODE_CPU=${HTD_NODE_CPU:-4}
NODE_MEMORY=${HTD_NODE_MEMORY:-8Gi}
bin="$root/.tools/bin"
export KWOK_WORKDIR="$HTD_STATE/kwok" KWOK_KUBE_VERSION="$KUBERNETES_VERSION"
export PATH="$bin:$PATH"
kubeconfig="$HTD_STATE/kubeconfig"

kctl() { kubectl --kubeconfig "$kubeconfig" "$@"; }
api_up() { [[ -f "$kubeconfig" ]] && kctl get --raw /readyz >/dev/null 2>&1; }
running_mode() { if [[ -f "$HTD_STATE/nodes/env" ]]; then echo real; else echo kwok; fi; }
bed_up() { api_up && { [[ $(running_mode) == kwok ]] || bash "$here/nodes.sh" status; }; }

up() {
  if api_up && [[ $(running_mode) != "$MODE" ]]; then
    echo "cluster: a test bed with $(running_mode) nodes is running; HTD_NODES_MODE=$MODE wants $MODE nodes: run make testbed-down first" >&2
    exit 1
  fi
  if bed_up; then echo "cluster: already up ($(kctl version -o json | python3 -c 'import json,sys;print(json.load(sys.stdin)["serverVersion"]["gitVersion"])'), kubeconfig $kubeconfig)"; return 0; fi
  for b in kube-apiserver kube-controller-manager kube-scheduler etcd kwok kwokctl kubectl metrics-server; do
    [[ -x "$bin/$b" ]] || { echo "cluster: $bin/$b missing; run: make toolchain" >&2; exit 1; }
  done
  if [[ $MODE == real ]]; then up_real; return; fi
  if (exec 3<>"/dev/tcp/127.0.0.1/$API_PORT") 2>/dev/null; then
    echo "cluster: port $API_PORT is in use by another process; set HTD_APISERVER_PORT" >&2; exit 1
  fi
  local t0; t0=$(date +%s%N) stage_configs=()
  for f in "$here"/kwok/stages/*.yaml; do stage_configs+=(--config "$f"); done
  # metrics-server's RBAC and APIService come from the module's own kustomize base instead of a
  # download (kwokctl ignores KWOK_METRICS_SERVER_MANIFESTS: it cannot parse a list from env).
  mkdir -p "$HTD_STATE"
  cat > "$HTD_STATE/kwokctl-options.yaml" <<YAML
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokctlConfiguration
options:
  metricsServerManifests: ["$root/.tools/metrics-server/manifests"]
YAML
  stage_configs+=(--config "$HTD_STATE/kwokctl-options.yaml")
  # A cluster left half-made by a killed run is removed first: `up` always ends in a known state.
  kwokctl delete cluster --name "$NAME" >/dev/null 2>&1 || true
  mkdir -p "$HTD_STATE"; rm -f "$kubeconfig"
  kwokctl create cluster --name "$NAME" --runtime binary \
    --kube-apiserver-binary "$bin/kube-apiserver" \
    --kube-controller-manager-binary "$bin/kube-controller-manager" \
    --kube-scheduler-binary "$bin/kube-scheduler" \
    --kwok-controller-binary "$bin/kwok" \
    --etcd-binary "$bin/etcd" \
    --enable metrics-server --metrics-server-binary "$bin/metrics-server" \
    --kube-apiserver-port "$API_PORT" \
    --kube-authorization --kube-admission \
    "${stage_configs[@]}" \
    --kubeconfig "$kubeconfig" \
    --wait 60s --quiet-pull >"$HTD_STATE/kwokctl-create.log" 2>&1 \
    || { echo "cluster: kwokctl create failed:" >&2; tail -30 "$HTD_STATE/kwokctl-create.log" >&2; exit 1; }
  chmod 600 "$kubeconfig"
  kctl config use-context "kwok-$NAME" >/dev/null
  kwokctl scale node --name "$NAME" --replicas "$NODES" \
    --param ".allocatable.cpu=\"$NODE_CPU\"" --param ".allocatable.memory=\"$NODE_MEMORY\"" >/dev/null 2>&1
  kctl wait --for=condition=Ready node --all --timeout=60s >/dev/null
  # The default ServiceAccount appears shortly after a namespace; workloads need it.
  for _ in $(seq 1 100); do kctl -n default get serviceaccount default >/dev/null 2>&1 && break; sleep 0.1; done
  echo "cluster: up ($KUBERNETES_VERSION, $NODES nodes) in $(( ($(date +%s%N) - t0) / 1000000 )) ms; kubeconfig $kubeconfig"
}

# Real nodes: the control plane runs inside the bed's network namespace, without kwok's
# controller; the host reaches the API server at the namespace's end of the veth pair. The
# controller manager acts as each controller's own service account, as kubeadm and DOKS run it
# (Dapr's injector only gives sidecars to pods the workload controllers' accounts create).
up_real() {
  local t0; t0=$(date +%s%N)
  kwokctl delete cluster --name "$NAME" >/dev/null 2>&1 || true
  rm -rf "${KWOK_WORKDIR:?}/clusters/$NAME"
  bash "$here/nodes.sh" down >/dev/null 2>&1 || true
  bash "$here/nodes.sh" net-up
  # shellcheck disable=SC1090  # KEY=VALUE lines: the namespace's addresses
  source <(bash "$here/nodes.sh" env)
  mkdir -p "$HTD_STATE"; rm -f "$kubeconfig"
  local pki="$KWOK_WORKDIR/clusters/$NAME/pki"
  cat > "$HTD_STATE/kwokctl-options.yaml" <<YAML
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokctlConfiguration
options:
  bindAddress: 0.0.0.0
  kubeApiserverCertSANs: ["$HTD_BED_IP", "$HTD_API_SERVICE_IP"]
# Here, not as --extra-args: kwokctl (KWOK_VERSION) indexes a second --extra-args of one component wrongly
# once another component's came first (index out of range), so one component per source.
componentsPatches:
  - name: kube-controller-manager
    extraArgs:
      - {key: service-cluster-ip-range, value: "$HTD_SERVICE_CIDR"}
      - {key: use-service-account-credentials, value: "true"}
YAML
  nsenter --net="/run/netns/$HTD_NETNS" kwokctl create cluster --name "$NAME" --runtime binary \
    --kube-apiserver-binary "$bin/kube-apiserver" \
    --kube-controller-manager-binary "$bin/kube-controller-manager" \
    --kube-scheduler-binary "$bin/kube-scheduler" \
    --kwok-controller-binary "$bin/kwok" --disable kwok-controller \
    --etcd-binary "$bin/etcd" \
    --kube-apiserver-port "$API_PORT" \
    --kube-authorization --kube-admission \
    --extra-args "kube-apiserver=advertise-address=$HTD_BED_IP" \
    --extra-args "kube-apiserver=service-cluster-ip-range=$HTD_SERVICE_CIDR" \
    --extra-args "kube-apiserver=kubelet-client-certificate=$pki/admin.crt" \
    --extra-args "kube-apiserver=kubelet-client-key=$pki/admin.key" \
    --extra-args "kube-apiserver=kubelet-preferred-address-types=InternalIP" \
    --extra-args "kube-apiserver=requestheader-client-ca-file=$pki/ca.crt" \
    --extra-args "kube-apiserver=requestheader-allowed-names=kwok-admin" \
    --extra-args "kube-apiserver=requestheader-username-headers=X-Remote-User" \
    --extra-args "kube-apiserver=requestheader-group-headers=X-Remote-Group" \
    --extra-args "kube-apiserver=requestheader-extra-headers-prefix=X-Remote-Extra-" \
    --config "$HTD_STATE/kwokctl-options.yaml" \
    --kubeconfig "$kubeconfig" \
    --wait 60s --quiet-pull >"$HTD_STATE/kwokctl-create.log" 2>&1 \
    || { echo "cluster: kwokctl create failed:" >&2; tail -30 "$HTD_STATE/kwokctl-create.log" >&2; exit 1; }
  chmod 600 "$kubeconfig"
  kctl config use-context "kwok-$NAME" >/dev/null
  kctl config set-cluster "kwok-$NAME" --server "https://$HTD_BED_IP:$API_PORT" >/dev/null
  for _ in $(seq 1 100); do kctl -n default get serviceaccount default >/dev/null 2>&1 && break; sleep 0.1; done
  bash "$here/nodes.sh" up
  echo "cluster: up ($KUBERNETES_VERSION, $NODES real nodes) in $(( ($(date +%s%N) - t0) / 1000000 )) ms; kubeconfig $kubeconfig"
}

down() {
  local other
  # Real nodes: this bed's (its state has them), or a namespace of its name left behind. One
  # that another bed still up owns (nodes.sh foreign) is that bed's, running: left alone.
  if other=$(bash "$here/nodes.sh" foreign); then
    echo "cluster: the real nodes named $NAME belong to the bed in $other (up): left running"
  elif [[ -d "$HTD_STATE/nodes" || -e "/run/netns/${HTD_NETNS:-$NAME}" ]]; then
    kwokctl delete cluster --name "$NAME" >/dev/null 2>&1 || true
    bash "$here/nodes.sh" down
    echo "cluster: real nodes and their network namespace removed"
  fi
  if [[ -d "$KWOK_WORKDIR/clusters/$NAME" ]]; then
    kwokctl delete cluster --name "$NAME" >/dev/null 2>&1 || true
    echo "cluster: deleted"
  else
    echo "cluster: not running"
  fi
  for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$API_PORT") 2>/dev/null || break; sleep 0.1; done
  rm -rf "$KWOK_WORKDIR" "$kubeconfig" "$HTD_STATE/kwokctl-create.log" "$HTD_STATE/kwokctl-options.yaml"
}

case ${1:-} in
  up) up ;;
  down) down ;;
  status) bed_up ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
