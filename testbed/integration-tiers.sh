#!/usr/bin/env bash
# Both integration tiers at once, each on a test bed of its own (what `make test` runs): the
# real-node tier on the default bed (.testbed, its network namespace), the kwok tier on a second
# kwok bed with its own state directory and host ports (KWOK_TIER_* below). The real-node tier
# mostly waits (kubelets, probes, Prometheus' rule evaluations), so the kwok tier, run at the
# lowest priority, fills the time it leaves idle.
#
# Each line of output is prefixed with its tier ([kwok] / [real]) and each tier's whole output is
# kept in $HTD_TIER_LOGS (default tests/output/tiers). Exit status: 0 only when both tiers passed;
# a failing tier does not stop the other, so one run shows every failure.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
logs=${HTD_TIER_LOGS:-$root/tests/output/tiers}
mkdir -p "$logs"
rm -f "$logs"/*.rc  # a tier that never reports is a failure, not the last run's status

# The kwok bed's own state and ports (every testbed script and the local inventory read them).
kwok_env=(
  HTD_STATE="${KWOK_TIER_STATE:-$root/.testbed/kwok-tier}"
  HTD_APISERVER_PORT="${KWOK_TIER_APISERVER_PORT:-36453}"
  HTD_KAFKA_PORT="${KWOK_TIER_KAFKA_PORT:-39102}"
  HTD_KAFKA_CONTROLLER_PORT="${KWOK_TIER_KAFKA_CONTROLLER_PORT:-39103}"
  HTD_CHART_REPO_PORT="${KWOK_TIER_CHART_REPO_PORT:-38889}"
  HTD_NODES_MODE=kwok PYTHONUNBUFFERED=1
)

# tier NAME CMD...: run CMD with its output prefixed and logged; its status in $logs/NAME.rc.
tier() {
  local name=$1; shift
  local t0=$SECONDS
  "$@" 2>&1 | tee "$logs/$name.log" | sed -u "s/^/[$name] /"
  local rc=${PIPESTATUS[0]}
  echo "$rc" > "$logs/$name.rc"
  echo "[$name] tier finished: exit $rc in $((SECONDS - t0)) s"
}

pids=()
# shellcheck disable=SC2317  # called by the trap
cleanup() { local p; for p in "${pids[@]}"; do kill -- "-$p" 2>/dev/null || kill "$p" 2>/dev/null; done; }
trap 'cleanup; exit 130' INT TERM

set -m  # each tier in a process group of its own, so an interrupt stops all of it
# The tiers themselves are the Makefile's (`make integration-real`, `make integration`).
tier real env PYTHONUNBUFFERED=1 make -C "$root" --no-print-directory integration-real &
pids+=($!)
# The kwok tier at the lowest CPU and I/O priority (its bed's processes inherit it): it takes the
# time the real-node tier leaves idle, and never slows the probes, rollouts and load the real-node
# tests time (a kubelet's probe or an HPA reading starved by the other tier would fail them).
tier kwok env "${kwok_env[@]}" nice -n 19 ionice -c 2 -n 7 \
  make -C "$root" --no-print-directory integration &
pids+=($!)
wait
set +m

status=0
for name in real kwok; do
  rc=$(cat "$logs/$name.rc" 2>/dev/null || echo 1)
  echo "integration tier $name: exit $rc (log $logs/$name.log)"
  [[ $rc -eq 0 ]] || status=1
done
exit $status
