"""`create --init-ctr always|once` (issue #13), as podman 4.3's: a pod's init containers
run to their exit, in the order they were created, after the infra container and before
the other containers, at every `pod start` (`always`) or at the next one only (`once`:
then removed); `pod restart` runs none; a failing one stops the pod's start; podman's
words for the misuses."""

from __future__ import annotations

import subprocess

from tests.bed.runner import run_pdman


def pd(env: dict[str, str], *args: object, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run_pdman(*args, env=env, check=check)


def _log(env: dict[str, str]) -> list[str]:
    return pd(env, "exec", "app", "cat", "/data/log").stdout.split()


def test_init_containers_run_before_the_others(registry_env: dict[str, str],
                                               busybox: str) -> None:
    env = registry_env
    pd(env, "pod", "create", "--name", "p")
    try:
        pd(env, "create", "--pod", "p", "--init-ctr", "always", "--name", "init1",
           "-v", "shared:/data", busybox, "sh", "-c", "echo always >> /data/log")
        pd(env, "create", "--pod", "p", "--init-ctr", "once", "--name", "init2",
           "-v", "shared:/data", busybox, "sh", "-c", "echo once >> /data/log")
        # the app sees what the init containers wrote as it starts
        pd(env, "create", "--pod", "p", "--name", "app", "-v", "shared:/data", busybox,
           "sh", "-c", "cp /data/log /data/seen; exec sleep 1000")
        pd(env, "pod", "start", "p")
        assert _log(env) == ["always", "once"]
        assert pd(env, "exec", "app", "cat", "/data/seen").stdout.split() == ["always", "once"]
        names = pd(env, "ps", "-a", "--filter", "pod=p", "--format",
                   "{{.Names}} {{.State}}").stdout.splitlines()
        assert "init1 exited" in names and "app running" in names
        assert not any(n.startswith("init2") for n in names)     # once: removed
        # an init container goes only into a pod that is not running
        bad = pd(env, "create", "--pod", "p", "--init-ctr", "always", busybox, "true",
                 check=False)
        assert bad.returncode == 125 and "pod p is running" in bad.stderr
        # restart: no init containers; stop + start: the `always` one again
        pd(env, "pod", "restart", "p")
        assert _log(env) == ["always", "once"]
        pd(env, "pod", "stop", "-t", "0", "p")
        pd(env, "pod", "start", "p")
        assert _log(env) == ["always", "once", "always"]
    finally:
        pd(env, "pod", "rm", "-f", "-t", "0", "p", check=False)


def test_a_failing_init_container_stops_the_start(registry_env: dict[str, str],
                                                  busybox: str) -> None:
    env = registry_env
    pd(env, "pod", "create", "--name", "q")
    try:
        pd(env, "create", "--pod", "q", "--init-ctr", "always", "--name", "bad", busybox,
           "sh", "-c", "exit 3")
        pd(env, "create", "--pod", "q", "--name", "never", busybox, "sleep", "1000")
        done = pd(env, "pod", "start", "q", check=False)
        assert done.returncode == 125
        assert "exited with code 3" in done.stderr
        assert pd(env, "inspect", "never", "--format", "{{.State.Status}}").stdout.strip() \
            == "created"
    finally:
        pd(env, "pod", "rm", "-f", "-t", "0", "q", check=False)
    bad = pd(env, "create", "--init-ctr", "always", busybox, "true", check=False)
    assert bad.returncode == 125 and "must specify pod value with init-ctr" in bad.stderr
    pd(env, "pod", "create", "--name", "r")
    bad = pd(env, "create", "--pod", "r", "--init-ctr", "sometimes", busybox, "true",
             check=False)
    assert bad.returncode == 125 and "init-ctr value must be 'always' or 'once'" in bad.stderr
    pd(env, "pod", "rm", "r")
