"""`--userns=keep-id[:uid=,gid=]` as podman 4.3 has it (issue #13): keep-id maps the user to the same ID inside and runs the process as it,
so that files made in a bind mount belong to the user on the host."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

from tests.compat.test_scripts import _pd


def _sub_start() -> int:
    name = pwd.getpwuid(os.getuid()).pw_name
    with open("/etc/subuid", encoding="utf-8") as f:
        for line in f:
            owner, start, _ = line.strip().split(":")
            if owner in (name, str(os.getuid())):
                return int(start)
    raise AssertionError("the test user has no subordinate range")


def test_keep_id_runs_as_the_user_with_its_files(registry_env: dict[str, str], busybox: str,
                                                 tmp_path: Path) -> None:
    pd = _pd(registry_env)
    uid, gid = os.getuid(), os.getgid()
    me = pwd.getpwuid(uid)
    data = tmp_path / "data"
    data.mkdir()
    out = pd("run", "--rm", "--userns=keep-id", "-v", f"{data}:/data", busybox, "sh", "-c",
             "id -u; id -g; echo $HOME; touch /data/made; cat /proc/self/uid_map; "
             "grep \"^$(id -un):\" /etc/passwd; stat -c %u:%g /bin/busybox").stdout.splitlines()
    assert out[0] == str(uid) and out[1] == str(gid)
    assert out[2] == me.pw_dir
    st = (data / "made").stat()
    assert (st.st_uid, st.st_gid) == (uid, gid)
    # podman's map: 0..U-1 -> the range, U -> the user, the rest of the range above it
    sub = _sub_start()
    maps = [ln.split() for ln in out[3:6]]
    assert maps[0] == ["0", str(sub), str(uid)]
    assert maps[1] == [str(uid), str(uid), "1"]
    assert maps[2][:2] == [str(uid + 1), str(sub + uid)]
    assert out[6].startswith(f"{me.pw_name}:*:{uid}:{gid}:")
    assert out[7] == "0:0", "the image's files still belong to container root"


def test_keep_id_with_other_ids_and_an_explicit_user(registry_env: dict[str, str],
                                                     busybox: str) -> None:
    pd = _pd(registry_env)
    uid = os.getuid()
    out = pd("run", "--rm", "--userns=keep-id:uid=200,gid=300", busybox, "sh", "-c",
             "id -u; id -g; grep ' 1$' /proc/self/uid_map").stdout.split("\n")
    assert out[0] == "200" and out[1] == "300"
    assert out[2].split() == ["200", str(uid), "1"]
    # --user wins over keep-id's default user; root is a subordinate ID then
    assert pd("run", "--rm", "--userns=keep-id", "--user", "0", busybox,
              "sh", "-c", "id -u; touch /tmp/x && stat -c %u /tmp/x").stdout == "0\n0\n"


def test_keep_id_container_commits_with_the_image_owners(registry_env: dict[str, str],
                                                         busybox: str) -> None:
    pd = _pd(registry_env)
    pd("run", "--name", "k", "--userns=keep-id", "--user", "0", busybox,
       "sh", "-c", "echo x > /rootfile")
    pd("commit", "k", "localhost/keepid-commit:latest")
    out = pd("run", "--rm", "localhost/keepid-commit:latest", "stat", "-c", "%u", "/rootfile")
    assert out.stdout == "0\n"


def test_nomap_and_bad_values_are_refused_cleanly(registry_env: dict[str, str],
                                                  busybox: str) -> None:
    pd = _pd(registry_env)
    for bad in ("keep-id:size=3", "nosuch", "nomap", "auto"):
        res = pd("run", "--rm", f"--userns={bad}", busybox, "true", check=False)
        assert res.returncode == 125 and "Traceback" not in res.stderr, res
        assert "--userns" in res.stderr
    assert pd("ps", "-a", "-q").stdout == ""
