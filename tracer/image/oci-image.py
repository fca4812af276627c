#!/usr/bin/env python3
"""Write a one-layer container image as an OCI image layout, without a container engine.

    oci-image.py --rootfs DIR --layout OUT --tag TAG [--entrypoint JSON] [--cmd JSON]
                 [--volume PATH]... [--env K=V]... [--workdir DIR] [--label K=V]...
                 [--arch amd64|arm64]
    oci-image.py --layout OUT --tag TAG --index-of TAG1,TAG2...

The layer is DIR as a gzip'd tar, written reproducibly: entries sorted, owned by 0:0, mtimes
set to SOURCE_DATE_EPOCH (default 0), gzip header without name or time. The same inputs give
the same image digest. OUT may already be an OCI layout: TAG is then added (or replaced) in
its index.json, so one layout can hold several images. Push it with skopeo:

    skopeo copy oci:OUT:TAG docker://REGISTRY/REPOSITORY:TAG

With --index-of, TAG becomes a multi-platform image: an OCI image index whose manifests are the
images TAG1, TAG2... already in OUT, each with its platform (push it with `skopeo copy --all`).

Only the standard library is used (Debian's python3 is enough).
"""

import argparse
import gzip
import hashlib
import io
import json
import os
import sys
import tarfile

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
REF_NAME = "org.opencontainers.image.ref.name"


def fail(msg):
    print(f"oci-image.py: error: {msg}", file=sys.stderr)
    sys.exit(2)


def json_list(flag, text):
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        fail(f"{flag}: not JSON ({e}); expected a list of strings, e.g. '[\"/bin/app\", \"--serve\"]'")
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        fail(f"{flag}: expected a JSON list of strings, got {text}")
    return value


def key_value(flag, text):
    if "=" not in text or text.startswith("="):
        fail(f"{flag} {text!r}: expected KEY=VALUE")
    return text.split("=", 1)


def layer_tar(rootfs, mtime):
    """The rootfs as an uncompressed tar (bytes), reproducible."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        entries = []
        for top, dirs, files in os.walk(rootfs):
            dirs.sort()
            for name in sorted(dirs + files):
                entries.append(os.path.join(top, name))
        for path in sorted(entries, key=lambda p: os.path.relpath(p, rootfs)):
            rel = os.path.relpath(path, rootfs)
            info = tar.gettarinfo(path, arcname=rel)
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mtime = mtime
            info.pax_headers = {}
            if info.isreg():
                with open(path, "rb") as f:
                    tar.addfile(info, f)
            elif info.isdir() or info.issym() or info.islnk():
                tar.addfile(info)
            else:
                fail(f"{path}: only files, directories and symbolic links can go into the layer")
    return buf.getvalue()


def write_blob(layout, data):
    digest = hashlib.sha256(data).hexdigest()
    path = os.path.join(layout, "blobs", "sha256", digest)
    if not os.path.exists(path):
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    return {"digest": f"sha256:{digest}", "size": len(data)}


def canonical(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rootfs", help="directory that becomes the image's filesystem")
    p.add_argument("--layout", required=True, help="OCI image layout directory to write or extend")
    p.add_argument("--tag", required=True, help="name of the image in the layout (oci:LAYOUT:TAG)")
    p.add_argument("--entrypoint", help="ENTRYPOINT as a JSON list")
    p.add_argument("--cmd", help="CMD as a JSON list")
    p.add_argument("--volume", action="append", default=[], help="declare a VOLUME (repeatable)")
    p.add_argument("--env", action="append", default=[], help="KEY=VALUE (repeatable)")
    p.add_argument("--workdir", help="WORKDIR")
    p.add_argument("--label", action="append", default=[], help="KEY=VALUE label (repeatable)")
    p.add_argument("--arch", default="amd64", choices=["amd64", "arm64"])
    p.add_argument("--index-of", help="TAG1,TAG2...: make TAG an image index of these images")
    a = p.parse_args()

    if a.index_of is not None:
        if a.rootfs is not None:
            fail("--index-of and --rootfs: give one or the other")
        return write_index(a.layout, a.tag, [t for t in a.index_of.split(",") if t])
    if a.rootfs is None or not os.path.isdir(a.rootfs):
        fail(f"--rootfs {a.rootfs}: not a directory")
    if not a.tag or any(c in a.tag for c in "/: "):
        fail(f"--tag {a.tag!r}: expected a tag such as 0.1.0 (no '/', ':' or spaces)")
    if os.path.exists(a.layout) and not os.path.isfile(os.path.join(a.layout, "oci-layout")):
        if not os.path.isdir(a.layout) or os.listdir(a.layout):
            fail(f"--layout {a.layout}: exists and is not an OCI image layout; give a new or empty directory")
    mtime = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))

    config = {}
    if a.entrypoint is not None:
        config["Entrypoint"] = json_list("--entrypoint", a.entrypoint)
    if a.cmd is not None:
        config["Cmd"] = json_list("--cmd", a.cmd)
    if a.volume:
        for v in a.volume:
            if not v.startswith("/"):
                fail(f"--volume {v}: expected an absolute path")
        config["Volumes"] = {v: {} for v in a.volume}
    env = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
    for e in a.env:
        k, _ = key_value("--env", e)
        env = [x for x in env if not x.startswith(k + "=")] + [e]
    config["Env"] = env
    if a.workdir:
        config["WorkingDir"] = a.workdir
    if a.label:
        config["Labels"] = dict(key_value("--label", kv) for kv in a.label)

    os.makedirs(os.path.join(a.layout, "blobs", "sha256"), exist_ok=True)
    tar = layer_tar(a.rootfs, mtime)
    gz = io.BytesIO()
    with gzip.GzipFile(fileobj=gz, mode="wb", mtime=0, filename="") as z:
        z.write(tar)
    layer = write_blob(a.layout, gz.getvalue())
    layer["mediaType"] = OCI_LAYER

    image_config = {
        "architecture": a.arch,
        "os": "linux",
        "config": config,
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(tar).hexdigest()]},
        "history": [{"created_by": "kiltx tracer/image/oci-image.py"}],
    }
    cfg = write_blob(a.layout, canonical(image_config))
    cfg["mediaType"] = OCI_CONFIG
    manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": cfg, "layers": [layer]}
    man = write_blob(a.layout, canonical(manifest))

    name(a.layout, a.tag, {
        "mediaType": OCI_MANIFEST,
        **man,
        "platform": {"architecture": a.arch, "os": "linux"},
    })
    print(f"{a.layout}:{a.tag} {man['digest']}")


def read_index(layout):
    index_path = os.path.join(layout, "index.json")
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}
    if os.path.exists(index_path):
        with open(index_path) as f:
            index = json.load(f)
    return index


def name(layout, tag, descriptor):
    """Add (or replace) TAG in the layout's index.json, pointing at DESCRIPTOR."""
    index_path = os.path.join(layout, "index.json")
    index = read_index(layout)
    index["manifests"] = [m for m in index.get("manifests", [])
                          if m.get("annotations", {}).get(REF_NAME) != tag]
    index["manifests"].append({**descriptor, "annotations": {REF_NAME: tag}})
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    with open(index_path + ".tmp", "w") as f:
        json.dump(index, f, indent=2)
    os.replace(index_path + ".tmp", index_path)


def write_index(layout, tag, members):
    if not members:
        fail("--index-of: expected TAG1,TAG2...")
    if not os.path.isfile(os.path.join(layout, "index.json")):
        fail(f"--layout {layout}: no OCI image layout there; write the images of --index-of first")
    named = {m.get("annotations", {}).get(REF_NAME): m for m in read_index(layout)["manifests"]}
    manifests, platforms = [], set()
    for t in members:
        m = named.get(t)
        if m is None or m.get("mediaType") != OCI_MANIFEST or "platform" not in m:
            fail(f"--index-of: {t!r} is not a single-platform image in {layout}")
        p = m["platform"]
        key = (p.get("os"), p.get("architecture"))
        if key in platforms:
            fail(f"--index-of: two images for {key[0]}/{key[1]}")
        platforms.add(key)
        manifests.append({k: m[k] for k in ("mediaType", "digest", "size", "platform")})
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}
    desc = write_blob(layout, canonical(index))
    name(layout, tag, {"mediaType": OCI_INDEX, **desc})
    print(f"{layout}:{tag} {desc['digest']}")


if __name__ == "__main__":
    main()
