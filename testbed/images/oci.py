"""OCI images without Docker: write an image layout from files, push it to a registry.

An OCI image is one or more layer tarballs plus two JSON documents (the image config and the
manifest), addressed by their sha256 digests. `build` writes an OCI image layout (oci-layout,
index.json, blobs/sha256/...) as a tar, which `ctr images import` loads; `push` uploads the same
blobs and manifest through the OCI distribution API (monolithic blob uploads, then the manifest
by tag), with HTTP Basic credentials and the bed's CA.

Builds are reproducible: every file has mtime 0, uid/gid 0 unless given, sorted entries, gzip
without a timestamp; the same inputs give the same digests, so a cached image is simply reused.

  python testbed/images/oci.py build --ref NAME:TAG --out image.tar \
      --add SRC:DEST[:MODE] ... [--dir DEST[:MODE]] [--entrypoint JSON] [--cmd JSON]
      [--user UID:GID] [--env K=V] [--port 8000] [--label K=V] [--workdir /]
  python testbed/images/oci.py push --registry https://10.213.0.2:5000 --ca ca.crt \
      --user U --password-file F image.tar REPOSITORY:TAG
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import io
import json
import pathlib
import ssl
import sys
import tarfile
import urllib.error
import urllib.parse
import urllib.request

MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
MEDIA_INDEX = "application/vnd.oci.image.index.v1+json"


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _canonical(doc: dict) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def layer(
    files: list[tuple[pathlib.Path, str, int]], dirs: list[tuple[str, int]]
) -> tuple[bytes, str]:
    """A gzip'd tar of `files` (source, destination, mode) and `dirs`; returns (blob, diff_id)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        entries: dict[str, tuple[str, object, int]] = {}
        for dest, mode in dirs:
            entries[dest.strip("/")] = ("dir", None, mode)
        for src, dest, mode in files:
            parts = dest.strip("/").split("/")
            for i in range(1, len(parts)):
                entries.setdefault("/".join(parts[:i]), ("dir", None, 0o755))
            entries[dest.strip("/")] = ("file", src, mode)
        for name in sorted(entries):
            kind, src, mode = entries[name]
            info = tarfile.TarInfo(name)
            info.mtime, info.uid, info.gid, info.mode = 0, 0, 0, mode
            if kind == "dir":
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                data = pathlib.Path(src).read_bytes()
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    diff_id = _digest(raw.getvalue())
    gz = io.BytesIO()
    with gzip.GzipFile(fileobj=gz, mode="wb", mtime=0, compresslevel=6) as g:
        g.write(raw.getvalue())
    return gz.getvalue(), diff_id


def image(
    files: list[tuple[pathlib.Path, str, int]],
    dirs: list[tuple[str, int]] = (),
    *,
    entrypoint: list[str] | None = None,
    cmd: list[str] | None = None,
    user: str = "",
    env: list[str] = (),
    ports: list[str] = (),
    labels: dict[str, str] | None = None,
    workdir: str = "/",
) -> dict[str, bytes]:
    """Every blob of a one-layer linux/amd64 image, by digest, plus "manifest" -> its digest."""
    blob, diff_id = layer(files, list(dirs))
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": "1970-01-01T00:00:00Z",
        "config": {
            "Env": ["PATH=/usr/local/bin:/usr/bin:/bin", *env],
            "WorkingDir": workdir,
            **({"Entrypoint": entrypoint} if entrypoint else {}),
            **({"Cmd": cmd} if cmd else {}),
            **({"User": user} if user else {}),
            **({"ExposedPorts": {f"{p}/tcp": {} for p in ports}} if ports else {}),
            **({"Labels": labels} if labels else {}),
        },
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": "1970-01-01T00:00:00Z", "created_by": "testbed/images/oci.py"}],
    }
    config_bytes = _canonical(config)
    manifest = {
        "schemaVersion": 2,
        "mediaType": MEDIA_MANIFEST,
        "config": {
            "mediaType": MEDIA_CONFIG,
            "digest": _digest(config_bytes),
            "size": len(config_bytes),
        },
        "layers": [{"mediaType": MEDIA_LAYER, "digest": _digest(blob), "size": len(blob)}],
    }
    manifest_bytes = _canonical(manifest)
    blobs = {
        _digest(blob): blob,
        _digest(config_bytes): config_bytes,
        _digest(manifest_bytes): manifest_bytes,
    }
    blobs["manifest"] = _digest(manifest_bytes).encode()
    return blobs


def write_layout(blobs: dict[str, bytes], ref: str, out: pathlib.Path) -> str:
    """An OCI image layout tar at `out` naming the image `ref`; returns the manifest digest."""
    manifest_digest = blobs["manifest"].decode()
    index = {
        "schemaVersion": 2,
        "mediaType": MEDIA_INDEX,
        "manifests": [
            {
                "mediaType": MEDIA_MANIFEST,
                "digest": manifest_digest,
                "size": len(blobs[manifest_digest]),
                "annotations": {
                    "io.containerd.image.name": ref,
                    "org.opencontainers.image.ref.name": ref.rsplit(":", 1)[-1],
                },
            }
        ],
    }
    docs = {
        "oci-layout": _canonical({"imageLayoutVersion": "1.0.0"}),
        "index.json": _canonical(index),
    }
    for digest, data in blobs.items():
        if digest != "manifest":
            docs["blobs/sha256/" + digest.split(":", 1)[1]] = data
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".tmp")
    with tarfile.open(tmp, "w") as tar:
        for d in ("blobs", "blobs/sha256"):
            info = tarfile.TarInfo(d)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 0
            tar.addfile(info)
        for name in sorted(docs):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(docs[name]), 0o644, 0
            tar.addfile(info, io.BytesIO(docs[name]))
    tmp.replace(out)
    return manifest_digest


def read_layout(path: pathlib.Path) -> dict[str, bytes]:
    """The blobs of a layout tar written by write_layout, with "manifest" -> its digest."""
    blobs: dict[str, bytes] = {}
    with tarfile.open(path) as tar:
        index = json.load(tar.extractfile("index.json"))
        for member in tar.getmembers():
            if member.isfile() and member.name.startswith("blobs/sha256/"):
                blobs["sha256:" + member.name.rsplit("/", 1)[1]] = tar.extractfile(member).read()
    blobs["manifest"] = index["manifests"][0]["digest"].encode()
    return blobs


class Registry:
    """The few calls of the OCI distribution API a push needs, with HTTP Basic auth."""

    def __init__(self, url: str, user: str = "", password: str = "", ca: str | None = None):
        self.url = url.rstrip("/")
        self.ctx = ssl.create_default_context(cafile=ca) if url.startswith("https") else None
        self.auth = (
            "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode() if user else ""
        )

    def call(self, method: str, path: str, data: bytes | None = None, headers: dict | None = None):
        url = path if path.startswith("http") else self.url + path
        if not url.startswith(("https://", "http://")):
            raise SystemExit(f"not an HTTP(S) URL: {url}")
        req = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))  # noqa: S310
        if self.auth:
            req.add_header("Authorization", self.auth)
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=60) as resp:  # noqa: S310
                return resp.status, resp.headers, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers, exc.read()

    def push(self, blobs: dict[str, bytes], repository: str, tag: str) -> str:
        manifest_digest = blobs["manifest"].decode()
        for digest, data in blobs.items():
            if digest in ("manifest", manifest_digest):
                continue
            status, _h, _b = self.call("HEAD", f"/v2/{repository}/blobs/{digest}")
            if status == 200:
                continue
            status, headers, body = self.call("POST", f"/v2/{repository}/blobs/uploads/")
            if status != 202:
                raise SystemExit(
                    f"push {repository}: upload refused (HTTP {status}): {body[:300]!r}"
                )
            location = urllib.parse.urljoin(self.url + "/", headers["Location"])
            sep = "&" if "?" in location else "?"
            status, _h, body = self.call(
                "PUT",
                f"{location}{sep}digest={urllib.parse.quote(digest)}",
                data,
                {"Content-Type": "application/octet-stream"},
            )
            if status != 201:
                raise SystemExit(
                    f"push {repository}: blob {digest} refused (HTTP {status}): {body[:300]!r}"
                )
        status, _h, body = self.call(
            "PUT",
            f"/v2/{repository}/manifests/{tag}",
            blobs[manifest_digest],
            {"Content-Type": MEDIA_MANIFEST},
        )
        if status != 201:
            raise SystemExit(
                f"push {repository}:{tag}: manifest refused (HTTP {status}): {body[:300]!r}"
            )
        return manifest_digest


def _spec(value: str, default_mode: int) -> tuple[str, str, int]:
    parts = value.split(":")
    mode = int(parts[2], 8) if len(parts) > 2 else default_mode
    return parts[0], parts[1] if len(parts) > 1 else parts[0], mode


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = ap.add_subparsers(dest="action", required=True)
    b = sub.add_parser("build")
    b.add_argument("--ref", required=True)
    b.add_argument("--out", required=True, type=pathlib.Path)
    b.add_argument("--add", action="append", default=[], help="SRC:DEST[:MODE]")
    b.add_argument("--dir", action="append", default=[], help="DEST[:MODE]")
    b.add_argument("--entrypoint", type=json.loads)
    b.add_argument("--cmd", type=json.loads)
    b.add_argument("--user", default="")
    b.add_argument("--env", action="append", default=[])
    b.add_argument("--port", action="append", default=[])
    b.add_argument("--label", action="append", default=[])
    b.add_argument("--workdir", default="/")
    p = sub.add_parser("push")
    p.add_argument("--registry", required=True)
    p.add_argument("--ca")
    p.add_argument("--user", default="")
    p.add_argument("--password-file")
    p.add_argument("layout", type=pathlib.Path)
    p.add_argument("target", help="REPOSITORY:TAG")
    args = ap.parse_args(argv)
    if args.action == "build":
        files = []
        for value in args.add:
            src, dest, mode = _spec(value, 0o755)
            files.append((pathlib.Path(src), dest, mode))
        dirs = [(d, m) for d, _same, m in (_spec(v, 0o755) for v in args.dir)]
        blobs = image(
            files,
            dirs,
            entrypoint=args.entrypoint,
            cmd=args.cmd,
            user=args.user,
            env=args.env,
            ports=args.port,
            labels=dict(kv.split("=", 1) for kv in args.label),
            workdir=args.workdir,
        )
        print(write_layout(blobs, args.ref, args.out))
    else:
        password = (
            pathlib.Path(args.password_file).read_text().strip() if args.password_file else ""
        )
        repository, tag = args.target.rsplit(":", 1)
        reg = Registry(args.registry, args.user, password, args.ca)
        print(reg.push(read_layout(args.layout), repository, tag))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
