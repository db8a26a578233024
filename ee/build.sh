#!/usr/bin/env bash
# The execution environment (execution-environment.yml).
#
#   ee/build.sh context   render the build context into build/ee/context (offline, no engine)
#   ee/build.sh build     build the image (podman or docker, internet); EE_IMAGE names it
#
# Both first build this collection from the checkout, exactly as `ansible-galaxy collection
# build` ships it, into build/ee/hackathon_todo-deploy.tar.gz, which the definition installs.
# Helm and kubectl versions are passed from testbed/versions.env, the one place they are pinned.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=../testbed/versions.env
source "$root/testbed/versions.env"
mode=${1:-context}
out="$root/build/ee"

rm -rf "$out"; mkdir -p "$out"
ansible-galaxy collection build "$root" --output-path "$out" --force >/dev/null
mv "$out"/hackathon_todo-deploy-*.tar.gz "$out/hackathon_todo-deploy.tar.gz"

case $mode in
  context)
    ansible-builder create -f "$root/execution-environment.yml" -c "$out/context" --output-filename Containerfile
    echo "build context: $out/context (build it with: cd $out/context && podman build -f Containerfile .)"
    ;;
  build)
    version=$(python3 -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["version"])' "$root/galaxy.yml")
    ansible-builder build -f "$root/execution-environment.yml" -c "$out/context" \
      -t "${EE_IMAGE:-hackathon-todo-deploy-ee:$version}" \
      --build-arg HELM_VERSION="$HELM_VERSION" --build-arg KUBECTL_VERSION="$KUBERNETES_VERSION"
    ;;
  *) echo "usage: $0 context|build" >&2; exit 2 ;;
esac
