"""Class 3 of issue #12: the caller's terminal.

A hostile image's program, started without `-t` from an interactive shell, tries to
type a command into that shell with TIOCSTI: on its stdin, stdout, stderr (the
caller's terminal itself with `-i` or `--log-driver passthrough`) and on /dev/tty
(the caller's terminal whenever the container shares the caller's session). The
shell runs on a real pty (pexpect); the injected command would create a canary file.
Every container and every `exec` runs in a session of its own, so none of it may
reach the shell: TIOCSTI on a terminal that is not the caller's controlling terminal
fails (EPERM), and /dev/tty, with no controlling terminal, does not open (ENXIO).
"""

from __future__ import annotations

import io
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.bed.runner import run_pdman
from tests.security import hostile

PROMPT = "READY$ "


@pytest.fixture(scope="module")
def hostile_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return hostile.build(tmp_path_factory.mktemp("hostile"))


@pytest.fixture
def victim(busybox: str, registry_env: dict[str, str], hostile_dir: Path) -> Iterator[str]:
    """A running container to `exec` the hostile program in."""
    run_pdman("run", "-d", "--name", "victim", "-v", f"{hostile_dir}:/h:ro", busybox,
              "sleep", "600", env=registry_env)
    yield "victim"
    run_pdman("rm", "-f", "victim", env=registry_env, check=False)


def _in_shell(env: dict[str, str], cwd: Path, command: str) -> str:
    """Run `command` in an interactive bash on a new pty, then one more command, and
    return everything the terminal showed. Whatever was typed into the terminal's
    input meanwhile runs between the two."""
    import pexpect

    out = io.StringIO()
    child = pexpect.spawn("bash", ["--norc", "--noprofile", "-i"], env={**env, "PS1": PROMPT},
                          cwd=str(cwd), encoding="utf-8", timeout=60, dimensions=(24, 200))
    child.logfile_read = out
    try:
        child.expect_exact(PROMPT)
        child.sendline(command)
        child.expect_exact(PROMPT)
        child.sendline("echo AFTER-$((40+2))")
        child.expect_exact("AFTER-42")
        child.expect_exact(PROMPT)
        child.sendline("exit")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    return out.getvalue()


@pytest.mark.parametrize("how", ["run", "run -i", "run --log-driver passthrough",
                                 "exec", "exec -i"])
def test_container_cannot_type_into_the_callers_shell(
        how: str, busybox: str, registry_env: dict[str, str], hostile_dir: Path,
        tmp_path: Path, request: pytest.FixtureRequest) -> None:
    canary = tmp_path / "CANARY"
    verb, *opts = how.split()
    if verb == "run":
        target = ["--rm", "-v", f"{hostile_dir}:/h:ro", busybox]
    else:
        target = [request.getfixturevalue("victim")]
    payload = f"touch {canary}\n"
    command = " ".join(["pdman", verb, *opts, *map(shlex.quote, target), "/h/hostile",
                        "tiocsti", "$'" + payload.replace("\n", "\\n") + "'"])
    if "-i" in opts:
        command += " < /dev/tty"     # stdin is the caller's terminal
    shown = _in_shell(registry_env, tmp_path, command)

    assert "devtty:" in shown, f"the hostile program did not run:\n{shown}"
    assert not canary.exists(), f"the container typed into the caller's shell:\n{shown}"
    assert "INJECTED" not in shown, shown
    # no controlling terminal: /dev/tty does not open
    assert "devtty: open: No such device or address" in shown, shown


#: prints the PID and the session ID of the process pdman started
SESSION = ["sh", "-c", "echo pid=$$ sid=$(awk '{print $6}' /proc/$$/stat)"]


def _pid_sid(output: str) -> tuple[str, str]:
    line = [ln for ln in output.splitlines() if ln.startswith("pid=")][-1]
    pid, sid = (part.split("=")[1] for part in line.split())
    return pid, sid


@pytest.mark.parametrize("how", ["run", "run -d", "create+start", "restart", "exec"])
def test_every_process_leads_a_session_of_its_own(
        how: str, busybox: str, registry_env: dict[str, str]) -> None:
    """Not only a foreground run: a detached, created-then-started or restarted
    container and an exec'd process each lead their own session (sid == pid; a
    session led from outside the container's PID namespace shows as 0)."""
    env = registry_env
    if how == "run":
        pid, sid = _pid_sid(run_pdman("run", "--rm", busybox, *SESSION, env=env).stdout)
        assert pid == sid == "1"
        return
    if how == "exec":
        run_pdman("run", "-d", "--name", "sess", busybox, "sleep", "600", env=env)
        try:
            pid, sid = _pid_sid(run_pdman("exec", "sess", *SESSION, env=env).stdout)
        finally:
            run_pdman("rm", "-f", "sess", env=env, check=False)
        assert pid == sid != "0"
        return
    if how == "run -d":
        cid = run_pdman("run", "-d", busybox, *SESSION, env=env).stdout.strip()
    else:
        cid = run_pdman("create", busybox, *SESSION, env=env).stdout.strip()
        run_pdman("start", cid, env=env)
    try:
        run_pdman("wait", cid, env=env, timeout=60)
        if how == "restart":
            run_pdman("restart", cid, env=env)
            run_pdman("wait", cid, env=env, timeout=60)
        pid, sid = _pid_sid(run_pdman("logs", cid, env=env).stdout)
        assert pid == sid == "1"
    finally:
        run_pdman("rm", "-f", cid, env=env, check=False)


@pytest.mark.parametrize("how", ["run -i", "run -i --log-driver passthrough", "exec -i", "exec"])
def test_callers_terminal_is_never_handed_over(
        how: str, busybox: str, registry_env: dict[str, str], tmp_path: Path,
        request: pytest.FixtureRequest) -> None:
    """Without -t the container's stdio are pipes even when pdman's are the terminal:
    a process an `exec` leaves behind must not keep the user's terminal open (to read
    the keys typed into the shell later). Input still arrives, output still shows."""
    verb, *opts = how.split()
    target = ["--rm", busybox] if verb == "run" else [request.getfixturevalue("victim")]
    script = ("for fd in 0 1 2; do [ -t $fd ] && echo fd$fd-IS-A-$((6*7))TERMINAL; done; "
              "read -r line; echo got-$line-$((6*7))")
    command = " ".join(["pdman", verb, *opts, *map(shlex.quote, target), "sh", "-c",
                        shlex.quote(script)])
    command += " < /dev/tty" if "-i" in opts else ""
    import pexpect

    out = io.StringIO()
    child = pexpect.spawn("bash", ["--norc", "--noprofile", "-i"],
                          env={**registry_env, "PS1": PROMPT}, cwd=str(tmp_path),
                          encoding="utf-8", timeout=60, dimensions=(24, 200))
    child.logfile_read = out
    try:
        child.expect_exact(PROMPT)
        child.sendline(command)
        if "-i" in opts:
            child.sendline("hello")
            child.expect_exact("got-hello-42")
        child.expect_exact(PROMPT)
        child.sendline("exit")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    shown = out.getvalue()
    assert "42TERMINAL" not in shown, shown
