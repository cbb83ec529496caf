"""Build the test images once, offline, into a cache of OCI image layouts.

    sudo python3 -m tests.bed.images build [--force] [NAME ...]   (from the repo root)
    python3 -m tests.bed.images list                                (what is cached)

Cache: $PDMAN_TESTBED_CACHE, else /var/cache/pdman-testbed/images. Each image is
built into `.tmp/`, renamed to `NAME.KEY/` when complete and then published by
swapping the symlink `NAME -> NAME.KEY`, so a killed build leaves no half image
and readers always see a whole one. KEY hashes the recipe: the code that writes
the image, its inputs (busybox binary, Debian mirror and suite, debootstrap
version) and the keys of the images it builds on. Change any and that image and
those above it are rebuilt; otherwise `build` only prints what is cached.

Images (see DESIGN §9):
  busybox:latest    OCI index, linux/amd64 (real) + linux/arm64 (stand-in)
  debian:bookworm   debootstrap --variant=minbase, one layer
  nginx:latest      debian's very layer + nginx-light + a log/whiteout layer
  layers:latest     busybox + two layers of storage edge cases (LAYERS_EXPECTED)
  many:latest       busybox + 127 one-file layers (128 in all)
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import inspect
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import ModuleType

from tests.bed import fixtures, oci, rootfs
from tests.bed.fixtures import LAYERS_EXPECTED, MANY_LAYERS, PLATFORM_MARKER
from tests.bed.oci import Layer, Layout

__all__ = ["IMAGES", "LAYERS_EXPECTED", "MANY_LAYERS", "PLATFORM_MARKER", "build",
           "cache_dir", "layout_dir", "missing"]

DEFAULT_CACHE = Path("/var/cache/pdman-testbed/images")
SUITE = "bookworm"
# Which file of the debian layer nginx's third layer deletes, so that layer holds a
# whiteout (etc/.wh.motd). /etc/motd is only shown at login, which no image does.
NGINX_DELETES = "etc/motd"


def cache_dir() -> Path:
    return Path(os.environ.get("PDMAN_TESTBED_CACHE") or DEFAULT_CACHE)


@dataclass(frozen=True)
class Recipe:
    name: str
    tag: str
    deps: tuple[str, ...]
    code: tuple[ModuleType | Callable[..., object], ...]  # hashed into the key
    inputs: Callable[[], dict[str, str]]                  # facts from the host, hashed too
    build: Callable[[Build], None]


@dataclass
class Build:
    """What a recipe gets: the layout to fill and the finished layouts below it."""

    layout: Layout
    cache: Path
    deps: dict[str, Path]
    log: Path


def _code_hash(parts: tuple[ModuleType | Callable[..., object], ...]) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(inspect.getsource(part).encode())
    return h.hexdigest()


def _file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _pkg_version(name: str) -> str:
    return subprocess.run(["dpkg-query", "-W", "-f=${Version}", name], check=True,
                          capture_output=True, text=True).stdout


# -- the Debian base: debootstrap once, kept as a gzip layer in CACHE/rootfs/ --------

def _rootfs_inputs() -> dict[str, str]:
    return {"suite": SUITE, "mirror": rootfs.host_mirror(),
            "debootstrap": _pkg_version("debootstrap"),
            "code": _code_hash((rootfs, oci))}


def _rootfs_layer(cache: Path, log: Path) -> tuple[Path, Layer]:
    """The debootstrap'd root as one deterministic gzip tar, built at most once.

    Kept apart from the debian layout so that changing how images are assembled
    never re-runs debootstrap, and nginx can unpack it to build on.
    """
    key = hashlib.sha256(oci.canonical_json(_rootfs_inputs())).hexdigest()[:16]
    base = f"debian-{SUITE}-minbase.{key}"
    blob, meta = cache / "rootfs" / f"{base}.tar.gz", cache / "rootfs" / f"{base}.json"
    if meta.exists():
        info = json.loads(meta.read_text())
        return blob, Layer(info["descriptor"], info["diff_id"])
    blob.parent.mkdir(parents=True, exist_ok=True)
    tree = cache / ".tmp" / f"rootfs.{key}.{os.getpid()}"
    shutil.rmtree(tree, ignore_errors=True)
    tree.mkdir(parents=True)
    try:
        rootfs.debootstrap(tree, SUITE, rootfs.host_mirror(), log)
        tmp = blob.parent / f".{base}.tmp"
        layer = oci.write_layer(tmp, lambda w: w.add_tree(tree, oci.sorted_tree(tree,
                                                                                rootfs.PSEUDO)))
        os.replace(tmp, blob)
        # the .json is the completion mark, so it goes last and whole
        meta_tmp = meta.parent / f".{base}.json.tmp"
        meta_tmp.write_text(json.dumps({"descriptor": layer.descriptor,
                                        "diff_id": layer.diff_id}))
        os.replace(meta_tmp, meta)
        for old in blob.parent.glob(f"debian-{SUITE}-minbase.*"):
            if old not in (blob, meta):  # layouts that used it hold hard links
                old.unlink()
    finally:
        shutil.rmtree(tree, ignore_errors=True)
    return blob, layer


DEBOOTSTRAP_HISTORY = f"debootstrap --variant=minbase {SUITE} / $MIRROR"


def build_debian(b: Build) -> None:
    blob, layer = _rootfs_layer(b.cache, b.log)
    b.layout.import_layer(blob, layer)
    config = fixtures.image_config("linux/amd64", ["bash"], [
        fixtures.history(DEBOOTSTRAP_HISTORY), fixtures.history('CMD ["bash"]', empty=True)])
    b.layout.write_index(b.layout.add_image(config, [layer]), SUITE)


# -- nginx: two layers made by diffing the tree around chroot steps -----------------

NGINX_INSTALL = """\
printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d
chmod 0755 /usr/sbin/policy-rc.d
apt-get update -q
apt-get install -y -q --no-install-recommends nginx-light
apt-get clean
rm -rf /var/lib/apt/lists/* /usr/sbin/policy-rc.d
"""
NGINX_LOGS = f"""\
ln -sf /dev/stdout /var/log/nginx/access.log
ln -sf /dev/stderr /var/log/nginx/error.log
rm /{NGINX_DELETES}
"""


def build_nginx(b: Build) -> None:
    debian = b.deps["debian"]
    (_, desc), = oci.manifests_by_platform(debian)
    base = oci.image_layers(debian, desc["digest"])[0]
    blob = oci.blob_path(debian, base.descriptor["digest"])  # the very same blob
    tree = b.layout.root.parent / (b.layout.root.name + ".rootfs")
    shutil.rmtree(tree, ignore_errors=True)
    try:
        rootfs.extract(blob, tree)
        layers = [b.layout.import_layer(blob, base)]
        for script in (NGINX_INSTALL, NGINX_LOGS):
            before = rootfs.snapshot(tree)
            rootfs.chroot_step(tree, script, b.log)
            after = rootfs.snapshot(tree)
            layers.append(b.layout.add_layer(
                partial(rootfs.write_diff, root=tree, before=before, after=after)))
    finally:
        shutil.rmtree(tree, ignore_errors=True)
    hist = [
        fixtures.history(DEBOOTSTRAP_HISTORY),
        fixtures.history("RUN apt-get update && apt-get install -y --no-install-recommends "
                         "nginx-light && apt-get clean && rm -rf /var/lib/apt/lists/*"),
        fixtures.history("RUN ln -sf /dev/stdout /var/log/nginx/access.log && ln -sf "
                         f"/dev/stderr /var/log/nginx/error.log && rm /{NGINX_DELETES}"),
        fixtures.history("EXPOSE map[80/tcp:{}]", empty=True),
        fixtures.history("STOPSIGNAL SIGQUIT", empty=True),
        fixtures.history('CMD ["nginx" "-g" "daemon off;"]', empty=True),
    ]
    config = fixtures.image_config("linux/amd64", ["nginx", "-g", "daemon off;"], hist,
                                   ExposedPorts={"80/tcp": {}}, StopSignal="SIGQUIT")
    b.layout.write_index(b.layout.add_image(config, layers), "latest")


# -- the synthetic ones ---------------------------------------------------------------

def _busybox_amd64(layout: Path) -> Layer:
    for platform, desc in oci.manifests_by_platform(layout):
        if platform == "linux/amd64":
            return oci.image_layers(layout, desc["digest"])[0]
    raise RuntimeError(f"{layout}: no linux/amd64 image")


def build_busybox(b: Build) -> None:
    fixtures.build_busybox(b.layout)


def build_layers(b: Build) -> None:
    base = b.deps["busybox"]
    fixtures.build_layers(b.layout, base, _busybox_amd64(base))


def build_many(b: Build) -> None:
    base = b.deps["busybox"]
    fixtures.build_many(b.layout, base, _busybox_amd64(base))


def _busybox_inputs() -> dict[str, str]:
    return {"busybox": _file_hash(fixtures.BUSYBOX)}


IMAGES: dict[str, Recipe] = {r.name: r for r in [
    Recipe("busybox", "latest", (), (oci, fixtures), _busybox_inputs, build_busybox),
    Recipe("debian", SUITE, (), (oci, build_debian), _rootfs_inputs, build_debian),
    Recipe("nginx", "latest", ("debian",), (oci, rootfs, fixtures.image_config, build_nginx),
           lambda: {"script": NGINX_INSTALL + NGINX_LOGS}, build_nginx),
    Recipe("layers", "latest", ("busybox",), (oci, fixtures), dict, build_layers),
    Recipe("many", "latest", ("busybox",), (oci, fixtures), dict, build_many),
]}


# -- the cache ------------------------------------------------------------------------

def layout_dir(name: str, cache: Path | None = None) -> Path:
    """The published layout of image `name` (a symlink to its current NAME.KEY)."""
    return (cache or cache_dir()) / name


def missing(cache: Path | None = None) -> list[str]:
    """Images with no published layout (what the suite would have to fail on)."""
    return [n for n in IMAGES if not (layout_dir(n, cache) / "index.json").is_file()]


def _key(recipe: Recipe, keys: dict[str, str]) -> str:
    spec = {"name": recipe.name, "tag": recipe.tag, "code": _code_hash(recipe.code),
            "inputs": recipe.inputs(), "deps": {d: keys[d] for d in recipe.deps}}
    return hashlib.sha256(oci.canonical_json(spec)).hexdigest()[:16]


RETIRED_KEEP = 3600.0  # seconds a replaced build stays readable


def _publish(cache: Path, name: str, built: Path) -> None:
    """Point NAME at NAME.KEY atomically (rename over the old link); retire old builds.

    A replaced build is not deleted at once: a suite may be pushing from it right
    now (it resolved the link before). It is marked, and removed an hour later.
    """
    link_tmp = cache / f".{name}.link"
    link_tmp.unlink(missing_ok=True)
    link_tmp.symlink_to(built.name)
    os.replace(link_tmp, cache / name)
    now = time.time()
    for old in cache.glob(f"{name}.*"):
        if old == built or not old.is_dir():
            continue
        mark = old / ".retired"
        if not mark.exists():
            mark.touch()
        elif now - mark.stat().st_mtime > RETIRED_KEEP:
            shutil.rmtree(old, ignore_errors=True)


def build(cache: Path, names: list[str] | None = None, force: bool = False,
          out: Callable[[str], None] = print) -> dict[str, Path]:
    """Build what is missing or stale, in dependency order; one line per image."""
    os.umask(0o022)  # the suite's unprivileged user must read everything
    cache.mkdir(parents=True, exist_ok=True)
    os.chmod(cache, 0o755)
    wanted = set(names or IMAGES)
    for n in list(wanted):
        wanted.update(IMAGES[n].deps)
    with open(cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two builders would race on the same dirs
        _clean_tmp(cache / ".tmp")
        # every key first: recipes are hashed from source, which must be read
        # before a long build gives anyone time to edit it
        keys: dict[str, str] = {}
        for name, recipe in IMAGES.items():  # dict order is a dependency order
            if name in wanted:
                keys[name] = _key(recipe, keys)
        done: dict[str, Path] = {}
        for name, recipe in IMAGES.items():
            if name not in wanted:
                continue
            final = cache / f"{name}.{keys[name]}"
            started = time.monotonic()
            if force and final.exists() and (not names or name in names):
                shutil.rmtree(final)
            if final.exists():
                state = "cached"
            else:
                _build_one(cache, recipe, final, done)
                state = f"built in {time.monotonic() - started:.1f}s"
            _publish(cache, name, final)
            done[name] = final
            out(_summary(name, recipe.tag, final, state))
    return done


def _clean_tmp(tmp: Path) -> None:
    """Remove work dirs of builds that died (their names end in the builder's pid)."""
    if not tmp.is_dir():
        return
    for entry in tmp.iterdir():
        pids = [p for p in entry.name.split(".") if p.isdigit()]
        if entry.is_dir() and pids and not _alive(int(pids[-1])):
            shutil.rmtree(entry, ignore_errors=True)


def _alive(pid: int) -> bool:
    """True unless `pid` is gone or a zombie (a killed builder may linger unreaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def _build_one(cache: Path, recipe: Recipe, final: Path, done: dict[str, Path]) -> None:
    tmp = cache / ".tmp" / f"{final.name}.{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    log = cache / ".tmp" / f"{recipe.name}.log"
    log.write_bytes(b"")
    try:
        recipe.build(Build(Layout(tmp), cache, {d: done[d] for d in recipe.deps}, log))
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        sys.stderr.write(f"building {recipe.name} failed; its log: {log}\n")
        raise


def _summary(name: str, tag: str, layout: Path, state: str) -> str:
    top = json.loads((layout / "index.json").read_bytes())["manifests"][0]
    parts = []
    for platform, desc in oci.manifests_by_platform(layout):
        parts.append(f"{platform}:{len(oci.image_layers(layout, desc['digest']))} layers")
    return f"{name}:{tag}  {top['digest']}  {' '.join(parts)}  {state}  {layout}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m tests.bed.images",
                                     description=__doc__.split("\n\n")[0] if __doc__ else "")
    sub = parser.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="build missing or stale images (as root)")
    b.add_argument("names", nargs="*", metavar="NAME", help=f"some of: {' '.join(IMAGES)}")
    b.add_argument("--force", action="store_true", help="rebuild even if cached")
    sub.add_parser("list", help="show the published images")
    args = parser.parse_args(argv)
    cache = cache_dir()
    if args.cmd == "list":
        for name, recipe in IMAGES.items():
            path = layout_dir(name, cache)
            print(_summary(name, recipe.tag, path.resolve(), "published")
                  if (path / "index.json").exists() else f"{name}:{recipe.tag}  missing")
        return 0
    if os.geteuid() != 0:
        parser.error("build needs root (debootstrap, chroot, file owners)")
    unknown = set(args.names) - set(IMAGES)
    if unknown:
        parser.error(f"unknown image(s): {' '.join(sorted(unknown))}; known: {' '.join(IMAGES)}")
    build(cache, args.names or None, args.force)
    return 0


if __name__ == "__main__":
    sys.exit(main())
