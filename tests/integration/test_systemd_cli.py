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


def test_generate_systemd_template_runs_one_container_per_instance(
        registry_env: dict[str, str], busybox: str, tmp_path: Path) -> None:
    import shlex

    env = registry_env
    run_pdman("create", "--name", "tp", "--network", "none", busybox, "sleep", "600", env=env)
    text = run_pdman("generate", "systemd", "--template", "--name", "tp", env=env).stdout
    lines = text.splitlines()
    assert lines[0] == "# container-tp@.service"
    assert "Description=pdman container-tp.service for %I" in lines
    assert "Environment=PODMAN_SYSTEMD_UNIT=%n-%i" in lines
    start = next(line for line in lines if line.startswith("ExecStart="))
    assert " --name=tp-%i " in start and " --name tp " not in start
    refused = run_pdman("generate", "systemd", "--template", "--new=false", "tp", env=env,
                        check=False)
    assert refused.returncode == 125
    assert "--template cannot be set with --new=false" in refused.stderr
    exe = shutil.which("pdman", path=env.get("PATH"))
    files = subprocess.run([str(exe), "generate", "systemd", "--template", "--name", "--files",
                            "tp"], env=env, cwd=tmp_path, capture_output=True, text=True,
                           check=True, timeout=120).stdout.split()
    assert files == [str(tmp_path / "container-tp@.service")]
    # what systemd runs for two instances, its specifiers filled in as systemd would
    # (%n the instance's unit name, %i the instance, %t the runtime directory)
    for inst in ("a", "b"):
        line = (start.removeprefix("ExecStart=").replace("%n", f"container-tp@{inst}.service")
                .replace("%i", inst).replace("%t", str(tmp_path)))
        subprocess.run(shlex.split(line), env=env, check=True, capture_output=True, timeout=120)
    names = run_pdman("ps", "--format", "{{.Names}}", env=env).stdout.split()
    assert sorted(names) == ["tp-a", "tp-b"]
    assert (tmp_path / "container-tp@a.service.ctr-id").read_text().strip()
    run_pdman("rm", "-f", "-t", "0", "tp-a", "tp-b", env=env)
