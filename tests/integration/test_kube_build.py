"""`kube play --build/--context-dir/--no-hosts` (podman 4.3's), as the unprivileged user:
an image named in the YAML whose last path component is a directory holding a
Containerfile is built there, when missing (or always with --build, never with
--build=false), and the pod's container runs it."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.bed.runner import run_pdman


def pd(env: dict[str, str], *args: object, check: bool = True,
       cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    if cwd is None:
        return run_pdman(*args, env=env, check=check)
    exe = shutil.which("pdman", path=env.get("PATH"))
    assert exe
    done = subprocess.run([exe, *map(str, args)], env=env, cwd=cwd, text=True,
                          capture_output=True, timeout=300, check=False)
    if check and done.returncode != 0:
        pytest.fail(f"pdman {args} exited {done.returncode}\n{done.stdout}\n{done.stderr}",
                    pytrace=False)
    return done


@pytest.fixture
def env(registry_env: dict[str, str], busybox: str) -> dict[str, str]:
    return registry_env


POD_YAML = """\
apiVersion: v1
kind: Pod
metadata:
  name: built
spec:
  containers:
  - name: app
    image: localhost/webapp:latest
"""


def write_app(root: Path, busybox: str, text: str) -> None:
    (root / "webapp").mkdir(parents=True, exist_ok=True)
    (root / "webapp" / "Containerfile").write_text(
        f"FROM {busybox}\nRUN echo {text} > /built\nCMD [\"sleep\", \"1000\"]\n")


def built_text(env: dict[str, str]) -> str:
    return pd(env, "exec", "built-app", "cat", "/built").stdout.strip()


def test_kube_play_builds_the_image_from_its_directory(env: dict[str, str], busybox: str,
                                                        tmp_path: Path) -> None:
    ctxdir = tmp_path / "ctx"
    write_app(ctxdir, busybox, "first")
    yaml = tmp_path / "pod.yaml"
    yaml.write_text(POD_YAML)

    # --context-dir (with --build): the directory webapp in it
    out = pd(env, "kube", "play", "--build", "--context-dir", ctxdir, yaml).stdout
    assert "Pod:" in out
    assert built_text(env) == "first"
    images = pd(env, "images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
    assert "localhost/webapp:latest" in images

    # without --build, from the current directory: the image exists, so it is used
    # as it is (not rebuilt)
    write_app(ctxdir, busybox, "second")
    pd(env, "kube", "play", "--replace", yaml, cwd=ctxdir)
    assert built_text(env) == "first"
    # --build: rebuilt even though it exists
    pd(env, "kube", "play", "--replace", "--build", yaml, cwd=ctxdir)
    assert built_text(env) == "second"

    pd(env, "kube", "down", yaml)
    pd(env, "rmi", "localhost/webapp:latest")
    # missing, and no build directory where pdman runs: a pull (of localhost/...),
    # which fails here; nothing built, nothing left
    done = pd(env, "kube", "play", yaml, cwd=tmp_path, check=False)
    assert done.returncode == 125 and "container built-app" in done.stderr
    assert "localhost/webapp:latest" not in pd(env, "images", "--format",
                                               "{{.Repository}}:{{.Tag}}").stdout
    # --build=false: never built, even with the directory there
    done = pd(env, "kube", "play", "--build=false", yaml, cwd=ctxdir, check=False)
    assert done.returncode == 125 and "container built-app" in done.stderr
    assert "localhost/webapp:latest" not in pd(env, "images", "--format",
                                               "{{.Repository}}:{{.Tag}}").stdout
    assert pd(env, "pod", "ps", "-q").stdout == ""
    # missing, with the directory: built without --build
    write_app(ctxdir, busybox, "third")
    pd(env, "kube", "play", yaml, cwd=ctxdir)
    assert built_text(env) == "third"
    pd(env, "kube", "down", yaml)
    assert pd(env, "pod", "ps", "-q").stdout == ""


def test_context_dir_needs_build(env: dict[str, str], tmp_path: Path) -> None:
    yaml = tmp_path / "pod.yaml"
    yaml.write_text(POD_YAML)
    done = pd(env, "kube", "play", "--context-dir", tmp_path, yaml, check=False)
    assert done.returncode == 125
    assert "--build must be specified when using --context-dir option" in done.stderr
    assert pd(env, "pod", "ps", "-q").stdout == ""


def test_kube_play_no_hosts(env: dict[str, str], busybox: str, tmp_path: Path) -> None:
    yaml = tmp_path / "pod.yaml"
    yaml.write_text(POD_YAML.replace("localhost/webapp:latest", busybox).replace(
        "    image:", "    command: [sleep, '1000']\n    image:"))
    pd(env, "kube", "play", "--no-hosts", yaml)
    doc = json.loads(pd(env, "pod", "inspect", "built").stdout)
    doc = doc[0] if isinstance(doc, list) else doc
    assert doc["InfraConfig"]["NoManageHosts"] is True
    hosts = pd(env, "exec", "built-app", "cat", "/etc/hosts", check=False).stdout
    assert "built" not in hosts        # no entry of pdman's for the pod
    pd(env, "kube", "down", yaml)
    pd(env, "kube", "play", yaml)
    assert "built" in pd(env, "exec", "built-app", "cat", "/etc/hosts").stdout
    pd(env, "kube", "down", yaml)
