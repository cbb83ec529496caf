"""`manifest add LIST REGISTRY-REF` and `manifest inspect REF` against a hostile
registry (issue #12, classes 8 and 9 on the manifest-list path).

The registry (tests/bed/hostile_registry.py) serves lists whose platform fields carry
terminal escapes, documents that are not JSON or nest 100000 deep, manifests whose
bytes do not match the digest asked for (and a Docker-Content-Digest header that
lies), media types that lie, a list pointing to a list, and a body that never ends.
Each command must end cleanly (exit 0, or 125 with an `Error:` line, never a
traceback), print no control character a terminal would obey, read a bounded
amount, and leave the user's list exactly as it was when it fails.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.bed import oci
from tests.bed.hostile_registry import HostileRegistry, Route
from tests.bed.runner import run_pdman

Run = Callable[..., "subprocess.CompletedProcess[str]"]

DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
#: what a terminal obeys: ESC (CSI/OSC sequences), BEL, CR, backspace, and the 8-bit CSI
CONTROLS = ("\x1b", "\x07", "\r", "\x08", "\x9b")
EVIL_OS = "linux\x1b]0;pwned-title\x07\x1b[2J"
EVIL_ARCH = "amd64\r\x1b[31mROOTED\x1b[0m\x08\x9b1;1H"
EVIL_VARIANT = "\x1b[8mhidden"


@pytest.fixture
def reg(registry_env: dict[str, str], tmp_path: Path) -> Iterator[tuple[HostileRegistry, Run]]:
    with HostileRegistry() as r:
        env = r.env(registry_env, tmp_path)

        def pd(*args: object, **kw: Any) -> "subprocess.CompletedProcess[str]":
            kw.setdefault("env", env)
            kw.setdefault("timeout", 120)
            return run_pdman(*args, **kw)
        yield r, pd


def _shown(done: "subprocess.CompletedProcess[str]") -> str:
    return f"exit {done.returncode}\n--- stdout\n{done.stdout!r}\n--- stderr\n{done.stderr!r}"


def assert_no_controls(done: "subprocess.CompletedProcess[str]") -> None:
    for c in CONTROLS:
        assert c not in done.stdout and c not in done.stderr, \
            f"a control character {c!r} from the registry reached the terminal\n{_shown(done)}"


def assert_clean(done: "subprocess.CompletedProcess[str]", ok: bool | None = None,
                 *words: str) -> None:
    """No traceback, no control character; `ok` True: exit 0; False: exit 125 with an
    `Error:` line naming `words`; None: either."""
    shown = _shown(done)
    assert "Traceback" not in done.stderr + done.stdout, shown
    assert "unexpected internal error" not in done.stderr, shown
    assert_no_controls(done)
    if ok is None:
        ok = done.returncode == 0
    if ok:
        assert done.returncode == 0, shown
        return
    assert done.returncode == 125, shown
    # (progress lines may come first: `manifest push`)
    assert any(ln.startswith("Error: ") for ln in done.stderr.splitlines()), shown
    for w in words:
        assert w.lower() in done.stderr.lower(), shown


# -- documents the registry serves ---------------------------------------------------------

def _image(reg: HostileRegistry, repo: str, tag: str, os_: str = "linux", arch: str = "amd64",
           variant: str = "") -> tuple[str, int]:
    """A one-layer image whose config names (os_, arch, variant); (digest, size)."""
    layer = reg.blob(repo, b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\x03\x00\x00\x00\x00\x00"
                           b"\x00\x00\x00\x00")  # an empty gzip stream
    cfg: dict[str, Any] = {"architecture": arch, "os": os_, "config": {},
                           "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "0" * 64]}}
    if variant:
        cfg["variant"] = variant
    config = json.dumps(cfg).encode()
    body = json.dumps({"schemaVersion": 2, "mediaType": oci.MT_MANIFEST,
                       "config": {"mediaType": oci.MT_CONFIG, "size": len(config),
                                  "digest": reg.blob(repo, config)},
                       "layers": [{"mediaType": oci.MT_LAYER_GZIP, "size": 20,
                                   "digest": layer}]}).encode()
    return reg.manifest(repo, tag, oci.MT_MANIFEST, body), len(body)


def _entry(digest: str, size: int, os_: str, arch: str, variant: str = "",
           media_type: str = oci.MT_MANIFEST) -> dict[str, Any]:
    plat = {"os": os_, "architecture": arch, **({"variant": variant} if variant else {})}
    return {"mediaType": media_type, "digest": digest, "size": size, "platform": plat}


def _list(entries: list[dict[str, Any]], media_type: str = oci.MT_INDEX) -> bytes:
    return json.dumps({"schemaVersion": 2, "mediaType": media_type, "manifests": entries}).encode()


# -- the user's list, and proof that a failure left it alone ------------------------------

def _store_state(env_root: Path) -> tuple[str, set[str], list[str]]:
    lists = env_root / "manifests" / "lists.json"
    blobs = env_root / "blobs"
    tmp = env_root / "tmp"
    return (lists.read_text() if lists.exists() else "",
            {str(p.relative_to(blobs)) for p in blobs.rglob("*")} if blobs.is_dir() else set(),
            sorted(os.listdir(tmp)) if tmp.is_dir() else [])


@pytest.fixture
def mylist(reg: tuple[HostileRegistry, Run], registry_env: dict[str, str]) -> Iterator[str]:
    _, pd = reg
    pd("manifest", "create", "mylist")
    yield "mylist"


def _index_of(pd: Run, name: str) -> dict[str, Any]:
    done = pd("manifest", "inspect", name, check=False)
    assert_clean(done, True)
    return json.loads(done.stdout)  # type: ignore[no-any-return]


# -- terminal escapes in platform fields ---------------------------------------------------

def test_escapes_in_a_lists_platforms_never_reach_the_terminal(
        reg: tuple[HostileRegistry, Run], mylist: str, registry_env: dict[str, str]) -> None:
    r, pd = reg
    d1, s1 = _image(r, "evil", "one", EVIL_OS, EVIL_ARCH)
    d2, s2 = _image(r, "evil", "two", "linux", EVIL_ARCH, EVIL_VARIANT)
    r.manifest("evil", "ansi", oci.MT_INDEX, _list([
        _entry(d1, s1, EVIL_OS, EVIL_ARCH), _entry(d2, s2, "linux", EVIL_ARCH, EVIL_VARIANT)]))
    ref = f"{r.host}/evil:ansi"
    root = Path(registry_env["PDMAN_ROOT"])
    before = _store_state(root)
    # no entry for the host's platform: the error lists what the list offers
    done = pd("manifest", "add", mylist, ref, check=False)
    assert_clean(done, False, "no image found")
    assert _store_state(root) == before, "a failed add changed the store"
    # the registry's own document, shown as JSON: escaped, and still faithful
    done = pd("manifest", "inspect", ref, check=False)
    assert_clean(done, True)
    assert json.loads(done.stdout)["manifests"][0]["platform"]["os"] == EVIL_OS
    # --all keeps them; whatever shows the list afterwards escapes them
    assert_clean(pd("manifest", "add", "--all", mylist, ref, check=False), True)
    index = _index_of(pd, mylist)
    assert {e["platform"]["architecture"] for e in index["manifests"]} == {EVIL_ARCH}
    for cmd in (("manifest", "annotate", "--os", "linux", mylist, d1),
                ("manifest", "remove", mylist, "sha256:" + "f" * 64),
                ("manifest", "push", mylist, f"{r.host}/pushed:1")):
        assert_clean(pd(*cmd, check=False))


def test_escapes_in_an_images_config_never_reach_the_terminal(
        reg: tuple[HostileRegistry, Run], mylist: str) -> None:
    r, pd = reg
    _image(r, "evil", "cfg", EVIL_OS, EVIL_ARCH, EVIL_VARIANT)
    assert_clean(pd("manifest", "add", mylist, f"{r.host}/evil:cfg", check=False), True)
    [entry] = _index_of(pd, mylist)["manifests"]
    assert entry["platform"]["os"] == EVIL_OS and entry["platform"]["architecture"] == EVIL_ARCH


# -- documents that are not what they claim ----------------------------------------------

MALFORMED: dict[str, tuple[str, bytes]] = {
    "not-json": (oci.MT_INDEX, b"<html>\x1b[31m502 Bad Gateway\x1b[0m</html>"),
    "nested-100000-deep": (oci.MT_INDEX, b"[" * 100_000 + b"]" * 100_000),
    # shallow enough for json.loads, too deep for an indenting json.dumps
    "nested-990-deep": (oci.MT_INDEX, b"[" * 990 + b"]" * 990),
    "a-json-list": (DOCKER_LIST, b"[1, 2, 3]"),
    "not-utf8": (oci.MT_INDEX, b'{"manifests": "\xff\xfe\x1b[2J"}'),
    "manifests-a-string": (oci.MT_INDEX, _list([]).replace(b"[]", b'"\\u001b[2J"')),
    "entry-without-digest": (oci.MT_INDEX, _list([{"mediaType": oci.MT_MANIFEST, "size": 1,
                                                   "platform": {"os": "linux"}}])),
    "platform-not-an-object": (oci.MT_INDEX, _list([{
        "mediaType": oci.MT_MANIFEST, "size": 1, "digest": "sha256:" + "a" * 64,
        "platform": ["linux", "amd64"]}])),
    "platform-fields-objects": (oci.MT_INDEX, _list([{
        "mediaType": oci.MT_MANIFEST, "size": 1, "digest": "sha256:" + "a" * 64,
        "platform": {"os": {"\x1b[2J": 1}, "architecture": [EVIL_ARCH]}}])),
    # the body says manifest, the header says index: no config descriptor
    "type-lies-manifest-with-manifests": (oci.MT_INDEX, json.dumps({
        "schemaVersion": 2, "mediaType": oci.MT_MANIFEST, "manifests": []}).encode()),
    "unknown-type": ("text/html", json.dumps({"schemaVersion": 2,
                                              "mediaType": "text/\x1b[2Jhtml"}).encode()),
}


@pytest.mark.parametrize("kind", sorted(MALFORMED))
def test_a_malformed_registry_document_fails_cleanly(
        reg: tuple[HostileRegistry, Run], mylist: str, registry_env: dict[str, str],
        kind: str) -> None:
    r, pd = reg
    ctype, body = MALFORMED[kind]
    r.manifest("evil", "bad", ctype, body)
    ref = f"{r.host}/evil:bad"
    root = Path(registry_env["PDMAN_ROOT"])
    before = _store_state(root)
    for all_ in ((), ("--all",)):
        done = pd("manifest", "add", *all_, mylist, ref, check=False)
        assert_clean(done, False)
        assert _store_state(root) == before, f"`manifest add {' '.join(all_)}` changed the store"
    done = pd("manifest", "inspect", ref, check=False)
    # podman prints what the registry sent when it is JSON; anything else is an error
    assert_clean(done)
    if done.returncode == 0:
        json.loads(done.stdout)
    assert _index_of(pd, mylist)["manifests"] == []


def test_bytes_that_do_not_match_their_digest_are_refused(
        reg: tuple[HostileRegistry, Run], mylist: str, registry_env: dict[str, str]) -> None:
    r, pd = reg
    good, _ = _image(r, "evil", "good")
    asked = "sha256:" + hashlib.sha256(b"what the user pinned").hexdigest()
    # the registry answers the pinned digest with another (valid) manifest's bytes
    r.routes[f"/v2/evil/manifests/{asked}"] = r.routes[f"/v2/evil/manifests/{good}"]
    root = Path(registry_env["PDMAN_ROOT"])
    before = _store_state(root)
    for cmd in (("manifest", "add", mylist), ("manifest", "add", "--all", mylist),
                ("manifest", "inspect")):
        done = pd(*cmd, f"{r.host}/evil@{asked}", check=False)
        assert_clean(done, False, "digest")
        assert _store_state(root) == before, f"`{' '.join(cmd)}` stored something"


def test_a_lying_digest_header_is_not_believed(
        reg: tuple[HostileRegistry, Run], mylist: str, registry_env: dict[str, str]) -> None:
    r, pd = reg
    real, _ = _image(r, "evil", "liar")
    fake = "sha256:" + "e" * 64
    r.routes["/v2/evil/manifests/liar"].headers["Docker-Content-Digest"] = fake
    assert_clean(pd("manifest", "add", mylist, f"{r.host}/evil:liar", check=False), True)
    [entry] = _index_of(pd, mylist)["manifests"]
    assert entry["digest"] == real
    blob = Path(registry_env["PDMAN_ROOT"]) / "blobs"
    stored = [p for p in blob.rglob("*") if p.is_file() and fake[7:] in p.name]
    assert not stored, f"a blob was filed under the registry's lying digest: {stored}"
    kept = [p for p in blob.rglob("*") if p.is_file() and real[7:] in p.name]
    assert kept and hashlib.sha256(kept[0].read_bytes()).hexdigest() == real[7:]


def test_a_list_pointing_to_a_list(reg: tuple[HostileRegistry, Run], mylist: str,
                                   registry_env: dict[str, str]) -> None:
    r, pd = reg
    img, size = _image(r, "evil", "leaf")
    inner_body = _list([_entry(img, size, "linux", "amd64")])
    inner = r.manifest("evil", "inner", oci.MT_INDEX, inner_body)
    # the host's platform is offered only by a nested list (and once under a lying type)
    r.manifest("evil", "outer", oci.MT_INDEX, _list([
        _entry(inner, len(inner_body), "linux", "amd64", media_type=oci.MT_INDEX),
        _entry(inner, len(inner_body), "linux", "arm64", media_type=oci.MT_MANIFEST)]))
    ref = f"{r.host}/evil:outer"
    root = Path(registry_env["PDMAN_ROOT"])
    before = _store_state(root)
    done = pd("manifest", "add", mylist, ref, check=False)
    assert_clean(done)
    if done.returncode != 0:
        assert _store_state(root) == before
    else:
        # whatever was added is one instance, with the digest of the bytes it names
        [entry] = _index_of(pd, mylist)["manifests"]
        assert entry["digest"] in (img, inner)
    assert_clean(pd("manifest", "add", "--all", mylist, ref, check=False))
    assert_clean(pd("manifest", "inspect", mylist, check=False), True)
    assert_clean(pd("manifest", "inspect", ref, check=False), True)


# -- size ----------------------------------------------------------------------------------

def test_an_endless_manifest_is_cut_off(reg: tuple[HostileRegistry, Run], mylist: str,
                                        registry_env: dict[str, str]) -> None:
    r, pd = reg
    path = "/v2/evil/manifests/endless"
    # 64 GiB of JSON whitespace, never a Content-Length: only the client can stop it
    r.routes[path] = Route(oci.MT_INDEX, stream=1 << 20)
    root = Path(registry_env["PDMAN_ROOT"])
    before = _store_state(root)
    for cmd in (("manifest", "add", mylist), ("manifest", "inspect")):
        r.sent.clear()
        done = pd(*cmd, f"{r.host}/evil:endless", check=False)
        assert_clean(done, False, "larger than")
        # what it read is bounded (the 4 MiB cap plus what the sockets buffer)
        assert r.sent.get(path, 0) < 64 << 20, f"{cmd}: read {r.sent[path]} bytes"
        assert _store_state(root) == before


def test_a_huge_list_is_added_whole_or_not_at_all(
        reg: tuple[HostileRegistry, Run], mylist: str) -> None:
    r, pd = reg
    entries = [_entry("sha256:" + hashlib.sha256(str(i).encode()).hexdigest(), 500,
                      "linux", f"arch{i}") for i in range(18_000)]
    body = _list(entries)
    assert 2 << 20 < len(body) < 4 << 20   # under the 4 MiB cap: it must be taken whole
    r.manifest("evil", "huge", oci.MT_INDEX, body)
    assert_clean(pd("manifest", "add", "--all", mylist, f"{r.host}/evil:huge", check=False),
                 True)
    assert len(_index_of(pd, mylist)["manifests"]) == 18_000


@pytest.mark.parametrize("kind", ["config-not-json", "config-bytes-not-its-digest"])
def test_a_bad_config_stores_nothing(reg: tuple[HostileRegistry, Run], mylist: str,
                                     registry_env: dict[str, str], kind: str) -> None:
    r, pd = reg
    _image(r, "evil", "cfg")
    doc = json.loads(r.routes["/v2/evil/manifests/cfg"].body)
    config_route = f"/v2/evil/blobs/{doc['config']['digest']}"
    if kind == "config-not-json":
        bad = b"\x1b[2J<html>" + b" " * 10
        doc["config"] = {"mediaType": oci.MT_CONFIG, "size": len(bad),
                         "digest": r.blob("evil", bad)}
    else:
        r.routes[config_route] = Route("application/octet-stream",
                                       r.routes[config_route].body.replace(b"amd64", b"arm64"))
    r.manifest("evil", "cfg", oci.MT_MANIFEST, json.dumps(doc).encode())
    root = Path(registry_env["PDMAN_ROOT"])
    before = _store_state(root)
    done = pd("manifest", "add", mylist, f"{r.host}/evil:cfg", check=False)
    assert_clean(done, False, "config" if kind == "config-not-json" else "digest")
    assert _store_state(root) == before, "a failed add left the manifest in the blob store"
