#!/usr/bin/env bash
# The platform CRDs on the local test bed: cert-manager, Dapr, prometheus-operator, Traefik and
# Gateway API, as testbed/toolchain.sh produced them from the upstream Go modules (.tools/crds/).
#
#   testbed/crds.sh apply    server-side apply every CRD, wait until all are Established
#                            (a no-op when the cluster already holds this exact set)
#   testbed/crds.sh status   exit 0 when the cluster holds this set, all Established
#   testbed/crds.sh up       same as apply (so the cluster role starts it like the other parts)
#   testbed/crds.sh list     the CRD names, one per line
#
# The set is identified by its cache slot (crds-<hash of versions and recipe>); `apply` records it
# in the ConfigMap kube-system/htd-crds so the next `apply` can skip the 6 MB upload.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
HTD_STATE=${HTD_STATE:-$root/.testbed}
kubeconfig="$HTD_STATE/kubeconfig"
crds="$root/.tools/crds"
export PATH="$root/.tools/bin:$PATH"

kctl() { kubectl --kubeconfig "$kubeconfig" "$@"; }
[[ -f "$crds/names" ]] || { echo "crds: $crds missing; run: make toolchain" >&2; exit 1; }
slot=$(basename "$(readlink -f "$crds")")
mapfile -t names < "$crds/names"

# One list call (kubectl wait fetches each 1 MB CRD in turn and shares one timeout among them).
established() {  # established SECONDS: every CRD of the set has condition Established=True
  local deadline=$(( $(date +%s) + $1 )) missing
  while :; do
    # go-template, not jsonpath: a CRD created a moment ago has no conditions yet.
    missing=$(kctl get crd -o go-template='{{range .items}}{{.metadata.name}}={{range .status.conditions}}{{if eq .type "Established"}}{{.status}}{{end}}{{end}}{{"\n"}}{{end}}' \
      | awk -F= '$2=="True"{print $1}' | sort | comm -13 - <(printf '%s\n' "${names[@]}" | sort))
    [[ -z $missing ]] && return 0
    (( $(date +%s) < deadline )) || { echo "crds: not Established: $missing" >&2; return 1; }
    sleep 0.5
  done
}
current() {
  [[ $(kctl -n kube-system get configmap htd-crds -o jsonpath='{.data.slot}' 2>/dev/null) == "$slot" ]] \
    && established 0 2>/dev/null
}

apply() {
  [[ -f "$kubeconfig" ]] || { echo "crds: no test bed cluster ($kubeconfig); run: make cluster-up" >&2; exit 1; }
  if current; then echo "crds: already applied (${#names[@]} CRDs, $slot)"; return 0; fi
  local t0; t0=$(date +%s%N)
  # Server-side: several CRDs exceed the 256 KiB limit of the last-applied annotation.
  local files=(); for f in "$crds"/*.yaml; do files+=(-f "$f"); done
  kctl apply --server-side --force-conflicts --field-manager htd-testbed "${files[@]}" >/dev/null
  established 120
  kctl -n kube-system create configmap htd-crds --from-literal "slot=$slot" --dry-run=client -o yaml \
    | kctl apply --server-side --force-conflicts --field-manager htd-testbed -f - >/dev/null
  echo "crds: ${#names[@]} CRDs applied and Established in $(( ($(date +%s%N) - t0) / 1000000 )) ms ($slot)"
}

case ${1:-} in
  apply|up) apply ;;
  status) current ;;
  list) printf '%s\n' "${names[@]}" ;;
  *) echo "usage: $0 apply|status|list" >&2; exit 2 ;;
esac
