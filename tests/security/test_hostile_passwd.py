"""`run -u NAME` resolves NAME in the image's /etc/passwd, read from the layer
directories by pdman's own process: a symlink there (absolute, or on the way to the
file) must be resolved inside the image, never on the host (issue #12, class 1)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.bed import hostile

HOST_LINE = "hostonlyuser:x:4711:4711:host only:/:/bin/sh\n"


@pytest.mark.parametrize("how", ["file", "directory"])
def test_run_user_never_resolves_through_a_host_passwd(pd: Callable[..., Any], busybox: str,
                                                       tmp_path: Path, how: str) -> None:
    host_etc = tmp_path / "host-etc"
    host_etc.mkdir()
    (host_etc / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n" + HOST_LINE)
    (host_etc / "group").write_text("root:x:0:\nhostonly:x:4711:hostonlyuser\n")
    base = hostile.busybox_rootfs(pd, busybox, tmp_path)
    if how == "file":   # /etc/passwd and /etc/group: absolute symlinks to host files
        image = hostile.hostile_image(pd, base, tmp_path, "pw-file", drop=("etc/passwd", "etc/group"),
                                      add=[hostile.symlink_entry("etc/passwd", str(host_etc / "passwd")),
                                           hostile.symlink_entry("etc/group", str(host_etc / "group"))])
    else:               # /etc itself: an absolute symlink to a host directory
        image = hostile.hostile_image(pd, base, tmp_path, "pw-dir", drop=("etc",),
                                      add=[hostile.symlink_entry("etc", str(host_etc))])
    r = pd("run", "--rm", "--network", "none", "-u", "hostonlyuser", image, "id", "-u", check=False)
    assert "Traceback" not in r.stderr
    assert r.stdout.strip() != "4711", "the user was resolved through the host's file"
    assert r.returncode != 0 and "unable to find user hostonlyuser" in r.stderr, r.stderr
    # a group name, likewise
    r = pd("run", "--rm", "--network", "none", "-u", "0:hostonly", image, "id", "-g", check=False)
    assert "Traceback" not in r.stderr
    assert r.stdout.strip() != "4711"
    assert r.returncode != 0 and "unable to find group hostonly" in r.stderr, r.stderr
