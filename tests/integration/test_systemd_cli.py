"""The systemd commands as a user types them (no systemd needed): `generate systemd`
for a real container, and `systemd generator --dryrun` on Quadlet files."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from tests.bed.runner import run_pdman


def test_generate_systemd_new_from_the_create_command(
        registry_env: dict[str, str], busybox: str, tmp_path: Path) -> None:
    env = registry_env
    run_pdman("create", "--name", "gs", "--network", "none", "-e", "A=b c", busybox,
              "sleep", "600", env=env)
    text = run_pdman("generate", "systemd", "--new", "--name", "--no-header",
                     "--restart-policy", "always", "gs", env=env).stdout
    lines = text.splitlines()
    start = next(line for line in lines if line.startswith("ExecStart="))
    assert " run --cidfile=%t/%n.ctr-id --cgroups=no-conmon --rm --sdnotify=conmon " \
           "--replace -d --name gs --network none -e \"A=b c\" " in start
    assert start.endswith(f"{busybox} sleep 600")
    assert "Restart=always" in lines and "Type=notify" in lines
    assert not text.startswith("#")
    plain = run_pdman("generate", "systemd", "gs", env=env).stdout
    assert plain.startswith("# container-")               # the ID's unit, with a header
    assert any(line.endswith(" start gs") and line.startswith("ExecStart=")
               for line in plain.splitlines())
    as_json = json.loads(run_pdman("generate", "systemd", "--name", "--format", "json", "gs",
                                   env=env).stdout)
    assert list(as_json) == ["container-gs"]
    exe = shutil.which("pdman", path=env.get("PATH"))
    files = subprocess.run([str(exe), "generate", "systemd", "--name", "--files", "gs"], env=env,
                           cwd=tmp_path, capture_output=True, text=True, check=True,
                           timeout=120).stdout.split()
    assert files == [str(tmp_path / "container-gs.service")]
    missing = run_pdman("generate", "systemd", "nosuch", env=env, check=False)
    assert missing.returncode == 125 and "nosuch" in missing.stderr
    run_pdman("rm", "gs", env=env)


def test_generator_dryrun_and_errors(pdman_env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "web.container").write_text(
        "[Container]\nImage=busybox\nPublishPort=8080:80\n[Install]\nWantedBy=default.target\n")
    (tmp_path / "broken.container").write_text("[Container]\nImage=busybox\nPublish=1\n")
    env = dict(pdman_env, QUADLET_UNIT_DIRS=str(tmp_path))
    done = run_pdman("systemd", "generator", "--user", "--dryrun", env=env, check=False)
    assert done.returncode == 1
    assert done.stdout.startswith("---web.service---\n")
    assert "--publish 8080:80 busybox" in done.stdout
    assert f"{tmp_path}/broken.container:3: unsupported key 'Publish'" in done.stderr
    out = tmp_path / "out"
    run_pdman("systemd", "generator", "--user", str(out), env=env, check=False)
    assert (out / "web.service").exists() and not (out / "broken.service").exists()
    assert (out / "default.target.wants" / "web.service").is_symlink()
    refused = run_pdman("systemd", "install-generator", "--user", env=env, check=False)
    assert refused.returncode == 125 and "needs root" in refused.stderr
