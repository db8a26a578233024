#!/usr/bin/env bash
# The local Kubernetes test bed: real kube-apiserver, kube-controller-manager, kube-scheduler and
# etcd (built by testbed/toolchain.sh), with kwok playing the kubelets of simulated nodes.
#
#   testbed/cluster.sh up       create, or reuse the running cluster (no-op when up)
#   testbed/cluster.sh down     delete it: processes stopped, ports freed, state removed
#   testbed/cluster.sh status   exit 0 when the API server answers
#
# Kubeconfig: $HTD_STATE/kubeconfig (default .testbed/kubeconfig), context "kwok-htd".
# Pod lifecycle comes from testbed/kwok/stages/ (label a pod
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
NODES=${HTD_NODES:-3}
# Like a DOKS s-4vcpu-8gb node after system reservations: enough for both environments + platform.
NODE_CPU=${HTD_NODE_CPU:-4}
NODE_MEMORY=${HTD_NODE_MEMORY:-8Gi}
bin="$root/.tools/bin"
export KWOK_WORKDIR="$HTD_STATE/kwok" KWOK_KUBE_VERSION="$KUBERNETES_VERSION"
export PATH="$bin:$PATH"
kubeconfig="$HTD_STATE/kubeconfig"

kctl() { kubectl --kubeconfig "$kubeconfig" "$@"; }
api_up() { [[ -f "$kubeconfig" ]] && kctl get --raw /readyz >/dev/null 2>&1; }

up() {
  if api_up; then echo "cluster: already up ($(kctl version -o json | python3 -c 'import json,sys;print(json.load(sys.stdin)["serverVersion"]["gitVersion"])'), kubeconfig $kubeconfig)"; return 0; fi
  for b in kube-apiserver kube-controller-manager kube-scheduler etcd kwok kwokctl kubectl metrics-server; do
    [[ -x "$bin/$b" ]] || { echo "cluster: $bin/$b missing; run: make toolchain" >&2; exit 1; }
  done
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

down() {
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
  status) api_up ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
