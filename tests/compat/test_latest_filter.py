"""`--latest`/`-l`, `--filter` on the verbs that act on containers, and `pause/unpause
--cidfile/--all`, as podman 4.3 has them (issue #13). This host tier has no cgroup v2
freezer, so `pause` fails here: its error names the container it chose, which is
what these tests check of it."""

from __future__ import annotations

from pathlib import Path

from tests.compat.test_scripts import _pd


def _pause(pd, *args: str, verb: str = "pause") -> str:  # type: ignore[no-untyped-def]
    """pause's error here (no freezer): it names the containers chosen."""
    res = pd(verb, *args, check=False)
    if res.returncode == 0:  # a host with a delegated cgroup v2 freezer
        pd("unpause" if verb == "pause" else "pause", *args)
        return " ".join(f"container {n}:" for n in _names(pd, res.stdout.split()))
    assert res.returncode == 125 and "Traceback" not in res.stderr, res
    return res.stderr


def _names(pd, ids: list[str]) -> list[str]:  # type: ignore[no-untyped-def]
    return [pd("inspect", "--format", "{{.Name}}", i).stdout.strip() for i in ids]


def _state(pd, name: str) -> str:  # type: ignore[no-untyped-def]
    return pd("inspect", "--format", "{{.State.Status}}", name).stdout.strip()


def test_latest_is_the_most_recently_created(registry_env: dict[str, str], busybox: str) -> None:
    pd = _pd(registry_env)
    pd("run", "-d", "--name", "older", busybox, "sleep", "600")
    newest = pd("run", "-d", "--name", "newer", busybox, "sh", "-c",
                "echo hello; exec sleep 600").stdout.strip()
    assert pd("inspect", "-l", "--format", "{{.Name}}").stdout.strip() == "newer"
    assert pd("container", "inspect", "--latest", "--format", "{{.Id}}").stdout.strip() == newest
    assert pd("exec", "-l", "cat", "/etc/hostname").stdout.strip() == newest[:12]
    assert "sleep" in pd("top", "-l", "args").stdout
    assert pd("logs", "-l").stdout == "hello\n"
    both = pd("logs", "-l", "older", check=False)
    assert both.returncode == 125 and "--latest and containers cannot be used together" in both.stderr
    assert "container newer:" in _pause(pd, "-l")
    pd("stop", "-l", "-t", "0")
    assert _state(pd, "newer") == "exited" and _state(pd, "older") == "running"
    assert pd("wait", "-l").stdout.strip() == "137"
    pd("start", "-l")
    assert _state(pd, "newer") == "running"
    pd("kill", "-l")
    pd("wait", "-l")
    pd("rm", "-l")
    assert pd("ps", "-a", "--format", "{{.Names}}").stdout.split() == ["older"]
    missing = pd("exec", "nothing-given", check=False)
    assert missing.returncode == 125 and "Traceback" not in missing.stderr


def test_filter_chooses_the_containers(registry_env: dict[str, str], busybox: str) -> None:
    pd = _pd(registry_env)
    for name, label in (("a1", "grp=a"), ("a2", "grp=a"), ("b1", "grp=b")):
        pd("run", "-d", "--name", name, "--label", label, busybox, "sleep", "600")
    chosen = _pause(pd, "--filter", "label=grp=a")
    assert "container a1:" in chosen and "container a2:" in chosen and "b1" not in chosen
    pd("stop", "-t", "0", "--filter", "name=a1")
    assert [_state(pd, n) for n in ("a1", "a2", "b1")] == ["exited", "running", "running"]
    assert pd("stop", "--filter", "name=nomatch").returncode == 0
    pd("restart", "-t", "0", "-f", "name=a1")
    assert _state(pd, "a1") == "running"
    pd("stop", "-t", "0", "--all")
    pd("container", "prune", "-f", "--filter", "label=grp=b")
    assert sorted(pd("ps", "-a", "--format", "{{.Names}}").stdout.split()) == ["a1", "a2"]
    pd("rm", "--filter", "name=a2")
    assert pd("ps", "-a", "--format", "{{.Names}}").stdout.split() == ["a1"]


def test_pause_and_unpause_read_cidfiles(registry_env: dict[str, str], busybox: str,
                                         tmp_path: Path) -> None:
    pd = _pd(registry_env)
    cidfile = tmp_path / "cid"
    pd("run", "-d", "--name", "byfile", "--cidfile", str(cidfile), busybox, "sleep", "600")
    pd("create", "--name", "idle", busybox, "true")
    for verb in ("pause", "unpause"):
        assert "container byfile" in _pause(pd, "--cidfile", str(cidfile), verb=verb)
    chosen = _pause(pd, "--all")
    assert "container byfile:" in chosen and "idle" not in chosen
    none_given = pd("pause", check=False)
    assert none_given.returncode == 125
    assert "you must provide at least one container name or ID" in none_given.stderr


def test_pod_latest_is_the_most_recently_created_pod(registry_env: dict[str, str],
                                                     busybox: str) -> None:
    """`pod VERB --latest` (podman 4.3: inspect, kill, logs, pause, ps, restart, rm,
    start, stats, stop, top, unpause) acts on the newest pod, whatever its state."""
    pd = _pd(registry_env)
    none_yet = pd("pod", "inspect", "-l", check=False)
    assert none_yet.returncode == 125 and "no such pod" in none_yet.stderr, none_yet
    older = pd("pod", "create", "--name", "older").stdout.strip()
    newer = pd("pod", "create", "--name", "newer").stdout.strip()
    for pod in ("older", "newer"):
        pd("run", "-d", "--pod", pod, "--name", f"{pod}-ctr", busybox, "sh", "-c",
           f"echo hello-from-{pod}; exec sleep 600")
    assert pd("pod", "inspect", "-l", "--format", "{{.Name}}").stdout.strip() == "newer"
    assert pd("pod", "ps", "--latest", "--format", "{{.Name}}").stdout.split() == ["newer"]
    assert pd("pod", "ps", "-l", "-q", "--no-trunc").stdout.split() == [newer]
    assert "hello-from-newer" in pd("pod", "logs", "-l").stdout
    assert "sleep" in pd("pod", "top", "-l", "args").stdout
    both = pd("pod", "stop", "-l", "older", check=False)
    assert both.returncode == 125 and "--latest and pods cannot be used together" in both.stderr

    def state(pod: str) -> str:
        return pd("pod", "inspect", pod, "--format", "{{.State}}").stdout.strip()

    assert pd("pod", "stop", "-l", "-t", "0").stdout.strip() == newer
    assert (state("newer"), state("older")) == ("Exited", "Running")
    pd("pod", "start", "-l")
    assert state("newer") == "Running"
    pd("pod", "restart", "-l")
    pd("pod", "kill", "-l")
    assert state("newer") == "Exited" and state("older") == "Running"
    pd("pod", "rm", "-l")
    assert pd("pod", "ps", "--format", "{{.Name}}").stdout.split() == ["older"]
    assert pd("pod", "inspect", "--latest", "--format", "{{.Id}}").stdout.strip() == older
    missing = pd("pod", "top", check=False)
    assert missing.returncode == 125 and "at least one pod name or ID" in missing.stderr
