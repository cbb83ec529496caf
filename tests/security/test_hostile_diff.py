"""`image diff` and `diff` of hostile images (issue #12: pdman walks layers from its own
process, so a layer's symlink must never be followed onto the host).

The images are loaded from OCI archives written here: a layer plants symlinks to a
host directory (absolute and climbing out with `..`), the next swaps them for real
directories holding one name the host directory has and one it has not, swaps a
directory for a host symlink, whites out files through a symlinked parent, and nests
a path 250 deep with 255-byte names; the top one swaps back. If pdman followed a
lower layer's symlink, the name the host has would show as changed (C) and the other
as added (A): both must be A. A running container that does the same, and builds a
tree deeper than pdman can hold open, gets a clean answer too. Whiteouts and hard
links that climb out with `..` are refused at load.
"""

from __future__ import annotations

import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.bed import fixtures, images, oci
from tests.bed.oci import Layout, LayerWriter
from tests.bed.runner import run_pdman

Run = Callable[..., "subprocess.CompletedProcess[str]"]
LONG = "n" * 255
DEEP = 250


@pytest.fixture
def pd(registry_env: dict[str, str]) -> Run:
    def run(*args: object, **kw: Any) -> "subprocess.CompletedProcess[str]":
        kw.setdefault("env", registry_env)
        kw.setdefault("timeout", 180)
        return run_pdman(*args, **kw)
    return run


def _clean(done: "subprocess.CompletedProcess[str]") -> None:
    shown = f"exit {done.returncode}\n--- stdout\n{done.stdout[-3000:]}--- stderr\n{done.stderr}"
    assert "Traceback" not in done.stderr and "unexpected internal error" not in done.stderr, shown
    assert done.returncode == 0 or (done.returncode == 125 and "Error: " in done.stderr), shown


def _entry(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mtime, info.linkname = kind, oci.EPOCH, link
    info.mode = 0o755 if kind in (tarfile.DIRTYPE, tarfile.SYMTYPE) else 0o644
    return info


def _escape(host: Path) -> str:
    return "../" * 30 + str(host).lstrip("/")


def plant(host: Path) -> Callable[[LayerWriter], None]:
    def fill(w: LayerWriter) -> None:
        w.add(_entry("probe", tarfile.SYMTYPE, str(host)))
        w.add(_entry("probe-rel", tarfile.SYMTYPE, _escape(host)))
        w.add(_entry("wh-through", tarfile.SYMTYPE, str(host)))
        w.add(_entry("swap", tarfile.DIRTYPE))
        w.add(_entry("swap/inner"), b"image\n")
    return fill


def swap(host: Path) -> Callable[[LayerWriter], None]:
    def fill(w: LayerWriter) -> None:
        for d in ("probe", "probe-rel"):
            w.add(_entry(d, tarfile.DIRTYPE))
            w.add(_entry(f"{d}/present"), b"image\n")    # the host directory has this name
            w.add(_entry(f"{d}/absent"), b"image\n")     # and not this one
        w.add(_entry("swap", tarfile.SYMTYPE, str(host)))  # a directory becomes a host link
        w.add(_entry("wh-through/.wh.present"))           # a whiteout through a host link
        w.add(_entry("bin/.wh.vi"))
        deep = "/".join(["d"] * DEEP)
        w.add(_entry(f"{deep}/{LONG[:200]}"), b"deep\n")
        w.add(_entry(LONG, tarfile.DIRTYPE))
        w.add(_entry(f"{LONG}/{LONG}"), b"long\n")
    return fill


def swap_back(w: LayerWriter) -> None:
    w.add(_entry("swap", tarfile.DIRTYPE))
    w.add(_entry("swap/present"), b"image\n")
    w.add(_entry(".wh.probe-rel"))


def _archive(tmp: Path, name: str, fills: list[Callable[[LayerWriter], None]]) -> Path:
    """An oci-archive: the busybox layer, then a layer per `fills` entry (byte for byte
    the same layers whichever archive they are in: shared when loaded)."""
    layout = Layout(tmp / f"layout-{name}")
    base = images.layout_dir("busybox")
    desc = dict(oci.manifests_by_platform(base))["linux/amd64"]
    layers = [layout.copy_layer(base, oci.image_layers(base, desc["digest"])[0])]
    layers += [layout.add_layer(f) for f in fills]
    cfg = fixtures.image_config("linux/amd64", ["sh"], [])
    layout.write_index(layout.add_image(cfg, layers), f"{name}:1")
    archive = tmp / f"{name}.tar"
    with tarfile.open(archive, "w") as tar:
        for path in sorted(layout.root.rglob("*")):
            tar.add(path, arcname=str(path.relative_to(layout.root)), recursive=False)
    return archive


def _host(tmp_path: Path) -> Path:
    host = tmp_path / "host"
    host.mkdir()
    (host / "present").write_text("HOST\n")
    return host


def _kinds(out: str) -> dict[str, str]:
    return {line[2:]: line[0] for line in out.splitlines() if line[1:2] == " "}


def _assert_never_followed(changes: dict[str, str], host: Path) -> None:
    for d in ("probe", "probe-rel"):
        if f"/{d}/present" in changes or f"/{d}/absent" in changes:
            assert changes.get(f"/{d}/present") == changes.get(f"/{d}/absent") == "A", \
                f"/{d}: a lower layer's symlink to {host} was followed: {changes}"
    assert not any(p.startswith(str(host)) for p in changes if p.endswith("/present")
                   and changes[p] == "C"), changes


def test_image_diff_of_hostile_layers(pd: Run, tmp_path: Path) -> None:
    host = _host(tmp_path)
    pd("load", "-i", _archive(tmp_path, "base", [plant(host)]))
    pd("load", "-i", _archive(tmp_path, "mid", [plant(host), swap(host)]))
    pd("load", "-i", _archive(tmp_path, "top", [plant(host), swap(host), swap_back]))
    for args in (("localhost/mid:1",), ("localhost/mid:1", "localhost/base:1"),
                 ("localhost/base:1", "localhost/top:1"), ("localhost/top:1",)):
        done = pd("image", "diff", *args, check=False)
        _clean(done)
        assert done.returncode == 0, done.stderr
        changes = _kinds(done.stdout)
        _assert_never_followed(changes, host)
        if args == ("localhost/mid:1",):
            assert changes["/probe"] == "C" and changes["/swap"] == "C"
            assert changes["/bin/vi"] == "D"
            assert changes["/" + "/".join(["d"] * DEEP) + "/" + LONG[:200]] == "A"
            assert changes[f"/{LONG}/{LONG}"] == "A"
        json_done = pd("image", "diff", "--format", "json", *args, check=False)
        _clean(json_done)
    assert (host / "present").read_text() == "HOST\n"
    assert sorted(p.name for p in host.iterdir()) == ["present"]


CONTAINER_SCRIPT = """
set -e
for d in probe probe-rel; do rm -f /$d; mkdir /$d; echo c > /$d/present; echo c > /$d/absent; done
rm -rf /swap && ln -s {host} /swap
mkdir -p /deep && cd /deep && i=0
while [ $i -lt {depth} ]; do mkdir d && cd d; i=$((i+1)); done
touch /ready
"""


@pytest.mark.parametrize("depth", [200, 1500], ids=["deep-200", "deeper-than-fds-1500"])
def test_diff_of_a_hostile_container(pd: Run, tmp_path: Path, depth: int) -> None:
    host = _host(tmp_path)
    pd("load", "-i", _archive(tmp_path, "base", [plant(host)]))
    cid = pd("run", "-d", "--network", "none", "localhost/base:1", "sh", "-c",
             CONTAINER_SCRIPT.format(host=host, depth=depth) + "sleep 1000").stdout.strip()
    pd("exec", cid, "sh", "-c", "while ! test -e /ready; do sleep 0.1; done")
    for running in (True, False):
        done = pd("diff", cid, check=False)
        _clean(done)
        if done.returncode == 0:
            _assert_never_followed(_kinds(done.stdout), host)
        else:
            assert depth > 1000, done.stderr   # only a tree deeper than the fd limit
            assert "too deep" in done.stderr
        if running:
            pd("stop", "-t", "0", cid)
    assert (host / "present").read_text() == "HOST\n"


@pytest.mark.parametrize("name", ["../.wh.escape", "probe/../../.wh.x", ".wh..",
                                  "dir/.wh..."])
def test_whiteouts_that_climb_out_are_refused(pd: Run, registry_env: dict[str, str],
                                              tmp_path: Path, name: str) -> None:
    def fill(w: LayerWriter) -> None:
        w.add(_entry("dir", tarfile.DIRTYPE))
        w.add(_entry(name))
    done = pd("load", "-i", _archive(tmp_path, "wh", [fill]), check=False)
    _clean(done)
    assert done.returncode == 125 and "hostile layer" in done.stderr, done.stderr
    assert pd("images", "-q").stdout.strip() == ""


def names(w: LayerWriter) -> None:
    w.add(_entry("odd", tarfile.DIRTYPE))
    for name in ("esc-\x1b]0;pwned\x07\x1b[2J", "nl-\nA /etc/shadow", "cr-\rD /bin/sh",
                 "bad-utf8-\udcff\udcfe", "bidi-\u202eexe.txt"):
        w.add(_entry(f"odd/{name}"), b"x\n")


def test_diff_shows_hostile_names_without_obeying_them(pd: Run, tmp_path: Path) -> None:
    pd("load", "-i", _archive(tmp_path, "names", [names]))
    for args in (("image", "diff", "localhost/names:1"),
                 ("image", "diff", "--format", "json", "localhost/names:1"),
                 ("image", "diff", "--format", "{{.Path}}", "localhost/names:1")):
        done = pd(*args, check=False)
        _clean(done)
        assert done.returncode == 0, done.stderr
        for c in ("\x1b", "\x07", "\r", "\u202e"):
            assert c not in done.stdout, f"{args}: {c!r} reached the terminal: {done.stdout!r}"
        # one line per change: a newline in a name cannot forge another
        assert not any(ln.startswith(("A /etc/shadow", "D /bin/sh")) for ln in
                       done.stdout.splitlines()), done.stdout
