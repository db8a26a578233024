"""STAND-IN for DigitalOcean's cloud controller, load balancers only, on the real-node bed.

On DOKS, a Service of type LoadBalancer gets a DigitalOcean load balancer and its address in
`.status.loadBalancer.ingress`. The bed has no cloud, so this controller hands out addresses of
the bed's own /24 (HTD_LB_RANGE, default 10.213.0.100-10.213.0.149), puts each on the
namespace's end of the veth pair so the host reaches it, and writes it into the Service's
status; kube-proxy then forwards the address's ports to the Service's pods, as it would behind
a real load balancer. Addresses of deleted Services are released.

  python testbed/nodes/load_balancers.py KUBECONFIG NETNS STATE_DIR   (started, stopped by nodes.sh)
"""

from __future__ import annotations

import ipaddress
import json
import os
import signal
import subprocess
import sys
import time

KUBECTL = os.path.join(os.path.dirname(__file__), "..", "..", ".tools", "bin", "kubectl")


def main(kubeconfig: str, netns: str) -> int:
    first, last = os.environ.get("HTD_LB_RANGE", "10.213.0.100-10.213.0.149").split("-")
    pool = [
        str(ipaddress.IPv4Address(i))
        for i in range(int(ipaddress.IPv4Address(first)), int(ipaddress.IPv4Address(last)) + 1)
    ]
    owned: dict[str, str] = {}  # namespace/name -> address
    running = True

    def stop(*_):
        nonlocal running
        running = False

    signal.signal(signal.SIGTERM, stop)
    kubectl = [KUBECTL, "--kubeconfig", kubeconfig]
    while running:
        got = subprocess.run(
            [*kubectl, "get", "services", "-A", "-o", "json"],
            capture_output=True,
            text=True,
            check=False,
        )
        if got.returncode == 0:
            seen = {}
            for svc in json.loads(got.stdout)["items"]:
                if svc["spec"].get("type") != "LoadBalancer":
                    continue
                key = f"{svc['metadata']['namespace']}/{svc['metadata']['name']}"
                ingress = (svc.get("status", {}).get("loadBalancer") or {}).get("ingress") or []
                address = ingress[0].get("ip") if ingress else None
                if not address or address not in pool:
                    address = owned.get(key) or next(a for a in pool if a not in owned.values())
                    status = {
                        "status": {"loadBalancer": {"ingress": [{"ip": address, "ipMode": "VIP"}]}}
                    }
                    patched = subprocess.run(
                        [
                            *kubectl,
                            "-n",
                            svc["metadata"]["namespace"],
                            "patch",
                            "service",
                            svc["metadata"]["name"],
                            "--subresource=status",
                            "--type=merge",
                            "-p",
                            json.dumps(status),
                        ],
                        capture_output=True,
                        text=True,
                        check=False,
                    )
                    if patched.returncode != 0:
                        why = patched.stderr.strip()
                        print(f"cannot assign {address} to {key}: {why}", flush=True)
                        continue
                    print(f"assigned {address} to {key}", flush=True)
                seen[key] = address
            for key, address in owned.items():
                if key not in seen:
                    print(f"released {address} of {key}", flush=True)
            for address in set(seen.values()) - set(owned.values()):
                subprocess.run(
                    ["ip", "-n", netns, "addr", "add", f"{address}/32", "dev", "eth0"],
                    capture_output=True,
                    check=False,
                )
            for address in set(owned.values()) - set(seen.values()):
                subprocess.run(
                    ["ip", "-n", netns, "addr", "del", f"{address}/32", "dev", "eth0"],
                    capture_output=True,
                    check=False,
                )
            owned = seen
        time.sleep(1)
    return 0


if __name__ == "__main__":
    # STATE_DIR names the bed this controller belongs to (nodes.sh down finds it by it).
    sys.exit(main(sys.argv[1], sys.argv[2]))
