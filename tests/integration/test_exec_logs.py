"""`exec`, `logs`, `attach` and `top` on detached containers, as an unprivileged user,
against the real registry. What a process sees is checked from inside the container."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.bed.runner import run_pdman, wait_for

NONE = ("--network", "none")


def pd(env: dict[str, str], *args: object, check: bool = True,
       input: str | None = None) -> subprocess.CompletedProcess[str]:
    return run_pdman(*args, env=env, check=check, input=input)


@pytest.fixture
def box(busybox: str, registry_env: dict[str, str]) -> str:
    """A running container to exec into, as a non-root user by default."""
    pd(registry_env, "run", "-d", *NONE, "--name", "box", "-e", "FROM_RUN=1", "-w", "/etc",
       busybox, "sleep", "1000")
    return "box"


# ---- exec ----


def test_exec_runs_in_the_containers_namespaces(box: str, registry_env: dict[str, str]) -> None:
    out = pd(registry_env, "exec", box, "sh", "-c",
             "echo pid=$$; hostname; pwd; echo $FROM_RUN; id -u; cat /proc/1/cmdline | tr '\\0' ' '")
    lines = out.stdout.splitlines()
    assert lines[0] != "pid=1" and int(lines[0][4:]) > 1  # in the container's PID namespace
    cid = json.loads(pd(registry_env, "container", "inspect", box).stdout)[0]["Id"]
    assert lines[1:] == [cid[:12], "/etc", "1", "0", "sleep 1000 "]
    # the same mount namespace: a file written by exec is the container's
    pd(registry_env, "exec", box, "sh", "-c", "echo shared > /tmp/f")
    upper = Path(registry_env["PDMAN_ROOT"]) / "containers" / cid / "upper"
    assert (upper / "tmp/f").read_text() == "shared\n"


def test_exec_exit_codes(box: str, registry_env: dict[str, str]) -> None:
    assert pd(registry_env, "exec", box, "sh", "-c", "exit 7", check=False).returncode == 7
    missing = pd(registry_env, "exec", box, "no-such-command", check=False)
    assert missing.returncode == 127 and "no-such-command" in missing.stderr
    noexec = pd(registry_env, "exec", box, "/etc/passwd", check=False)
    assert noexec.returncode == 126
    killed = pd(registry_env, "exec", box, "sh", "-c", "kill -9 $$", check=False)
    assert killed.returncode == 137
    # nothing is left behind in the container by the failed ones
    procs = pd(registry_env, "exec", box, "ps", "-o", "pid,comm").stdout.split("\n")[1:]
    assert [p.split()[1] for p in procs if p.strip()] == ["sleep", "ps"]


def test_exec_user_env_workdir(box: str, registry_env: dict[str, str]) -> None:
    out = pd(registry_env, "exec", "-u", "1000:1000", "-e", "A=b", "-w", "/tmp", box,
             "sh", "-c", "id; echo $A; pwd; touch /tmp/by-1000; stat -c %u /tmp/by-1000").stdout
    assert out.startswith("uid=1000 gid=1000")
    assert out.splitlines()[1:] == ["b", "/tmp", "1000"]
    assert pd(registry_env, "exec", "-u", "nobody", box, "id", "-un").stdout == "nobody\n"
    bad = pd(registry_env, "exec", "-u", "nosuchuser", box, "true", check=False)
    assert bad.returncode == 125 and "nosuchuser" in bad.stderr


def test_exec_while_the_main_process_runs_as_another_user(busybox: str,
                                                         registry_env: dict[str, str]) -> None:
    pd(registry_env, "run", "-d", *NONE, "-u", "1000", "--name", "u1000", busybox, "sleep", "1000")
    assert pd(registry_env, "exec", "u1000", "id", "-u").stdout == "1000\n"
    assert pd(registry_env, "exec", "-u", "0", "u1000", "id", "-u").stdout == "0\n"


def test_exec_capabilities_and_privileged(box: str, registry_env: dict[str, str]) -> None:
    def capeff(*opts: str) -> int:
        text = pd(registry_env, "exec", *opts, box, "grep", "CapEff", "/proc/self/status").stdout
        return int(text.split()[1], 16)

    assert capeff() == 0x00000000800405FB  # the container's (podman's default set)
    assert capeff("--privileged") > capeff()


def test_exec_stdin_and_detach(box: str, registry_env: dict[str, str]) -> None:
    assert pd(registry_env, "exec", "-i", box, "cat", input="through stdin\n").stdout == \
        "through stdin\n"
    assert pd(registry_env, "exec", "-d", box, "sh", "-c", "sleep 0.2; touch /tmp/done").stdout == ""
    wait_for(lambda: pd(registry_env, "exec", box, "ls", "/tmp/done", check=False).returncode == 0)


def test_exec_interactive_tty(box: str, registry_env: dict[str, str]) -> None:
    import pexpect

    child = pexpect.spawn("pdman", ["exec", "-it", box, "sh"], env=registry_env,
                          encoding="utf-8", timeout=30, dimensions=(30, 100))
    child.expect("# ")
    child.sendline("echo $((6*7)); stty size; [ -t 0 ] && echo on-a-tty")
    child.expect("42")
    child.expect("30 100")
    child.expect("on-a-tty")
    child.sendline("exit 3")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 3


def test_exec_into_a_stopped_container_is_125(busybox: str, registry_env: dict[str, str]) -> None:
    pd(registry_env, "create", *NONE, "--name", "idle", busybox, "sleep", "1000")
    out = pd(registry_env, "exec", "idle", "true", check=False)
    assert out.returncode == 125
    assert "idle" in out.stderr and "running" in out.stderr
    assert pd(registry_env, "exec", "nosuch", "true", check=False).returncode == 125


# ---- logs ----


def test_logs_keep_streams_apart_and_partial_lines(busybox: str, registry_env: dict[str, str]) -> None:
    pd(registry_env, "run", "-d", *NONE, "--name", "talk", busybox, "sh", "-c",
       "echo out1; echo err1 >&2; echo out2; printf 'no newline'")
    pd(registry_env, "wait", "talk")
    logs = pd(registry_env, "logs", "talk")
    assert logs.stdout == "out1\nout2\nno newline"
    assert logs.stderr == "err1\n"
    cid = json.loads(pd(registry_env, "container", "inspect", "talk").stdout)[0]["Id"]
    raw = (Path(registry_env["PDMAN_ROOT"]) / "containers" / cid / "userdata/ctr.log").read_text()
    first = raw.splitlines()[0]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z stdout F out1", first), first
    assert any(re.search(r"Z stdout P no newline$", line) for line in raw.splitlines())


def test_a_foreground_run_is_logged_too(busybox: str, registry_env: dict[str, str]) -> None:
    """As podman: what a foreground container writes reaches the caller and its log."""
    script = "echo out1; echo err1 >&2; echo out2; printf 'no newline'"
    run = pd(registry_env, "run", *NONE, "--name", "fg", busybox, "sh", "-c", script)
    assert run.stdout == "out1\nout2\nno newline" and run.stderr == "err1\n"
    logs = pd(registry_env, "logs", "fg")
    assert logs.stdout == "out1\nout2\nno newline" and logs.stderr == "err1\n"
    # a reader that stops early (`| head -1`) stops neither the container nor the log
    piped = subprocess.run(["sh", "-c", f"pdman run {' '.join(NONE)} --name many {busybox} "
                            "seq 1 20000 | head -1"],
                           env=registry_env, capture_output=True, text=True, timeout=120)
    assert piped.stdout.startswith("1\n"), piped.stdout + piped.stderr
    assert pd(registry_env, "logs", "--tail", "1", "many").stdout == "20000\n"
    assert json.loads(pd(registry_env, "inspect", "many").stdout)[0]["State"]["ExitCode"] == 0
    # --log-driver passthrough: the caller's own stdio, nothing logged (podman's)
    direct = pd(registry_env, "run", *NONE, "--name", "pt", "--log-driver", "passthrough",
                busybox, "echo", "direct")
    assert direct.stdout == "direct\n"
    assert pd(registry_env, "logs", "pt", check=False).returncode != 0


def test_logs_tail_timestamps_since_until(busybox: str, registry_env: dict[str, str]) -> None:
    pd(registry_env, "run", "-d", *NONE, "--name", "count", busybox, "sh", "-c",
       "for i in 1 2 3 4 5; do echo line$i; done")
    pd(registry_env, "wait", "count")
    assert pd(registry_env, "logs", "--tail", "2", "count").stdout == "line4\nline5\n"
    assert pd(registry_env, "logs", "--tail", "0", "count").stdout == ""
    stamped = pd(registry_env, "logs", "-t", "count").stdout.splitlines()
    assert len(stamped) == 5
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z line1", stamped[0])
    assert pd(registry_env, "logs", "--since", "10m", "count").stdout.count("line") == 5
    assert pd(registry_env, "logs", "--until", "10m", "count").stdout == ""
    first = stamped[0].split()[0]
    assert pd(registry_env, "logs", "--since", first, "count").stdout.count("line") == 5
    assert pd(registry_env, "logs", "--since", "2000-01-01T00:00:00Z", "--until",
              "2000-01-02", "count").stdout == ""
    bad = pd(registry_env, "logs", "--since", "yesterday", "count", check=False)
    assert bad.returncode == 125 and "--since" in bad.stderr


def test_logs_follow_while_the_container_writes(busybox: str, registry_env: dict[str, str]) -> None:
    # the container holds after its first line until the test lets it go on: a follower
    # that has tick1 while the container still runs streams, whatever the machine's load
    pd(registry_env, "run", "-d", *NONE, "--name", "ticker", busybox, "sh", "-c",
       "echo tick1; until [ -e /tmp/go ]; do sleep 0.05; done; "
       "for i in 2 3 4; do echo tick$i; done; echo gone >&2")
    exe = shutil.which("pdman", path=registry_env["PATH"])
    assert exe is not None
    follower = subprocess.Popen([exe, "logs", "-f", "ticker"], env=registry_env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert follower.stdout is not None and follower.stderr is not None
    assert follower.stdout.readline() == "tick1\n"
    assert follower.poll() is None, "logs -f ended while the container runs"
    pd(registry_env, "exec", "ticker", "touch", "/tmp/go")
    assert [follower.stdout.readline() for _ in range(3)] == ["tick2\n", "tick3\n", "tick4\n"]
    assert follower.wait(timeout=60) == 0  # -f ends when the container does
    assert follower.stdout.read() == ""
    assert follower.stderr.read() == "gone\n"


def test_log_rotation_and_log_driver_none(busybox: str, registry_env: dict[str, str]) -> None:
    pd(registry_env, "run", "-d", *NONE, "--name", "chatty", "--log-opt", "max-size=2k", busybox,
       "sh", "-c", "i=0; while [ $i -lt 200 ]; do echo line-$i; i=$((i+1)); done")
    pd(registry_env, "wait", "chatty")
    path = Path(json.loads(pd(registry_env, "container", "inspect", "chatty").stdout)[0]["LogPath"])
    assert path.stat().st_size <= 2048
    assert Path(f"{path}.1").exists()
    assert pd(registry_env, "logs", "--tail", "1", "chatty").stdout == "line-199\n"
    assert pd(registry_env, "logs", "chatty").stdout.endswith("line-198\nline-199\n")
    pd(registry_env, "run", "-d", *NONE, "--name", "quiet", "--log-driver", "none", busybox,
       "echo", "nowhere")
    assert pd(registry_env, "wait", "quiet").stdout == "0\n"
    out = pd(registry_env, "logs", "quiet", check=False)
    assert out.returncode == 125 and "none" in out.stderr


def test_log_driver_journald(busybox: str, registry_env: dict[str, str]) -> None:
    from pdman.runtime.logs import JOURNAL_SOCKET

    if not Path(JOURNAL_SOCKET).exists() or shutil.which("journalctl") is None:
        pytest.skip(f"journald does not run on this host (no {JOURNAL_SOCKET}); the VM tier "
                    "with systemd covers it")
    pd(registry_env, "run", "-d", *NONE, "--name", "jd", "--log-driver", "journald", busybox,
       "sh", "-c", "echo to-journal; echo err-journal >&2")
    pd(registry_env, "wait", "jd")
    assert not Path(json.loads(pd(registry_env, "container", "inspect", "jd").stdout)[0]
                    ["LogPath"] or "/nonexistent").exists()
    logs = wait_for(lambda: (lambda r: r if "to-journal" in r.stdout else None)(
        pd(registry_env, "logs", "jd")))
    assert logs.stdout == "to-journal\n" and logs.stderr == "err-journal\n"


# ---- attach, top ----


def _until_the_shell_answers(child: Any) -> None:
    """Attaching resizes the terminal; busybox's line editor then redraws and asks the
    terminal for the cursor position (which pexpect never answers), eating what is
    typed meanwhile: say it again until it is heard."""
    import pexpect

    for _ in range(20):
        child.sendline("echo $((6*7))")
        if child.expect(["42", pexpect.TIMEOUT], timeout=1) == 0:
            return
    pytest.fail("the attached shell never answered")


def test_attach_tty_detach_keys_and_exit(busybox: str, registry_env: dict[str, str]) -> None:
    import pexpect

    pd(registry_env, "run", "-dit", *NONE, "--name", "shell", busybox, "sh")
    # typed before the shell reads its terminal, input would be flushed: wait for its
    # prompt (a tty's output is logged too)
    wait_for(lambda: "# " in pd(registry_env, "logs", "shell").stdout)
    child = pexpect.spawn("pdman", ["attach", "shell"], env=registry_env, encoding="utf-8",
                          timeout=30, dimensions=(24, 90))
    _until_the_shell_answers(child)
    child.sendline("stty size")
    child.expect("24 90")
    child.send("\x10\x11")  # ctrl-p ctrl-q
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert json.loads(pd(registry_env, "container", "inspect", "shell").stdout)[0]["State"]["Running"]
    # other keys on request: then ctrl-p ctrl-q reach the shell, which lives on
    child = pexpect.spawn("pdman", ["attach", "--detach-keys", "ctrl-x", "shell"], env=registry_env,
                          encoding="utf-8", timeout=30)
    _until_the_shell_answers(child)
    child.send("\x10\x11")
    child.sendline("echo still-$((40+2))")
    child.expect("still-42")
    child.send("\x18")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert json.loads(pd(registry_env, "container", "inspect", "shell").stdout)[0]["State"]["Running"]
    child = pexpect.spawn("pdman", ["attach", "shell"], env=registry_env, encoding="utf-8",
                          timeout=30)
    _until_the_shell_answers(child)
    child.sendline("exit 3")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 3
    assert "Exited (3)" in pd(registry_env, "ps", "-a").stdout


def test_attach_without_a_tty(busybox: str, registry_env: dict[str, str]) -> None:
    pd(registry_env, "run", "-d", "-i", *NONE, "--name", "cat", busybox, "sh", "-c",
       "read line; echo got:$line; echo to-stderr >&2; exit 2")
    out = pd(registry_env, "attach", "cat", input="hello\n", check=False)
    assert out.returncode == 2
    assert out.stdout == "got:hello\n" and out.stderr == "to-stderr\n"
    stopped = pd(registry_env, "attach", "cat", check=False)
    assert stopped.returncode == 125 and "running" in stopped.stderr


def test_attach_no_stdin_keeps_input_from_the_container(busybox: str,
                                                        registry_env: dict[str, str]) -> None:
    # the container reads only after the attach has had time to connect
    pd(registry_env, "run", "-d", "-i", *NONE, "--name", "deaf", busybox, "sh", "-c",
       "sleep 1; if read -t 1 line; then echo got:$line; else echo no-input; fi")
    out = pd(registry_env, "attach", "--no-stdin", "deaf", input="hello\n")
    assert out.stdout == "no-input\n"


def test_top(busybox: str, registry_env: dict[str, str]) -> None:
    pd(registry_env, "run", "-d", *NONE, "-u", "nobody", "--name", "busy", busybox, "sh", "-c",
       "sleep 1000 & exec sleep 999")

    def settled() -> "list[str] | None":
        # both sleeps exec'd: before that, `sh -c ...` (the parent, or its forked child)
        # holds the line, and its text names `sleep 1000` too
        lines = pd(registry_env, "top", "busy").stdout.splitlines()
        commands = sorted(line.split(None, 7)[7] for line in lines[1:])
        return lines if commands == ["sleep 1000", "sleep 999"] else None

    lines = wait_for(settled)
    assert lines[0].split() == ["USER", "PID", "PPID", "%CPU", "ELAPSED", "TTY", "TIME", "COMMAND"]
    rows = {line.split(None, 7)[7]: line.split() for line in lines[1:]}
    assert rows["sleep 999"][:3] == ["nobody", "1", "0"]
    assert rows["sleep 1000"][1] != "1" and rows["sleep 1000"][2] == "1"
    some = pd(registry_env, "top", "busy", "pid", "args").stdout.splitlines()
    assert some[0].split() == ["PID", "COMMAND"] and len(some) == 3
    bad = pd(registry_env, "top", "busy", "nosuch", check=False)
    assert bad.returncode == 125
