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

# step NAME VERSION FUNCTION: run FUNCTION into a fresh slot unless the slot is complete.
step() {
  local name=$1 version=$2 fn=$3 slot="$HTD_CACHE/$1-$2"
  if [[ -f "$slot/.complete" ]]; then
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
build_kubernetes() {
  local out=$1 v=$2 src=$1/src
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
  local cmds=(kube-apiserver kube-controller-manager kube-scheduler kubectl)
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
    "-X sigs.k8s.io/metrics-server/pkg/version.gitVersion=$2"
}
build_helm() {
  go_install "$1" "helm.sh/helm/v3/cmd/helm@$2" "-X helm.sh/helm/v3/internal/version.version=$2"
}
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

# --- Apache Kafka ------------------------------------------------------------------------------
# Maven resolves the broker's runtime classpath from Maven Central (testbed/kafka/pom.xml).
build_kafka() {
  mkdir -p "$1/bin"
  mvn -B -q -Dstyle.color=never -f "$here/kafka/pom.xml" -Dkafka.version="$2" -Dkafka.scala.version="$KAFKA_SCALA_VERSION" \
    -Dlog4j2.version="$LOG4J2_VERSION" -Dslf4j.version="$SLF4J_VERSION" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$1/libs"
  log "  $(find "$1/libs" -name '*.jar' | wc -l) jars"
}

# --- promtool (Debian's prometheus package) ---------------------------------------------------
build_promtool() {
  mkdir -p "$1/bin"
  if ! dpkg-query -W -f='${Version}' prometheus 2>/dev/null | grep -qx "$2"; then
    if [[ $(id -u) -ne 0 ]]; then echo "promtool: run as root, or apt-get install prometheus=$2" >&2; return 1; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "prometheus=$2" >/dev/null \
      || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive \
           apt-get install -y -q --no-install-recommends "prometheus=$2" >/dev/null; }
  fi
  ln -sfn "$(command -v promtool)" "$1/bin/promtool"
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

all=(venv kubernetes etcd kwok metrics-server helm kafka promtool actionlint gitleaks)
want=("${@:-${all[@]}}")
for t in "${want[@]}"; do
  case $t in
    venv) venv ;;
    kafka) step kafka "$KAFKA_VERSION" build_kafka ;;
    promtool) step promtool "$PROMETHEUS_DEB_VERSION" build_promtool ;;
    kubernetes) step kubernetes "$KUBERNETES_VERSION" build_kubernetes ;;
    etcd) step etcd "$ETCD_VERSION" build_etcd ;;
    kwok) step kwok "$KWOK_VERSION" build_kwok ;;
    metrics-server) step metrics-server "$METRICS_SERVER_VERSION" build_metrics_server ;;
    helm) step helm "$HELM_VERSION" build_helm ;;
    actionlint) step actionlint "$ACTIONLINT_VERSION" build_actionlint ;;
    gitleaks) step gitleaks "$GITLEAKS_VERSION" build_gitleaks ;;
    controller-gen) step controller-gen "$CONTROLLER_TOOLS_VERSION" build_controller_gen ;;
    *) echo "unknown tool: $t (known: ${all[*]} controller-gen)" >&2; exit 2 ;;
  esac
done
# The checkout itself, importable as the collection hackathon_todo.deploy (ansible.cfg points
# collections_path here; kubernetes.core etc. come from the `ansible` package in the venv).
mkdir -p "$TOOLS/collections/ansible_collections/hackathon_todo"
ln -sfn "$root" "$TOOLS/collections/ansible_collections/hackathon_todo/deploy"
log "done"
