"""--uidmap/--gidmap/--subuidname/--subgidname of run/create (issue #13), rootless as
podman 4.3's: container IDs mapped onto the IDs of the user's namespace (0: the user,
1..: the /etc/subuid range), seen by the user in /proc/self/uid_map (host IDs here:
pdman writes the composed map in one namespace), in `id`, and in the owners of the
image's files; nonsense refused with podman's words."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

import pytest

from tests.compat.test_scripts import _pd


def _subid(file: str) -> tuple[int, int]:
    me = pwd.getpwuid(os.getuid()).pw_name
    for line in Path(file).read_text().splitlines():
        owner, _, rest = line.partition(":")
        if owner in (me, str(os.getuid())):
            start, count = rest.split(":")
            return int(start), int(count)
    pytest.fail(f"no range for {me} in {file}", pytrace=False)


def _maps(text: str) -> list[list[int]]:
    return [[int(n) for n in line.split()] for line in text.splitlines()]


def test_uidmap_maps_onto_the_intermediate_ids(registry_env: dict[str, str],
                                               busybox: str) -> None:
    pd = _pd(registry_env)
    start, _ = _subid("/etc/subuid")
    gstart, _ = _subid("/etc/subgid")
    # intermediate 1 is the first subordinate ID; the user (intermediate 0) is mapped
    # past the given range so the container's root reaches the store
    out = pd("run", "--rm", "--uidmap", "0:1:1000", busybox, "sh", "-c",
             "cat /proc/self/uid_map; echo --; cat /proc/self/gid_map; echo --; "
             "id -u; stat -c %u:%g /bin /etc/passwd; touch /made && echo wrote").stdout
    uid_map, gid_map, rest = out.split("--\n")
    assert _maps(uid_map) == [[0, start, 1000], [1000, os.getuid(), 1]]
    # no --gidmap: the --uidmap serves for GIDs too (podman's rule)
    assert _maps(gid_map) == [[0, gstart, 1000], [1000, os.getgid(), 1]]
    assert rest.split() == ["0", "0:0", "0:0", "wrote"]
    # several ranges, a --gidmap of its own, a user inside them
    out = pd("run", "--rm", "--uidmap", "0:1:100", "--uidmap", "100:201:50",
             "--gidmap", "0:11:200", "-u", "120:150", busybox, "sh", "-c",
             "cat /proc/self/uid_map; echo --; cat /proc/self/gid_map; echo --; "
             "id -u; id -g").stdout
    uid_map, gid_map, rest = out.split("--\n")
    assert _maps(uid_map) == [[0, start, 100], [100, start + 200, 50],
                              [150, os.getuid(), 1]]
    assert _maps(gid_map) == [[0, gstart + 10, 200], [200, os.getgid(), 1]]
    assert rest.split() == ["120", "150"]
    # a map that names the user itself: no extra line
    out = pd("run", "--rm", "--uidmap", "0:0:1", "--uidmap", "1:1:10", busybox,
             "cat", "/proc/self/uid_map").stdout
    assert _maps(out) == [[0, os.getuid(), 1], [1, start, 10]]
    # create keeps it for every start
    pd("create", "--name", "mapped", "--uidmap", "0:1:500", busybox, "cat", "/proc/self/uid_map")
    pd("start", "-a", "mapped")
    assert _maps(pd("start", "-a", "mapped").stdout)[0] == [0, start, 500]


def test_subuidname_uses_the_named_range(registry_env: dict[str, str], busybox: str) -> None:
    pd = _pd(registry_env)
    start, count = _subid("/etc/subuid")
    gstart, gcount = _subid("/etc/subgid")
    me = pwd.getpwuid(os.getuid()).pw_name
    out = pd("run", "--rm", "--subuidname", me, busybox, "sh", "-c",
             "cat /proc/self/uid_map; echo --; cat /proc/self/gid_map").stdout
    uid_map, gid_map = out.split("--\n")
    assert _maps(uid_map) == [[0, start, count], [count, os.getuid(), 1]]
    assert _maps(gid_map) == [[0, gstart, gcount], [gcount, os.getgid(), 1]]
    bad = pd("run", "--rm", "--subuidname", "no-such-user-here", busybox, "true", check=False)
    assert bad.returncode == 125
    assert 'no subuid ranges found for user "no-such-user-here" in /etc/subuid' in bad.stderr
    # another user's range is not ours to map
    others = [ln.split(":")[0] for ln in Path("/etc/subuid").read_text().splitlines()
              if ln.strip() and not ln.startswith("#") and ln.split(":")[0] != me]
    if others:
        bad = pd("run", "--rm", "--subgidname", others[0], busybox, "true", check=False)
        assert bad.returncode == 125 and "is not among your user's" in bad.stderr


@pytest.mark.parametrize(("flags", "message"), [
    (["--userns", "keep-id", "--uidmap", "0:1:10"],
     "--userns and --uidmap/--gidmap/--subuidname/--subgidname are mutually exclusive"),
    (["--uidmap", "0:1"], 'UID setting is malformed expected ["uint32:uint32:uint32"]: ["0:1"]'),
    (["--gidmap", "0:1:x"], 'GID setting is malformed'),
    (["--uidmap", "0:1:10000000"], "goes past the"),
    (["--uidmap", "0:1:10", "--uidmap", "5:100:10"], "--uidmap ranges overlap"),
])
def test_bad_maps_are_refused(registry_env: dict[str, str], busybox: str,
                              flags: list[str], message: str) -> None:
    pd = _pd(registry_env)
    done = pd("create", *flags, busybox, "true", check=False)
    assert done.returncode == 125 and message in done.stderr, done.stderr
    assert pd("ps", "-aq").stdout == ""
