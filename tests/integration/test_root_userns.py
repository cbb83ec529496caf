"""`--userns=auto` as root (issue 18): each container a range of its own from the
`containers` entry of /etc/subuid and /etc/subgid (tests/bed/user.sh adds one), never
overlapping a live container's; the image's files owned inside as in the image.

Root pass only (PDMAN_TEST_PASS=root), under test_root_mode.py's rules: throw-away
stores, containers with `--network none` inside a network namespace the test made.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.bed.runner import run_pdman
from tests.integration.test_root_mode import busybox, in_netns, netns  # noqa: F401

pytestmark = pytest.mark.root_mode


@pytest.fixture
def root_env_unmoved(testbed, tmp_path: Path) -> Iterator[dict[str, str]]:  # type: ignore[no-untyped-def]
    """test_root_mode's root_env: a throw-away store under the (root-only) pytest dir."""
    runroot = tempfile.mkdtemp(prefix="pdrootrun-")
    env = dict(os.environ, PDMAN_ROOT=str(tmp_path / "store"), PDMAN_RUNROOT=runroot,
               REGISTRY_AUTH_FILE=str(tmp_path / "auth.json"),
               CONTAINERS_REGISTRIES_CONF=str(testbed.registries_conf))
    try:
        yield env
    finally:
        if (tmp_path / "store" / "catalog.db").exists():
            run_pdman("rm", "-fa", env=env, check=False, timeout=60)
        shutil.rmtree(runroot, ignore_errors=True)


@pytest.fixture
def root_env(root_env_unmoved: dict[str, str]) -> Iterator[dict[str, str]]:  # noqa: F811
    """test_root_mode's, its store moved where the container's root can reach it (the
    pytest dir is root's alone: --userns=auto refuses a store under it, see
    test_store_out_of_reach_refused): a 0711 directory under /var/tmp, as /var/lib is."""
    top = tempfile.mkdtemp(prefix="pdauto-", dir="/var/tmp")
    os.chmod(top, 0o711)
    env = dict(root_env_unmoved, PDMAN_ROOT=os.path.join(top, "store"))
    try:
        yield env
    finally:
        if os.path.exists(os.path.join(top, "store", "catalog.db")):
            run_pdman("rm", "-fa", env=env, check=False, timeout=60)
        shutil.rmtree(top, ignore_errors=True)


def _subids(path: str, user: str = "containers") -> list[tuple[int, int]]:
    out = []
    for line in Path(path).read_text().splitlines():
        f = line.split(":")
        if len(f) == 3 and f[0] == user:
            out.append((int(f[1]), int(f[2])))
    return out


def _map(text: str) -> tuple[int, int, int]:
    lines = text.strip().splitlines()
    assert len(lines) == 1, f"one range expected: {text!r}"
    inner, host, size = map(int, lines[0].split())
    return inner, host, size


def _inside(ranges: list[tuple[int, int]], host: int, size: int) -> bool:
    return any(s <= host and host + size <= s + n for s, n in ranges)


def test_two_containers_get_disjoint_ranges(busybox: str, in_netns,  # type: ignore[no-untyped-def]
                                            root_env: dict[str, str]) -> None:
    subuid, subgid = _subids("/etc/subuid"), _subids("/etc/subgid")
    assert subuid and subgid, "tests/bed/user.sh gives `containers` a range"
    for name, opt in (("a", "auto"), ("b", "auto:size=2000")):
        in_netns("run", "-d", "--name", name, "--network", "none", f"--userns={opt}",
                 busybox, "sleep", "1000")
    try:
        maps, gmaps = {}, {}
        for name in ("a", "b"):
            out = in_netns("exec", name, "sh", "-c",
                           "cat /proc/self/uid_map; echo --; cat /proc/self/gid_map; echo --; "
                           "id -u; readlink /proc/self/ns/user").stdout.split("--\n")
            uid, gid = _map(out[0]), _map(out[1])
            ident = out[2].split()
            assert ident[0] == "0"
            assert ident[1] != os.readlink("/proc/self/ns/user"), "no user namespace of its own"
            assert uid[0] == 0 and gid[0] == 0
            assert uid[1] != 0 and _inside(subuid, uid[1], uid[2]), (uid, subuid)
            assert _inside(subgid, gid[1], gid[2]), (gid, subgid)
            maps[name], gmaps[name] = uid, gid
        # a: the image's highest ID (busybox's nobody, 65534) + 1; b: what it asked for
        assert maps["a"][2] == 65535 and maps["b"][2] == 2000, maps
        (_, a0, an), (_, b0, bn) = maps["a"], maps["b"]
        assert a0 + an <= b0 or b0 + bn <= a0, f"overlapping ranges {maps}"
        # the image's files are root's inside, and the host's IDs of the range outside;
        # the container's root writes its own root filesystem
        out = in_netns("exec", "a", "sh", "-c",
                       "stat -c '%u %g' / /bin /etc/passwd; touch /made && stat -c '%u' /made"
                       ).stdout.split("\n")
        assert out[:4] == ["0 0", "0 0", "0 0", "0"], out
        pid = int(in_netns("inspect", "a", "--format", "{{.State.Pid}}").stdout)
        st = os.stat(f"/proc/{pid}/root/etc/passwd")
        assert (st.st_uid, st.st_gid) == (a0, gmaps["a"][1])
        # only the containers' roots may search root's store, not every host user: the
        # catalog (every container's configuration) stays out of their reach
        store = root_env["PDMAN_ROOT"]
        assert os.stat(store).st_mode & 0o007 == 0
        for who in ("65534", str(a0 + 1)):
            peek = subprocess.run(["setpriv", f"--reuid={who}", f"--regid={who}",
                                   "--clear-groups", "cat", f"{store}/catalog.db"],
                                  capture_output=True, text=True, check=False)
            assert peek.returncode != 0 and "Permission denied" in peek.stderr, peek
    finally:
        in_netns("rm", "-f", "a", "b", check=False)
    assert in_netns("ps", "-aq").stdout == ""
    # the ranges are free again: a new container starts at the lowest free ID
    out = in_netns("run", "--rm", "--network", "none", "--userns=auto", busybox,
                   "cat", "/proc/self/uid_map").stdout
    assert _map(out)[1] == min(a0, b0)


def test_image_owners_kept_and_out_of_range_owner_unmapped(busybox: str, in_netns) -> None:  # type: ignore[no-untyped-def]
    """An image file of UID 1234 is 1234's inside; one of UID 70000, past
    `auto:size=2000`, is nobody's (the overflow ID) and never keeps a host owner."""
    in_netns("run", "--name", "mk", "--network", "none", busybox, "sh", "-c",
             "touch /own /far && chown 1234:1234 /own && chown 70000:70000 /far")
    in_netns("commit", "-q", "mk", "localhost/owners:1")
    in_netns("rm", "mk")
    out = in_netns("run", "--rm", "--network", "none", "--userns=auto:size=2000",
                   "localhost/owners:1", "sh", "-c",
                   "stat -c '%u %g' /own /far; cat /proc/self/uid_map").stdout.splitlines()
    assert out[0] == "1234 1234", out
    assert out[1] == "65534 65534", out     # the kernel's overflow ID: unmapped
    assert _map(out[2])[2] == 2000
    # the default size covers the image's highest ID
    out = in_netns("run", "--rm", "--network", "none", "--userns=auto", "localhost/owners:1",
                   "sh", "-c", "stat -c '%u' /far; cat /proc/self/uid_map").stdout.splitlines()
    assert out[0] == "70000" and _map(out[1])[2] == 70001, out


def test_userns_auto_refusals(busybox: str, in_netns) -> None:  # type: ignore[no-untyped-def]
    for opt, words in (("keep-id", "not for root mode"), ("auto:size=x", "invalid --userns"),
                       ("auto:uidmapping=0:1:1", "not built yet")):
        done = in_netns("run", "--rm", "--network", "none", f"--userns={opt}", busybox,
                        "true", check=False)
        assert done.returncode == 125, done.stdout + done.stderr
        assert words in done.stderr and "Traceback" not in done.stderr


def test_store_out_of_reach_refused(busybox: str, in_netns,  # type: ignore[no-untyped-def]
                                   root_env_unmoved: dict[str, str]) -> None:
    """A store under a directory only root may search (the pytest dir): refused with the
    directory named, before anything is made."""
    ref = busybox
    run_pdman("pull", "-q", ref, env=root_env_unmoved)
    done = in_netns("run", "--rm", "--network", "none", "--userns=auto", ref, "true",
                    env=root_env_unmoved, check=False)
    assert done.returncode == 125, done.stdout + done.stderr
    assert "not searchable by others" in done.stderr and "Traceback" not in done.stderr
    assert in_netns("ps", "-aq", env=root_env_unmoved).stdout == ""


def test_cp_and_commit_of_a_stopped_auto_container(busybox: str, in_netns,  # type: ignore[no-untyped-def]
                                                   tmp_path: Path) -> None:
    """cp in and out, and commit, read the container's files as the container sees them
    (its root, unmapped from the host's, cannot search root's store: pdman reaches them
    for it); the committed layer holds container IDs, never the host's range."""
    in_netns("run", "--name", "ac", "--network", "none", "--userns=auto", busybox, "sh", "-c",
             "echo made > /made && chown 1234:1234 /made")
    out = tmp_path / "out.txt"
    in_netns("cp", "ac:/made", str(out))
    assert out.read_text() == "made\n"
    src = tmp_path / "in.txt"
    src.write_text("given\n")
    in_netns("cp", str(src), "ac:/given")
    in_netns("commit", "-q", "ac", "localhost/autocommit:1")
    lines = in_netns("run", "--rm", "--network", "none", "localhost/autocommit:1", "sh", "-c",
                     "stat -c '%n %u %g' /made /given; cat /given").stdout.splitlines()
    assert lines == ["/made 1234 1234", "/given 0 0", "given"], lines
    in_netns("rm", "ac")
