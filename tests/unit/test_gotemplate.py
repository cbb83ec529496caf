"""`--format` templates with Go text/template semantics, as podman's (issue #13)."""

from __future__ import annotations

import pytest

from pdman.cli import output
from pdman.cli.gotemplate import Template, TemplateError
from pdman.errors import EXIT_ENGINE, UsageError

ITEM = {"ID": "abc", "Names": ["web", "db"], "State": {"Pid": 42, "Running": True, "Status": "up"},
        "Labels": {"k": "v", "a": "1"}, "Empty": [], "Zero": 0, "Size": 2.5, "Whole": 3.0,
        "Html": "<a&b>"}


@pytest.mark.parametrize(("template", "expected"), [
    ("{{.ID}}", "abc"),
    ("{{.State.Pid}}", "42"),
    ("{{.State.Running}}", "true"),
    ("{{.}}", "map[Empty:[] Html:<a&b> ID:abc Labels:map[a:1 k:v] Names:[web db] Size:2.5 "
              "State:map[Pid:42 Running:true Status:up] Whole:3 Zero:0]"),
    ("{{.Names}}", "[web db]"),
    ("{{json .State}}", '{"Pid":42,"Running":true,"Status":"up"}'),
    ("{{json .Html}}", '"\\u003ca\\u0026b\\u003e"'),
    ("{{.ID | upper}}", "ABC"),
    ("{{upper .ID}}", "ABC"),
    ("{{lower \"ABC\"}}", "abc"),
    ("{{.State.Status | title}}", "Up"),
    ("{{index .Labels \"k\"}}", "v"),
    ("{{index .Labels \"missing\"}}", ""),
    ("{{index .Names 1}}", "db"),
    ("{{join .Names \",\"}}", "web,db"),
    ("{{len .Names}}", "2"),
    ("{{.Names | len}}", "2"),
    ("{{printf \"%s=%d\" .ID .State.Pid}}", "abc=42"),
    ("{{printf \"%-6s|\" .ID}}", "abc   |"),
    ("{{printf \"%q\" .ID}}", '"abc"'),
    ("{{printf \"%v\" .Names}}", "[web db]"),
    ("{{range .Names}}[{{.}}]{{end}}", "[web][db]"),
    ("{{range $i, $n := .Names}}{{$i}}:{{$n}} {{end}}", "0:web 1:db "),
    ("{{range $k, $v := .Labels}}{{$k}}={{$v}};{{end}}", "a=1;k=v;"),
    ("{{range .Empty}}x{{else}}none{{end}}", "none"),
    ("{{range .Names}}{{$.ID}}{{end}}", "abcabc"),
    ("{{if .Zero}}yes{{else}}no{{end}}", "no"),
    ("{{if .Empty}}a{{else if .State.Running}}b{{else}}c{{end}}", "b"),
    ("{{if and .State.Running (eq .ID \"abc\")}}both{{end}}", "both"),
    ("{{if not .Zero}}zero{{end}}", "zero"),
    ("{{if gt .State.Pid 40}}big{{end}}", "big"),
    ("{{with .State}}{{.Pid}}{{end}}", "42"),
    ("{{$x := .ID}}{{$x}}{{$x}}", "abcabc"),
    ("{{.ID}}{{\"\\n\"}}{{.Zero}}", "abc\n0"),
    ("{{.ID}}\\t{{.Zero}}", "abc\t0"),
    ("a  {{- .ID -}}  b", "aabcb"),
    ("{{/* a comment */}}x", "x"),
    ("{{.Size}} {{.Whole}}", "2.5 3"),
    ("{{.id}}", "abc"),
    ("{{`raw\\n`}}", "raw\\n"),
    ("{{truncate .ID 2}}", "ab"),
    ("{{(index .Names 0) | upper}}", "WEB"),
])
def test_go_template_semantics(template: str, expected: str) -> None:
    assert Template(template).render(ITEM) == expected


@pytest.mark.parametrize(("template", "words"), [
    ("{{.Nope}}", "can't evaluate field Nope"),
    ("{{.State.Missing}}", "can't evaluate field Missing"),
    ("{{bogus .ID}}", 'function "bogus" not defined'),
    ("{{if .ID}}x", "has no {{end}}"),
    ("{{end}}", "unexpected {{end}}"),
    ("{{.ID", "unclosed action"),
    ("{{\"open}}", "unterminated quoted string"),
    ("{{.ID .Zero}}", "can't give argument to non-function .ID"),
    ("{{$nope}}", "undefined variable: $nope"),
])
def test_bad_templates_are_errors_naming_the_problem(template: str, words: str) -> None:
    with pytest.raises(TemplateError, match=None) as info:
        Template(template).render(ITEM)
    assert words in str(info.value)
    assert isinstance(info.value, UsageError) and info.value.exit_code == EXIT_ENGINE


def test_table_header_uses_column_names_and_noheading(capsys: pytest.CaptureFixture[str]) -> None:
    rows = [{"ID": "abc", "CreatedAt": "now"}, {"ID": "defgh", "CreatedAt": "then"}]
    output.print_formatted("table {{.ID}}\\t{{.CreatedAt}}", rows, headers={"ID": "CONTAINER ID"})
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["CONTAINER ID  CREATED AT", "abc           now", "defgh         then"]
    output.print_formatted("table {{.ID}}\\t{{.CreatedAt}}", rows, header=False)
    assert capsys.readouterr().out.splitlines() == ["abc    now", "defgh  then"]


def test_a_newline_ends_each_item_unless_the_template_has_one(capsys: pytest.CaptureFixture[str]) -> None:
    output.print_formatted("{{.ID}}", [{"ID": "a"}, {"ID": "b"}])
    assert capsys.readouterr().out == "a\nb\n"
    output.print_formatted("{{.ID}}\\n", [{"ID": "a"}, {"ID": "b"}])
    assert capsys.readouterr().out == "a\nb\n"
