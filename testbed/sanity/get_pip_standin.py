"""Offline stand-in for pip's get-pip.py, used by `ansible-test sanity --venv`.

ansible-test bootstraps pip into each of its sanity venvs by downloading get-pip.py from a host
this machine cannot reach; it first looks for a cached copy in ~/.ansible/test/cache.
testbed/sanity.sh installs this file there. It does what get-pip.py does with the same arguments
(pip options + pinned packages such as pip==24.2), using the interpreter's bundled pip to install
them from PyPI. The CA bundle is passed explicitly because ansible-test's environment drops the
machine's pip configuration.
"""

import ensurepip
import os
import subprocess
import sys

GET_PIP_ONLY_FLAGS = {"--no-setuptools", "--no-wheel", "--no-pip"}
CA = os.environ.get("PIP_CERT") or "/etc/ssl/certs/ca-certificates.crt"

args = [a for a in sys.argv[1:] if a not in GET_PIP_ONLY_FLAGS]
ensurepip.bootstrap(upgrade=True)
cmd = [sys.executable, "-m", "pip", "install", "--cert", CA, "--disable-pip-version-check", *args]
sys.exit(subprocess.call(cmd))
