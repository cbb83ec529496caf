"""Built images cross between pdman and podman 4.3 (Debian's, as the same unprivileged
user with a throw-away store of its own) through the test registry, both ways: an image
pdman built runs in podman, and a Containerfile's FROM is an image podman built."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.bed.runner import run_pdman

if os.geteuid() == 0:
    pytest.skip("the suite is rootless: run it as an unprivileged user with a subordinate "
                "ID range (bash tests/run does, via tests/bed/user.sh)",
                allow_module_level=True)


@pytest.fixture
def podman(tmp_path: Path, registry_env: dict[str, str]) -> Iterator[list[str]]:
    exe = shutil.which("podman")
    if exe is None:  # packaging/install-deps.sh installs it; say so if it is absent
        pytest.fail("podman is not installed (packaging/install-deps.sh installs it)")
    runroot = Path(tempfile.mkdtemp(prefix="prun-"))  # podman wants it under 50 characters
    # no systemd here and host cgroups v1: cgroupfs, a file event log, no network needed
    argv = [exe, "--root", str(tmp_path / "proot"), "--runroot", str(runroot),
            "--storage-driver", "overlay", "--cgroup-manager", "cgroupfs",
            "--events-backend", "file"]
    yield argv
    subprocess.run([*argv, "unshare", "rm", "-rf", str(tmp_path / "proot"), str(runroot)],
                   env=registry_env, capture_output=True)
    shutil.rmtree(runroot, ignore_errors=True)


def _podman(argv: list[str], env: dict[str, str], *args: str) -> str:
    # the pdman tests' auth file may not exist yet: podman would refuse to start
    env = {k: v for k, v in env.items() if k != "REGISTRY_AUTH_FILE"}
    done = subprocess.run([*argv, *args], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, f"podman {' '.join(args)}: {done.stderr}"
    return done.stdout


def test_pdman_built_image_runs_in_podman(podman: list[str], busybox: str,
                                          registry_env: dict[str, str], testbed: object,
                                          tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "msg").write_text("built by pdman\n")
    (ctx / "Containerfile").write_text(f"""FROM {busybox} AS make
RUN printf '#!/bin/sh\\ncat /usr/share/msg\\necho "user=$(id -u) dir=$(pwd) A=$A"\\n' > /hello \\
    && chmod 755 /hello
FROM {busybox}
COPY --from=make /hello /usr/local/bin/hello
COPY msg /usr/share/msg
RUN rm /bin/vi && mkdir -p /work
ENV A=from-env
WORKDIR /work
USER 1000
LABEL org.example.built-by=pdman
CMD ["hello"]
""")
    ref = f"{testbed.registry}/built-by-pdman:{uuid.uuid4().hex[:8]}"  # type: ignore[attr-defined]
    run_pdman("build", "-q", "-t", ref, ctx, env=registry_env)
    run_pdman("push", ref, env=registry_env)
    _podman(podman, registry_env, "pull", "-q", "--tls-verify=false", ref)
    out = _podman(podman, registry_env, "run", "--rm", "--network", "none", ref)
    assert out == "built by pdman\nuser=1000 dir=/work A=from-env\n"
    # the RUN's deletion (a whiteout) reads as one in podman's overlay too
    gone = _podman(podman, registry_env, "run", "--rm", "--network", "none", "--user", "0",
                   ref, "sh", "-c", "test -e /bin/vi && echo present || echo gone")
    assert gone == "gone\n"
    label = _podman(podman, registry_env, "image", "inspect", "--format",
                    "{{index .Labels \"org.example.built-by\"}}", ref)
    assert label == "pdman\n"


def test_from_an_image_podman_built(podman: list[str], busybox: str,
                                    registry_env: dict[str, str], testbed: object,
                                    tmp_path: Path) -> None:
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "Containerfile").write_text(f"""FROM {busybox}
RUN echo made-by-podman > /base.txt && rm /bin/vi
ENV FROM_BASE=yes
ONBUILD RUN echo trigger-ran > /onbuild.txt
""")
    ref = f"{testbed.registry}/built-by-podman:{uuid.uuid4().hex[:8]}"  # type: ignore[attr-defined]
    # --format docker: an OCI config has no ONBUILD (podman drops it, with a warning)
    _podman(podman, registry_env, "build", "--format", "docker", "--network", "none",
            "--tls-verify=false",
            "-t", ref, str(theirs))
    _podman(podman, registry_env, "push", "--tls-verify=false", ref)
    ours = tmp_path / "ours"
    ours.mkdir()
    (ours / "Containerfile").write_text(f"""FROM {ref}
RUN cat /base.txt > /copy.txt && echo "$FROM_BASE" >> /copy.txt
""")
    run_pdman("build", "-t", "on-podman", ours, env=registry_env)
    out = run_pdman("run", "--rm", "on-podman", "sh", "-c",
                    "cat /copy.txt /onbuild.txt; test -e /bin/vi || echo no-vi",
                    env=registry_env).stdout
    assert out == "made-by-podman\nyes\ntrigger-ran\nno-vi\n"
