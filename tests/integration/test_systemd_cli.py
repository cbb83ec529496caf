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


def _unit_lines(text: str) -> "list[str]":
    return text.splitlines()


def _one(lines: "list[str]", key: str) -> str:
    found = [line.removeprefix(key + "=") for line in lines if line.startswith(key + "=")]
    assert len(found) == 1, (key, lines)
    return found[0]


def test_generate_systemd_pod_units(registry_env: dict[str, str], busybox: str,
                                    tmp_path: Path) -> None:
    env = registry_env
    run_pdman("pod", "create", "--name", "gsp", "--network", "none", env=env)
    for member in ("gsp-a", "gsp-b"):
        run_pdman("create", "--pod", "gsp", "--name", member, busybox, "sleep", "600", env=env)
    infra = run_pdman("pod", "inspect", "gsp", "--format", "{{.InfraContainerID}}",
                      env=env).stdout.strip()
    infra_name = run_pdman("inspect", "--format", "{{.Name}}", infra, env=env).stdout.strip()
    text = run_pdman("generate", "systemd", "--name", "gsp", env=env).stdout
    assert text.startswith("# pod-gsp.service\n")              # the pod's unit first
    units = json.loads(run_pdman("generate", "systemd", "--name", "--format", "json", "gsp",
                                 env=env).stdout)
    assert sorted(units) == ["container-gsp-a", "container-gsp-b", "pod-gsp"]
    pod = _unit_lines(units["pod-gsp"])
    assert "Wants=container-gsp-a.service container-gsp-b.service" in pod
    assert "Before=container-gsp-a.service container-gsp-b.service" in pod
    assert _one(pod, "ExecStart").endswith(f" start {infra_name}")
    assert _one(pod, "ExecStop").endswith(f" stop -t 10 {infra_name}")
    assert "Type=notify" in pod and "BindsTo" not in units["pod-gsp"]
    for member in ("gsp-a", "gsp-b"):
        lines = _unit_lines(units[f"container-{member}"])
        assert "BindsTo=pod-gsp.service" in lines and "After=pod-gsp.service" in lines
        assert _one(lines, "ExecStart").endswith(f" start {member}")
        assert "Type=notify" in lines
    # the prefixes and the separator
    renamed = json.loads(run_pdman("generate", "systemd", "--name", "--format", "json",
                                   "--pod-prefix", "pp", "--container-prefix", "cc",
                                   "--separator", "_", "gsp", env=env).stdout)
    assert sorted(renamed) == ["cc_gsp-a", "cc_gsp-b", "pp_gsp"]
    assert "Wants=cc_gsp-a.service cc_gsp-b.service" in _unit_lines(renamed["pp_gsp"])
    assert "BindsTo=pp_gsp.service" in _unit_lines(renamed["cc_gsp-a"])
    # by ID without --name
    pod_id = run_pdman("pod", "inspect", "gsp", "--format", "{{.ID}}", env=env).stdout.strip()
    by_id = run_pdman("generate", "systemd", "gsp", env=env).stdout
    assert by_id.startswith(f"# pod-{pod_id}.service\n")
    refused = run_pdman("generate", "systemd", "--template", "gsp", env=env, check=False)
    assert refused.returncode == 125 and "not supported for pods" in refused.stderr

    # --files: all three units
    exe = shutil.which("pdman", path=env.get("PATH"))
    files = subprocess.run([str(exe), "generate", "systemd", "--new", "--name", "--files",
                            "gsp"], env=env, cwd=tmp_path, capture_output=True, text=True,
                           check=True, timeout=120).stdout.split()
    assert files == [str(tmp_path / f"{u}.service")
                     for u in ("pod-gsp", "container-gsp-a", "container-gsp-b")]
    _systemd_accepts(files, env)
    new_pod = _unit_lines((tmp_path / "pod-gsp.service").read_text())
    pre = [line.removeprefix("ExecStartPre=") for line in new_pod
           if line.startswith("ExecStartPre=")]
    assert pre[0] == "/bin/rm -f %t/pod-gsp.pod-id"
    assert pre[1].endswith(" pod create --pod-id-file %t/pod-gsp.pod-id --exit-policy=stop "
                           "--name gsp --network none --replace")
    assert _one(new_pod, "ExecStart").endswith(" pod start --pod-id-file %t/pod-gsp.pod-id")
    members = {m: _unit_lines((tmp_path / f"container-{m}.service").read_text())
               for m in ("gsp-a", "gsp-b")}
    for member, lines in members.items():
        start = _one(lines, "ExecStart")
        assert " --rm --pod-id-file %t/pod-gsp.pod-id --sdnotify=conmon " in start
        assert " --pod gsp" not in start and f" --name {member} " in start
        assert "BindsTo=pod-gsp.service" in lines

    # what systemd runs, its specifiers filled in as systemd would (%t the runtime
    # directory, %n the unit's name): the pod unit's ExecStartPre and ExecStart, then
    # the members' ExecStart; the pod made before is replaced by the unit's
    import shlex

    def run_line(line: str, unit: str) -> None:
        argv = shlex.split(line.replace("%t", str(tmp_path)).replace("%n", unit))
        subprocess.run(argv, env=env, check=True, capture_output=True, timeout=120)

    run_pdman("pod", "rm", "-f", "gsp", env=env)
    for line in [*pre, _one(new_pod, "ExecStart")]:
        run_line(line, "pod-gsp.service")
    for member, lines in members.items():
        run_line(_one(lines, "ExecStart"), f"container-{member}.service")
    new_id = (tmp_path / "pod-gsp.pod-id").read_text().strip()
    assert new_id and new_id != pod_id
    running = run_pdman("ps", "--filter", f"pod={new_id}", "--format", "{{.Names}}",
                        env=env).stdout.split()
    assert sorted(n for n in running if not n.endswith("-infra")) == ["gsp-a", "gsp-b"]
    assert run_pdman("pod", "ps", "--format", "{{.Name}} {{.Status}}",
                     env=env).stdout.split() == ["gsp", "Running"]
    # stopped as systemd would: the members' units (bound to the pod's), then the pod's
    for member, lines in members.items():
        for key in ("ExecStop", "ExecStopPost"):
            run_line(_one(lines, key), f"container-{member}.service")
    for key in ("ExecStop", "ExecStopPost"):
        run_line(_one(new_pod, key), "pod-gsp.service")
    assert run_pdman("pod", "ps", "-q", env=env).stdout.strip() == ""
    assert run_pdman("ps", "-a", "-q", env=env).stdout.strip() == ""


def _systemd_accepts(files: "list[str]", env: dict[str, str]) -> None:
    """systemd's own parser on the units, where the host has it (no systemd needed
    as PID 1 for `systemd-analyze verify`)."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        print("systemd-analyze not installed: unit files not verified by systemd")
        return
    done = subprocess.run([analyze, "verify", "--user", "--man=no", *files], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    # (a warning, e.g. an unknown key, names the file but leaves the exit status 0)
    assert not [line for line in done.stderr.splitlines()
                if any(Path(f).name in line for f in files)], done.stderr


def test_pod_start_under_a_unit_notifies_once(registry_env: dict[str, str], busybox: str) -> None:
    """`pod start` run by a Type=notify unit (the --new pod unit's ExecStart): one
    MAINPID (the infra container's monitor) and READY=1 after all its containers run,
    not one per container. The unit's socket is a datagram socket of the test's."""
    import socket
    import tempfile

    env = registry_env
    run_pdman("pod", "create", "--name", "gsn", "--network", "none", env=env)
    for member in ("gsn-a", "gsn-b"):
        run_pdman("create", "--pod", "gsn", "--name", member, busybox, "sleep", "600", env=env)
    sock_dir = tempfile.mkdtemp(prefix="gsn-")        # short: a socket path has 108 bytes
    path = f"{sock_dir}/notify"
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as unit:
            unit.bind(path)
            run_pdman("pod", "start", "gsn", env=dict(env, NOTIFY_SOCKET=path))
            unit.setblocking(False)
            messages = []
            while True:
                try:
                    messages.append(unit.recv(4096).decode())
                except BlockingIOError:
                    break
    finally:
        shutil.rmtree(sock_dir, ignore_errors=True)
    infra = run_pdman("pod", "inspect", "gsn", "--format", "{{.InfraContainerID}}",
                      env=env).stdout.strip()
    monitor = run_pdman("inspect", "--format", "{{.State.ConmonPid}}", infra,
                        env=env).stdout.strip()
    assert messages == [f"MAINPID={monitor}\nREADY=1\n"]
    states = run_pdman("ps", "--filter", "pod=gsn", "--format", "{{.Names}} {{.State}}",
                       env=env).stdout.split("\n")
    assert sum(1 for s in states if s.endswith(" running")) == 3, states
    run_pdman("pod", "rm", "-f", "-t", "0", "gsn", env=env)
