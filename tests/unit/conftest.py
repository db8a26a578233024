"""Unit tests import the collection's code as `ansible_collections.hackathon_todo.deploy...`.

testbed/toolchain.sh links .tools/collections/ansible_collections/hackathon_todo/deploy to this
checkout; putting .tools/collections on sys.path makes the same import paths that ansible uses
work in-process.
"""

import pathlib
import sys

COLLECTIONS = pathlib.Path(__file__).resolve().parents[2] / ".tools" / "collections"
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))
