"""podman 4.3's options of lower priority (issue #13): each with what a user checks."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

if os.geteuid() == 0:
    pytest.skip("the suite is rootless: run it as an unprivileged user (bash tests/run)",
                allow_module_level=True)

Run = Callable[..., "subprocess.CompletedProcess[str]"]


pytestmark = pytest.mark.usefixtures("remove_store_first")


def image_doc(pd: Run, name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(pd("image", "inspect", name).stdout)[0]
    return doc


def test_commit_squash_format_iidfile_include_volumes(pd: Run, busybox: str,
                                                      tmp_path: Path) -> None:
    pd("run", "--name", "c1", "--network", "none", "-v", "/data", "-v", f"{tmp_path}:/mnt",
       busybox, "sh", "-c", "echo squashed > /hello && rm /bin/vi")
    base_layers = len(image_doc(pd, busybox)["RootFS"]["Layers"])
    iid = tmp_path / "iid"
    image_id = pd("commit", "--squash", "--format", "docker", "--iidfile", iid,
                  "--include-volumes", "c1", "flat:1").stdout.strip()
    assert iid.read_text() == "sha256:" + image_id
    doc = image_doc(pd, "flat:1")
    assert len(doc["RootFS"]["Layers"]) == 1 and base_layers >= 1
    assert doc["ManifestType"] == "application/vnd.docker.distribution.manifest.v2+json"
    assert sorted(doc["Config"]["Volumes"]) == ["/data", "/mnt"]
    out = pd("run", "--rm", "--network", "none", "flat:1", "sh", "-c",
             "cat /hello; test -e /bin/vi && echo present || echo absent").stdout.split()
    assert out == ["squashed", "absent"]
    # without the options: one more layer on the image's, OCI, no volumes
    pd("commit", "c1", "layered:1")
    doc = image_doc(pd, "layered:1")
    assert len(doc["RootFS"]["Layers"]) == base_layers + 1
    assert doc["ManifestType"] == "application/vnd.oci.image.manifest.v1+json"
    assert not doc["Config"].get("Volumes")
    bad = pd("commit", "--format", "qcow", "c1", check=False)
    assert bad.returncode == 125 and "Traceback" not in bad.stderr


def test_pull_all_tags_and_login_verbose(pd: Run, testbed: Any, tmp_path: Path) -> None:
    import urllib.request

    with urllib.request.urlopen(f"http://{testbed.registry}/v2/busybox/tags/list",
                                timeout=30) as resp:
        tags = json.loads(resp.read())["tags"]
    assert len(tags) >= 2, tags
    ids = pd("pull", "--all-tags", "-q", f"{testbed.registry}/busybox").stdout.split()
    assert len(ids) == len(tags)
    names = pd("images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
    assert sorted(names) == sorted(f"{testbed.registry}/busybox:{t}" for t in tags)
    tagged = pd("pull", "-a", f"{testbed.registry}/busybox:latest", check=False)
    assert tagged.returncode == 125 and "--all-tags" in tagged.stderr

    authfile = tmp_path / "auth.json"
    out = pd("login", "-v", "--authfile", authfile, "-u", testbed.auth_user,
             "--password-stdin", testbed.auth_registry, input=testbed.auth_password + "\n")
    assert out.stdout.splitlines() == [f"Used: {authfile}", "Login Succeeded!"]
    quiet = pd("login", "--authfile", authfile, "-u", testbed.auth_user, "--password-stdin",
               testbed.auth_registry, input=testbed.auth_password + "\n")
    assert quiet.stdout.splitlines() == ["Login Succeeded!"]


def test_save_uncompressed_and_multi_image(pd: Run, busybox: str, tmp_path: Path) -> None:
    import hashlib
    import tarfile

    archive = tmp_path / "plain.tar"
    pd("save", "--format", "oci-archive", "--uncompressed", "-o", archive, busybox)
    with tarfile.open(archive) as tar:
        index = json.load(tar.extractfile("index.json"))  # type: ignore[arg-type]
        digest = index["manifests"][0]["digest"].partition(":")[2]
        doc = json.load(tar.extractfile(f"blobs/sha256/{digest}"))  # type: ignore[arg-type]
        assert doc["layers"]
        for layer in doc["layers"]:
            assert layer["mediaType"] == "application/vnd.oci.image.layer.v1.tar"
            data = tar.extractfile("blobs/sha256/" + layer["digest"].partition(":")[2]).read()  # type: ignore[union-attr]
            assert "sha256:" + hashlib.sha256(data).hexdigest() == layer["digest"]
            assert len(data) == layer["size"]
            assert data[257:262] == b"ustar"       # a plain tar, not gzip
    image_id = json.loads(pd("image", "inspect", busybox).stdout)[0]["Id"]
    pd("rmi", "-f", busybox)
    loaded = pd("load", "-i", archive)
    assert image_id[:12] in loaded.stdout or busybox in loaded.stdout
    assert pd("run", "--rm", "--network", "none", busybox, "echo", "ok").stdout.strip() == "ok"

    pd("tag", busybox, "other:1")
    multi = tmp_path / "multi.tar"
    pd("save", "-m", "-o", multi, busybox, "other:1")
    with tarfile.open(multi) as tar:
        entries = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
    tags = [t for e in entries for t in e["RepoTags"]]
    assert sorted(tags) == sorted([busybox, "localhost/other:1"])
    refused = pd("save", "--compress", "-o", tmp_path / "x.tar", busybox, check=False)
    assert refused.returncode == 125 and "oci-dir" in refused.stderr


def test_push_compression_format(pd: Run, busybox: str, testbed: Any) -> None:
    dest = f"{testbed.registry}/lowprio/bb:gz"
    pd("push", "--compression-format", "gzip", "--compress", busybox, dest)
    assert pd("manifest", "inspect", dest).returncode == 0
    zstd = pd("push", "--compression-format", "zstd", busybox, dest, check=False)
    assert zstd.returncode == 125 and "gzip" in zstd.stderr


def _until(stream_read: Callable[[], bytes], marker: bytes, count: int) -> bytes:
    """Read until `marker` was seen `count` times (the caller kills the process after)."""
    seen = b""
    while seen.count(marker) < count:
        chunk = stream_read()
        if not chunk:
            break
        seen += chunk
    return seen


def _streamed(registry_env: dict[str, str], args: list[str], marker: bytes, tty: bool) -> bytes:
    """What `pdman ARGS` printed up to its second `marker`, on a terminal or a pipe."""
    import pty
    import select
    import shutil

    exe = shutil.which("pdman", path=registry_env["PATH"])
    assert exe
    if tty:
        master, slave = pty.openpty()
        proc = subprocess.Popen([exe, *args], env=registry_env, stdin=subprocess.DEVNULL,
                                stdout=slave, stderr=subprocess.PIPE)
        os.close(slave)
    else:
        proc = subprocess.Popen([exe, *args], env=registry_env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        master = proc.stdout.fileno()  # type: ignore[union-attr]

    def read() -> bytes:
        ready, _, _ = select.select([master], [], [], 60)   # a guard, not a measure
        if not ready:
            return b""
        try:
            return os.read(master, 65536)
        except OSError:
            return b""
    try:
        out = _until(read, marker, 2)
    finally:
        proc.kill()
        proc.wait()
        if tty:
            os.close(master)
    assert out.count(marker) >= 2, (out, proc.stderr.read() if proc.stderr else b"")
    return out


def test_stats_no_reset_and_ps_watch(registry_env: dict[str, str], busybox: str) -> None:
    cleared = _streamed(registry_env, ["stats", "--interval", "1"], b"CPU %", tty=True)
    assert b"\033[2J" in cleared
    kept = _streamed(registry_env, ["stats", "--interval", "1", "--no-reset"], b"CPU %",
                     tty=True)
    assert b"\033[2J" not in kept
    watched = _streamed(registry_env, ["ps", "--watch", "1"], b"CONTAINER ID", tty=False)
    assert watched.count(b"\033[H\033[2J") >= 2
    from tests.bed.runner import run_pdman

    assert run_pdman("ps", "--sync", "-q", env=registry_env).returncode == 0


def _graceful_container(pd: Run, busybox: str, out: Path, *extra: str) -> None:
    """A container that writes /out/mark when its stop signal (TERM) arrives."""
    out.mkdir()
    os.chmod(out, 0o777)
    pd("run", "-d", "--name", "graceful", "-v", f"{out}:/out", *extra, busybox, "sh", "-c",
       "trap 'echo stopped > /out/mark; exit 0' TERM; echo up > /out/up; "
       "while :; do sleep 0.2; done")
    for _ in range(600):                      # until its trap is in place
        if (out / "up").exists():
            break
        import time
        time.sleep(0.1)


@pytest.mark.parametrize("kind", ["volume", "network"])
def test_rm_time_stops_the_users_first(pd: Run, busybox: str, tmp_path: Path,
                                       kind: str) -> None:
    pd(kind, "create", "used")
    extra = ["-v", "used:/data"] if kind == "volume" else ["--network", "used"]
    _graceful_container(pd, busybox, tmp_path / "graceful", *extra)
    pd(kind, "rm", "-f", "-t", "20", "used")
    assert (tmp_path / "graceful" / "mark").read_text().strip() == "stopped"
    assert pd("container", "exists", "graceful", check=False).returncode == 1
    assert pd(kind, "exists", "used", check=False).returncode == 1
    # without -t the users are killed at once, as `rm -f`: no stop signal
    pd(kind, "create", "used")
    _graceful_container(pd, busybox, tmp_path / "killed", *extra)
    pd(kind, "rm", "-f", "used")
    assert not (tmp_path / "killed" / "mark").exists()


def test_noout_rmi_no_prune_and_prune_external(pd: Run, busybox: str) -> None:
    quiet = pd("--noout", "images")
    assert quiet.stdout == "" and pd("images", "-q").stdout.strip()
    # at the descriptor: a container's output that pdman passes on goes too
    assert pd("--noout", "run", "--rm", "--network", "none", busybox, "echo", "hi").stdout == ""
    failed = pd("--noout", "image", "inspect", "no-such-image", check=False)
    assert failed.returncode != 0 and "no-such-image" in failed.stderr

    pd("run", "--name", "c1", "--network", "none", busybox, "touch", "/x")
    pd("commit", "c1", "child:1")
    pd("rm", "c1")
    removed = pd("rmi", "--no-prune", "child:1").stdout
    assert "Untagged: localhost/child:1" in removed
    assert pd("image", "exists", busybox).returncode == 0      # the parent stays
    assert pd("image", "prune", "--external", "-f").returncode == 0
    assert pd("image", "exists", busybox).returncode == 0      # named: not dangling


def test_image_and_volume_mount_inside_unshare(pd: Run, busybox: str,
                                               registry_env: dict[str, str]) -> None:
    import shutil

    for args in (["image", "mount", busybox], ["image", "unmount", busybox],
                 ["volume", "mount", "v1"], ["volume", "unmount", "v1"]):
        outside = pd(*args, check=False)
        assert outside.returncode == 125, args
        assert "must execute `pdman unshare` first" in outside.stderr
    pd("volume", "create", "v1")
    pd("volume", "create", "--opt", "type=tmpfs", "--opt", "device=tmpfs", "--opt", "o=size=1m",
       "t1")
    exe = shutil.which("pdman", path=registry_env["PATH"])
    image_id = json.loads(pd("image", "inspect", busybox).stdout)[0]["Id"]
    script = (
        f'p=$({exe} image mount {busybox}) && echo "$p" && test -x "$p/bin/sh" && '
        f'(touch "$p/new" 2>/dev/null && echo writable || echo read-only) && '
        f'{exe} image mount && {exe} image unmount {busybox} && '
        f'echo images: $({exe} image mount | wc -l) && '
        f'v=$({exe} volume mount v1) && echo "$v" && echo data > "$v/file" && '
        f't=$({exe} volume mount t1) && stat -f -c %T "$t" && {exe} volume unmount t1 && '
        f'stat -f -c %T "$t"')
    done = pd("unshare", "sh", "-c", script)
    lines = done.stdout.splitlines()
    path = lines[0]
    assert path.endswith(image_id)
    assert lines[1] == "read-only"
    assert lines[2].split()[0] == image_id[:12] and lines[2].split()[-1] == path
    assert lines[3] == image_id
    assert lines[4] == "images: 0"
    volume_path = json.loads(pd("volume", "inspect", "v1").stdout)[0]["Mountpoint"]
    assert lines[5] == volume_path
    assert lines[6] == "tmpfs" and lines[7] == "t1" and lines[8] != "tmpfs"
    # what was written through the volume's mount point is the volume's
    assert pd("run", "--rm", "--network", "none", "-v", "v1:/v", busybox,
              "cat", "/v/file").stdout == "data\n"


def test_image_diff(pd: Run, busybox: str) -> None:
    pd("run", "--name", "c1", "--network", "none", busybox, "sh", "-c",
       "echo new > /added && echo more >> /etc/group && rm /bin/vi")
    pd("commit", "c1", "child:1")
    changes = pd("image", "diff", "child:1").stdout.splitlines()
    assert {"A /added", "C /etc/group", "D /bin/vi"} <= set(changes)
    assert not any(line.endswith("/bin/sh") for line in changes)
    # between an image and one built on it: the same, in either order
    assert pd("image", "diff", busybox, "child:1").stdout.splitlines() == changes
    assert pd("image", "diff", "child:1", busybox).stdout.splitlines() == changes
    doc = json.loads(pd("image", "diff", "--format", "json", "child:1").stdout)
    assert "/added" in doc["added"] and "/bin/vi" in doc["deleted"]
    # two layers on top: added then deleted is no change
    pd("run", "--name", "c2", "--network", "none", "child:1", "sh", "-c",
       "rm /added && echo y > /y")
    pd("commit", "c2", "grand:1")
    both = pd("image", "diff", busybox, "grand:1").stdout.splitlines()
    assert "A /y" in both and "D /bin/vi" in both
    assert not any(line.endswith(" /added") for line in both)
    assert "D /added" in pd("image", "diff", "grand:1").stdout.splitlines()
