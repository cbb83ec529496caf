"""Go-style templates and tables, as podman users write them."""

from __future__ import annotations

import pytest

from pdman.cli import humanize, output
from pdman.errors import UsageError

ITEM = {"ID": "abc", "Names": ["web"], "State": {"Pid": 42, "Running": True},
        "Labels": {"k": "v"}, "Config": {"Env": ["A=1"]}}


@pytest.mark.parametrize(("template", "expected"), [
    ("{{.ID}}", "abc"),
    ("{{ .ID }}\\t{{.State.Pid}}", "abc\t42"),
    ("{{.State.Running}}", "true"),
    ("{{json .Config}}", '{"Env":["A=1"]}'),
    ("{{index .Labels \"k\"}}", "v"),
    ("{{join .Names \",\"}}", "web"),
    ("{{upper .ID}}", "ABC"),
    ("{{.id}}", "abc"),
])
def test_templates(template: str, expected: str) -> None:
    assert output.render_template(template, ITEM) == expected


def test_unknown_field_is_a_clear_error() -> None:
    with pytest.raises(UsageError, match="can't evaluate field Nope"):
        output.render_template("{{.Nope}}", ITEM)


def test_table_template_prints_a_header(capsys: pytest.CaptureFixture[str]) -> None:
    output.print_formatted("table {{.ID}}\\t{{.State.Pid}}", [ITEM])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["ID", "PID"]
    assert lines[1].split() == ["abc", "42"]


@pytest.mark.parametrize(("seconds", "text"), [
    (0.2, "Less than a second"), (1, "1 second"), (3, "3 seconds"), (65, "About a minute"),
    (600, "10 minutes"), (3600, "About an hour"), (7200, "2 hours"), (86400 * 3, "3 days"),
])
def test_durations_read_like_podman(seconds: float, text: str) -> None:
    assert humanize.duration(seconds) == text


@pytest.mark.parametrize(("n", "text"), [(512, "512 B"), (4_260_000, "4.26 MB"), (117_000, "117 kB")])
def test_sizes_read_like_podman(n: int, text: str) -> None:
    assert humanize.size(n) == text
