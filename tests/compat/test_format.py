"""`--format` on every command that has it: Go template semantics, and an unknown field
is an error naming it (exit 125), as podman's (issue #13)."""

from __future__ import annotations

import json

import pytest

from tests.bed.runner import run_pdman


@pytest.fixture
def store(registry_env: dict[str, str], busybox: str) -> dict[str, str]:
    pd = lambda *a, **kw: run_pdman(*a, env=registry_env, **kw)  # noqa: E731
    pd("create", "--name", "web", "--label", "tier=front", busybox, "true")
    pd("volume", "create", "--label", "k=v", "vol")
    pd("network", "create", "net")
    return registry_env


def _commands(busybox: str) -> list[list[str]]:
    """Every command with a --format that takes a template, with the arguments it needs."""
    return [["ps", "-a"], ["container", "ls", "-a"], ["inspect", "web"],
            ["container", "inspect", "web"], ["images"], ["image", "inspect", busybox],
            ["history", busybox], ["image", "tree", busybox], ["volume", "ls"],
            ["volume", "inspect", "vol"], ["network", "ls"], ["network", "inspect", "net"],
            ["info"], ["version"], ["system", "df"], ["diff", "web"],
            ["stats", "--no-stream", "--all"]]


def test_unknown_field_is_an_error_naming_it_everywhere(store: dict[str, str], busybox: str) -> None:
    for args in _commands(busybox):
        done = run_pdman(*args, "--format", "{{.NoSuchField}}", env=store, check=False)
        if args[0] in ("diff", "stats") and done.returncode == 0 and done.stdout == "":
            continue  # nothing to format: no item, no error (podman's way too)
        assert done.returncode == 125, (args, done.stdout, done.stderr)
        assert "can't evaluate field NoSuchField" in done.stderr, args
        assert "Traceback" not in done.stderr, args


def test_template_semantics_on_real_commands(store: dict[str, str], busybox: str) -> None:
    pd = lambda *a: run_pdman(*a, env=store).stdout  # noqa: E731
    assert pd("ps", "-a", "--format", "{{.Names}} {{.Labels.tier | upper}}") == "web FRONT\n"
    table = pd("ps", "-a", "--format", "table {{.ID}}\t{{.Names}}").splitlines()
    assert table[0].split() == ["CONTAINER", "ID", "NAMES"] and table[1].split()[1] == "web"
    assert pd("inspect", "--format", "{{range .Config.Cmd}}<{{.}}>{{end}}", "web") == "<true>\n"
    assert pd("inspect", "--format", "{{if .State.Running}}up{{else}}down{{end}}", "web") == "down\n"
    assert pd("inspect", "--format", '{{index .Config.Labels "tier"}}', "web") == "front\n"
    assert json.loads(pd("inspect", "--format", "{{json .Config.Labels}}", "web")) == {"tier": "front"}
    assert pd("volume", "inspect", "--format", '{{printf "%s:%s" .Name .Driver}}', "vol") == "vol:local\n"
    assert pd("volume", "ls", "--format", "{{len .Labels}}") == "1\n"
    assert pd("network", "ls", "--format", '{{if eq .Name "net"}}{{.Name}}{{"\\n"}}{{end}}',
              "--filter", "name=net").startswith("net\n")
    assert pd("version", "--format", "{{.Client.Os | title}}") == "Linux\n"
    assert pd("images", "--format", "{{.Repository}}:{{.Tag}}") == busybox + "\n"
    info = pd("info", "--format", "{{json .}}")
    assert isinstance(json.loads(info), dict)
