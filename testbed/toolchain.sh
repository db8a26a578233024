#!/usr/bin/env bash
# Install or build every tool the tests and the local profile need.
#
# Versions come from testbed/versions.env (the only place they are pinned). Each tool is built
# once into "$HTD_CACHE/<tool>-<version>/" outside the work tree and marked complete with a
# stamp file, so a second run only checks stamps and relinks .tools/ (seconds).
#
# Usage: testbed/toolchain.sh [tool ...]     (default: all)
set -euo pipefail
shopt -s nullglob

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=versions.env
source "$here/versions.env"

HTD_CACHE=${HTD_CACHE:-$HOME/.cache/hackathon-todo-deploy}
TOOLS="$root/.tools"          # per-checkout symlink farm into the cache (gitignored)
export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0
mkdir -p "$HTD_CACHE" "$TOOLS/bin"

t0=$(date +%s)
log() { printf '[toolchain %4ss] %s\n' "$(( $(date +%s) - t0 ))" "$*"; }

dangling() { local f; for f in "$1"/*; do [[ -e "$f" ]] || return 0; done; return 1; }

# step NAME VERSION FUNCTION: run FUNCTION into a fresh slot unless the slot is complete.
step() {
  local name=$1 version=$2 fn=$3 slot="$HTD_CACHE/$1-$2"
  # A slot whose links point at system files (apt-installed tools) is stale on a fresh machine
  # that restored the cache (CI): rebuild it when any of its bin/ entries is dangling.
  if [[ -f "$slot/.complete" ]] && ! dangling "$slot/bin"; then
    log "$name $version: cached ($slot)"
  else
    local s; s=$(date +%s)
    log "$name $version: building into $slot ..."
    rm -rf "$slot.tmp"; mkdir -p "$slot.tmp"
    "$fn" "$slot.tmp" "$version"
    echo $(( $(date +%s) - s )) > "$slot.tmp/.build-seconds"   # read by testbed/bench_testbed.py
    rm -rf "$slot"; mv "$slot.tmp" "$slot"; touch "$slot/.complete"
    log "$name $version: built in $(cat "$slot/.build-seconds")s"
  fi
  ln -sfn "$slot" "$TOOLS/$name"
  for f in "$slot"/bin/*; do ln -sfn "$f" "$TOOLS/bin/$(basename "$f")"; done
}

# --- Kubernetes control plane -------------------------------------------------------------
# `go install k8s.io/kubernetes/...@v` cannot work: its go.mod replaces every staging module
# (k8s.io/api, k8s.io/client-go, ...) with a local ./staging path. A wrapper module requires
# k8s.io/kubernetes and replaces each of those with its published v0.x release instead; the list
# is generated from upstream's own go.mod so it can never drift from the version we pin.
kube_build() {  # OUT VERSION CMD...: k8s.io/kubernetes commands built through the wrapper module
  local out=$1 v=$2 src=$1/src; shift 2
  local cmds=("$@")
  mkdir -p "$src" "$out/bin"
  local upstream_mod
  upstream_mod=$(cd "$src" && go mod download -json "k8s.io/kubernetes@$v" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')
  {
    echo "module htd.local/kubernetes-build"
    echo
    echo "go $(awk '$1=="go"{print $2; exit}' "$upstream_mod")"
    echo
    echo "require k8s.io/kubernetes $v"
    echo
    awk -v sv="$KUBERNETES_STAGING_VERSION" \
      '$2=="=>" && $3 ~ /^\.\/staging\// {print "replace " $1 " => " $1 " " sv}' "$upstream_mod"
  } > "$src/go.mod"
  log "  wrapper go.mod: $(grep -c '^replace' "$src/go.mod") staging modules replaced"
  (cd "$src" && for c in "${cmds[@]}"; do go get -tool "k8s.io/kubernetes/cmd/$c@$v" >/dev/null; done)
  local minor=${v#v1.}; minor=${minor%%.*}
  local ld="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $pkg.gitVersion=$v -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ld+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  local pkgs=(); for c in "${cmds[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$c"); done
  (cd "$src" && go build -trimpath -ldflags "$ld" -o "$out/bin/" "${pkgs[@]}")
  rm -rf "$src"
}
build_kubernetes() { kube_build "$1" "$2" kube-apiserver kube-controller-manager kube-scheduler kubectl; }
# The node half, only for real nodes (HTD_NODES_MODE=real): its own slot, so the kwok bed never
# waits for it.
build_kubelet() { kube_build "$1" "$2" kubelet kube-proxy; }

# --- Real nodes: container runtime, CNI, cluster DNS, registry (HTD_NODES_MODE=real) ----------
# Debian's runc (1.1) fails every sandbox here ("can't get final child's PID from
# pipe: EOF"); a current runc from its Go module works. It needs cgo and libseccomp.
build_runc() {
  apt_pinned libseccomp-dev "$LIBSECCOMP_DEB_VERSION"
  apt_pinned pkg-config "$PKG_CONFIG_DEB_VERSION"
  CGO_ENABLED=1 GOBIN="$1/bin" go install -trimpath -tags seccomp \
    -ldflags "-s -w -X main.version=${2#v}" "github.com/opencontainers/runc@$2"
}
build_containerd() {
  local m=github.com/containerd/containerd/v2 c
  for c in containerd containerd-shim-runc-v2 ctr; do
    go_install "$1" "$m/cmd/$c@$2" "-X $m/version.Version=$2 -X $m/version.Package=$m"
  done
}
build_cni_plugins() {
  local m=github.com/containernetworking/plugins/plugins p
  for p in main/bridge main/loopback ipam/host-local meta/portmap; do
    go_install "$1" "$m/$p@$2" "-X github.com/containernetworking/plugins/pkg/utils/buildversion.BuildVersion=$2"
  done
}
build_coredns() {
  go_install "$1" "github.com/coredns/coredns@$2" "-X github.com/coredns/coredns/coremain.GitCommit=$2"
}
build_registry() {
  go_install "$1" "github.com/distribution/distribution/v3/cmd/registry@$2" \
    "-X github.com/distribution/distribution/v3/version.version=$2"
}
# kube-proxy's nftables mode drives the nft program.
build_nftables() {
  mkdir -p "$1/bin"
  apt_pinned nftables "$2"
  ln -sfn "$(command -v nft)" "$1/bin/nft"
}

# --- etcd ------------------------------------------------------------------------------------
# go.etcd.io/etcd/server/v3 replaces its sibling modules with ../ paths, so it too is built
# from a wrapper module that lets the published sibling versions resolve.
build_etcd() {
  local out=$1 v=$2 src=$1/src
  mkdir -p "$src" "$out/bin"
  printf 'module htd.local/etcd-build\n\ngo 1.26\n' > "$src/go.mod"
  (cd "$src" && go get -tool "go.etcd.io/etcd/server/v3@$v" >/dev/null \
    && go build -trimpath -ldflags "-s -w" -o "$out/bin/etcd" go.etcd.io/etcd/server/v3)
  rm -rf "$src"
}

go_install() {  # go_install OUT PKG@VERSION [LDFLAGS]
  GOBIN="$1/bin" go install -trimpath -ldflags "-s -w ${3:-}" "$2"
}
build_kwok() {
  go_install "$1" "sigs.k8s.io/kwok/cmd/kwok@$2" "-X sigs.k8s.io/kwok/pkg/consts.Version=$2"
  go_install "$1" "sigs.k8s.io/kwok/cmd/kwokctl@$2" "-X sigs.k8s.io/kwok/pkg/consts.Version=$2"
}
build_metrics_server() {
  go_install "$1" "sigs.k8s.io/metrics-server/cmd/metrics-server@$2" \
    "-X k8s.io/client-go/pkg/version.gitVersion=$2"
  # kwokctl applies upstream's manifest (RBAC, APIService; it drops the Deployment and runs the
  # binary itself). The module ships that kustomize base; kwokctl would otherwise download it.
  local dir; dir=$(cd "$1" && go mod download -json "sigs.k8s.io/metrics-server@$2" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
  cp -r "$dir/manifests/base" "$1/manifests"; chmod -R u+w "$1/manifests"
}
# Helm 4 (helm.sh/helm/v4). Its version is set like upstream's Makefile does. The Kubernetes
# version that `helm template` and `helm lint` assume when no cluster is asked (Chart.yaml
# kubeVersion, deprecated-API checks) needs no flag any more: Helm 4 reads its k8s.io/client-go
# version from the binary's embedded build info (pkg/chart/common/capabilities.go), which
# `go install` records. Helm 3 took it from -X ...chartutil.k8sVersionMinor and was v1.20 without.
build_helm() {
  local v=$HELM_VERSION   # $2 is the slot's name: the version and the recipe
  go_install "$1" "helm.sh/helm/v4/cmd/helm@$v" "-X helm.sh/helm/v4/internal/version.version=$v"
}
# Slots named after a recipe as well as a version are rebuilt when the recipe changes.
recipe() { declare -f "$@" | sha256sum | cut -c1-8; }
build_actionlint() {
  go_install "$1" "github.com/rhysd/actionlint/cmd/actionlint@$2" \
    "-X github.com/rhysd/actionlint.version=$2"
}
build_gitleaks() {
  go_install "$1" "github.com/zricethezav/gitleaks/v8@$2" \
    "-X github.com/zricethezav/gitleaks/v8/version.Version=$2"
}
build_controller_gen() {
  go_install "$1" "sigs.k8s.io/controller-tools/cmd/controller-gen@$2"
}

# --- Platform programs on real nodes (HTD_NODES_MODE=real) ----------------------------------
# Each runs for real in an image the bed builds (testbed/images/build.py platform), installed by
# the platform role through the bed's fixture charts.
# wrapper_gomod NAME MODULE@VERSION: the go.mod of a wrapper module that builds upstream's command
# at the pinned version: upstream's go directive and its non-local replace and exclude directives
# (a replace is honoured only in the main module, so `go install pkg@v` refuses modules with any).
wrapper_gomod() {
  local gomod
  gomod=$(go mod download -json "$2" | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')
  printf 'module htd.local/%s-build\n\ngo %s\n\nrequire %s %s\n\n' \
    "$1" "$(awk '$1=="go"{print $2; exit}' "$gomod")" "${2%@*}" "${2#*@}"
  awk 'function remote(l,  t) { t = l; sub(/.*=>[ \t]*/, "", t); return t !~ /^\./ }
       /^replace \(/{r=1; next} r && /^\)/{r=0; next}
       r && /=>/ { if (remote($0)) print "replace " $0; next }
       /^replace / { if (remote($0)) print; next }
       /^exclude \(/{x=1} x {print; if ($0 ~ /^\)/) x=0; next}
       /^exclude / {print}' "$gomod"
}
# Traefik v3.6: v3.7's module graph is not all served here (a replace to a nested module outside
# its zip, a fork pseudo-version and several DNS-provider SDK versions the proxy refuses).
build_traefik() {
  local out=$1 v=$TRAEFIK_VERSION src=$1/src m=github.com/traefik/traefik/v3
  mkdir -p "$src" "$out/bin"
  (cd "$src" && wrapper_gomod traefik "$m@$v") > "$src/wrapper.mod" && mv "$src/wrapper.mod" "$src/go.mod"
  (cd "$src" && go get -tool "$m/cmd/traefik@$v" >/dev/null \
    && go build -trimpath -ldflags "-s -w -X $m/pkg/version.Version=$v" -o "$out/bin/traefik" "$m/cmd/traefik")
  rm -rf "$src"
}
# Pebble, Let's Encrypt's ACME test server, and its DNS/challenge test server.
build_pebble() {
  local m=github.com/letsencrypt/pebble/v2/cmd c
  for c in pebble pebble-challtestsrv; do go_install "$1" "$m/$c@$2" "-X main.version=$2"; done
}
# cert-manager's commands are modules of their own that the proxy does not serve; the root module
# is. testbed/platform/cert-manager is the bed's launcher for upstream's controllers and solver.
# vcert: the proxy refuses the version cert-manager requires; the next patch release is served.
build_cert_manager() {
  local out=$1 v=$CERT_MANAGER_VERSION src=$1/src m=github.com/cert-manager/cert-manager
  mkdir -p "$src" "$out/bin"
  cp "$here"/platform/cert-manager/*.go "$here"/platform/cert-manager/go.mod "$src/"
  (cd "$src" && go get "$m@$v" "github.com/Venafi/vcert/v5@$CERT_MANAGER_VCERT_VERSION" >/dev/null \
    && go build -trimpath -ldflags "-s -w -X $m/pkg/util.AppVersion=$v" -o "$out/bin/cert-manager" .)
  rm -rf "$src"
}
cert_manager_key() {
  { echo "$CERT_MANAGER_VERSION $CERT_MANAGER_VCERT_VERSION"; declare -f build_cert_manager
    cat "$here"/platform/cert-manager/*.go "$here"/platform/cert-manager/go.mod; } | sha256sum | cut -c1-12
}

# Dapr's control plane (operator, sentry, placement, scheduler, sidecar injector) from the root
# module at the pinned version, and daprd through testbed/platform/dapr (upstream's runtime with the
# components the app uses: upstream's own flavours need a Pulsar fork the proxy refuses). The proxy
# also refuses the durabletask-go version dapr requires; the release it serves is pinned instead.
build_dapr() {
  local out=$1 v=$DAPR_VERSION src=$1/src m=github.com/dapr/dapr c
  mkdir -p "$src" "$out/bin"
  { (cd "$src" && wrapper_gomod dapr "$m@$v")
    echo "replace github.com/dapr/durabletask-go => github.com/dapr/durabletask-go $DAPR_DURABLETASK_VERSION"
  } > "$src/wrapper.mod" && mv "$src/wrapper.mod" "$src/go.mod"
  cp "$here"/platform/dapr/*.go "$src/"
  local ld="-s -w -X $m/pkg/buildinfo.version=${v#v}" moddir
  (cd "$src" && go get "$m@$v" >/dev/null) || return 1
  # Upstream's components package holds one file for a build without a flavour tag: an init()
  # that panics to say a tag is missing. The launcher registers its components itself, so the
  # build uses a copy of the module (checksum-verified when downloaded) with that one file
  # emptied (`go build -overlay` may not touch the module cache).
  moddir=$(cd "$src" && go list -m -f '{{.Dir}}' "$m") || return 1
  cp -r "$moddir" "$src/dapr" && chmod -R u+w "$src/dapr"
  [[ -f $src/dapr/cmd/daprd/components/zz_notag.go ]] \
    || { echo "dapr: upstream's no-tag guard moved; look at cmd/daprd/components" >&2; return 1; }
  printf 'package components\n' > "$src/dapr/cmd/daprd/components/zz_notag.go"
  echo "replace $m => ./dapr" >> "$src/go.mod"
  (cd "$src" && GOFLAGS=-mod=mod go build -trimpath -ldflags "$ld" -o "$out/bin/daprd" .) || return 1
  # bin/dapr-operator, ...: the images put each where upstream's do (/operator, ...).
  for c in operator sentry placement scheduler injector; do
    (cd "$src" && GOFLAGS=-mod=mod go build -trimpath -ldflags "$ld" -o "$out/bin/dapr-$c" "$m/cmd/$c") \
      || return 1
  done
  rm -rf "$src"
}
dapr_key() {
  { echo "$DAPR_VERSION $DAPR_DURABLETASK_VERSION"; declare -f build_dapr wrapper_gomod
    cat "$here"/platform/dapr/*.go; } | sha256sum | cut -c1-12
}

# kube-prometheus-stack's programs. Prometheus without the service discoveries the operator never
# configures (upstream's remove_all_sd / enable_<name>_sd build tags) and without its web UI assets
# (the API is what the bed uses); Alertmanager's Elm UI is not in its Go module either, so the build
# uses a copy of the module with a one-page ui/app/dist in its place (its go:embed needs the files).
monitoring_build() {  # OUT NAME MODULE@VERSION PACKAGE [TAGS] [LDFLAGS]
  local src=$1/src-$2
  mkdir -p "$src" "$1/bin"
  (cd "$src" && wrapper_gomod "$2" "$3") > "$src/wrapper.mod" && mv "$src/wrapper.mod" "$src/go.mod"
  (cd "$src" && go get "$3" >/dev/null \
    && go build -trimpath -tags "${5:-}" -ldflags "-s -w ${6:-}" -o "$1/bin/$2" "$4") || return 1
  rm -rf "$src"
}
build_monitoring() {
  local out=$1 po=github.com/prometheus-operator/prometheus-operator p=github.com/prometheus/prometheus
  local am=github.com/prometheus/alertmanager ksm=k8s.io/kube-state-metrics/v2 pv=${PROMETHEUS_VERSION#v}
  local pmod="v0.$(( ${pv%%.*} * 100 + $(cut -d. -f2 <<<"$pv") )).${pv##*.}" c
  for c in operator prometheus-config-reloader; do
    monitoring_build "$out" "prometheus-$c" "$po@$PROMETHEUS_OPERATOR_VERSION" "$po/cmd/$c" "" \
      "-X github.com/prometheus/common/version.Version=${PROMETHEUS_OPERATOR_VERSION#v}" || return 1
  done
  mv "$out/bin/prometheus-prometheus-config-reloader" "$out/bin/prometheus-config-reloader"
  monitoring_build "$out" prometheus "$p@$pmod" "$p/cmd/prometheus" remove_all_sd,enable_kubernetes_sd \
    "-X github.com/prometheus/common/version.Version=$pv" || return 1
  monitoring_build "$out" kube-state-metrics "$ksm@$KUBE_STATE_METRICS_VERSION" "$ksm" "" \
    "-X github.com/prometheus/common/version.Version=$KUBE_STATE_METRICS_VERSION" || return 1
  local src=$out/src-alertmanager moddir
  mkdir -p "$src"
  (cd "$src" && wrapper_gomod alertmanager "$am@$ALERTMANAGER_VERSION") > "$src/w.mod" && mv "$src/w.mod" "$src/go.mod"
  (cd "$src" && go get "$am@$ALERTMANAGER_VERSION" >/dev/null) || return 1
  moddir=$(cd "$src" && go list -m -f '{{.Dir}}' "$am") || return 1
  cp -r "$moddir" "$src/am" && chmod -R u+w "$src/am" && mkdir -p "$src/am/ui/app/dist"
  printf '<!doctype html><title>Alertmanager</title><p>%s</p>\n' \
    'The web UI is not built on the test bed; the API is at /api/v2.' > "$src/am/ui/app/dist/index.html"
  echo "replace $am => ./am" >> "$src/go.mod"
  (cd "$src" && go build -trimpath -ldflags "-s -w -X github.com/prometheus/common/version.Version=${ALERTMANAGER_VERSION#v}" \
    -o "$out/bin/alertmanager" "$am/cmd/alertmanager") || return 1
  rm -rf "$src"
}
monitoring_key() {
  { echo "$PROMETHEUS_OPERATOR_VERSION $PROMETHEUS_VERSION $ALERTMANAGER_VERSION $KUBE_STATE_METRICS_VERSION"
    declare -f build_monitoring monitoring_build wrapper_gomod; } | sha256sum | cut -c1-12
}

# --- Validators of what Grafana and Alloy read ------------------------------------------------
# Grafana and Loki are under the AGPL and are not built; Alloy's binary depends on Loki. Our
# dashboard JSON and Alloy configuration are checked by a program of ours
# (testbed/tools/monitoring-config-check) on their Apache-2.0 modules: the Grafana Foundation
# SDK's strict dashboard decoder, and Alloy's own parser and printer (what `alloy fmt` runs).
build_monitoring_config_check() {
  local out=$1 src=$1/src tool=$here/tools/monitoring-config-check
  mkdir -p "$src" "$out/bin"
  cp "$tool"/*.go "$tool/go.mod" "$src/"
  (cd "$src" && go get "github.com/grafana/grafana-foundation-sdk/go@$GRAFANA_FOUNDATION_SDK_VERSION" \
      "github.com/grafana/alloy/syntax@$ALLOY_SYNTAX_VERSION" >/dev/null \
    && go build -trimpath -ldflags "-s -w" -o "$out/bin/monitoring-config-check" .)
  rm -rf "$src"
}
monitoring_config_check_key() {
  local tool=$here/tools/monitoring-config-check
  { echo "$GRAFANA_FOUNDATION_SDK_VERSION $ALLOY_SYNTAX_VERSION"; declare -f build_monitoring_config_check
    cat "$tool"/*.go "$tool/go.mod"; } | sha256sum | cut -c1-12
}

# --- CRDs of the platform components ---------------------------------------------------------
# The chart creates Dapr Components, ServiceMonitors, PrometheusRules, Traefik Middlewares and
# Gateway API routes; the platform installs cert-manager Issuers and Dapr Configurations. The test
# bed's API server validates all of them against the real CRDs, produced here from the upstream Go
# modules at the pinned versions: one YAML per API group, applied by testbed/crds.sh.
#
# controller-gen runs on upstream's API types where that reproduces upstream's CRDs (cert-manager,
# prometheus-operator). For the others, their own generated CRD YAML is taken from the same module
# zip (checksum-verified by the Go checksum database):
#  - Dapr: its chart's CRDs carry what the types do not, the Subscription conversion webhook
#    (dapr-webhook, /convert) that the real operator patches and serves;
#  - Traefik: its module requires github.com/traefik/traefik/dynamic/ext through a replace to a
#    nested module (./pkg/config/dynamic/ext) that is neither in the module zip nor on any proxy,
#    so its packages cannot be type-checked outside upstream's repository;
#  - Gateway API: upstream's own generator (tools/generator, a separate module) filters fields by
#    release channel (<gateway:experimental> markers) and adds the bundle-version/channel
#    annotations; plain controller-gen yields an unreleased mix of both channels.
# Each upstream gets its own wrapper module so their dependency graphs never meet.
crds_from_types() {  # OUT MODULE VERSION PACKAGE...   controller-gen on upstream's API types
  local out=$1 module=$2 v=$3; shift 3
  local src; src=$(mktemp -d "$out/src.XXXXXX")
  local cg="$HTD_CACHE/controller-gen-$CONTROLLER_TOOLS_VERSION/bin/controller-gen"
  local paths=(); for p in "$@"; do paths+=("paths=$module/$p"); done
  (cd "$src" && go mod init htd.local/crds-build && go get "$module@$v" \
    && "$cg" crd:crdVersions=v1 "${paths[@]}" output:crd:dir="$out/gen") >"$src.log" 2>&1 \
    || { cat "$src.log" >&2; return 1; }
  printf '%s@%s\tcontroller-gen %s: %s\n' "$module" "$v" "$CONTROLLER_TOOLS_VERSION" "${paths[*]}" >> "$out/SOURCES"
  rm -f "$src.log"
  rm -rf "$src"
}
crds_from_module() {  # OUT MODULE VERSION DIR GLOB   upstream's generated YAML from the module zip
  local out=$1 module=$2 v=$3 dir=$4 glob=$5 moddir name
  moddir=$(cd "$out" && go mod download -json "$module@$v" | python3 -c \
    'import json,sys; d=json.load(sys.stdin); print(d["Dir"]) if "Dir" in d else sys.exit(d.get("Error"))')
  local f
  for f in "$moddir/$dir"/$glob; do
    # Only CRDs: Gateway API's standard install also holds an upgrade-guard admission policy.
    # Named <group>_<plural>.yaml, as controller-gen names them, from the CRD's own name.
    if grep -qx 'kind: CustomResourceDefinition' "$f"; then
      name=$(awk '/^metadata:/{m=1; next} m && /^  name:/{print $2; exit}' "$f")
      cp "$f" "$out/gen/${name#*.}_${name%%.*}.yaml"
    else log "  not a CRD, skipped: ${f#"$moddir"/}"; fi
  done
  printf '%s@%s\tupstream generated YAML: %s/%s\n' "$module" "$v" "$dir" "$glob" >> "$out/SOURCES"
}
build_crds() {
  local out=$1
  mkdir -p "$out/bin" "$out/gen"
  crds_from_types "$out" github.com/cert-manager/cert-manager "$CERT_MANAGER_VERSION" \
    pkg/apis/certmanager/v1 pkg/apis/acme/v1
  crds_from_module "$out" github.com/dapr/dapr "$DAPR_VERSION" charts/dapr/crds '*.yaml'
  crds_from_types "$out" github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring \
    "$PROMETHEUS_OPERATOR_VERSION" ...
  crds_from_module "$out" github.com/traefik/traefik/v3 "$TRAEFIK_VERSION" \
    docs/content/reference/dynamic-configuration 'traefik.io_*.yaml'
  crds_from_module "$out" sigs.k8s.io/gateway-api "$GATEWAY_API_VERSION" \
    config/crd/standard 'gateway.networking.k8s.io_*.yaml'
  # Files are named <group>_<plural>.yaml by both generators: merge them into one file per group
  # and list the CRD names (<plural>.<group>) for `kubectl wait`.
  local f base group
  for f in "$out"/gen/*.yaml; do
    base=$(basename "$f" .yaml); group=${base%%_*}
    { [[ $(head -1 "$f") == --- ]] || echo ---; cat "$f"; } >> "$out/$group.yaml"
    echo "${base#*_}.$group" >> "$out/names"
  done
  rm -rf "$out/gen"
  log "  $(wc -l < "$out/names") CRDs in $(find "$out" -maxdepth 1 -name '*.yaml' | wc -l) groups"
}
crds_key() {  # the slot changes with any pinned version or any change to the recipe above
  { echo "$CONTROLLER_TOOLS_VERSION $CERT_MANAGER_VERSION $DAPR_VERSION $PROMETHEUS_OPERATOR_VERSION"
    echo "$TRAEFIK_VERSION $GATEWAY_API_VERSION"
    declare -f build_crds crds_from_types crds_from_module; } | sha256sum | cut -c1-12
}

# --- Apache Kafka ------------------------------------------------------------------------------
# Maven resolves the broker's runtime classpath from Maven Central (testbed/kafka/pom.xml).
build_kafka() {
  mkdir -p "$1/bin"
  mvn -B -q -Dstyle.color=never -f "$here/kafka/pom.xml" -Dkafka.version="$2" -Dkafka.scala.version="$KAFKA_SCALA_VERSION" \
    -Dlog4j2.version="$LOG4J2_VERSION" -Dslf4j.version="$SLF4J_VERSION" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$1/libs"
  log "  $(find "$1/libs" -name '*.jar' | wc -l) jars"
}

# --- Debian packages, pinned: promtool (prometheus) and shellcheck (actionlint runs it on `run:`) ----
# apt_pinned PACKAGE VERSION: install exactly that version unless it is already installed.
apt_pinned() {
  if ! dpkg-query -W -f='${Version}' "$1" 2>/dev/null | grep -qx "$2"; then
    if [[ $(id -u) -ne 0 ]]; then echo "$1: run as root, or apt-get install $1=$2" >&2; return 1; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$1=$2" >/dev/null \
      || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive \
           apt-get install -y -q --no-install-recommends "$1=$2" >/dev/null; }
  fi
}
build_promtool() {
  mkdir -p "$1/bin"
  apt_pinned prometheus "$2"
  ln -sfn "$(command -v promtool)" "$1/bin/promtool"
}
build_shellcheck() {
  mkdir -p "$1/bin"
  apt_pinned shellcheck "$2"
  ln -sfn "$(command -v shellcheck)" "$1/bin/shellcheck"
}

# --- Python venv ----------------------------------------------------------------------------------
# Keyed by the pinned requirement files and the interpreter, so a change to either builds anew.
venv() {
  local py key slot
  py=$(command -v "python$PYTHON_MIN" || command -v python3)
  key=$(cat "$root/requirements.txt" "$root/requirements-dev.txt" <("$py" -V) | sha256sum | cut -c1-12)
  slot="$HTD_CACHE/venv-$key"
  if [[ -f "$slot/.complete" ]]; then
    log "python venv: cached ($slot)"
  else
    local s; s=$(date +%s)
    log "python venv: installing requirements-dev.txt into $slot ..."
    rm -rf "$slot"; "$py" -m venv "$slot"
    "$slot/bin/pip" install -q --upgrade pip
    "$slot/bin/pip" install -q -r "$root/requirements-dev.txt"
    echo $(( $(date +%s) - s )) > "$slot/.build-seconds"
    touch "$slot/.complete"
    log "python venv: installed in $(cat "$slot/.build-seconds")s"
  fi
  ln -sfn "$slot" "$TOOLS/venv"
}

all=(venv kubernetes etcd kwok metrics-server helm kafka promtool shellcheck actionlint gitleaks controller-gen crds
     monitoring-config-check
     kubelet runc containerd cni-plugins coredns registry nftables traefik pebble cert-manager dapr monitoring)
want=("${@:-${all[@]}}")
for t in "${want[@]}"; do
  case $t in
    venv) venv ;;
    kafka) step kafka "$KAFKA_VERSION" build_kafka ;;
    promtool) step promtool "$PROMETHEUS_DEB_VERSION" build_promtool ;;
    shellcheck) step shellcheck "$SHELLCHECK_DEB_VERSION" build_shellcheck ;;
    kubernetes) step kubernetes "$KUBERNETES_VERSION" build_kubernetes ;;
    kubelet) step kubelet "$KUBERNETES_VERSION" build_kubelet ;;
    runc) step runc "$RUNC_VERSION" build_runc ;;
    containerd) step containerd "$CONTAINERD_VERSION" build_containerd ;;
    cni-plugins) step cni-plugins "$CNI_PLUGINS_VERSION" build_cni_plugins ;;
    coredns) step coredns "$COREDNS_VERSION" build_coredns ;;
    registry) step registry "$DISTRIBUTION_VERSION" build_registry ;;
    nftables) step nftables "$NFTABLES_DEB_VERSION" build_nftables ;;
    traefik) step traefik "$TRAEFIK_VERSION-$(recipe build_traefik wrapper_gomod)" build_traefik ;;
    pebble) step pebble "$PEBBLE_VERSION" build_pebble ;;
    cert-manager) step cert-manager "$(cert_manager_key)" build_cert_manager ;;
    dapr) step dapr "$(dapr_key)" build_dapr ;;
    monitoring) step monitoring "$(monitoring_key)" build_monitoring ;;
    monitoring-config-check)
      step monitoring-config-check "$(monitoring_config_check_key)" build_monitoring_config_check ;;
    etcd) step etcd "$ETCD_VERSION" build_etcd ;;
    kwok) step kwok "$KWOK_VERSION" build_kwok ;;
    metrics-server) step metrics-server "$METRICS_SERVER_VERSION" build_metrics_server ;;
    helm) step helm "$HELM_VERSION-$(recipe build_helm)" build_helm ;;
    actionlint) step actionlint "$ACTIONLINT_VERSION" build_actionlint ;;
    gitleaks) step gitleaks "$GITLEAKS_VERSION" build_gitleaks ;;
    controller-gen) step controller-gen "$CONTROLLER_TOOLS_VERSION" build_controller_gen ;;
    crds) step controller-gen "$CONTROLLER_TOOLS_VERSION" build_controller_gen
          step crds "$(crds_key)" build_crds ;;
    *) echo "unknown tool: $t (known: ${all[*]})" >&2; exit 2 ;;
  esac
done
# The checkout itself, importable as the collection hackathon_todo.deploy (ansible.cfg points
# collections_path here; kubernetes.core etc. come from the `ansible` package in the venv).
mkdir -p "$TOOLS/collections/ansible_collections/hackathon_todo"
ln -sfn "$root" "$TOOLS/collections/ansible_collections/hackathon_todo/deploy"
log "done"
