"""The builder's pure logic: Containerfile parsing, expansion, ignore rules, the plan."""

from __future__ import annotations

import pytest

from pdman.build import plan
from pdman.build.expand import expand_word, expand_words, key_values
from pdman.build.ignore import IgnoreRules
from pdman.build.parser import parse
from pdman.errors import BuildFileError


def test_directives_continuations_comments():
    cf = parse("# syntax=docker/dockerfile:1\n# escape=`\nFROM busybox\n"
               "RUN echo a `\n  # a comment inside\n  && echo b\n\n# comment\nCMD [\"sh\"]\n")
    assert cf.escape == "`"
    [stage] = cf.stages
    run, cmd = stage.instructions
    assert run.keyword == "RUN" and run.args == "echo a   && echo b"
    assert run.line == 4
    assert cmd.exec_form == ["sh"]


def test_backslash_is_default_escape_and_directive_only_at_top():
    cf = parse("FROM busybox\n# escape=`\nRUN a \\\n b\n")
    assert cf.escape == "\\"
    assert cf.stages[0].instructions[0].args == "a  b"


def test_heredocs():
    cf = parse("FROM busybox\nRUN <<EOF\necho one\necho two\nEOF\n"
               "COPY <<-'END' /etc/greeting\n\thello $X\n\tEND\nCMD x\n")
    run, copy, cmd = cf.stages[0].instructions
    assert run.heredocs[0].name == "EOF" and run.heredocs[0].content == "echo one\necho two\n"
    assert copy.heredocs[0].content == "hello $X\n" and not copy.heredocs[0].expand
    assert copy.args == "<<-'END' /etc/greeting"
    assert cmd.args == "x"


def test_flags_stages_and_meta_args():
    cf = parse("ARG BASE=busybox\nFROM $BASE AS Build\nCOPY --from=build --chown=1:2 a /b\n"
               "FROM scratch\nCOPY --from=0 /x /y\n")
    assert [i.args for i in cf.meta_args] == ["BASE=busybox"]
    assert cf.stages[0].name == "build" and cf.stages[1].name == ""
    copy = cf.stages[0].instructions[0]
    assert copy.flag("from") == "build" and copy.flag("chown") == "1:2" and copy.args == "a /b"


@pytest.mark.parametrize("text,why", [
    ("RUN x\n", "before the first FROM"),
    ("FROM a\nFROBNICATE x\n", "unknown instruction"),
    ("FROM a\nRUN <<EOF\nno end\n", "no terminator"),
    ("# just a comment\n", "no FROM"),
    ("FROM a b c d\n", "FROM takes"),
    ("FROM a AS x\nFROM b AS X\n", "duplicate stage name"),
])
def test_errors_name_file_and_line(text, why):
    with pytest.raises(BuildFileError) as info:
        parse(text, "Containerfile")
    assert why in info.value.message
    assert info.value.message.startswith("Containerfile")
    if "FROBNICATE" in text:
        assert "Containerfile:2:" in info.value.message


def test_expansion_forms():
    env = {"A": "x", "E": ""}
    assert expand_word("$A-${A}", env) == "x-x"
    assert expand_word("${B:-def}/${A:-no}", env) == "def/x"
    assert expand_word("${E:-d}|${E-d}|${B-d}", env) == "d||d"
    assert expand_word("${A:+alt}|${B:+alt}|${E+set}", env) == "alt||set"
    assert expand_word("'$A' \"$A\" \\$A", env) == "$A x $A"
    assert expand_words('a "b c" $A', env) == ["a", "b c", "x"]
    with pytest.raises(BuildFileError):
        expand_word("${B:?must be set}", env)


def test_heredoc_bodies_expand_variables_only():
    from pdman.build.expand import expand_heredoc

    assert expand_heredoc("a 'q' \"$A\" \\$A \\n ${B:-d}\n", {"A": "x"}) == \
        "a 'q' \"x\" $A \\n d\n"


def test_key_values():
    assert key_values('A=1 B="two words" C=$X', {"X": "y"}, "ENV") == \
        [("A", "1"), ("B", "two words"), ("C", "y")]
    assert key_values("A one two", {}, "ENV") == [("A", "one two")]


def test_ignore_rules_docker_semantics():
    rules = IgnoreRules.from_text("# c\n*.log\n!keep.log\n/build\n**/tmp\nsecret*\n!secret-ok\n")
    assert rules.excluded("a.log") and not rules.excluded("keep.log")
    assert not rules.excluded("dir/a.log")          # `*` does not cross /
    assert rules.excluded("build/x/y")              # a directory excludes its contents
    assert rules.excluded("tmp") and rules.excluded("a/b/tmp/c")
    assert rules.excluded("secret.txt") and not rules.excluded("secret-ok")
    assert not rules.excluded("src/main.c")
    order = IgnoreRules.from_text("!a.txt\n*.txt\n")   # the last match decides
    assert order.excluded("a.txt")


def test_needed_stages_skip_unused():
    cf = parse("FROM busybox AS a\nRUN x\nFROM busybox AS unused\nRUN y\n"
               "FROM busybox AS b\nCOPY --from=a /x /x\nFROM b AS final\n")
    assert plan.needed_stages(cf, "", {}) == [0, 2, 3]
    assert plan.needed_stages(cf, "unused", {}) == [1]
    with pytest.raises(BuildFileError):
        plan.needed_stages(cf, "nope", {})


def test_metadata_instructions_change_config():
    cf = parse("ARG V=1\nFROM busybox\nARG V\nARG W=two\nENV P=/opt/$V Q=\"$W x\"\n"
               "WORKDIR /app\nWORKDIR sub\nUSER 1000:1000\nLABEL a=b\nEXPOSE 80 53/udp\n"
               "VOLUME /data\nSTOPSIGNAL SIGINT\nENTRYPOINT [\"/bin/app\"]\nCMD --help\n"
               "HEALTHCHECK --interval=5s --retries=2 CMD true\nMAINTAINER me\n")
    gargs = plan.global_args(cf, {"W": "three"})
    state = plan.StageState({"config": {"Cmd": ["sh"]}}, "k", "id", gargs, {"W": "three"}, "\\")
    shown = [plan.apply_metadata(state, i) for i in cf.stages[0].instructions]
    c = state.c
    assert c["Env"] == ["P=/opt/1", "Q=three x"]
    assert c["WorkingDir"] == "/app/sub" and c["User"] == "1000:1000"
    assert c["Labels"] == {"a": "b"}
    assert c["ExposedPorts"] == {"80/tcp": {}, "53/udp": {}}
    assert c["Volumes"] == {"/data": {}} and c["StopSignal"] == "SIGINT"
    assert c["Entrypoint"] == ["/bin/app"] and c["Cmd"] == ["/bin/sh", "-c", "--help"]
    assert c["Healthcheck"] == {"Test": ["CMD-SHELL", "true"], "Interval": 5 * 10**9,
                                "Retries": 2}
    assert state.config["author"] == "me"
    assert shown[2] == "/bin/sh -c #(nop) ENV P=/opt/1 Q=three x"
    assert state.run_env() == ["P=/opt/1", "Q=three x", "V=1", "W=three"]
    assert state.arg_prefix() == "|2 V=1 W=three "


def test_entrypoint_resets_inherited_cmd():
    cf = parse("FROM busybox\nENTRYPOINT [\"/e\"]\n")
    state = plan.StageState({"config": {"Cmd": ["sh"]}}, "k", "id", {}, {}, "\\")
    plan.apply_metadata(state, cf.stages[0].instructions[0])
    assert state.c["Cmd"] is None and state.c["Entrypoint"] == ["/e"]
