"""`pdman build`'s remaining options as a user sees them: --from, --ignorefile,
--skip-unused-stages, --omit-history, --identity-label, --stdin, --format (the pushed
manifest's type),
--logfile, the pull options of FROM (--creds, --authfile, --tls-verify) against the
test bed's registries, --retry/--retry-delay, and --force-rm."""

from __future__ import annotations

import base64
import json
import os
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_build import Run, context, inspect, pd  # noqa: F401 (fixture)

if os.geteuid() == 0:
    pytest.skip("the suite is rootless: run it as an unprivileged user (bash tests/run)",
                allow_module_level=True)


def test_ignorefile_and_skip_unused_stages(pd: Run, busybox: str, tmp_path: Path) -> None:
    ctx = context(tmp_path / "ctx", {
        "Containerfile": f"FROM {busybox} AS unused\nRUN echo unused-stage-ran\n"
                         f"FROM {busybox}\nCOPY . /c/\n",
        "a.txt": "a", "b.txt": "b", ".dockerignore": "a.txt\n"})
    (tmp_path / "rules").write_text("b.txt\n")
    done = pd("build", "-t", "ign", "--ignorefile", str(tmp_path / "rules"), str(ctx))
    assert "unused-stage-ran" not in done.stdout
    listing = pd("run", "--rm", "ign", "ls", "-A", "/c").stdout.split()
    assert "a.txt" in listing and "b.txt" not in listing   # the file's rules, not the context's
    done = pd("build", "--skip-unused-stages=false", str(ctx))
    assert "unused-stage-ran" in done.stdout
    done = pd("build", "--ignorefile", str(tmp_path / "nope"), str(ctx), check=False)
    assert done.returncode == 125 and "--ignorefile" in done.stderr


def test_history_identity_label_and_stdin(pd: Run, busybox: str, tmp_path: Path) -> None:
    ctx = context(tmp_path / "ctx", {"Containerfile": f"FROM {busybox}\nRUN cat > /in\n"
                                                      "ENV A=1\n"})
    pd("build", "-t", "stdin", "--stdin", str(ctx), input="piped in\n")
    assert pd("run", "--rm", "stdin", "cat", "/in").stdout == "piped in\n"
    cfg = inspect(pd, "stdin")
    assert cfg["Labels"]["io.pdman.version"]                 # --identity-label (default)
    assert len(cfg["History"]) >= 3
    pd("build", "-t", "nostdin", "--no-cache", "--identity-label=false", "--omit-history",
       str(ctx), input="piped in\n")
    assert pd("run", "--rm", "nostdin", "cat", "/in").stdout == ""   # /dev/null
    cfg = inspect(pd, "nostdin")
    assert "io.pdman.version" not in (cfg["Labels"] or {})
    assert cfg["History"] == []


def _manifest(ref: str) -> dict[str, Any]:
    host, _, rest = ref.partition("/")
    name, _, tag = rest.rpartition(":")
    req = urllib.request.Request(f"http://{host}/v2/{name}/manifests/{tag}", headers={
        "Accept": "application/vnd.oci.image.manifest.v1+json, "
                  "application/vnd.docker.distribution.manifest.v2+json"})
    with urllib.request.urlopen(req, timeout=30) as answer:  # noqa: S310 (loopback)
        return json.loads(answer.read())  # type: ignore[no-any-return]


def test_format_docker_is_what_push_sends(pd: Run, busybox: str, testbed: Any,
                                          tmp_path: Path) -> None:
    ctx = context(tmp_path / "ctx", {"Containerfile": f"FROM {busybox}\nRUN echo x > /x\n"})
    for fmt, media in (("docker", "application/vnd.docker.distribution.manifest.v2+json"),
                       ("oci", "application/vnd.oci.image.manifest.v1+json")):
        ref = f"{testbed.registry}/built-{fmt}:1"
        pd("build", "-t", ref, "--format", fmt, str(ctx))
        pd("push", ref)
        assert _manifest(ref)["mediaType"] == media
    done = pd("build", "--format", "zip", str(ctx), check=False)
    assert done.returncode == 125 and "--format oci or docker" in done.stderr


def test_logfile(pd: Run, busybox: str, tmp_path: Path) -> None:
    ctx = context(tmp_path / "ctx", {"Containerfile": f"FROM {busybox}\n"
                                                      "RUN echo the-run-output\n"})
    log = tmp_path / "build.log"
    done = pd("build", "--no-cache", "--logfile", str(log), str(ctx))
    assert done.stdout == "" and done.stderr == ""
    text = log.read_text()
    assert "STEP 2/2: RUN echo the-run-output" in text and "\nthe-run-output\n" in text


def test_from_pull_options(pd: Run, testbed: Any, tmp_path: Path) -> None:
    ref = testbed.image("busybox", auth=True)
    ctx = context(tmp_path / "ctx", {"Containerfile": f"FROM {ref}\nCOPY m /m\n", "m": "m\n"})
    done = pd("build", "--pull=always", "--retry", "0", str(ctx), check=False)
    assert done.returncode == 125                             # the registry wants a login
    pd("build", "-t", "withcreds", "--pull=always",
       "--creds", f"{testbed.auth_user}:{testbed.auth_password}", str(ctx))
    assert pd("run", "--rm", "withcreds", "cat", "/m").stdout == "m\n"
    auth = tmp_path / "auth.json"
    token = base64.b64encode(f"{testbed.auth_user}:{testbed.auth_password}".encode()).decode()
    auth.write_text(json.dumps({"auths": {testbed.auth_registry: {"auth": token}}}))
    pd("build", "--pull=always", "--authfile", str(auth), str(ctx))
    (tmp_path / "empty.json").write_text('{"auths": {}}')
    done = pd("build", "--pull=always", "--retry", "0", "--authfile",
              str(tmp_path / "empty.json"), str(ctx), check=False)
    assert done.returncode == 125                             # that file's (no) login


def test_retry(pd: Run, tmp_path: Path) -> None:
    ctx = context(tmp_path / "ctx", {"Containerfile": "FROM 127.0.0.1:9/nothing:1\n"})
    done = pd("build", "--retry", "2", "--retry-delay", "10ms", "--tls-verify=false", str(ctx),
              check=False)
    assert done.returncode == 125
    assert done.stderr.count("retrying in 0.01s") == 2, done.stderr
    done = pd("build", "--retry", "0", "--tls-verify=false", str(ctx), check=False)
    assert done.returncode == 125 and "retrying" not in done.stderr


def test_force_rm(pd: Run, busybox: str, tmp_path: Path) -> None:
    ctx = context(tmp_path / "ctx", {"Containerfile": f"FROM {busybox}\nRUN exit 7\n"})
    done = pd("build", "--force-rm", str(ctx), check=False)
    assert done.returncode == 1
    assert pd("ps", "-a", "-q").stdout.strip() == ""


def test_from_replaces_the_first_from(pd: Run, busybox: str, tmp_path: Path) -> None:
    ctx = context(tmp_path / "ctx", {"Containerfile": "FROM nosuch.invalid/never:1 AS one\n"
                                                      "RUN echo one > /one\n"
                                                      "FROM one\nRUN cat /one\n"})
    done = pd("build", "-t", "fromflag", "--from", busybox, str(ctx))
    assert "\none\n" in done.stdout
    assert pd("run", "--rm", "fromflag", "cat", "/one").stdout == "one\n"
