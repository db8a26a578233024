#!/usr/bin/env bash
# ansible-test sanity for the collection's plugins, offline, with an empty ignore file.
#
# ansible-test wants the collection at .../ansible_collections/hackathon_todo/deploy, so the files
# git knows about (tracked, or new and not ignored) are copied into such a tree. It lives outside
# the work tree: inside it, ansible-test would ask our git which files exist, and git ignores it.
# Each sanity test runs in its own venv (--venv); their pip bootstrap uses our offline stand-in.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
HTD_CACHE=${HTD_CACHE:-$HOME/.cache/hackathon-todo-deploy}
export PATH="$root/.tools/venv/bin:$PATH"
py=$(python -c 'import sys; print("%d.%d" % sys.version_info[:2])')

pip_version=$(python -c "from ansible_test._internal.python_requirements import get_venv_packages as g; import types; print(g(types.SimpleNamespace(version='$py'))['pip'])")
standin="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
mkdir -p "$(dirname "$standin")"
cmp -s "$here/sanity/get_pip_standin.py" "$standin" 2>/dev/null || cp "$here/sanity/get_pip_standin.py" "$standin"

dest="$HTD_CACHE/sanity-$(printf '%s' "$root" | sha256sum | cut -c1-12)/ansible_collections/hackathon_todo/deploy"
rm -rf "$dest"; mkdir -p "$dest"
# What ships is what is tested: paths in galaxy.yml's build_ignore are left out (the root
# inventory links `local`, `staging`, `production` are conveniences of the repository).
mapfile -t ignored < <(python -c 'import sys,yaml; print("\n".join(yaml.safe_load(open(sys.argv[1])).get("build_ignore", [])))' "$root/galaxy.yml")
(cd "$root" && git ls-files -co --exclude-standard -z | while IFS= read -r -d '' f; do
  # shellcheck disable=SC2053 # $pat is a glob on purpose (build_ignore patterns)
  for pat in "${ignored[@]}"; do [[ "$f" == $pat || "$f" == $pat/* ]] && continue 2; done
  # chart/templates/ holds Helm's Go templates: they render YAML but are not YAML, so
  # ansible-test's yamllint cannot parse them (.yamllint ignores them too); `helm lint --strict`
  # and tests/unit/chart check them instead.
  [[ $f == chart/templates/* || $f == testbed/platform/charts/*/templates/* ]] && continue
  [[ -e "$f" ]] && cp --parents -P "$f" "$dest/"; done)
# Keep the same ignore file (must stay empty): fail loudly if anyone adds entries.
for f in "$dest"/tests/sanity/ignore-*.txt; do
  [[ -f "$f" ]] || continue
  if [[ -s "$f" ]]; then echo "sanity: $f is not empty; fix the findings instead" >&2; exit 1; fi
done
cd "$dest"
ansible-test sanity --venv --python "$py" --color no "$@"
