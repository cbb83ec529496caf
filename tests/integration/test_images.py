"""Image verbs end to end: the real `pdman` against the real registries of the test bed,
as the unprivileged test user (files of container users land on subordinate IDs).

Looks into the store itself (PDMAN_ROOT) to check what the pull wrote: the layer
directories, their owners, whiteouts and opaque markers.
"""

from __future__ import annotations

import http.server
import json
import os
import pwd
import re
import signal
import socketserver
import stat
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.bed.images import LAYERS_EXPECTED, MANY_LAYERS, PLATFORM_MARKER

if os.geteuid() == 0:
    pytest.skip("the suite is rootless: run it as an unprivileged user with a subordinate "
                "ID range (bash tests/run does, via tests/bed/user.sh)",
                allow_module_level=True)

Run = Callable[..., "subprocess.CompletedProcess[str]"]
HEX64 = re.compile(r"^[0-9a-f]{64}$")


pytestmark = pytest.mark.usefixtures("remove_store_first")


def root_of(env: dict[str, str]) -> Path:
    return Path(env["PDMAN_ROOT"])


def inspect(pd: Run, name: str) -> dict[str, Any]:
    docs = json.loads(pd("image", "inspect", name).stdout)
    assert len(docs) == 1
    return docs[0]  # type: ignore[no-any-return]


def layer_dirs(pd: Run, env: dict[str, str], name: str) -> list[Path]:
    """The image's unpacked layer directories, bottom first."""
    return [root_of(env) / "layers" / d.partition(":")[2] / "diff"
            for d in inspect(pd, name)["RootFS"]["Layers"]]


def subid_base() -> int:
    user = pwd.getpwuid(os.getuid()).pw_name
    for line in Path("/etc/subuid").read_text().splitlines():
        owner, _, rest = line.partition(":")
        if owner in (user, str(os.getuid())):
            return int(rest.split(":")[0])
    pytest.fail(f"no subordinate range for {user} in /etc/subuid", pytrace=False)


def store_is_clean(env: dict[str, str]) -> None:
    root = root_of(env)
    assert os.listdir(root / "tmp") == [], "unpacks left in tmp/"


# -- pull ---------------------------------------------------------------------------------

def test_index_picks_the_host_platform_then_arm64_on_request(pd: Run, testbed: Any,
                                                             registry_env: dict[str, str]) -> None:
    ref = testbed.image("busybox")
    done = pd("pull", ref)
    image_id = done.stdout.strip()
    assert HEX64.match(image_id), done.stdout
    assert f"Trying to pull {ref}..." in done.stderr
    assert "Writing manifest to image destination" in done.stderr
    [layer] = layer_dirs(pd, registry_env, ref)
    assert (layer / "etc/pdman-platform").read_bytes() == PLATFORM_MARKER["linux/amd64"]
    doc = inspect(pd, ref)
    assert doc["Architecture"] == "amd64" and doc["Id"] == image_id
    assert doc["RepoTags"] == [ref]
    assert any(d.startswith(ref.rsplit(":", 1)[0] + "@sha256:") for d in doc["RepoDigests"])

    arm = pd("pull", "-q", "--platform", "linux/arm64", ref)
    assert arm.stdout.strip() != image_id and arm.stderr == ""
    [layer] = layer_dirs(pd, registry_env, ref)
    assert (layer / "etc/pdman-platform").read_bytes() == PLATFORM_MARKER["linux/arm64"]
    assert inspect(pd, ref)["Architecture"] == "arm64"
    store_is_clean(registry_env)


def test_schema2_manifest(pd: Run, testbed: Any) -> None:
    ref = testbed.image("busybox:schema2")
    pd("pull", "-q", ref)
    doc = inspect(pd, ref)
    assert doc["ManifestType"] == "application/vnd.docker.distribution.manifest.v2+json"


def test_pull_needs_tls_off_for_a_plain_http_registry(pdman_env: dict[str, str],
                                                      testbed: Any) -> None:
    from tests.bed.runner import run_pdman

    ref = testbed.image("busybox:schema2")
    done = run_pdman("pull", ref, env=pdman_env, check=False)
    assert done.returncode == 125
    assert "tls-verify=false" in done.stderr
    # podman's boolean: bare, it requires TLS (an image named after it is no value of it)
    done = run_pdman("pull", "--tls-verify", ref, env=pdman_env, check=False)
    assert done.returncode == 125 and "tls-verify=false" in done.stderr, done
    run_pdman("pull", "-q", "--tls-verify=false", ref, env=pdman_env)


def test_debian_and_nginx_share_the_base_layer(pd: Run, testbed: Any,
                                               registry_env: dict[str, str]) -> None:
    debian, nginx = testbed.image("debian"), testbed.image("nginx")
    pd("pull", debian)
    done = pd("pull", nginx)
    assert done.stderr.count("skipped: already exists") == 1, done.stderr
    assert done.stderr.count(" done") >= 3  # two layers and the config
    d_layers = layer_dirs(pd, registry_env, debian)
    n_layers = layer_dirs(pd, registry_env, nginx)
    assert n_layers[0] == d_layers[0] and len(n_layers) == 3
    assert len(os.listdir(root_of(registry_env) / "layers")) == 3  # stored once

    df = pd("system", "df", "--format", "json").stdout
    images = next(r for r in json.loads(df) if r["Type"] == "Images")
    sizes = {d: inspect(pd, n)["Size"] for n, d in ((debian, "d"), (nginx, "n"))}
    assert images["Total"] == 2
    assert images["Size"] < sizes["d"] + sizes["n"]  # the shared layer counted once
    assert images["Size"] == sizes["n"]               # debian's layer is inside nginx's
    table = pd("system", "df").stdout.splitlines()
    assert table[0].split() == ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"]

    tree = pd("image", "tree", nginx).stdout
    assert f"shared with: {debian}" in tree
    tree_json = json.loads(pd("image", "tree", "--format", "json", nginx).stdout)
    assert [len(x["SharedWith"]) for x in tree_json["Layers"]] == [1, 0, 0]


def test_nginx_whiteout_hides_the_deleted_file(pd: Run, testbed: Any,
                                                registry_env: dict[str, str]) -> None:
    nginx = testbed.image("nginx")
    pd("pull", "-q", nginx)
    base, _, top = layer_dirs(pd, registry_env, nginx)
    assert (base / "etc/motd").is_file()
    st = os.lstat(top / "etc/motd")
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(0, 0)
    assert not (top / "etc/.wh.motd").exists()
    assert os.readlink(top / "var/log/nginx/access.log") == "/dev/stdout"


def test_layers_image_owners_modes_links_xattrs(pd: Run, testbed: Any,
                                                registry_env: dict[str, str]) -> None:
    ref = testbed.image("layers")
    pd("pull", "-q", ref)
    _, a, b = layer_dirs(pd, registry_env, ref)
    base = subid_base()
    me = os.getuid()

    def host_uid(container_uid: int) -> int:
        return me if container_uid == 0 else base + container_uid - 1

    # the merged view: layer B over layer A (whiteouts and opaque dirs applied)
    for path, want in LAYERS_EXPECTED.items():
        rel = path.lstrip("/")
        if want is None:
            if (b / rel).exists() or os.path.lexists(b / rel):
                st = os.lstat(b / rel)
                assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0, f"{path} not whited out"
            continue
        where = b / rel if os.path.lexists(b / rel) else a / rel
        st = os.lstat(where)
        assert st.st_uid == host_uid(want["uid"]), (path, st.st_uid)
        assert st.st_gid == host_uid(want["gid"]), (path, st.st_gid)
        if want["type"] == "symlink":
            assert os.readlink(where) == want["link"]
            continue
        assert stat.S_IMODE(st.st_mode) == want["mode"], (path, oct(st.st_mode))
        if want["type"] == "file" and os.access(where, os.R_OK):  # 0600 of another owner
            assert where.read_bytes() == want["content"]
        if "hardlink" in want:
            assert os.lstat(a / want["hardlink"].lstrip("/")).st_ino == st.st_ino
        for k, v in want.get("xattrs", {}).items():
            assert os.getxattr(where, k) == v
        if "mtime" in want:
            assert st.st_mtime == want["mtime"]
    owned = os.lstat(a / "data/owned")
    assert owned.st_uid == base + 999  # uid 1000 in the container
    assert os.getxattr(b / "data/dir", "user.overlay.opaque") == b"y"
    assert (a / "data/dir/old1").exists()  # hidden by the opaque marker above, not deleted


def test_many_layers_get_short_links(pd: Run, testbed: Any,
                                     registry_env: dict[str, str]) -> None:
    ref = testbed.image("many")
    pd("pull", "-q", ref)
    layers = inspect(pd, ref)["RootFS"]["Layers"]
    assert len(layers) == MANY_LAYERS
    links = os.listdir(root_of(registry_env) / "l")
    assert len(links) == MANY_LAYERS and all(len(x) == 26 for x in links)
    lowerdir = ":".join("l/" + x for x in links)
    assert len(lowerdir) < 4096 - 200  # fits one page with the other mount options


def test_auth_registry(pd: Run, testbed: Any, registry_env: dict[str, str]) -> None:
    ref = testbed.image("busybox:schema2", auth=True)
    done = pd("pull", ref, check=False)
    assert done.returncode == 125 and "authentication" in done.stderr.lower()
    pd("pull", "-q", "--creds", f"{testbed.auth_user}:{testbed.auth_password}", ref)
    bad = pd("pull", "--creds", f"{testbed.auth_user}:wrong", ref, check=False)
    assert bad.returncode == 125
    # credentials from the auth file (REGISTRY_AUTH_FILE of the throw-away env)
    import base64

    token = base64.b64encode(f"{testbed.auth_user}:{testbed.auth_password}".encode()).decode()
    Path(registry_env["REGISTRY_AUTH_FILE"]).write_text(
        json.dumps({"auths": {testbed.auth_registry: {"auth": token}}}))
    pd("rmi", ref)
    pd("pull", "-q", ref)


def test_login_then_pull_then_logout(pd: Run, testbed: Any,
                                      registry_env: dict[str, str]) -> None:
    reg = testbed.auth_registry
    bad = pd("login", "-u", testbed.auth_user, "--password-stdin", reg, input="wrong\n",
             check=False)
    assert bad.returncode == 125 and "invalid username/password" in bad.stderr
    done = pd("login", "-u", testbed.auth_user, "--password-stdin", reg,
              input=testbed.auth_password + "\n")
    assert done.stdout == "Login Succeeded!\n"
    assert os.stat(registry_env["REGISTRY_AUTH_FILE"]).st_mode & 0o777 == 0o600
    assert pd("login", "--get-login", reg).stdout.strip() == testbed.auth_user
    pd("pull", "-q", testbed.image("busybox:schema2", auth=True))
    assert pd("logout", reg).stdout == f"Removed login credentials for {reg}\n"
    assert pd("logout", reg, check=False).returncode == 125


def test_missing_image_and_bad_reference(pd: Run, testbed: Any) -> None:
    done = pd("pull", f"{testbed.registry}/nosuch:latest", check=False)
    assert done.returncode == 125 and "manifest unknown" in done.stderr
    done = pd("pull", "Bad/Name", check=False)
    assert done.returncode == 125 and "invalid reference format" in done.stderr


# -- a registry that returns a wrong blob -----------------------------------------------

class _CorruptingProxy(http.server.BaseHTTPRequestHandler):
    upstream = ""
    corrupt = ""          # blob digest whose body is altered
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        req = urllib.request.Request(f"http://{self.upstream}{self.path}")
        for h in ("Accept", "Authorization", "Range"):
            if self.headers.get(h):
                req.add_header(h, self.headers[h])
        try:
            resp = opener.open(req, timeout=30)
            status, headers, body = resp.status, resp.headers, resp.read()
        except urllib.error.HTTPError as e:
            status, headers, body = e.code, e.headers, e.read()
        if self.corrupt and self.path.endswith("/blobs/" + self.corrupt) and body:
            body = bytes([body[0] ^ 0x01]) + body[1:]
        self.send_response(status)
        for k in ("Content-Type", "Docker-Content-Digest", "WWW-Authenticate"):
            if headers.get(k):
                self.send_header(k, headers[k])
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def corrupting_proxy(testbed: Any) -> Iterator[tuple[str, type[_CorruptingProxy]]]:
    handler = type("Proxy", (_CorruptingProxy,), {"upstream": testbed.registry})
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()


def test_a_wrong_blob_is_caught_and_nothing_is_stored(pdman_env: dict[str, str], testbed: Any,
                                                      corrupting_proxy: Any) -> None:
    from tests.bed.runner import run_pdman

    host, handler = corrupting_proxy
    ref = f"{host}/busybox:schema2"
    manifest = json.loads(urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
        urllib.request.Request(
            f"http://{testbed.registry}/v2/busybox/manifests/schema2",
            headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"})).read())
    [layer] = manifest["layers"]
    handler.corrupt = layer["digest"]
    done = run_pdman("pull", "--tls-verify=false", ref, env=pdman_env, check=False)
    assert done.returncode == 125, done.stderr
    assert layer["digest"] in done.stderr and "does not match" in done.stderr
    assert run_pdman("images", "-q", env=pdman_env).stdout == ""
    root = root_of(pdman_env)
    assert os.listdir(root / "layers") == [] and os.listdir(root / "l") == []
    store_is_clean(pdman_env)
    assert not (root / "blobs/sha256" / layer["digest"].partition(":")[2]).exists()
    # the same pull through an honest path works
    handler.corrupt = ""
    run_pdman("pull", "-q", "--tls-verify=false", ref, env=pdman_env)


# -- crash safety -------------------------------------------------------------------------

def test_a_killed_pull_leaves_nothing_half_visible(pd: Run, testbed: Any,
                                                   registry_env: dict[str, str]) -> None:
    import shutil

    exe = shutil.which("pdman", path=registry_env.get("PATH"))
    assert exe
    nginx = testbed.image("nginx")
    for delay in (0.3, 0.8):
        proc = subprocess.Popen([exe, "pull", "-q", nginx], env=registry_env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        images = pd("images", "--format", "json").stdout
        assert all(nginx.rsplit(":", 1)[0] not in json.dumps(i) for i in json.loads(images)) \
            or proc.returncode == 0
        # every layer the catalog calls complete is there, whole, with its link
        root = root_of(registry_env)
        for link in os.listdir(root / "l") if (root / "l").exists() else []:
            assert (root / "l" / link).resolve().is_dir()
    pd("pull", "-q", nginx)
    assert len(layer_dirs(pd, registry_env, nginx)) == 3
    store_is_clean(registry_env)


# -- tag, rmi, history, prune -------------------------------------------------------------

def test_tag_rmi_history_prune(pd: Run, testbed: Any, registry_env: dict[str, str]) -> None:
    debian, nginx = testbed.image("debian"), testbed.image("nginx")
    pd("pull", "-q", debian)
    nginx_id = pd("pull", "-q", nginx).stdout.strip()
    pd("tag", nginx, "web", "web:v2")
    listing = pd("images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
    assert "localhost/web:latest" in listing and "localhost/web:v2" in listing

    hist = pd("history", "web").stdout.splitlines()
    assert hist[0].split()[:1] == ["ID"] and "CREATED BY" in hist[0] and "COMMENT" in hist[0]
    assert hist[1].startswith(nginx_id[:12])
    assert all(line.startswith("<missing>") for line in hist[2:])
    assert any("..." in line for line in hist[1:])  # long commands are truncated
    full = pd("history", "--no-trunc", "web").stdout
    assert nginx_id in full and "nginx-light && apt-get clean" in full
    assert pd("history", "-q", "web").stdout.split()[0] == nginx_id[:12]

    done = pd("rmi", "web:v2")
    assert done.stdout == "Untagged: localhost/web:v2\n"
    done = pd("rmi", nginx_id[:12], check=False)
    assert done.returncode == 125 and "more than one tag" in done.stderr
    done = pd("rmi", "nosuch", check=False)
    assert done.returncode == 1 and "image not known" in done.stderr
    pd("untag", "web")  # removes localhost/web:latest... and the registry name
    assert pd("images", "--filter", "dangling=true", "-q").stdout.strip() == nginx_id[:12]

    done = pd("image", "prune", "-f")
    assert done.stdout.split() == [nginx_id]
    # debian's layer (shared) survived nginx's removal
    [base] = layer_dirs(pd, registry_env, debian)
    assert (base / "etc/os-release").exists()
    assert len(os.listdir(root_of(registry_env) / "layers")) == 1

    done = pd("rmi", debian)
    assert done.stdout.splitlines()[-1].startswith("Deleted: ")
    assert os.listdir(root_of(registry_env) / "layers") == []
    assert pd("images", "-q").stdout == ""
    assert pd("image", "prune", "-a", "-f").stdout == ""
