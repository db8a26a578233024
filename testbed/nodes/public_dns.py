"""STAND-IN for the public DNS records of the bed's hosts (what ExternalDNS or the platform role's
DigitalOcean records do on a real cluster), on the real-node bed.

Each Ingress host is published at the address the ingress controller wrote into the Ingress's
status (the load balancer's), in the bed's public DNS: pebble-challtestsrv in the namespace,
through its management API. Hosts of deleted Ingresses are withdrawn. CoreDNS forwards `.test`
there, and Pebble validates HTTP-01 through it, as Let's Encrypt resolves a real domain.

  python testbed/nodes/public_dns.py KUBECONFIG DNS_API_URL STATE_DIR
      (started and stopped by nodes.sh)
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

KUBECTL = os.path.join(os.path.dirname(__file__), "..", "..", ".tools", "bin", "kubectl")


def wanted(ingresses: list[dict]) -> dict[str, str]:
    """host -> address, from every Ingress whose status carries an address."""
    out: dict[str, str] = {}
    for ing in ingresses:
        lb = (ing.get("status", {}).get("loadBalancer") or {}).get("ingress") or []
        address = next((e["ip"] for e in lb if e.get("ip")), None)
        if not address:
            continue
        for rule in ing.get("spec", {}).get("rules") or []:
            if rule.get("host"):
                out.setdefault(rule["host"], address)
    return out


def _call(api: str, path: str, body: dict) -> None:
    if not api.startswith("http://"):
        raise ValueError(f"the public DNS API is plain HTTP inside the bed, not {api}")
    req = urllib.request.Request(  # noqa: S310 - checked above: http:// only
        api + path,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=5):  # noqa: S310 - the bed's own loopback-side API
        pass


def main(kubeconfig: str, api: str) -> int:
    published: dict[str, str] = {}
    running = True

    def stop(*_):
        nonlocal running
        running = False

    signal.signal(signal.SIGTERM, stop)
    while running:
        got = subprocess.run(
            [KUBECTL, "--kubeconfig", kubeconfig, "get", "ingresses", "-A", "-o", "json"],
            capture_output=True,
            text=True,
            check=False,
        )
        if got.returncode == 0:
            want = wanted(json.loads(got.stdout)["items"])
            for host, address in want.items():
                if published.get(host) != address:
                    try:
                        _call(api, "/add-a", {"host": host + ".", "addresses": [address]})
                    except OSError as exc:
                        print(f"cannot publish {host}: {exc}", flush=True)
                        continue
                    print(f"published {host} A {address}", flush=True)
                    published[host] = address
            for host in set(published) - set(want):
                try:
                    _call(api, "/clear-a", {"host": host + "."})
                except OSError as exc:
                    print(f"cannot withdraw {host}: {exc}", flush=True)
                    continue
                print(f"withdrew {host}", flush=True)
                del published[host]
        time.sleep(1)
    return 0


if __name__ == "__main__":
    # STATE_DIR names the bed this publisher belongs to (nodes.sh down finds it by it).
    sys.exit(main(sys.argv[1], sys.argv[2]))
