"""Class 9 of issue #12: hostile input never crashes.

Images built here, by the test, carry what a hostile builder would put in them: a
path thousands of directories deep, absurd timestamps, a malformed /etc/passwd and
/etc/group, truncated and garbage layers; a registry serves malformed manifests and
configs. Each command must end in a clean error (exit 125, `Error: ...` naming the
object, no Python traceback) or succeed sanely, and a failure must leave nothing
behind: no image, no layer, nothing under the store's tmp/, `system check` clean.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import subprocess
import tarfile
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.bed import fixtures, images, oci
from tests.bed.hostile_registry import HostileRegistry, Route
from tests.bed.hostile_registry import hostile_registry as serve_hostile_registry
from tests.bed.oci import Layout, LayerWriter
from tests.bed.runner import run_pdman

Run = Callable[..., "subprocess.CompletedProcess[str]"]
ROOT_PASSWD = "root:x:0:0:root:/root:/bin/sh\n"


# -- what every failure must look like ---------------------------------------------------

def assert_clean_error(done: "subprocess.CompletedProcess[str]", *words: str) -> None:
    """Exit 125, an `Error:` line that names the object, no traceback."""
    shown = f"exit {done.returncode}\n--- stdout\n{done.stdout}--- stderr\n{done.stderr}"
    assert done.returncode == 125, shown
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout, shown
    assert "unexpected internal error" not in done.stderr, shown
    first = done.stderr.strip().splitlines()[0]
    assert first.startswith("Error: "), shown
    for w in words:
        assert w.lower() in done.stderr.lower(), shown


def assert_nothing_left(pd: Run, env: dict[str, str], layers_before: set[str]) -> None:
    """No image row, no new layer, nothing under tmp/, and `system check` clean."""
    assert pd("images", "-q").stdout.strip() == ""
    root = Path(env["PDMAN_ROOT"])
    assert not list((root / "tmp").iterdir()) if (root / "tmp").is_dir() else True, \
        f"left in tmp/: {sorted(os.listdir(root / 'tmp'))}"
    layers = set(os.listdir(root / "layers")) if (root / "layers").is_dir() else set()
    assert layers <= layers_before, f"layers left behind: {sorted(layers - layers_before)}"
    check = pd("system", "check", check=False)
    assert check.returncode == 0 and "Traceback" not in check.stderr, check.stdout + check.stderr


# -- building hostile images -------------------------------------------------------------

def busybox_layer(layout: Layout) -> oci.Layer:
    """The test bed's busybox (amd64) layer, shared into `layout`: something to run."""
    base = images.layout_dir("busybox")
    desc = dict(oci.manifests_by_platform(base))["linux/amd64"]
    return layout.copy_layer(base, oci.image_layers(base, desc["digest"])[0])


def entry(name: str, kind: bytes = tarfile.REGTYPE, mtime: float = oci.EPOCH,
          pax: dict[str, str] | None = None) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.mtime = kind, 0o755 if kind == tarfile.DIRTYPE else 0o644, mtime
    if pax:
        info.pax_headers = pax
    return info


def build_archive(tmp: Path, fill: Callable[[LayerWriter], object] | None, ref: str,
                  with_busybox: bool = False, config: dict[str, Any] | None = None) -> Path:
    """An oci-archive of one image: [busybox layer] + the layer `fill` writes."""
    layout = Layout(tmp / "layout")
    layers = [busybox_layer(layout)] if with_busybox else []
    if fill is not None:
        layers.append(layout.add_layer(fill))
    cfg = config or fixtures.image_config("linux/amd64", ["sh"], [])
    layout.write_index(layout.add_image(cfg, layers), ref)
    return tar_layout(layout.root, tmp / "image.tar")


def tar_layout(root: Path, archive: Path) -> Path:
    with tarfile.open(archive, "w") as tar:
        for path in sorted(root.rglob("*")):
            tar.add(path, arcname=str(path.relative_to(root)), recursive=False)
    return archive


def deep_path(w: LayerWriter, depth: int = 3000) -> None:
    # one PAX path of `depth` components (a ustar name holds only 255 bytes)
    w.add(entry("d/" * depth + "file"), b"deep\n")


def deep_dirs(w: LayerWriter, depth: int = 1200) -> None:
    for i in range(1, depth + 1):
        w.add(entry("d/" * i, tarfile.DIRTYPE))


def absurd_times(w: LayerWriter) -> None:
    w.add(entry("ts", tarfile.DIRTYPE, pax={"mtime": "1e400"}))
    w.add(entry("ts/negative", mtime=-10 ** 11), b"1\n")          # year -1200
    w.add(entry("ts/after-9999", mtime=253402300800 * 40), b"2\n")  # year ~400000
    w.add(entry("ts/pax-huge", pax={"mtime": "1e400"}), b"3\n")
    w.add(entry("ts/pax-neg-huge", pax={"mtime": "-1e400"}), b"4\n")
    w.add(entry("ts/pax-nan", pax={"mtime": "nan"}), b"5\n")
    link = entry("ts/link", tarfile.SYMTYPE, mtime=10 ** 30)
    link.linkname = "negative"
    w.add(link)


HOSTILE_PASSWD = (
    ROOT_PASSWD.encode()
    + b"\x00\xff\xfe\x80binary garbage\x00:x:1:1\n"
    + b"bad:x:notanumber:0::/:/bin/sh\n"
    + b"huge:x:99999999999999999999999:0::/:/bin/sh\n"
    + b"super:x:\xc2\xb2:0::/:/bin/sh\n"          # a Unicode digit ('2' superscript)
    + b"short:x\n"
    + b"long:x:7:7:" + b"g" * (1 << 20) + b":/:/bin/sh\n"
    + b"web:x:33:33:web:/var/www:/bin/sh\n"
)
HOSTILE_GROUP = (
    b"root:x:0:\n\xff\xfe\x00\x01\n"
    + b"wheel:x:zz:web\n"
    + b"grp:x:44:web\n"
    + b"huge:x:99999999999999999999999:web\n"
    + b"g" * (1 << 20) + b"\n"
)


def hostile_etc(w: LayerWriter) -> None:
    w.add(entry("etc", tarfile.DIRTYPE))
    w.add(entry("etc/passwd"), HOSTILE_PASSWD)
    w.add(entry("etc/group"), HOSTILE_GROUP)


# -- layers that must be refused on load -------------------------------------------------

@pytest.mark.parametrize("fill", [deep_path, deep_dirs], ids=["pax-path-3000-deep",
                                                               "dirs-1200-deep"])
def test_a_path_thousands_deep_is_refused_cleanly(pd: Run, registry_env: dict[str, str],
                                                  tmp_path: Path, fill: Any) -> None:
    archive = build_archive(tmp_path, fill, "deep:1")
    done = pd("load", "-i", archive, check=False)
    assert_clean_error(done, "layer", "deeper than")
    assert_nothing_left(pd, registry_env, set())


def _truncated_gzip(tmp: Path) -> bytes:
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as gz:
        with tarfile.open(fileobj=gz, mode="w") as tar:  # type: ignore[call-overload]
            data = os.urandom(200_000)
            info = tarfile.TarInfo("big")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    raw = buf.getvalue()
    return raw[: len(raw) // 2]


@pytest.mark.parametrize("kind", ["truncated-gzip", "garbage", "tar-cut-in-a-header"])
def test_a_broken_layer_is_refused_cleanly(pd: Run, registry_env: dict[str, str],
                                           tmp_path: Path, kind: str) -> None:
    blob = {"truncated-gzip": _truncated_gzip(tmp_path),
            "garbage": b"\x00not a tar\xff" * 100 + os.urandom(3000),
            "tar-cut-in-a-header": _plain_tar_cut()}[kind]
    layout = Layout(tmp_path / "layout")
    digest = "sha256:" + hashlib.sha256(blob).hexdigest()
    layout.blob_path(digest).write_bytes(blob)
    layer = oci.Layer({"mediaType": oci.MT_LAYER_GZIP, "digest": digest, "size": len(blob)},
                      "sha256:" + "0" * 64)
    cfg = fixtures.image_config("linux/amd64", ["sh"], [])
    layout.write_index(layout.add_image(cfg, [layer]), "broken:1")
    done = pd("load", "-i", tar_layout(layout.root, tmp_path / "image.tar"), check=False)
    assert_clean_error(done, "layer")
    assert_nothing_left(pd, registry_env, set())


def _plain_tar_cut() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.addfile(entry("a"), io.BytesIO(b"x" * 600))
        tar.addfile(entry("b"), io.BytesIO(b"y"))
    raw = buf.getvalue()
    return raw[:1024 + 300]  # a, its data, then 300 bytes of b's header


DOCKER_ARCHIVES = {
    "manifest-an-object": b'{"a": 1}',
    "config-a-number": b'[{"Config": 5, "Layers": []}]',
    "layers-a-string": b'[{"Config": "c.json", "Layers": "abc"}]',
    "nested-100000-deep": b"[" * 100_000 + b"]" * 100_000,
    "repotags-numbers": b'[{"Config": "c.json", "Layers": [], "RepoTags": [1]}]',
}
OCI_INDEXES = {
    "index-a-list": b"[1, 2]",
    "manifests-a-number": b'{"manifests": 5}',
    "manifests-of-strings": b'{"manifests": ["x"]}',
    "nested-100000-deep": b"[" * 100_000 + b"]" * 100_000,
}


def _archive(tmp: Path, members: dict[str, bytes]) -> Path:
    path = tmp / "archive.tar"
    with tarfile.open(path, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


@pytest.mark.parametrize("kind", sorted(DOCKER_ARCHIVES))
def test_load_of_a_malformed_docker_archive_fails_cleanly(
        pd: Run, registry_env: dict[str, str], tmp_path: Path, kind: str) -> None:
    config = _config([])
    archive = _archive(tmp_path, {"manifest.json": DOCKER_ARCHIVES[kind], "c.json": config})
    assert_clean_error(pd("load", "-i", archive, check=False), "manifest.json")
    assert_nothing_left(pd, registry_env, set())


@pytest.mark.parametrize("kind", sorted(OCI_INDEXES))
def test_load_of_a_malformed_oci_archive_fails_cleanly(
        pd: Run, registry_env: dict[str, str], tmp_path: Path, kind: str) -> None:
    archive = _archive(tmp_path, {"oci-layout": b'{"imageLayoutVersion": "1.0.0"}',
                                  "index.json": OCI_INDEXES[kind]})
    assert_clean_error(pd("load", "-i", archive, check=False), "index.json")
    assert_nothing_left(pd, registry_env, set())


# -- layers that must load sanely --------------------------------------------------------

def test_absurd_timestamps_are_clamped_not_fatal(pd: Run, tmp_path: Path) -> None:
    archive = build_archive(tmp_path, absurd_times, "times:1", with_busybox=True)
    done = pd("load", "-i", archive, check=False)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    out = pd("run", "--rm", "localhost/times:1", "sh", "-c",
             "cat /ts/negative /ts/after-9999 /ts/pax-huge /ts/pax-neg-huge /ts/pax-nan; "
             "stat -c %Y /ts/negative /ts/after-9999").stdout.split()
    assert out[:5] == ["1", "2", "3", "4", "5"]
    negative, far = int(out[5]), int(out[6])
    assert negative < 0 and far >= 2 ** 31 - 1  # clamped to what the filesystem holds


# -- a malformed /etc/passwd and /etc/group used with `run -u` ---------------------------

@pytest.fixture
def hostile_users(pd: Run, tmp_path: Path) -> str:
    archive = build_archive(tmp_path, hostile_etc, "users:1", with_busybox=True)
    pd("load", "-i", archive)
    return "localhost/users:1"


def test_run_as_a_user_found_among_garbage(pd: Run, hostile_users: str) -> None:
    out = pd("run", "--rm", "-u", "web", hostile_users, "sh", "-c", "id -u; id -g; id -G")
    uid, gid, groups = out.stdout.split("\n")[:3]
    assert (uid, gid) == ("33", "33")
    assert "44" in groups.split()


@pytest.mark.parametrize("user, words", [
    ("bad", ["bad", "/etc/passwd"]),            # UID not a number
    ("huge", ["huge", "/etc/passwd"]),          # UID past 2^32
    ("super", ["super", "/etc/passwd"]),        # UID a Unicode digit
    ("\u00b2", ["user"]),                        # -u with a Unicode digit
    ("99999999999", ["99999999999"]),            # -u a UID no namespace can map
    ("short", ["short"]),                        # an entry without its fields
    ("web:wheel", ["wheel", "/etc/group"]),      # GID not a number
    ("web:huge", ["huge", "/etc/group"]),        # GID past 2^32
])
def test_run_as_a_malformed_user_fails_cleanly(pd: Run, registry_env: dict[str, str],
                                               hostile_users: str, user: str,
                                               words: list[str]) -> None:
    done = pd("run", "--rm", "-u", user, hostile_users, "id", check=False)
    assert_clean_error(done, *words)
    assert pd("ps", "-aq").stdout.strip() == "", "a container was left behind"


# -- malformed manifests and configs served by a registry --------------------------------

def _push_blob(host: str, repo: str, data: bytes) -> str:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    req = urllib.request.Request(f"http://{host}/v2/{repo}/blobs/uploads/", method="POST",
                                 data=b"")
    with urllib.request.urlopen(req, timeout=30) as resp:
        location = resp.headers["Location"]
    if location.startswith("/"):
        location = f"http://{host}{location}"
    sep = "&" if "?" in location else "?"
    req = urllib.request.Request(f"{location}{sep}digest={digest}", method="PUT", data=data,
                                 headers={"Content-Type": "application/octet-stream"})
    urllib.request.urlopen(req, timeout=30).close()
    return digest


def _push_image(host: str, repo: str, tag: str, config: bytes, layers: list[bytes]) -> None:
    descs = [{"mediaType": oci.MT_LAYER_GZIP, "digest": _push_blob(host, repo, b),
              "size": len(b)} for b in layers]
    manifest = {"schemaVersion": 2, "mediaType": oci.MT_MANIFEST,
                "config": {"mediaType": oci.MT_CONFIG, "digest": _push_blob(host, repo, config),
                           "size": len(config)},
                "layers": descs}
    req = urllib.request.Request(f"http://{host}/v2/{repo}/manifests/{tag}", method="PUT",
                                 data=json.dumps(manifest).encode(),
                                 headers={"Content-Type": oci.MT_MANIFEST})
    urllib.request.urlopen(req, timeout=30).close()


def _tiny_layer() -> tuple[bytes, str]:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.addfile(entry("hello"), io.BytesIO(b"hi\n"))
    plain = buf.getvalue()
    return gzip.compress(plain, mtime=0), "sha256:" + hashlib.sha256(plain).hexdigest()


def _config(diff_ids: Any, **cfg: Any) -> bytes:
    return json.dumps({"architecture": "amd64", "os": "linux", "config": cfg,
                       "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()


HOSTILE_CONFIGS: dict[str, Callable[[str], bytes]] = {
    "nested-100000-deep": lambda d: b"[" * 100_000 + b"]" * 100_000,
    "diff-ids-not-a-list": lambda d: _config(5),
    "diff-id-not-a-digest": lambda d: _config(["sha256:../../etc"]),
    "env-not-a-list": lambda d: _config([d], Env=5),
    "cmd-with-nul": lambda d: _config([d], Cmd=["sh", "-c", "true\u0000rm -rf /"]),
    "labels-not-strings": lambda d: _config([d], Labels={"a": {"b": 1}}),
    "not-json": lambda d: b"\xff\xfe<html>",
}


@pytest.mark.parametrize("kind", sorted(HOSTILE_CONFIGS))
def test_pull_of_a_malformed_config_fails_cleanly(pd: Run, registry_env: dict[str, str],
                                                  testbed: Any, kind: str) -> None:
    layer, diff_id = _tiny_layer()
    repo = f"hostile/config-{kind}"
    _push_image(testbed.registry, repo, "1", HOSTILE_CONFIGS[kind](diff_id), [layer])
    done = pd("pull", "-q", f"{testbed.registry}/{repo}:1", check=False)
    assert_clean_error(done, "config")
    assert_nothing_left(pd, registry_env, set())


@pytest.mark.parametrize("kind", ["truncated-gzip", "garbage"])
def test_pull_of_a_broken_layer_fails_cleanly(pd: Run, registry_env: dict[str, str],
                                              testbed: Any, tmp_path: Path, kind: str) -> None:
    _, diff_id = _tiny_layer()
    blob = _truncated_gzip(tmp_path) if kind == "truncated-gzip" else os.urandom(5000)
    repo = f"hostile/layer-{kind}"
    _push_image(testbed.registry, repo, "1", _config([diff_id]), [blob])
    done = pd("pull", "-q", f"{testbed.registry}/{repo}:1", check=False)
    assert_clean_error(done, "layer")
    assert_nothing_left(pd, registry_env, set())


@pytest.fixture
def hostile_registry(registry_env: dict[str, str], tmp_path: Path) -> Iterator[HostileRegistry]:
    """A registry gone bad (tests/bed/hostile_registry.py), for what a real registry
    would refuse to store; pdman trusts it over plain HTTP."""
    yield from serve_hostile_registry()


def _doc(**fields: Any) -> bytes:
    return json.dumps({"schemaVersion": 2, **fields}).encode()


DESC = {"mediaType": oci.MT_CONFIG, "digest": "sha256:" + "a" * 64, "size": 2}
HOSTILE_MANIFESTS: dict[str, tuple[str, bytes]] = {
    "not-json": (oci.MT_MANIFEST, b"<html>502 Bad Gateway</html>"),
    "nested-100000-deep": (oci.MT_MANIFEST, b"[" * 100_000 + b"]" * 100_000),
    "size-1e400": (oci.MT_MANIFEST, _doc(mediaType=oci.MT_MANIFEST, config=DESC, layers=[
        dict(DESC, size=1e400)]).replace(b"Infinity", b"1e400")),
    "size-a-string": (oci.MT_MANIFEST, _doc(mediaType=oci.MT_MANIFEST, config=DESC,
                                             layers=[dict(DESC, size="12")])),
    "layers-an-object": (oci.MT_MANIFEST, _doc(mediaType=oci.MT_MANIFEST, config=DESC,
                                                layers={"a": 1})),
    "annotations-a-list": (oci.MT_MANIFEST, _doc(mediaType=oci.MT_MANIFEST, config=DESC,
                                                  layers=[], annotations=[1, 2])),
    "urls-a-number": (oci.MT_MANIFEST, _doc(mediaType=oci.MT_MANIFEST, config=DESC,
                                             layers=[dict(DESC, urls=5)])),
    "index-manifests-a-number": (oci.MT_INDEX, _doc(mediaType=oci.MT_INDEX, manifests=5)),
    "index-of-strings": (oci.MT_INDEX, _doc(mediaType=oci.MT_INDEX, manifests=["x", 1])),
}


@pytest.mark.parametrize("kind", sorted(HOSTILE_MANIFESTS))
def test_pull_of_a_malformed_manifest_fails_cleanly(
        pd: Run, registry_env: dict[str, str], kind: str,
        hostile_registry: HostileRegistry, tmp_path: Path) -> None:
    ctype, body = HOSTILE_MANIFESTS[kind]
    hostile_registry.routes["/v2/evil/manifests/1"] = Route(ctype, body)
    env = hostile_registry.env(registry_env, tmp_path)
    done = run_pdman("pull", "-q", f"{hostile_registry.host}/evil:1", env=env, check=False,
                     timeout=120)
    assert_clean_error(done, "manifest" if kind != "nested-100000-deep" else "nested")
    assert_nothing_left(pd, registry_env, set())
