"""Rootless networking, as the unprivileged user: published ports answered on the
host's loopback (pasta by default, slirp4netns on request, its TCP ports through
pdman-portfwd unless port_handler=slirp4netns), user-defined networks
where containers find each other by name, isolation between networks, and nothing
left running after the containers are gone.

Traffic goes only to 127.0.0.1 on the host and to addresses inside namespaces these
tests create. Containers are run in the foreground in a subprocess and stopped with
`pdman stop` (or killed by PID), so the tests do not depend on detached mode.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.bed.runner import http_get, run_pdman


def pd(env: dict[str, str], *args: object, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run_pdman(*args, env=env, check=check)


@pytest.fixture
def images(testbed: Any, registry_env: dict[str, str]) -> dict[str, str]:
    refs = {name: testbed.image(name) for name in ("busybox", "nginx", "debian")}
    for ref in refs.values():
        pd(registry_env, "pull", "-q", ref)
    return refs


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Foreground:
    """`pdman run ...` in the foreground, in a subprocess, output to a file."""

    def __init__(self, env: dict[str, str], args: list[str], log: Any) -> None:
        exe = shutil.which("pdman", path=env["PATH"])
        assert exe is not None
        self.log = log
        self.out = open(log, "w+b")
        self.proc = subprocess.Popen([exe, "run", *args], env=env, stdout=self.out,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def output(self) -> str:
        with open(self.log, "rb") as f:
            return f.read().decode(errors="replace")

    def wait(self, timeout: float = 30) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            self.out.close()

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=30)
        self.out.close()

    def stop(self) -> None:
        """End it as a user would: pdman forwards SIGTERM, the container exits, pdman
        tears its network down (a killed pdman could not)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
        self.out.close()


@pytest.fixture
def foreground(registry_env: dict[str, str], tmp_path: Any) -> Iterator[Any]:
    started: list[Foreground] = []

    def start(*args: str) -> Foreground:
        fg = Foreground(registry_env, list(args), tmp_path / f"run{len(started)}.log")
        started.append(fg)
        return fg

    yield start
    for fg in started:
        fg.stop()


def wait_running(env: dict[str, str], name: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = pd(env, "ps", "--filter", f"name=^{name}$", "--format", "{{.State}}").stdout
        if out.strip() == "running":
            return
        time.sleep(0.05)
    raise AssertionError(f"container {name} is not running after {timeout} s")


def helpers_of(env: dict[str, str]) -> list[str]:
    """Command lines of this store's network helpers still running: pasta and
    slirp4netns name files under the runroot; the rootless netns holder names it;
    pdman-portfwd writes its stderr to a log there."""
    runroot = env["PDMAN_RUNROOT"]
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
            if "pdman-portfwd" in cmd.partition(" ")[0]:
                cmd += " 2>" + os.readlink(f"/proc/{pid}/fd/2")
        except OSError:
            continue
        if runroot in cmd and ("pasta" in cmd or "slirp4netns" in cmd or "pdman-netns" in cmd
                               or "pdman-portfwd" in cmd):
            found.append(f"{pid}: {cmd}")
    return found


def forwarders_of(env: dict[str, str]) -> list[str]:
    return [h for h in helpers_of(env) if "pdman-portfwd" in h]


def holder_links(env: dict[str, str]) -> set[str]:
    """Interfaces in the rootless network namespace (empty when it is not running)."""
    for line in helpers_of(env):
        pid, _, cmd = line.partition(": ")
        if cmd.startswith("pdman-netns:"):
            with open(f"/proc/{pid}/net/dev") as f:
                return {ln.split(":")[0].strip() for ln in f.readlines()[2:]}
    return set()


def assert_nothing_left(env: dict[str, str]) -> None:
    deadline = time.monotonic() + 10
    while helpers_of(env) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert helpers_of(env) == []
    state_dir = os.path.join(env["PDMAN_RUNROOT"], "network", "containers")
    assert not os.path.isdir(state_dir) or os.listdir(state_dir) == []


# ---------------------------------------------------------------------------
# published ports (default backend: pasta)
# ---------------------------------------------------------------------------

def test_nginx_published_on_loopback_with_the_client_address(
        images: dict[str, str], registry_env: dict[str, str], foreground: Any) -> None:
    port = free_port()
    web = foreground("--name", "web", "-p", f"{port}:80", images["nginx"])
    status, body = http_get(f"http://127.0.0.1:{port}/")
    assert status == 200 and b"nginx" in body
    assert pd(registry_env, "port", "web").stdout == f"80/tcp -> 0.0.0.0:{port}\n"
    assert f"0.0.0.0:{port}->80/tcp" in pd(registry_env, "ps").stdout
    assert pd(registry_env, "info", "--format", "{{.host.network.backend}}").stdout.strip() == "pasta"
    assert len(helpers_of(registry_env)) == 1
    pd(registry_env, "stop", "web")
    assert web.wait() in (0, 137, 143)
    # nginx's access log (stdout) names the client as it connected: pasta splices a
    # loopback client to the container's loopback, keeping its address
    assert '127.0.0.1 - - [' in web.output() and '"GET / HTTP/1.1" 200' in web.output()
    pd(registry_env, "rm", "web")
    assert_nothing_left(registry_env)


# a UDP server that prints what it receives: this busybox's nc has no -u, Debian's
# perl-base has sockets
UDP_ECHO = ('use IO::Socket::INET; $| = 1; my $s = IO::Socket::INET->new(LocalPort => 5353, '
            'Proto => "udp") or die "bind: $!"; print "listening\n"; '
            'while (1) { $s->recv(my $m, 100); print "got $m"; }')


@pytest.mark.parametrize("network", ["pasta", "slirp4netns"])
def test_udp_port_published(images: dict[str, str], registry_env: dict[str, str],
                            foreground: Any, network: str) -> None:
    port = free_port(socket.SOCK_DGRAM)
    listener = foreground("--name", "udp", "--network", network, "-p",
                          f"127.0.0.1:{port}:5353/udp", images["debian"], "perl", "-e", UDP_ECHO)
    wait_running(registry_env, "udp")
    deadline = time.monotonic() + 20
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        while "hello-udp" not in listener.output() and time.monotonic() < deadline:
            s.sendto(b"hello-udp\n", ("127.0.0.1", port))
            time.sleep(0.1)
    assert "hello-udp" in listener.output()
    assert f"127.0.0.1:{port}->5353/udp" in pd(registry_env, "ps").stdout
    assert forwarders_of(registry_env) == []     # UDP stays with slirp4netns's add_hostfwd
    pd(registry_env, "rm", "-f", "udp")
    listener.wait()
    assert_nothing_left(registry_env)


@pytest.mark.parametrize("network", ["pasta", "slirp4netns"])
def test_port_in_use_is_named_and_nothing_is_left(images: dict[str, str],
                                                   registry_env: dict[str, str],
                                                   network: str) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        for extra in ([], ["--rm"], ["-d"]):
            out = pd(registry_env, "run", *extra, "--network", network, "-p", f"{port}:80",
                     images["busybox"], "true", check=False)
            # podman 4.3: exit 126, `cannot listen on the TCP port: listen tcp4
            # 0.0.0.0:PORT: bind: address already in use`
            assert out.returncode == 126
            assert f"{port}: bind: address already in use" in out.stderr
    assert pd(registry_env, "ps", "-aq").stdout == ""
    assert_nothing_left(registry_env)


@pytest.mark.parametrize("network", ["pasta", "slirp4netns"])
def test_two_containers_publishing_one_port_at_once(images: dict[str, str],
                                                    registry_env: dict[str, str],
                                                    network: str) -> None:
    """Both find the port free, then race to bind it: one publishes it, the other
    is refused with the port named -- never two running, one of them unreachable."""
    port = free_port()
    argv = ["run", "-d", "--network", network, "-p", f"{port}:80", images["nginx"]]
    with ThreadPoolExecutor(2) as pool:
        runs = list(pool.map(lambda _: pd(registry_env, *argv, check=False), range(2)))
    codes = sorted(r.returncode for r in runs)
    assert codes == [0, 126], [(r.returncode, r.stderr) for r in runs]
    refused = next(r for r in runs if r.returncode)
    assert str(port) in refused.stderr and "in use" in refused.stderr
    assert len(pd(registry_env, "ps", "-q").stdout.split()) == 1
    pd(registry_env, "rm", "-fa")
    assert_nothing_left(registry_env)


def test_publish_all_and_ranges(images: dict[str, str], registry_env: dict[str, str]) -> None:
    first = free_port()
    pd(registry_env, "create", "--name", "many", "-P", "-p", f"127.0.0.1:{first}-{first + 1}:8000-8001",
       images["nginx"])
    lines = pd(registry_env, "port", "many").stdout.splitlines()
    assert f"8000/tcp -> 127.0.0.1:{first}" in lines and f"8001/tcp -> 127.0.0.1:{first + 1}" in lines
    (exposed,) = [ln for ln in lines if ln.startswith("80/tcp")]
    assert int(exposed.rsplit(":", 1)[1]) > 0
    assert f"127.0.0.1:{first}-{first + 1}->8000-8001/tcp" in pd(registry_env, "ps", "-a").stdout
    assert pd(registry_env, "port", "many", "8001").stdout == f"127.0.0.1:{first + 1}\n"
    # started, the port -P chose answers for the image's exposed 80
    pd(registry_env, "start", "many")
    host_port = pd(registry_env, "port", "many", "80").stdout.strip().rsplit(":", 1)[1]
    assert http_get(f"http://127.0.0.1:{host_port}/")[0] == 200
    pd(registry_env, "rm", "-f", "many")
    assert_nothing_left(registry_env)


@pytest.mark.parametrize("handler, client", [("", "10.0.2.100"),
                                             (":port_handler=slirp4netns", "10.0.2.2")])
def test_slirp4netns_on_request(images: dict[str, str], registry_env: dict[str, str],
                               foreground: Any, handler: str, client: str) -> None:
    port = free_port()
    web = foreground("--name", "web", "--network", "slirp4netns" + handler, "-p", f"{port}:80",
                     images["nginx"])
    status, _ = http_get(f"http://127.0.0.1:{port}/")
    assert status == 200
    if not handler and socket.has_ipv6:
        # without a host address the forwarder listens on :: too (docker's and pasta's)
        status, _ = http_get(f"http://[::1]:{port}/")
        assert status == 200
    helpers = helpers_of(registry_env)
    assert any("slirp4netns" in h for h in helpers)
    assert len(forwarders_of(registry_env)) == (0 if handler else 1)
    pd(registry_env, "stop", "web")
    web.wait()
    # pdman-portfwd connects to the container's tap address, from inside the container:
    # never from its loopback (CVE-2021-20199, tests/security/test_port_client.py);
    # slirp4netns forwards inside its own stack: a loopback client is the host, 10.0.2.2
    assert f'{client} - - [' in web.output()
    pd(registry_env, "rm", "web")
    assert_nothing_left(registry_env)


# a TCP echo server: every connection gets its bytes back and, after the client's FIN
# (a half-close: the way back stays open), a trailer with the count
TCP_ECHO = ('use IO::Socket::INET; $| = 1; $SIG{CHLD} = "IGNORE"; '
            'my $s = IO::Socket::INET->new(LocalPort => 7000, Listen => 64, ReuseAddr => 1) '
            'or die "listen: $!"; print "listening\n"; '
            'while (my $c = $s->accept) { if (!fork) { print "peer ", $c->peerhost, "\n"; '
            'my ($n, $buf) = (0); while (my $r = sysread($c, $buf, 65536)) { $n += $r; '
            'print {$c} $buf or die "write: $!"; } print {$c} "EOF after $n bytes"; exit 0; } '
            'close $c; }')


def echo_through(port: int, data: bytes) -> bytes:
    """Send `data` to TCP_ECHO, half-close, and read to EOF while sending."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        def send() -> None:
            try:
                s.sendall(data)
                s.shutdown(socket.SHUT_WR)
            except OSError:     # closed before perl listens: the reply tells
                pass
        sender = threading.Thread(target=send)
        sender.start()
        chunks = []
        try:
            while chunk := s.recv(1 << 20):
                chunks.append(chunk)
        finally:
            sender.join()
    return b"".join(chunks)


def echoed(data: bytes) -> str:
    return hashlib.sha256(data + b"EOF after %d bytes" % len(data)).hexdigest()


def test_slirp4netns_forwarder_moves_bytes_intact(images: dict[str, str],
                                                  registry_env: dict[str, str],
                                                  foreground: Any) -> None:
    """pdman-portfwd: MiBs both ways arrive intact, several connections at once, and
    after the client's FIN the container still answers (half-close)."""
    port = free_port()
    server = foreground("--name", "echo", "--network", "slirp4netns", "-p",
                        f"127.0.0.1:{port}:7000", images["debian"], "perl", "-e", TCP_ECHO)
    deadline = time.monotonic() + 30
    while True:             # until perl listens, the forwarder's connection is closed
        try:
            if echo_through(port, b"ping") == b"pingEOF after 4 bytes":
                break
        except OSError:
            pass
        assert time.monotonic() < deadline, server.output()
        time.sleep(0.05)
    data = os.urandom(8 << 20)
    assert hashlib.sha256(echo_through(port, data)).hexdigest() == echoed(data)
    blobs = [os.urandom((1 << 20) + i) for i in range(8)]
    with ThreadPoolExecutor(len(blobs)) as pool:
        got = list(pool.map(lambda b: hashlib.sha256(echo_through(port, b)).hexdigest(), blobs))
    assert got == [echoed(b) for b in blobs]
    # the container's own tap address, never its loopback (CVE-2021-20199)
    assert "peer 10.0.2.100\n" in server.output()
    assert len(forwarders_of(registry_env)) == 1
    pd(registry_env, "rm", "-f", "echo")
    server.wait()
    deadline = time.monotonic() + 2
    while forwarders_of(registry_env) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert forwarders_of(registry_env) == []
    assert_nothing_left(registry_env)


def test_slirp4netns_forwarder_cannot_bind(images: dict[str, str],
                                          registry_env: dict[str, str]) -> None:
    """A host port pdman-portfwd's listener cannot bind fails the start naming it, and
    leaves nothing: here 0.0.0.0:PORT behind 127.0.0.1:PORT of the same container, which
    the check before the start (one port at a time) cannot see."""
    port = free_port()
    out = pd(registry_env, "run", "--rm", "--network", "slirp4netns", "-p", f"127.0.0.1:{port}:80",
             "-p", f"{port}:81", images["busybox"], "true", check=False)
    assert out.returncode == 126  # podman's code for a port in use
    assert f"0.0.0.0:{port}: bind: address already in use" in out.stderr
    assert "-p OTHERPORT:81" in out.stderr
    assert pd(registry_env, "ps", "-aq").stdout == ""
    assert_nothing_left(registry_env)


def test_none_host_and_container_modes(images: dict[str, str], registry_env: dict[str, str],
                                       foreground: Any) -> None:
    bb = images["busybox"]
    links = pd(registry_env, "run", "--rm", "--network", "none", bb, "cat", "/proc/net/dev").stdout
    assert [ln.split(":")[0].strip() for ln in links.splitlines()[2:]] == ["lo"]
    assert "UP" in pd(registry_env, "run", "--rm", "--network", "none", bb, "ip", "link", "show", "lo").stdout
    with open("/proc/net/dev") as f:
        host_links = sorted(ln.split(":")[0].strip() for ln in f.readlines()[2:])
    got = pd(registry_env, "run", "--rm", "--network", "host", bb, "cat", "/proc/net/dev").stdout
    assert sorted(ln.split(":")[0].strip() for ln in got.splitlines()[2:]) == host_links
    # container:NAME shares the network namespace of a running container
    port = free_port()
    web = foreground("--name", "web", "-p", f"{port}:80", images["nginx"])
    http_get(f"http://127.0.0.1:{port}/")
    web_id = pd(registry_env, "inspect", "--format", "{{.Id}}", "web").stdout.strip()
    for target in ("web", web_id[:12]):
        page = pd(registry_env, "run", "--rm", "--network", f"container:{target}", bb,
                  "wget", "-q", "-O", "-", "http://127.0.0.1/").stdout
        assert "nginx" in page
    refused = pd(registry_env, "run", "--rm", "--network", "none", "-p", "8080:80", bb, "true",
                 check=False)
    assert refused.returncode == 125 and "cannot be published" in refused.stderr
    pd(registry_env, "rm", "-f", "web")
    web.wait()
    assert_nothing_left(registry_env)


def test_dns_hosts_and_hostname_options(images: dict[str, str], registry_env: dict[str, str]) -> None:
    out = pd(registry_env, "run", "--rm", "--dns", "192.0.2.53", "--add-host", "db.example:192.0.2.10",
             "--hostname", "box1", images["busybox"], "sh", "-c",
             "cat /etc/resolv.conf; echo ---; cat /etc/hosts; echo ---; hostname").stdout
    resolv, hosts, hostname = out.split("---\n")
    assert resolv == "nameserver 192.0.2.53\n"
    assert "192.0.2.10\tdb.example" in hosts and "box1" in hosts
    assert hostname == "box1\n"


def test_crash_of_the_container_or_of_pdman_leaves_nothing(
        images: dict[str, str], registry_env: dict[str, str], foreground: Any) -> None:
    port = free_port()
    victim = foreground("--name", "victim", "-p", f"{port}:80", images["nginx"])
    http_get(f"http://127.0.0.1:{port}/")
    pid = int(pd(registry_env, "inspect", "--format", "{{.State.Pid}}", "victim").stdout)
    os.kill(pid, signal.SIGKILL)                       # the container crashes
    assert victim.wait() == 137
    assert_nothing_left(registry_env)
    # the pdman running it is killed, and the container then removed: what it left is
    # torn down by the next pdman that starts a container or looks at networks
    victim2 = foreground("--name", "victim2", "-p", f"{port}:80", images["nginx"])
    http_get(f"http://127.0.0.1:{port}/")
    victim2.kill()
    pd(registry_env, "rm", "-f", "victim", "victim2")
    pd(registry_env, "run", "--rm", images["busybox"], "true")
    assert_nothing_left(registry_env)


# ---------------------------------------------------------------------------
# user-defined networks
# ---------------------------------------------------------------------------

def test_containers_on_one_network_reach_each_other_by_name(
        images: dict[str, str], registry_env: dict[str, str], foreground: Any) -> None:
    env = registry_env
    assert pd(env, "network", "create", "net1").stdout == "net1\n"
    assert "net1" in pd(env, "network", "ls").stdout
    web = foreground("--name", "web", "--network", "net1", "--network-alias", "www", images["nginx"])
    wait_running(env, "web")
    fetch = "wget -q -O - http://web/ && wget -q -O - http://www/ && cat /etc/hosts"
    out = pd(env, "run", "--rm", "--name", "client", "--network", "net1", images["busybox"],
             "sh", "-c", fetch).stdout
    assert out.count("<h1>Welcome to nginx!</h1>") == 2
    info = json.loads(pd(env, "network", "inspect", "net1").stdout)[0]
    assert info["name"] == "net1" and info["subnets"][0]["subnet"].endswith("/24")
    (entry,) = info["containers"].values()           # the client is gone: its lease too
    assert entry["name"] == "web"
    web_ip = entry["interfaces"]["eth"]["subnets"][0]["ipnet"].split("/")[0]
    assert f"{web_ip}\tweb www" in out
    # the client's veth went with it; the web's stays on the bridge
    links = holder_links(env)
    assert "podman1" in links and len([ln for ln in links if ln.startswith("v")]) == 1
    # a new name reaches the peers at once
    pd(env, "rename", "web", "site")
    out = pd(env, "run", "--rm", "--network", "net1", images["busybox"], "sh", "-c",
             "wget -q -O - http://site/ && cat /etc/hosts").stdout
    assert "<h1>Welcome to nginx!</h1>" in out and f"{web_ip}\tsite www" in out
    pd(env, "stop", "site")
    web.wait()
    pd(env, "rm", "site")
    assert_nothing_left(env)                           # the rootless netns too
    assert json.loads(pd(env, "network", "inspect", "net1").stdout)[0]["containers"] == {}


def test_networks_are_isolated(images: dict[str, str], registry_env: dict[str, str],
                               foreground: Any) -> None:
    env = registry_env
    pd(env, "network", "create", "net1")
    pd(env, "network", "create", "--subnet", "10.89.77.0/24", "net2")
    web = foreground("--name", "web", "--network", "net1", images["nginx"])
    wait_running(env, "web")
    info = json.loads(pd(env, "network", "inspect", "net1").stdout)[0]
    web_ip = next(iter(info["containers"].values()))["interfaces"]["eth"]["subnets"][0]["ipnet"]
    web_ip = web_ip.split("/")[0]
    probe = (f"wget -q -O - http://web/; echo name=$?; wget -q -O - http://{web_ip}/; echo ip=$?; "
             "ip -4 addr show eth0")
    out = pd(env, "run", "--rm", "--network", "net2", images["busybox"], "sh", "-c", probe).stdout
    assert "name=1" in out and "ip=1" in out and "Welcome" not in out
    assert "10.89.77.2/24" in out
    # the same probe from net1 succeeds
    ok = pd(env, "run", "--rm", "--network", "net1", images["busybox"], "sh", "-c",
            f"wget -q -O - http://{web_ip}/ >/dev/null; echo ip=$?").stdout
    assert "ip=0" in ok
    refused = pd(env, "network", "rm", "net1", check=False)
    assert refused.returncode == 125 and "web" in refused.stderr
    pd(env, "rm", "-f", "web")
    web.wait()
    assert pd(env, "network", "rm", "net1", "net2").stdout == "net1\nnet2\n"
    assert_nothing_left(env)


def test_connect_and_disconnect_a_running_container(
        images: dict[str, str], registry_env: dict[str, str], foreground: Any) -> None:
    env = registry_env
    pd(env, "network", "create", "front")
    pd(env, "network", "create", "back")
    web = foreground("--name", "web", "--network", "back", images["nginx"])
    wait_running(env, "web")
    get = ["run", "--rm", "--network", "front", images["busybox"], "sh", "-c",
           "wget -q -O - http://web/ >/dev/null; echo rc=$?"]
    assert "rc=1" in pd(env, *get).stdout
    pd(env, "network", "connect", "--alias", "site", "front", "web")
    assert "rc=0" in pd(env, *get).stdout
    pd(env, "network", "disconnect", "front", "web")
    assert "rc=1" in pd(env, *get).stdout
    pd(env, "rm", "-f", "web")
    web.wait()
    assert_nothing_left(env)


def test_internal_network_has_no_way_out(images: dict[str, str], registry_env: dict[str, str]) -> None:
    env = registry_env
    pd(env, "network", "create", "--internal", "sealed")
    out = pd(env, "run", "--rm", "--network", "sealed", images["busybox"], "sh", "-c",
             "cat /proc/net/dev; ip route").stdout
    assert "tap0" not in out and "eth0" in out and "default" not in out
    refused = pd(env, "run", "--rm", "--network", "sealed", "-p", f"{free_port()}:80",
                 images["busybox"], "true", check=False)
    assert refused.returncode == 125
    assert_nothing_left(env)


def test_unknown_network_is_an_error(images: dict[str, str], registry_env: dict[str, str]) -> None:
    out = pd(registry_env, "run", "--rm", "--network", "nosuchnet", images["busybox"], "true",
             check=False)
    assert out.returncode == 125 and "nosuchnet" in out.stderr
    assert pd(registry_env, "ps", "-aq").stdout == ""


def test_backend_options_reach_pasta_and_slirp4netns(busybox: str,
                                                     registry_env: dict[str, str]) -> None:
    probe = "ip -o link; ip -o -4 addr; cat /etc/resolv.conf"
    pasta = pd(registry_env, "run", "--rm", "--network", "pasta:--mtu,1400", busybox,
               "sh", "-c", probe).stdout
    (link,) = [ln for ln in pasta.splitlines() if "link/ether" in ln]
    assert " mtu 1400 " in link
    slirp = pd(registry_env, "run", "--rm", "--network", "slirp4netns:mtu=1400,cidr=10.0.5.0/24",
               busybox, "sh", "-c", probe).stdout
    assert " tap0: " in slirp and " mtu 1400 " in slirp
    assert "inet 10.0.5.100/24" in slirp and "nameserver 10.0.5.3" in slirp
    bad = pd(registry_env, "run", "--rm", "--network", "slirp4netns:nosuch=1", busybox,
             "true", check=False)
    assert bad.returncode == 125 and "nosuch" in bad.stderr
    assert_nothing_left(registry_env)


def test_network_prune_keeps_networks_in_use(busybox: str, registry_env: dict[str, str]) -> None:
    env = registry_env
    pd(env, "network", "create", "unused")
    pd(env, "network", "create", "used")
    pd(env, "create", "--name", "member", "--network", "used", busybox, "true")
    assert pd(env, "network", "prune", "-f").stdout == "unused\n"
    names = pd(env, "network", "ls", "--format", "{{.Name}}").stdout.split()
    assert "used" in names and "unused" not in names
    header, *rows = pd(env, "network", "ls").stdout.splitlines()
    assert header.split() == ["NETWORK", "ID", "NAME", "DRIVER"]
    assert any(row.split()[1:] == ["used", "bridge"] for row in rows)
    pd(env, "rm", "member")
    assert pd(env, "network", "prune", "-f").stdout == "used\n"
    assert "used" not in pd(env, "network", "ls", "--format", "{{.Name}}").stdout.split()


@pytest.mark.parametrize("network", ["pasta", "net1"])
def test_killing_a_detached_containers_monitor_leaves_nothing(
        images: dict[str, str], registry_env: dict[str, str], network: str) -> None:
    """The monitor, which would have torn the network down, is SIGKILLed: the next pdman
    that looks at the container sees it exited, and its helpers, addresses and published
    port are gone with it."""
    env = registry_env
    if network == "net1":
        pd(env, "network", "create", "net1")
    port = free_port()
    pd(env, "run", "-d", "--name", "web", "--network", network, "-p", f"127.0.0.1:{port}:80",
       images["nginx"])
    assert http_get(f"http://127.0.0.1:{port}/")[0] == 200
    monitor = json.loads(pd(env, "container", "inspect", "web").stdout)[0]["State"]["ConmonPid"]
    os.kill(monitor, signal.SIGKILL)
    deadline = time.monotonic() + 20
    while "Exited" not in pd(env, "ps", "-a", "--filter", "name=web").stdout:
        assert time.monotonic() < deadline, "the container never showed as exited"
        time.sleep(0.05)
    assert_nothing_left(env)
    with socket.socket() as again:                  # nothing listens on the host port
        again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # (TIME_WAIT is fine)
        again.bind(("127.0.0.1", port))
        again.listen(1)
    if network == "net1":
        (entry,) = json.loads(pd(env, "network", "inspect", "net1").stdout)[0]["containers"].values()
        assert entry["interfaces"] == {}            # its address went back to the pool
    pd(env, "rm", "web")
    assert pd(env, "ps", "-aq").stdout == ""


def test_unshare_rootless_netns_sees_the_bridges(images: dict[str, str],
                                                 registry_env: dict[str, str]) -> None:
    env = registry_env
    pd(env, "network", "create", "nsnet")
    pd(env, "run", "-d", "--name", "nsweb", "--network", "nsnet", images["busybox"],
       "sleep", "600")
    show = "id -u; readlink /proc/self/ns/net; cat /proc/self/net/dev"
    out = pd(env, "unshare", "--rootless-netns", "sh", "-c", show).stdout.splitlines()
    assert out[0] == "0"                                   # root of the user's namespace
    assert out[1] != os.readlink("/proc/self/ns/net")      # not the host's network
    names = {ln.split(":")[0].strip() for ln in out[4:]}
    assert names == holder_links(env) and "lo" in names
    assert any(n.startswith("podman") for n in names), names   # nsnet's bridge
    code = pd(env, "unshare", "--rootless-netns", "sh", "-c", "exit 7", check=False)
    assert code.returncode == 7
    pd(env, "rm", "-f", "-t", "0", "nsweb")
    # with no container on a user network, it is started for the command and stopped after
    out = pd(env, "unshare", "--rootless-netns", "cat", "/proc/self/net/dev").stdout
    assert "lo:" in out and "eth0" not in out
    assert_nothing_left(env)
    pd(env, "network", "rm", "nsnet")
