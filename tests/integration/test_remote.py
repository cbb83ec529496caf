"""The remote client (issue #14): `pdman --url/--connection/--remote` and
CONTAINER_HOST run the verbs through a Docker-compatible API service — pdman's own
`system service`, podman's `system service`, and pdman's behind a real sshd (a
user-owned one on loopback, key auth, started and stopped here) — with the output,
flags and exit codes of a local run. `system connection` keeps named destinations.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.bed.apiservice import Service, service, service_log, start_service, stop_service  # noqa: F401
from tests.bed.runner import http_get, run_pdman, wait_for


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def remote(url: str, *args: object, env: dict[str, str], check: bool = True,
           extra: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    done = run_pdman("--url", url, *extra, *args, env=env, check=False)
    assert "Traceback" not in done.stderr, done.stderr
    if check:
        assert done.returncode == 0, f"{args}: exit {done.returncode}\n{done.stdout}{done.stderr}"
    return done


# --------------------------------------------------------------- system connection

def test_system_connection_commands(pdman_env: dict[str, str], tmp_path: Path) -> None:
    env = dict(pdman_env, XDG_CONFIG_HOME=str(tmp_path / "cfg"))
    run_pdman("system", "connection", "add", "--identity", "/tmp/key", "--port", "2222",
              "box", "alice@127.0.0.1", env=env)
    run_pdman("system", "connection", "add", "sock", "unix:///tmp/x.sock", env=env)
    run_pdman("system", "connection", "add", "-d", "web", "tcp://127.0.0.1:8080", env=env)
    out = run_pdman("system", "connection", "list", env=env).stdout.splitlines()
    assert out[0].split() == ["NAME", "URI", "IDENTITY", "DEFAULT"]
    assert out[1].split() == ["box", "ssh://alice@127.0.0.1:2222", "/tmp/key", "false"]
    assert out[2].split() == ["sock", "unix:///tmp/x.sock", "false"]
    assert out[3].split() == ["web", "tcp://127.0.0.1:8080", "true"]
    doc = json.loads(run_pdman("system", "connection", "ls", "--format", "json", env=env).stdout)
    assert [(d["Name"], d["Default"]) for d in doc] == [("box", False), ("sock", False),
                                                        ("web", True)]
    store = tmp_path / "cfg" / "pdman" / "connections.json"
    assert stat.S_IMODE(store.stat().st_mode) == 0o600
    run_pdman("system", "connection", "default", "box", env=env)
    run_pdman("system", "connection", "rename", "sock", "local", env=env)
    run_pdman("system", "connection", "rm", "web", env=env)
    out = run_pdman("system", "connection", "ls", "--format", "{{.Name}} {{.Default}}",
                    env=env).stdout
    assert out == "box true\nlocal false\n"
    assert run_pdman("system", "connection", "ls", "-q", env=env).stdout == "box\nlocal\n"
    bad = run_pdman("system", "connection", "default", "nosuch", env=env, check=False)
    assert bad.returncode == 125
    assert '"nosuch" destination is not defined' in bad.stderr
    bad = run_pdman("system", "connection", "add", "x", "unix://relative", env=env, check=False)
    assert bad.returncode == 125 and "absolute" in bad.stderr
    run_pdman("system", "connection", "rm", "--all", env=env)
    assert run_pdman("system", "connection", "ls", "-q", env=env).stdout == ""


def test_unreachable_service_and_unknown_connection(pdman_env: dict[str, str],
                                                    tmp_path: Path) -> None:
    env = dict(pdman_env, XDG_CONFIG_HOME=str(tmp_path / "cfg"))
    done = remote(f"unix://{tmp_path}/none.sock", "ps", env=env, check=False)
    assert done.returncode == 125
    assert "cannot connect to the API service at unix://" in done.stderr
    assert "Hint:" in done.stderr
    done = run_pdman("--connection", "nosuch", "ps", env=env, check=False)
    assert done.returncode == 125 and '"nosuch" destination is not defined' in done.stderr


# --------------------------------------------------------------- pdman's own service

def test_remote_verbs_against_pdman_service(service: Service, busybox: str,
                                            tmp_path: Path) -> None:
    url = f"unix://{service.sock}"
    # the client runs without the service's store: a local run there would see nothing
    env = dict(service.env, PDMAN_ROOT=str(tmp_path / "client-root"),
               XDG_CONFIG_HOME=str(tmp_path / "cfg"))
    ver = remote(url, "version", env=env).stdout
    assert "Client:" in ver and "Server:" in ver
    assert json.loads(remote(url, "info", "--format", "json", env=env).stdout)["OSType"] == "linux"
    out = remote(url, "images", env=env).stdout.splitlines()
    assert out[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    repo, _, tag = busybox.rpartition(":")
    assert any(ln.split()[:2] == [repo, tag] for ln in out[1:]), out

    # foreground run: its output, its exit code, and --rm leaves nothing
    done = remote(url, "run", "--rm", "-e", "WHO=remote", busybox, "sh", "-c",
                  "echo hi $WHO; echo err >&2; exit 3", env=env, check=False)
    assert (done.returncode, done.stdout) == (3, "hi remote\n"), done.stderr
    assert "err" in done.stderr
    assert run_pdman("ps", "-aq", env=service.env).stdout == ""
    done = remote(url, "run", "--rm", busybox, "/no/such/cmd", env=env, check=False)
    assert done.returncode == 127, done.stderr
    assert run_pdman("ps", "-aq", env=service.env).stdout == ""

    # detached with a published port, a volume and a name; seen by the local CLI too
    port = free_port()
    remote(url, "volume", "create", "rvol", env=env)
    cid = remote(url, "run", "-d", "--name", "rweb", "-p", f"127.0.0.1:{port}:8080",
                 "-v", "rvol:/www", busybox, "sh", "-c",
                 "echo hello-remote > /www/index.html && echo started && "
                 "httpd -f -p 8080 -h /www", env=env).stdout.strip()
    assert len(cid) == 64
    assert run_pdman("ps", "-q", "--no-trunc", env=service.env).stdout.strip() == cid
    status, body = http_get(f"http://127.0.0.1:{port}/index.html")
    assert (status, body) == (200, b"hello-remote\n")
    rows = remote(url, "ps", env=env).stdout.splitlines()
    assert rows[0].split() == ["CONTAINER", "ID", "IMAGE", "COMMAND", "CREATED", "STATUS",
                               "PORTS", "NAMES"]
    assert rows[1].startswith(cid[:12]) and rows[1].split()[-1] == "rweb"
    assert f"127.0.0.1:{port}->8080/tcp" in rows[1]
    assert remote(url, "ps", "--format", "{{.Names}} {{.State}}", env=env).stdout == \
        "rweb running\n"
    assert remote(url, "logs", "rweb", env=env).stdout == "started\n"
    done = remote(url, "exec", "rweb", "sh", "-c", "cat /www/index.html; exit 5", env=env,
                  check=False)
    assert (done.returncode, done.stdout) == (5, "hello-remote\n")
    doc = json.loads(remote(url, "inspect", "rweb", env=env).stdout)
    assert doc[0]["Id"] == cid and doc[0]["Name"].lstrip("/") == "rweb"
    assert remote(url, "inspect", "--format", "{{.Config.Image}}", "rweb",
                  env=env).stdout.strip() == busybox
    assert remote(url, "stop", "-t", "1", "rweb", env=env).stdout == "rweb\n"
    assert remote(url, "ps", "-q", env=env).stdout == ""
    assert remote(url, "rm", "rweb", env=env).stdout == "rweb\n"
    missing = remote(url, "rm", "rweb", env=env, check=False)
    assert missing.returncode == 1 and "rweb" in missing.stderr
    assert remote(url, "rm", "--ignore", "rweb", env=env).returncode == 0
    assert remote(url, "volume", "ls", "-q", env=env).stdout == "rvol\n"
    assert remote(url, "volume", "rm", "rvol", env=env).stdout == "rvol\n"

    # logs -f follows to the end; create + start + kill; networks
    cid = remote(url, "run", "-d", busybox, "sh", "-c",
                 "for i in 1 2 3; do echo line$i; sleep 0.2; done", env=env).stdout.strip()
    assert remote(url, "logs", "-f", cid, env=env).stdout == "line1\nline2\nline3\n"
    remote(url, "rm", "-f", cid, env=env)
    remote(url, "create", "--name", "slp", busybox, "sleep", "60", env=env)
    assert remote(url, "start", "slp", env=env).stdout == "slp\n"
    assert remote(url, "kill", "slp", env=env).stdout == "slp\n"
    remote(url, "rm", "-f", "slp", env=env)
    remote(url, "network", "create", "rnet", env=env)
    assert "rnet" in remote(url, "network", "ls", env=env).stdout.split()
    assert remote(url, "network", "rm", "rnet", env=env).stdout == "rnet\n"

    # pull and rmi through the service (the tag is the test registry's, pulled again)
    remote(url, "tag", busybox, "localhost/remote-copy:1", env=env)
    out = remote(url, "rmi", "localhost/remote-copy:1", env=env).stdout
    assert "Untagged: localhost/remote-copy:1" in out
    assert remote(url, "pull", "-q", busybox, env=env).stdout.strip() == \
        json.loads(remote(url, "image", "inspect", busybox, env=env).stdout)[0]["Id"] \
        .removeprefix("sha256:")

    # CONTAINER_HOST alone means remote, as in podman
    env_host = dict(env, CONTAINER_HOST=url)
    done = run_pdman("run", "--rm", busybox, "echo", "via-env", env=env_host)
    assert done.stdout == "via-env\n"

    # a verb the remote client does not carry is refused by name, not run locally
    for args, words in ((["diff", "x"], "`diff`"), (["system", "df"], "`system df`"),
                        (["image", "history", busybox], "`history`"),
                        (["run", "--cgroup-parent", "x", busybox, "true"],
                         "`run --cgroup-parent`")):
        done = remote(url, *args, env=env, check=False)
        assert done.returncode == 125 and words in done.stderr and \
            "not supported through a remote connection" in done.stderr, done.stderr

    # a named connection, made the default and used with --remote
    run_pdman("system", "connection", "add", "svc", url, env=env)
    assert run_pdman("-c", "svc", "ps", "-aq", env=env).stdout == ""
    assert run_pdman("--remote", "run", "--rm", busybox, "echo", "by-default",
                     env=env).stdout == "by-default\n"
    # every container gone, and its network helper with it: `rm` right after the exit
    # (the client's --rm) once raced the monitor's cleanup and left pasta running.
    # Without published ports the teardown does not wait for pasta to act on its
    # SIGTERM: it may take a moment to exit, it must not stay
    assert run_pdman("ps", "-aq", env=service.env).stdout == ""
    helpers = os.path.join(service.env["PDMAN_RUNROOT"], "network")
    wait_for(lambda: _processes_naming(helpers) == [], timeout=10)


def test_remote_file_image_and_observing_verbs(service: Service, busybox: str, testbed,
                                               tmp_path: Path) -> None:
    """cp both ways, top, port, stats, commit, export/import, save/load, push and events
    through pdman's service, each with the output of a local run."""
    import io
    import tarfile

    url = f"unix://{service.sock}"
    env = dict(service.env, PDMAN_ROOT=str(tmp_path / "client-root"),
               XDG_CONFIG_HOME=str(tmp_path / "cfg"))
    port = free_port()
    remote(url, "run", "-d", "--name", "rf", "-p", f"127.0.0.1:{port}:8080", busybox,
           "sleep", "600", env=env)

    # cp: host -> container (a file, then a directory), container -> host, to stdout
    (tmp_path / "host.txt").write_text("from-host\n")
    (tmp_path / "tree" / "sub").mkdir(parents=True)
    (tmp_path / "tree" / "sub" / "leaf").write_text("leaf\n")
    remote(url, "cp", str(tmp_path / "host.txt"), "rf:/tmp/", env=env)
    remote(url, "cp", str(tmp_path / "tree"), "rf:/tmp/", env=env)
    assert remote(url, "exec", "rf", "cat", "/tmp/host.txt", "/tmp/tree/sub/leaf",
                  env=env).stdout == "from-host\nleaf\n"
    remote(url, "exec", "rf", "sh", "-c", "echo made-inside > /tmp/inside.txt", env=env)
    remote(url, "cp", "rf:/tmp/inside.txt", str(tmp_path / "back.txt"), env=env)
    assert (tmp_path / "back.txt").read_text() == "made-inside\n"
    (tmp_path / "outdir").mkdir()
    remote(url, "cp", "rf:/tmp/tree", str(tmp_path / "outdir"), env=env)
    assert (tmp_path / "outdir" / "tree" / "sub" / "leaf").read_text() == "leaf\n"
    raw = subprocess.run(["pdman", "--url", url, "cp", "rf:/tmp/inside.txt", "-"], env=env,
                         capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        assert tar.extractfile("inside.txt").read() == b"made-inside\n"  # type: ignore[union-attr]
    missing = remote(url, "cp", "rf:/no/such", str(tmp_path / "x"), env=env, check=False)
    assert missing.returncode != 0 and "no/such" in missing.stderr

    # top, port, stats: the local command's output
    top = remote(url, "top", "rf", env=env).stdout.splitlines()
    assert "PID" in top[0].split() and any("sleep 600" in ln for ln in top[1:]), top
    assert remote(url, "top", "rf", "pid", "args", env=env).stdout.splitlines()[0].split() == \
        ["PID", "COMMAND"]
    for args in (["port", "rf"], ["port", "rf", "8080"], ["port", "--all"]):
        local = run_pdman(*args, env=service.env).stdout
        assert remote(url, *args, env=env).stdout == local, args
    assert remote(url, "port", "rf", env=env).stdout == f"8080/tcp -> 127.0.0.1:{port}\n"
    no_port = remote(url, "port", "rf", "9999", env=env, check=False)
    assert no_port.returncode == 125 and "no public port 9999" in no_port.stderr
    stats = remote(url, "stats", "--no-stream", env=env).stdout.splitlines()
    assert stats[0].split()[:3] == ["ID", "NAME", "CPU"] and stats[1].split()[1] == "rf"
    assert remote(url, "stats", "--no-stream", "--format", "{{.Name}}", "rf",
                  env=env).stdout == "rf\n"

    # commit: the container's changes in a new image, which runs
    image_id = remote(url, "commit", "rf", "localhost/committed:1", env=env).stdout.strip()
    assert len(image_id) == 64
    assert remote(url, "run", "--rm", "localhost/committed:1", "cat", "/tmp/host.txt",
                  env=env).stdout == "from-host\n"

    # export -> import: the container's filesystem as a new image
    remote(url, "export", "-o", str(tmp_path / "rf.tar"), "rf", env=env)
    with tarfile.open(tmp_path / "rf.tar") as tar:
        assert "tmp/inside.txt" in [m.name.lstrip("./") for m in tar.getmembers()]
    imported = remote(url, "import", str(tmp_path / "rf.tar"), "localhost/imported:1",
                      env=env).stdout.strip()
    assert len(imported) == 64
    assert remote(url, "run", "--rm", "localhost/imported:1", "cat", "/tmp/inside.txt",
                  env=env).stdout == "made-inside\n"

    # save -> rmi -> load
    remote(url, "save", "-o", str(tmp_path / "img.tar"), "localhost/imported:1", env=env)
    assert tarfile.is_tarfile(tmp_path / "img.tar")
    remote(url, "rmi", "localhost/imported:1", env=env)
    assert remote(url, "image", "exists", "localhost/imported:1", env=env,
                  check=False).returncode == 1
    out = remote(url, "load", "-i", str(tmp_path / "img.tar"), env=env).stdout
    assert "Loaded image: localhost/imported:1" in out, out
    assert json.loads(remote(url, "image", "inspect", "localhost/imported:1",
                             env=env).stdout)[0]["Id"].removeprefix("sha256:") == imported
    refused = remote(url, "save", "--format", "oci-archive", "-o", str(tmp_path / "o.tar"),
                     "localhost/imported:1", env=env, check=False)
    assert refused.returncode == 125 and "not supported through a remote" in refused.stderr

    # push to the test registry under another name; the service pulls it back by digest
    dest = f"{testbed.registry}/remote-pushed:1"
    remote(url, "push", "localhost/committed:1", dest, env=env)
    assert remote(url, "image", "exists", dest, env=env, check=False).returncode == 1
    pulled = remote(url, "pull", "-q", dest, env=env).stdout.strip()
    assert pulled == image_id

    # events: what happened, filtered as a local run filters them, then the end
    remote(url, "stop", "-t", "1", "rf", env=env)
    args = ["events", "--no-stream", "--filter", "container=rf", "--format",
            "{{.Status}} {{.Name}}"]
    seen = remote(url, *args, env=env).stdout.splitlines()
    assert seen == run_pdman(*args, env=service.env).stdout.splitlines()
    assert "start rf" in seen and "died rf" in seen, seen
    args = ["events", "--no-stream", "--filter", "event=commit", "--filter", "type=container",
            "--format", "{{.Type}} {{.Status}} {{.Name}}"]
    assert remote(url, *args, env=env).stdout == "container commit rf\n"
    remote(url, "rm", "-f", "rf", env=env)


def test_remote_over_tcp_and_the_default_local_socket(registry_env: dict[str, str],
                                                      busybox: str, tmp_path: Path) -> None:
    port = free_port()
    log = open(tmp_path / "tcp-service.log", "w")
    proc = subprocess.Popen(["pdman", "system", "service", "--time", "0",
                             f"tcp://127.0.0.1:{port}"], env=registry_env, stdout=log,
                            stderr=log)
    log.close()
    try:
        def listening() -> bool:
            with socket.socket() as s:
                return s.connect_ex(("127.0.0.1", port)) == 0

        wait_for(listening, timeout=30)
        env = dict(registry_env, PDMAN_ROOT=str(tmp_path / "client-root"))
        url = f"tcp://127.0.0.1:{port}"
        assert remote(url, "run", "--rm", busybox, "echo", "over-tcp", env=env).stdout == \
            "over-tcp\n"
        assert remote(url, "ps", "-aq", env=env).stdout == ""
    finally:
        stop_service(proc)  # type: ignore[arg-type]
    # --remote with no URL and no connection: the local service's default socket
    proc, sock = start_service(registry_env, "--time", "0",
                               sock=os.path.join(registry_env["PDMAN_RUNROOT"], "pdman.sock"))
    try:
        env = dict(registry_env, XDG_CONFIG_HOME=str(tmp_path / "cfg"))
        assert run_pdman("--remote", "run", "--rm", busybox, "echo", "default-socket",
                         env=env).stdout == "default-socket\n"
    finally:
        stop_service(proc)  # type: ignore[arg-type]


def test_remote_interactive_run_and_exec(service: Service, busybox: str,
                                         tmp_path: Path) -> None:
    import pexpect

    url = f"unix://{service.sock}"
    env = dict(service.env, PDMAN_ROOT=str(tmp_path / "client-root"))
    # -i without a tty: stdin reaches the container, output and exit code come back
    done = subprocess.run(["pdman", "--url", url, "run", "-i", "--rm", busybox, "sh", "-c",
                           "read x; echo got $x; exit 4"], input="hello\n", env=env,
                          capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout) == (4, "got hello\n"), done.stderr
    remote(url, "run", "-d", "--name", "ish", busybox, "sleep", "60", env=env)
    done = subprocess.run(["pdman", "--url", url, "exec", "-i", "ish", "sh", "-c",
                           "tr a-z A-Z; exit 2"], input="shout\n", env=env,
                          capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout) == (2, "SHOUT\n"), done.stderr
    # -it on a real pty: a shell that answers, then its exit code
    for args in (["run", "-it", "--rm", busybox, "sh"], ["exec", "-it", "ish", "sh"]):
        child = pexpect.spawn("pdman", ["--url", url, *args], env=env, timeout=30,
                              encoding="utf-8")
        try:
            child.sendline("echo $((6*7))")
            child.expect("42")
            child.sendline("exit 3")
            child.expect(pexpect.EOF)
        finally:
            child.close()
        assert child.exitstatus == 3, args
    remote(url, "rm", "-f", "ish", env=env)
    # start -a: the output of a created container, and its exit code
    remote(url, "create", "--name", "sa", busybox, "sh", "-c", "echo started-attached; exit 6",
           env=env)
    done = remote(url, "start", "-a", "sa", env=env, check=False)
    assert (done.returncode, done.stdout) == (6, "started-attached\n"), done.stderr
    remote(url, "rm", "sa", env=env)
    assert run_pdman("ps", "-aq", env=service.env).stdout == ""


# --------------------------------------------------------------- podman's service

def _processes_naming(path: str) -> list[int]:
    """This user's processes whose command line names `path`."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read()
            if os.stat(f"/proc/{entry}").st_uid != os.getuid():
                continue
        except OSError:
            continue
        if path.encode() in cmdline:
            found.append(int(entry))
    return found


def _end_processes_naming(path: str) -> None:
    """podman's exec sessions leave a conmon behind for 5 minutes (--exit-delay 300):
    end those of this test (their command line names its store), by PID."""
    import signal

    for pid in _processes_naming(path):
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            pass


@pytest.fixture
def podman_service(registry_env: dict[str, str], tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    # podman insists that a REGISTRY_AUTH_FILE it is given exists
    registry_env = {k: v for k, v in registry_env.items() if k != "REGISTRY_AUTH_FILE"}
    exe = shutil.which("podman")
    if exe is None:
        pytest.fail("podman is not installed (packaging/install-deps.sh installs it)")
    runroot = Path(tempfile.mkdtemp(prefix="prun-"))
    podman = [exe, "--root", str(tmp_path / "proot"), "--runroot", str(runroot),
              "--storage-driver", "overlay", "--cgroup-manager", "cgroupfs",
              "--events-backend", "file"]
    sock = str(runroot / "podman.sock")
    log = open(tmp_path / "podman-service.log", "w")
    proc = subprocess.Popen([*podman, "system", "service", "--time", "0", f"unix://{sock}"],
                            env=registry_env, stdout=log, stderr=log)
    log.close()
    try:
        wait_for(lambda: os.path.exists(sock), timeout=30)
        yield sock, podman
    finally:
        stop_service(proc)  # type: ignore[arg-type]
        subprocess.run([*podman, "rm", "-fa"], env=registry_env, capture_output=True)
        _end_processes_naming(str(tmp_path / "proot"))
        subprocess.run([*podman, "unshare", "rm", "-rf", str(tmp_path / "proot"), str(runroot)],
                       env=registry_env, capture_output=True)
        print((tmp_path / "podman-service.log").read_text())


def test_remote_client_drives_podmans_service(podman_service: tuple[str, list[str]],
                                              testbed, registry_env: dict[str, str],
                                              tmp_path: Path) -> None:
    sock, podman = podman_service
    registry_env = {k: v for k, v in registry_env.items() if k != "REGISTRY_AUTH_FILE"}
    ref = testbed.image("busybox")
    pulled = subprocess.run([*podman, "pull", "-q", "--tls-verify=false", ref],
                            env=registry_env, capture_output=True, text=True)
    assert pulled.returncode == 0, pulled.stderr
    url = f"unix://{sock}"
    env = dict(registry_env, PDMAN_ROOT=str(tmp_path / "client-root"))
    head = remote(url, "ps", "-a", env=env).stdout.splitlines()
    assert head == ["CONTAINER ID  IMAGE  COMMAND  CREATED  STATUS  PORTS  NAMES"]
    done = remote(url, "run", "--rm", "--network", "none", ref, "echo", "hello-podman",
                  env=env)
    assert done.stdout == "hello-podman\n"
    done = remote(url, "run", "--rm", "--network", "none", ref, "sh", "-c", "exit 7",
                  env=env, check=False)
    assert done.returncode == 7
    cid = remote(url, "run", "-d", "--name", "ptop", "--network", "none", ref, "sleep", "60",
                 env=env).stdout.strip()
    rows = remote(url, "ps", env=env).stdout.splitlines()
    assert rows[1].startswith(cid[:12]) and rows[1].split()[-1] == "ptop"
    listed = subprocess.run([*podman, "ps", "-q", "--no-trunc"], env=registry_env,
                            capture_output=True, text=True).stdout.split()
    assert listed == [cid]
    # the other verbs against podman's service too
    done = remote(url, "exec", "ptop", "sh", "-c", "echo in-podman; exit 4", env=env,
                  check=False)
    assert (done.returncode, done.stdout) == (4, "in-podman\n"), done.stderr
    assert json.loads(remote(url, "inspect", "ptop", env=env).stdout)[0]["Id"] == cid
    # files both ways through podman's archive endpoints, top, commit
    (tmp_path / "to-podman.txt").write_text("via-podman\n")
    remote(url, "cp", str(tmp_path / "to-podman.txt"), "ptop:/tmp/", env=env)
    remote(url, "cp", "ptop:/tmp/to-podman.txt", str(tmp_path / "from-podman.txt"), env=env)
    assert (tmp_path / "from-podman.txt").read_text() == "via-podman\n"
    assert "sleep 60" in remote(url, "top", "ptop", env=env).stdout
    image_id = remote(url, "commit", "ptop", "localhost/pcommit:1", env=env).stdout.strip()
    done = subprocess.run([*podman, "run", "--rm", "--network", "none", "localhost/pcommit:1",
                           "cat", "/tmp/to-podman.txt"], env=registry_env, capture_output=True,
                          text=True)
    assert done.stdout == "via-podman\n", done.stderr
    assert len(image_id) == 64 and subprocess.run(
        [*podman, "image", "inspect", "--format", "{{.Id}}", "localhost/pcommit:1"],
        env=registry_env, capture_output=True, text=True).stdout.strip() == image_id
    repo, _, tag = ref.rpartition(":")
    assert any(ln.split()[:2] == [repo, tag]
               for ln in remote(url, "images", env=env).stdout.splitlines()[1:])
    assert "Server:" in remote(url, "version", env=env).stdout
    remote(url, "volume", "create", "pvol", env=env)
    assert remote(url, "volume", "ls", "-q", env=env).stdout == "pvol\n"
    remote(url, "volume", "rm", "pvol", env=env)
    assert remote(url, "stop", "-t", "1", "ptop", env=env).stdout == "ptop\n"
    assert remote(url, "rm", "-f", "ptop", env=env).stdout == "ptop\n"
    cid = remote(url, "run", "-d", "--network", "none", ref, "sh", "-c", "echo logged",
                 env=env).stdout.strip()
    remote(url, "wait", cid, env=env)
    assert remote(url, "logs", cid, env=env).stdout == "logged\n"
    remote(url, "rm", cid, env=env)
    assert remote(url, "ps", "-aq", env=env).stdout == ""


# --------------------------------------------------------------- ssh

SSHD = "/usr/sbin/sshd"


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A user-owned sshd on 127.0.0.1 (its own host key and config, key auth only; an
    unprivileged sshd logs in only its own user), with a client key, known_hosts and an
    ssh_config for the client (PDMAN_SSH_CONFIG)."""
    if not os.access(SSHD, os.X_OK):
        pytest.fail("sshd is not installed (packaging/install-deps.sh installs openssh-server)")
    d = Path(tempfile.mkdtemp(prefix="pdssh-"))
    d.chmod(0o700)
    for key in ("host_key", "client_key"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / key)],
                       check=True)
    (d / "authorized_keys").write_text((d / "client_key.pub").read_text())
    port = free_port()
    (d / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\nPidFile {d}/sshd.pid\n"
        f"AuthorizedKeysFile {d}/authorized_keys\nUsePAM no\nStrictModes no\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\n"
        "PubkeyAuthentication yes\nAllowStreamLocalForwarding no\n"
        "AllowTcpForwarding no\nX11Forwarding no\n"
        # the sessions find this pdman (the remote end of each connection runs
        # `pdman system dial-stdio`)
        f"SetEnv PATH={Path(shutil.which('pdman') or 'pdman').parent}:/usr/bin:/bin\n")
    host_pub = (d / "host_key.pub").read_text().split()
    (d / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_pub[0]} {host_pub[1]}\n")
    (d / "ssh_config").write_text(f"UserKnownHostsFile {d}/known_hosts\n"
                                  "StrictHostKeyChecking yes\nGlobalKnownHostsFile /dev/null\n")
    log = open(d / "sshd.log", "w")
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(d / "sshd_config")], stdout=log,
                            stderr=log)
    log.close()
    try:
        def listening() -> bool:
            with socket.socket() as s:
                return s.connect_ex(("127.0.0.1", port)) == 0

        wait_for(listening, timeout=20)
        yield {"port": str(port), "key": str(d / "client_key"), "config": str(d / "ssh_config"),
               "dir": str(d)}
    finally:
        stop_service(proc)  # type: ignore[arg-type]
        print((d / "sshd.log").read_text())
        shutil.rmtree(d, ignore_errors=True)


def test_remote_over_ssh(service: Service, busybox: str, sshd: dict[str, str],
                         tmp_path: Path) -> None:
    import pwd

    user = pwd.getpwuid(os.getuid()).pw_name
    url = f"ssh://{user}@127.0.0.1:{sshd['port']}{service.sock}"
    env = dict(service.env, PDMAN_ROOT=str(tmp_path / "client-root"),
               PDMAN_SSH_CONFIG=sshd["config"], XDG_CONFIG_HOME=str(tmp_path / "cfg"))
    ident = ("--identity", sshd["key"])
    assert remote(url, "ps", "-a", env=env, extra=ident).stdout.splitlines()[0].split()[:2] == \
        ["CONTAINER", "ID"]
    done = remote(url, "run", "--rm", busybox, "echo", "over-ssh", env=env, extra=ident)
    assert done.stdout == "over-ssh\n"
    cid = remote(url, "run", "-d", "--name", "sshc", busybox, "sh", "-c",
                 "echo from-ssh; sleep 60", env=env, extra=ident).stdout.strip()
    wait_for(lambda: "from-ssh" in remote(url, "logs", "sshc", env=env, extra=ident).stdout)
    assert run_pdman("ps", "-q", "--no-trunc", env=service.env).stdout.strip() == cid
    assert remote(url, "rm", "-f", "sshc", env=env, extra=ident).stdout == "sshc\n"
    assert run_pdman("ps", "-aq", env=service.env).stdout == ""
    # a recorded connection carries the identity
    run_pdman("system", "connection", "add", "--identity", sshd["key"], "viassh", url, env=env)
    assert run_pdman("-c", "viassh", "ps", "-aq", env=env).stdout == ""
    # no service behind the remote path: the far side's words in the error
    done = run_pdman("--url", url + ".gone", "--identity", sshd["key"], "ps", env=env,
                     check=False)
    assert done.returncode == 125 and "cannot connect to the API service" in done.stderr
    assert "remote side:" in done.stderr and ".gone" in done.stderr, done.stderr
    # without the key: ssh's own refusal, as an error, no prompt, no traceback
    done = run_pdman("--url", url, "--identity", str(tmp_path / "nokey"), "ps", env=env,
                     check=False)
    assert done.returncode == 125 and f"ssh to {url}" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    # no ssh process is left behind (the master and the bridges live in pdman-ssh-*)
    left = subprocess.run(["pgrep", "-u", str(os.getuid()), "-f", "pdman-ssh-"],
                          capture_output=True, text=True).stdout
    assert left == ""


def test_remote_command_without_pdman_on_the_far_side(service: Service) -> None:
    """On a host without pdman (podman's or dockerd's), the ssh bridge falls back to
    socat or python3: run that remote command here, by hand, with a PATH that has
    neither pdman nor socat, and speak HTTP through it."""
    from pdman.remote.transport import remote_command

    cmd = remote_command(service.sock)
    env = {"PATH": "/usr/bin:/bin" if not shutil.which("socat", path="/usr/bin:/bin")
           else "/nonexistent"}
    python3 = shutil.which("python3", path="/usr/bin:/bin")
    assert python3
    if env["PATH"] == "/nonexistent":  # socat installed: hide it, keep python3
        bindir = Path(tempfile.mkdtemp(prefix="pdbin-"))
        (bindir / "python3").symlink_to(python3)
        env["PATH"] = str(bindir)
    done = subprocess.run(["/bin/sh", "-c", cmd], input=b"GET /_ping HTTP/1.1\r\nHost: d\r\n"
                          b"Connection: close\r\n\r\n", env=env, capture_output=True,
                          timeout=30)
    assert done.stdout.startswith(b"HTTP/1.1 200") and done.stdout.endswith(b"OK"), done
