"""The foundation as a user meets it: version, info, ps, volumes, errors and exit codes."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tests.bed.runner import run_pdman


def test_version(pdman_env: dict[str, str]) -> None:
    out = run_pdman("--version", env=pdman_env)
    assert out.stdout.startswith("pdman version ")


def test_info_reports_the_rootless_host(pdman_env: dict[str, str]) -> None:
    info = json.loads(run_pdman("info", "--format", "json", env=pdman_env).stdout)
    host = info["host"]
    assert host["rootless"] is True and host["uid"] == os.getuid()
    assert host["userNamespaces"] is True
    maps = host["idMappings"]
    assert maps["subordinate_ranges"] is True
    assert maps["uidmap"][0] == {"container_id": 0, "host_id": os.getuid(), "size": 1}
    assert maps["uidmap"][1]["size"] == 65536
    assert host["overlay"]["native"] is True
    assert host["network"]["backend"] in ("pasta", "slirp4netns")
    # this host: cgroup v1 hybrid, no user manager -> limits cannot be enforced, and says why
    cg = host["cgroups"]
    assert cg["limits_enforceable"] is False and cg["reason"]
    assert info["store"]["graphRoot"] == pdman_env["PDMAN_ROOT"]
    assert info["store"]["runRoot"] == pdman_env["PDMAN_RUNROOT"]
    text = run_pdman("info", env=pdman_env).stdout
    assert "rootless: true" in text
    assert run_pdman("info", "--format", "{{.host.rootless}}", env=pdman_env).stdout == "true\n"


def test_ps_on_an_empty_store(pdman_env: dict[str, str]) -> None:
    out = run_pdman("ps", env=pdman_env).stdout.split()
    assert out[:2] == ["CONTAINER", "ID"] and "NAMES" in out
    assert run_pdman("ps", "-aq", env=pdman_env).stdout == ""
    assert json.loads(run_pdman("ps", "--format", "json", env=pdman_env).stdout) == []


def test_bad_command_lines_exit_125(pdman_env: dict[str, str]) -> None:
    bad = run_pdman("ps", "--bogus", env=pdman_env, check=False)
    assert bad.returncode == 125 and "--bogus" in bad.stderr
    assert run_pdman("nosuchcommand", env=pdman_env, check=False).returncode == 125
    ref = run_pdman("run", "--rm", "UPPER/Case:bad", "true", env=pdman_env, check=False)
    assert ref.returncode == 125 and "UPPER/Case:bad" in ref.stderr
    missing = run_pdman("inspect", "nothing-here", env=pdman_env, check=False)
    assert missing.returncode == 125 and "nothing-here" in missing.stderr


def test_volume_lifecycle(pdman_env: dict[str, str]) -> None:
    assert run_pdman("volume", "create", "--label", "k=v", "data", env=pdman_env).stdout == "data\n"
    dup = run_pdman("volume", "create", "data", env=pdman_env, check=False)
    assert dup.returncode == 125 and "already exists" in dup.stderr
    assert run_pdman("volume", "create", "--ignore", "data", env=pdman_env).returncode == 0
    rows = run_pdman("volume", "ls", env=pdman_env).stdout.splitlines()
    assert rows[0].split() == ["DRIVER", "VOLUME", "NAME"] and rows[1].split() == ["local", "data"]
    info: Any = json.loads(run_pdman("volume", "inspect", "data", env=pdman_env).stdout)[0]
    assert info["Labels"] == {"k": "v"} and Path(info["Mountpoint"]).is_dir()
    assert run_pdman("volume", "ls", "-q", "--filter", "label=k=v", env=pdman_env).stdout == "data\n"
    assert run_pdman("volume", "rm", "data", env=pdman_env).stdout == "data\n"
    gone = run_pdman("volume", "inspect", "data", env=pdman_env, check=False)
    assert gone.returncode == 125 and "no volume with name 'data'" in gone.stderr
    assert not Path(info["Mountpoint"]).exists()
    run_pdman("volume", "create", "a", env=pdman_env)
    assert run_pdman("volume", "prune", "-f", env=pdman_env).stdout == "a\n"


def test_top_level_inspect_finds_containers_and_images(testbed: Any, registry_env: dict[str, str]) -> None:
    ref = testbed.image("busybox")
    run_pdman("pull", "-q", ref, env=registry_env)
    cid = run_pdman("create", "--name", "box", ref, "true", env=registry_env).stdout.strip()
    got = json.loads(run_pdman("inspect", "box", ref, env=registry_env).stdout)
    assert got[0]["Id"] == cid and got[0]["State"]["Status"] == "created"
    assert got[1]["Id"].removeprefix("sha256:") == got[0]["Image"].removeprefix("sha256:")
    assert run_pdman("inspect", "--type", "image", "--format", "{{.Architecture}}", ref,
                     env=registry_env).stdout == "amd64\n"
