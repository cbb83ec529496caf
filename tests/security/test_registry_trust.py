"""Class 8 of issue #12: registry trust, seen from the network and the terminal.

Credentials: a registry on 127.0.0.1 that is *not* configured insecure (real TLS,
its CA in the user's containers-certs.d) names a token realm on another host,
127.0.0.2. Whoever runs that host must never receive the user's password: pdman
asks it for an anonymous token, and when that is refused says so, naming the
registry, the realm and the fix. A realm on the registry's own host does get the
credentials (the control that shows the test can see them), and so does a foreign
realm once the user marks the registry insecure. A redirect to another host never
carries the Authorization header. Traffic stays on loopback: 127.0.0.2 is another
host only by name.

Short names (short-name-mode, containers-registries.conf(5)): with two search
registries, `enforcing` (the default) fails without a terminal, naming both
candidates and the fix; on a terminal it asks, pulls the pick and records it in the
alias cache, so the next pull does not ask; `permissive` without a terminal tries
the registries in order.
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.bed.runner import run_pdman

USER, PASSWORD = "alice", "s3cret-pw-never-leaves"
TOKEN = "good-token"


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and 127.0.0.2: (cert, key)."""
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-keyout", str(key), "-out", str(cert), "-subj", "/CN=pdman-test",
                    "-addext", "subjectAltName=IP:127.0.0.1,IP:127.0.0.2"],
                   check=True, capture_output=True)
    return cert, key


class Server:
    """An https server on `ip` that records every request's path and Authorization."""

    def __init__(self, ip: str, tls: tuple[Path, Path], respond: Any) -> None:
        self.seen: list[tuple[str, str]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                outer.seen.append((self.path, self.headers.get("Authorization", "")))
                status, headers, body = respond(self)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer((ip, 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(tls[0]), str(tls[1]))
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.address = f"{ip}:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def token_server(ip: str, tls: tuple[Path, Path], anonymous: bool) -> Server:
    def respond(h: BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes]:
        if h.path.startswith("/token") and (anonymous or h.headers.get("Authorization")):
            return 200, {"Content-Type": "application/json"}, json.dumps({"token": TOKEN}).encode()
        return 401, {}, b'{"errors": [{"code": "DENIED", "message": "login required"}]}'
    return Server(ip, tls, respond)


def registry(tls: tuple[Path, Path], realm: str, redirect: str = "") -> Server:
    """/v2/ wants a Bearer token from `realm`; manifests are 404, or with `redirect`
    a 307 to that URL."""
    def respond(h: BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes]:
        if h.headers.get("Authorization") != f"Bearer {TOKEN}":
            return 401, {"WWW-Authenticate": f'Bearer realm="{realm}",service="test"'}, b""
        if h.path == "/v2/":
            return 200, {}, b"{}"
        if redirect:
            return 307, {"Location": redirect}, b""
        return 404, {"Content-Type": "application/json"}, \
            b'{"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown"}]}'
    return Server("127.0.0.1", tls, respond)


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for s in started:
        s.close()


def env_for(pdman_env: dict[str, str], tmp_path: Path, reg: Server, tls: tuple[Path, Path],
            insecure: bool = False) -> dict[str, str]:
    """pdman's environment: the registry's CA in the user's certs.d, a registries.conf
    that marks it insecure or says nothing about it (secure: the default)."""
    config = tmp_path / "config"
    certs = config / "containers" / "certs.d" / reg.address
    certs.mkdir(parents=True, exist_ok=True)
    (certs / "ca.crt").write_bytes(tls[0].read_bytes())
    conf = tmp_path / "registries.conf"
    conf.write_text(f'[[registry]]\nlocation = "{reg.address}"\ninsecure = true\n'
                    if insecure else "")
    return dict(pdman_env, XDG_CONFIG_HOME=str(config), CONTAINERS_REGISTRIES_CONF=str(conf))


def pull(env: dict[str, str], reg: Server) -> subprocess.CompletedProcess[str]:
    return run_pdman("pull", "-q", "--creds", f"{USER}:{PASSWORD}", f"{reg.address}/app:latest",
                     env=env, check=False)


def assert_clean_failure(out: subprocess.CompletedProcess[str]) -> None:
    assert out.returncode == 125, out
    assert "Traceback" not in out.stderr, out.stderr


def sent_password(server: Server) -> bool:
    import base64

    basic = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    return any(auth == basic or PASSWORD in auth for _, auth in server.seen)


def test_a_realm_on_another_host_never_gets_the_password(
        pdman_env: dict[str, str], tmp_path: Path, tls: tuple[Path, Path],
        servers: list[Server]) -> None:
    tokens = token_server("127.0.0.2", tls, anonymous=True)
    reg = registry(tls, f"https://{tokens.address}/token")
    servers += [tokens, reg]
    out = pull(env_for(pdman_env, tmp_path, reg, tls), reg)
    assert_clean_failure(out)                   # the manifest is not there: 404
    assert "manifest unknown" in out.stderr
    assert tokens.seen, "pdman never asked the realm for a token"
    assert not sent_password(tokens), tokens.seen
    assert all(auth == "" for _, auth in tokens.seen), tokens.seen


def test_a_foreign_realm_refusing_anonymous_tokens_is_a_clear_error(
        pdman_env: dict[str, str], tmp_path: Path, tls: tuple[Path, Path],
        servers: list[Server]) -> None:
    tokens = token_server("127.0.0.2", tls, anonymous=False)
    realm = f"https://{tokens.address}/token"
    reg = registry(tls, realm)
    servers += [tokens, reg]
    out = pull(env_for(pdman_env, tmp_path, reg, tls), reg)
    assert_clean_failure(out)
    assert not sent_password(tokens), tokens.seen
    assert reg.address in out.stderr and realm in out.stderr
    assert "insecure = true" in out.stderr


def test_the_registrys_own_host_gets_the_password(
        pdman_env: dict[str, str], tmp_path: Path, tls: tuple[Path, Path],
        servers: list[Server]) -> None:
    """The control: the same pull with a realm on the registry's host (another port)
    does send the credentials, so the assertions above can see them."""
    tokens = token_server("127.0.0.1", tls, anonymous=False)
    reg = registry(tls, f"https://{tokens.address}/token")
    servers += [tokens, reg]
    out = pull(env_for(pdman_env, tmp_path, reg, tls), reg)
    assert_clean_failure(out)
    assert "manifest unknown" in out.stderr
    assert sent_password(tokens)


def test_an_insecure_registry_is_trusted_with_its_realm(
        pdman_env: dict[str, str], tmp_path: Path, tls: tuple[Path, Path],
        servers: list[Server]) -> None:
    tokens = token_server("127.0.0.2", tls, anonymous=False)
    reg = registry(tls, f"https://{tokens.address}/token")
    servers += [tokens, reg]
    out = pull(env_for(pdman_env, tmp_path, reg, tls, insecure=True), reg)
    assert_clean_failure(out)
    assert "manifest unknown" in out.stderr
    assert sent_password(tokens)


def test_a_redirect_to_another_host_carries_no_authorization(
        pdman_env: dict[str, str], tmp_path: Path, tls: tuple[Path, Path],
        servers: list[Server]) -> None:
    elsewhere = token_server("127.0.0.2", tls, anonymous=False)     # 401 for /moved
    tokens = token_server("127.0.0.1", tls, anonymous=False)
    reg = registry(tls, f"https://{tokens.address}/token",
                   redirect=f"https://{elsewhere.address}/moved/manifest")
    servers += [elsewhere, tokens, reg]
    out = pull(env_for(pdman_env, tmp_path, reg, tls), reg)
    assert_clean_failure(out)
    assert [p for p, _ in elsewhere.seen] and all(p == "/moved/manifest" for p, _ in elsewhere.seen)
    assert all(auth == "" for _, auth in elsewhere.seen), elsewhere.seen
    assert any(auth == f"Bearer {TOKEN}" for _, auth in reg.seen)   # the registry had it


# ---------------------------------------------------------------------------
# short-name-mode
# ---------------------------------------------------------------------------

def short_name_env(registry_env: dict[str, str], tmp_path: Path, testbed: Any,
                   mode: str | None) -> dict[str, str]:
    conf = tmp_path / "short.conf"
    text = f'unqualified-search-registries = ["{testbed.registry}", "{testbed.auth_registry}"]\n'
    if mode:
        text += f'short-name-mode = "{mode}"\n'
    for host in (testbed.registry, testbed.auth_registry):
        text += f'[[registry]]\nlocation = "{host}"\ninsecure = true\n'
    conf.write_text(text)
    return dict(registry_env, CONTAINERS_REGISTRIES_CONF=str(conf),
                XDG_CONFIG_HOME=str(tmp_path / "config"))


def test_enforcing_without_a_terminal_names_the_candidates(
        registry_env: dict[str, str], tmp_path: Path, testbed: Any) -> None:
    for mode in (None, "enforcing"):            # enforcing is the default
        env = short_name_env(registry_env, tmp_path, testbed, mode)
        out = run_pdman("pull", "-q", "busybox", env=env, check=False)
        assert_clean_failure(out)
        assert f"{testbed.registry}/busybox" in out.stderr
        assert f"{testbed.auth_registry}/busybox" in out.stderr
        assert "fully qualified" in out.stderr
        assert run_pdman("images", "-q", env=env).stdout == ""
        # `run` resolves the same way
        out = run_pdman("run", "--rm", "busybox", "true", env=env, check=False)
        assert_clean_failure(out)
        assert "ambiguous" in out.stderr


def test_permissive_without_a_terminal_tries_them_in_order(
        registry_env: dict[str, str], tmp_path: Path, testbed: Any) -> None:
    env = short_name_env(registry_env, tmp_path, testbed, "permissive")
    run_pdman("pull", "-q", "busybox", env=env)
    assert f"{testbed.registry}/busybox:latest" in run_pdman(
        "images", "--format", "{{.Repository}}:{{.Tag}}", env=env).stdout


def test_enforcing_on_a_terminal_asks_and_records_the_choice(
        registry_env: dict[str, str], tmp_path: Path, testbed: Any) -> None:
    import shutil

    import pexpect

    env = short_name_env(registry_env, tmp_path, testbed, None)
    exe = shutil.which("pdman", path=env["PATH"])
    assert exe is not None
    child = pexpect.spawn(exe, ["pull", "-q", "busybox"], env=env, encoding="utf-8",
                          timeout=60)
    child.expect(r"please select one")
    child.expect(r"1\) " + testbed.registry.replace(".", r"\.") + "/busybox")
    child.expect(r"Enter a number \[1-2\]: ")
    child.sendline("3")                         # not a choice: asked again
    child.expect(r"Enter a number \[1-2\]: ")
    child.sendline("1")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    cache = tmp_path / "config" / "containers" / "short-name-aliases.conf"
    assert f'"busybox" = "{testbed.registry}/busybox"' in cache.read_text()
    # recorded: no terminal is needed any more, the alias decides
    run_pdman("rmi", "-a", env=env)
    run_pdman("pull", "-q", "busybox", env=env)
    assert f"{testbed.registry}/busybox:latest" in run_pdman(
        "images", "--format", "{{.Repository}}:{{.Tag}}", env=env).stdout
