"""The API service's `POST /build` driven by the real clients: `docker build` with the
classic builder (DOCKER_BUILDKIT=0; Debian's docker 20.10 and any newer docker CLI
here) and `docker-compose build` (Debian's 1.29, through docker-py)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.bed.apiservice import Service, service  # noqa: F401 - the fixture
from tests.bed.runner import run_pdman

if os.geteuid() == 0:
    pytest.skip("the suite is rootless: run it as an unprivileged user with a subordinate "
                "ID range (bash tests/run does, via tests/bed/user.sh)",
                allow_module_level=True)


def docker_clis() -> list[str]:
    found: list[str] = []
    for candidate in ("/usr/bin/docker", "/usr/local/bin/docker", shutil.which("docker")):
        if candidate and os.access(candidate, os.X_OK) and \
                os.path.realpath(candidate) not in map(os.path.realpath, found):
            found.append(candidate)
    if not found:
        pytest.fail("no docker CLI: run packaging/install-deps.sh (Debian's docker.io)",
                    pytrace=False)
    return found


def classic(service: Service, cli: str, *args: object,
            check: bool = True) -> subprocess.CompletedProcess[str]:
    env = dict(service.docker_env, DOCKER_BUILDKIT="0")
    done = subprocess.run([cli, *map(str, args)], env=env, text=True, capture_output=True,
                          timeout=300, check=False)
    if check and done.returncode != 0:
        pytest.fail(f"{cli} {' '.join(map(str, args))} exited {done.returncode}\n"
                    f"--- stdout\n{done.stdout}--- stderr\n{done.stderr}", pytrace=False)
    return done


def test_docker_build_classic(service: Service, busybox: str, tmp_path: Path) -> None:  # noqa: F811
    ctx = tmp_path / "ctx"
    (ctx / "sub").mkdir(parents=True)
    (ctx / "greeting").write_text("hello from the context\n")
    (ctx / "ignored").write_text("never sent\n")
    (ctx / ".dockerignore").write_text("ignored\n")
    (ctx / "sub" / "Dockerfile.custom").write_text(f"""FROM {busybox} AS base
ARG WHO=nobody
COPY greeting /greeting
RUN echo "built for $WHO" > /who
FROM base AS final
RUN test ! -e /ignored && echo checked > /checked
CMD ["cat", "/greeting", "/who", "/checked"]
FROM final AS never
RUN exit 9
""")
    for n, cli in enumerate(docker_clis()):
        tag = f"apibuilt:{n}"
        done = classic(service, cli, "build", "-f", ctx / "sub" / "Dockerfile.custom",
                       "--build-arg", "WHO=docker", "--label", "org.example.via=api",
                       "--target", "final", "-t", tag, ctx)
        assert "Successfully built" in done.stdout, done.stdout
        assert "RUN exit 9" not in done.stdout                   # --target honoured
        out = service.docker("run", "--rm", tag).stdout
        assert out == "hello from the context\nbuilt for docker\nchecked\n"
        label = service.docker("image", "inspect", "--format",
                               "{{index .Config.Labels \"org.example.via\"}}", tag).stdout
        assert label == "api\n"
        # the same build again: from pdman's layer cache; -q prints only the ID
        quiet = classic(service, cli, "build", "-q", "-f", ctx / "sub" / "Dockerfile.custom",
                        "--build-arg", "WHO=docker", "--label", "org.example.via=api",
                        "--target", "final", "-t", tag, ctx).stdout.strip()
        image_id = run_pdman("image", "inspect", "--format", "{{.Id}}", tag,
                             env=service.env).stdout.strip()
        assert quiet.removeprefix("sha256:") == image_id.removeprefix("sha256:")
    # the CLI and the service share one store: the image is pdman's
    assert "checked" in run_pdman("run", "--rm", "apibuilt:0", env=service.env).stdout


def test_docker_build_errors(service: Service, busybox: str, tmp_path: Path) -> None:  # noqa: F811
    ctx = tmp_path / "bad"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(f"FROM {busybox}\nRUN echo going wrong; exit 3\n")
    done = classic(service, docker_clis()[0], "build", "-t", "broken", ctx, check=False)
    assert done.returncode == 1
    assert "going wrong" in done.stdout
    assert "status 3" in done.stderr, done.stderr
    (ctx / "Dockerfile").write_text(f"FROM {busybox}\nFROBNICATE\n")
    done = classic(service, docker_clis()[0], "build", ctx, check=False)
    assert done.returncode == 1 and "FROBNICATE" in done.stderr, done.stderr
    assert run_pdman("ps", "-a", "-q", env=service.env).stdout == ""
    # an option the build cannot honour is refused, never ignored; defaults pass
    status, _, body = service.request("POST", "/build?memory=1048576&shmsize=0")
    assert status == 501 and b"memory=1048576" in body


def test_compose_build(service: Service, busybox: str, tmp_path: Path) -> None:  # noqa: F811
    compose = shutil.which("docker-compose")
    if compose is None:
        pytest.fail("no docker-compose: run packaging/install-deps.sh", pytrace=False)
    project = tmp_path / "proj"
    (project / "web").mkdir(parents=True)
    (project / "web" / "Dockerfile").write_text(f"""FROM {busybox}
ARG FLAVOUR
COPY page.txt /page.txt
RUN echo "flavour=$FLAVOUR" >> /page.txt
CMD ["cat", "/page.txt"]
""")
    (project / "web" / "page.txt").write_text("compose-built\n")
    (project / "docker-compose.yml").write_text("""
version: "3.7"
services:
  web:
    build:
      context: ./web
      args:
        FLAVOUR: vanilla
      labels:
        org.example.compose: "yes"
""")
    env = dict(service.docker_env, COMPOSE_PROJECT_NAME="pdmanbuild", DOCKER_BUILDKIT="0",
               COMPOSE_DOCKER_CLI_BUILD="0")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([compose, *args], cwd=project, env=env, text=True,
                              capture_output=True, timeout=300, check=False)
        if done.returncode != 0:
            pytest.fail(f"docker-compose {' '.join(args)} exited {done.returncode}\n"
                        f"--- stdout\n{done.stdout}--- stderr\n{done.stderr}", pytrace=False)
        return done

    run("build")
    out = service.docker("run", "--rm", "pdmanbuild_web").stdout
    assert out == "compose-built\nflavour=vanilla\n"
    # a rebuild comes from the cache
    assert "Using cache" in run("build").stdout
    label = service.docker("image", "inspect", "--format",
                           "{{index .Config.Labels \"org.example.compose\"}}",
                           "pdmanbuild_web").stdout
    assert label == "yes\n"
    run("down", "--rmi", "local")
