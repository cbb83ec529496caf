"""Real registries on 127.0.0.1 for the suite: Debian's docker-registry, filled with skopeo.

    python3 -m tests.bed.registry serve [--dir DIR]

starts a plain registry and one with basic auth, pushes every cached image into
both, prints one JSON line with their addresses and stays up until SIGTERM or
SIGINT. Works as an unprivileged user: nothing here needs root.

What ends up in each registry (skopeo keeps OCI manifests as they are, so the
digests are the layouts' own; `busybox:schema2` is converted):

  busybox:latest   OCI image index (application/vnd.oci.image.index.v1+json)
  busybox:schema2  application/vnd.docker.distribution.manifest.v2+json, amd64 only
  debian:bookworm, nginx:latest, layers:latest, many:latest
                   OCI manifests (application/vnd.oci.image.manifest.v1+json)
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from tests.bed import images

REGISTRY_BIN = "/usr/bin/docker-registry"
AUTH_USER = "pdtest"
AUTH_PASSWORD = "pdtest-secret"

# (image in the cache, repository:tag in the registry, extra skopeo copy flags)
PUSHES: list[tuple[str, str, list[str]]] = [
    ("busybox", "busybox:latest", ["--all", "--preserve-digests"]),
    # a plain Docker schema-2 manifest, for clients that meet no index
    ("busybox", "busybox:schema2", ["--format", "v2s2", "--override-os", "linux",
                                    "--override-arch", "amd64"]),
    ("debian", "debian:bookworm", ["--preserve-digests"]),
    ("nginx", "nginx:latest", ["--preserve-digests"]),
    ("layers", "layers:latest", ["--preserve-digests"]),
    ("many", "many:latest", ["--preserve-digests"]),
]

# Never through a proxy: everything here is on 127.0.0.1 (DESIGN §9, no internet).
_LOCAL = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _config(root: Path, port: int, htpasswd: Path | None) -> str:
    auth = (f"auth:\n  htpasswd:\n    realm: pdman-testbed\n    path: {htpasswd}\n"
            if htpasswd else "")
    # health checks and upload purging only add goroutines and log noise here
    return f"""version: 0.1
log:
  level: info
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: {root / "storage"}
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:{port}
  secret: pdman-testbed-not-secret
health:
  storagedriver:
    enabled: false
{auth}"""


def probe(url: str, timeout: float = 2.0, auth: tuple[str, str] | None = None) -> int:
    """HTTP status of GET `url` (401 is an answer, not an error)."""
    req = urllib.request.Request(url)
    if auth:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        req.add_header("Authorization", f"Basic {token}")
    try:
        with _LOCAL.open(req, timeout=timeout) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as e:
        return e.code


@dataclass
class Registry:
    """One running docker-registry process, owned by whoever called `start`."""

    host: str                       # "127.0.0.1:PORT", as image references want it
    root: Path                      # config.yml, htpasswd, storage/, registry.log
    username: str | None
    password: str | None
    pid: int
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False, compare=False)

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    @property
    def creds(self) -> tuple[str, str] | None:
        return (self.username, self.password) if self.username and self.password else None

    def image(self, repo_tag: str) -> str:
        return f"{self.host}/{repo_tag}"

    @classmethod
    def start(cls, root: Path, auth: bool = False, timeout: float = 20.0) -> Registry:
        """Start a registry with its files under `root`; return once /v2/ answers.

        Storage in `root/storage` may be filled beforehand (a saved copy): the
        filesystem driver reads it on each request and keeps no index of its own.
        """
        root.mkdir(parents=True, exist_ok=True)
        htpasswd = None
        if auth:
            htpasswd = root / "htpasswd"
            # bcrypt (-B): the registry accepts no other hash
            line = subprocess.run(["htpasswd", "-nbB", AUTH_USER, AUTH_PASSWORD], check=True,
                                  capture_output=True, text=True).stdout.strip()
            htpasswd.write_text(line + "\n")
        last_error = ""
        for _ in range(5):  # the free port may be taken again before the registry binds it
            port = _free_port()
            (root / "config.yml").write_text(_config(root, port, htpasswd))
            with open(root / "registry.log", "ab") as log:
                # setpriv --pdeathsig: a crashed test run leaves no registry behind
                # (preexec_fn would do the same but is unsafe once threads exist).
                # The signal follows the *thread* that started it: call from the
                # main thread, or the registry dies with a worker thread.
                proc = subprocess.Popen(["setpriv", "--pdeathsig", "TERM", "--",
                                         REGISTRY_BIN, "serve", str(root / "config.yml")],
                                        stdin=subprocess.DEVNULL, stdout=log, stderr=log)
            reg = cls(f"127.0.0.1:{port}", root, AUTH_USER if auth else None,
                      AUTH_PASSWORD if auth else None, proc.pid, proc)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and proc.poll() is None:
                try:
                    if probe(f"{reg.url}/v2/", timeout=1.0) in (200, 401):
                        return reg
                except OSError:
                    pass
                time.sleep(0.05)
            reg.stop()
            last_error = (root / "registry.log").read_text(errors="replace")[-2000:]
        raise RuntimeError(f"docker-registry did not answer on 127.0.0.1; log:\n{last_error}")

    def stop(self) -> None:
        """Stop this registry's own process (SIGTERM, then SIGKILL after 5 s)."""
        if self._proc is None or self._proc.poll() is not None:
            return
        self._proc.terminate()
        try:
            self._proc.wait(5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()


def _skopeo_env(tmpdir: Path) -> dict[str, str]:
    # skopeo stages blobs in TMPDIR (/var/tmp by default); give it one the caller owns
    env = dict(os.environ, TMPDIR=str(tmpdir), NO_PROXY="127.0.0.1,localhost",
               no_proxy="127.0.0.1,localhost")
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        env.pop(var, None)
    return env


def push_images(registry: Registry, cache: Path | None = None, tmpdir: Path | None = None,
                jobs: int = 3) -> list[str]:
    """Copy every cached image into `registry` with skopeo; return the references.

    Images are read straight from the cache's OCI layouts (`oci:DIR:REF`), which
    only needs read access, so an unprivileged user can push a root-built cache.
    """
    cache = cache or images.cache_dir()
    own_tmp = tmpdir is None
    tmp = Path(tempfile.mkdtemp(prefix="pdman-skopeo-")) if tmpdir is None else tmpdir
    tmp.mkdir(parents=True, exist_ok=True)
    env = _skopeo_env(tmp)

    def push(item: tuple[str, str, list[str]]) -> str:
        name, dest, flags = item
        src = images.layout_dir(name, cache).resolve()  # skopeo wants no ':' and a real dir
        cmd = ["skopeo", "--insecure-policy", "copy", "--quiet", "--dest-tls-verify=false",
               *flags]
        if registry.creds:
            cmd += ["--dest-creds", ":".join(registry.creds)]
        cmd += [f"oci:{src}:{images.IMAGES[name].tag}", f"docker://{registry.image(dest)}"]
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"pushing {dest} to {registry.host} failed:\n{done.stderr}")
        return registry.image(dest)

    try:
        with ThreadPoolExecutor(jobs) as pool:
            return list(pool.map(push, PUSHES))
    finally:
        if own_tmp:
            shutil.rmtree(tmp, ignore_errors=True)


def storage_key(cache: Path | None = None) -> str:
    """Names what a filled registry holds: the published builds and the push list.

    A saved storage tree with this key can seed a new registry instead of pushing.
    """
    cache = cache or images.cache_dir()
    skopeo = subprocess.run(["skopeo", "--version"], capture_output=True, text=True,
                            check=True).stdout
    spec = {"layouts": {n: images.layout_dir(n, cache).resolve().name for n in images.IMAGES},
            "pushes": PUSHES, "skopeo": skopeo.strip()}
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


SAVED_KEEP = 3600.0  # seconds an unused saved copy outlives a newer one


def _seed(root: Path, copy: Path | None) -> bool:
    """Fill `root/storage` from a saved storage tree, if there is one.

    Another session may prune that copy while we read it; then we push instead.
    """
    if copy is None or not (copy / "docker").is_dir():
        return False
    shutil.rmtree(root / "storage", ignore_errors=True)
    try:
        os.utime(copy)  # in use: keeps it from being pruned as stale
        shutil.copytree(copy, root / "storage", symlinks=True)
    except OSError:
        shutil.rmtree(root / "storage", ignore_errors=True)
        (root / "storage").mkdir(parents=True)
        return False
    return True


def _save(storage: Path, copy: Path) -> None:
    """Keep a filled storage tree for later sessions; copy then rename, so a
    crashed or concurrent session never leaves a half tree under the real name.
    Copies for other builds are pruned only once unused for an hour: sessions
    running older code may still be reading them."""
    copy.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=copy.parent, prefix=".partial-"))
    try:
        shutil.copytree(storage, tmp / "storage", symlinks=True)
        os.rename(tmp / "storage", copy)
    except OSError:
        pass  # another session saved the same key first: theirs is as good
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    now = time.time()
    for old in copy.parent.iterdir():
        try:
            stale = now - old.stat().st_mtime > SAVED_KEEP
        except OSError:
            continue
        if old != copy and stale:
            shutil.rmtree(old, ignore_errors=True)


def default_saved_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "pdman-testbed" / "registry"


@dataclass
class Bed:
    """Both registries, filled. `how` is "pushed" or "saved" (seeded from a copy)."""

    plain: Registry
    auth: Registry
    how: str

    def stop(self) -> None:
        self.plain.stop()
        self.auth.stop()


def start_bed(root: Path, cache: Path | None = None, saved: Path | None = None) -> Bed:
    """Start the plain and the basic-auth registry under `root`, holding every image.

    With `saved` (a per-user dir), a storage tree saved by an earlier session for
    the same builds is copied in instead of pushing again; after a push one is saved.
    """
    cache = cache or images.cache_dir()
    lacking = images.missing(cache)
    if lacking:  # before starting anything: the message is the whole point
        raise FileNotFoundError(f"images not built in {cache}: {', '.join(lacking)}; run "
                                "`sudo python3 -m tests.bed.images build` from the repo root")
    copy = saved / storage_key(cache) if saved else None
    seeded = [_seed(root / "plain", copy), _seed(root / "auth", copy)]
    plain = Registry.start(root / "plain")
    try:
        auth = Registry.start(root / "auth", auth=True)
    except BaseException:
        plain.stop()
        raise
    bed = Bed(plain, auth, "saved" if all(seeded) else "pushed")
    try:
        if not all(seeded):
            with ThreadPoolExecutor(2) as pool:
                done = [pool.submit(push_images, reg, cache, root / "tmp" / name)
                        for reg, name in ((plain, "plain"), (auth, "auth"))]
                for f in done:
                    f.result()
            if copy is not None:
                _save(plain.root / "storage", copy)
    except BaseException:
        bed.stop()
        raise
    return bed


def serve(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m tests.bed.registry serve")
    parser.add_argument("--dir", type=Path, help="registry files (default: a new temp dir)")
    parser.add_argument("--no-saved", action="store_true",
                        help=f"always push (default: reuse storage saved in {default_saved_dir()})")
    args = parser.parse_args(argv)
    root = args.dir or Path(tempfile.mkdtemp(prefix="pdman-registry-"))
    stop = False

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    bed = start_bed(root, saved=None if args.no_saved else default_saved_dir())
    try:
        print(json.dumps({
            "registry": bed.plain.host, "auth_registry": bed.auth.host,
            "auth_user": AUTH_USER, "auth_password": AUTH_PASSWORD, "dir": str(root),
            "pids": [bed.plain.pid, bed.auth.pid], "filled": bed.how,
            "images": {dest: bed.plain.image(dest) for _, dest, _ in PUSHES}}), flush=True)
        # block, then wait: a signal between a check and pause() would be lost
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
        if not stop:
            signal.sigwait({signal.SIGTERM, signal.SIGINT})
    finally:
        bed.stop()
        if args.dir is None:  # ours to remove: nobody else knows the name
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] != "serve":
        sys.exit("usage: python3 -m tests.bed.registry serve [--dir DIR] [--no-saved]")
    sys.exit(serve(sys.argv[2:]))
