"""Containerfile parsing: text -> stages of instructions, no I/O beyond the text.

What docker's parser does, in the same order: parser directives at the very top
(`# escape=` changes the line-continuation character, `# syntax=` is accepted and
ignored), comment and blank lines dropped (also inside a continued instruction),
continuation lines joined, heredocs (`RUN <<EOF`, `COPY <<EOF /path`) read up to
their terminator, and each instruction's leading `--flag=value` options taken apart
for the instructions that have them. Variable expansion happens later, in build/plan.py,
because it depends on the stage's ARG and ENV values at that point.

Every error names the file, the line and the instruction.
"""

from __future__ import annotations

import json
import re

from pdman.errors import BuildFileError
from pdman.record import Record

#: instructions docker knows; anything else is an error (naming file and line)
KNOWN = frozenset("ADD ARG CMD COPY ENTRYPOINT ENV EXPOSE FROM HEALTHCHECK LABEL MAINTAINER "
                  "ONBUILD RUN SHELL STOPSIGNAL USER VOLUME WORKDIR".split())
#: instructions whose leading `--name=value` words are options
_FLAGGED = frozenset({"ADD", "COPY", "RUN", "FROM", "HEALTHCHECK"})
_HEREDOC_OK = frozenset({"RUN", "COPY", "ADD"})
_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")
_HEREDOC = re.compile(r"<<(-?)(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\2")


class Heredoc(Record):
    def __init__(self, name: str, content: str, expand: bool) -> None:
        self.name = name
        self.content = content
        self.expand = expand          # an unquoted terminator: the builder expands variables in it


class Instruction(Record):
    def __init__(self, keyword: str, args: str, line: int, original: str,
                 flags: dict[str, list[str]] | None = None,
                 heredocs: list[Heredoc] | None = None) -> None:
        self.keyword = keyword        # upper case: RUN, COPY, ...
        self.args = args              # the text after the keyword and its flags
        self.line = line              # 1-based line where the instruction starts
        self.original = original      # the instruction as written (continuations joined)
        self.flags: dict[str, list[str]] = {} if flags is None else flags
        self.heredocs: list[Heredoc] = [] if heredocs is None else heredocs

    @property
    def exec_form(self) -> list[str] | None:
        """The JSON array form (`["a", "b"]`), or None for the shell form."""
        text = self.args.strip()
        if not text.startswith("["):
            return None
        try:
            value = json.loads(text)
        except (ValueError, RecursionError):
            return None
        if isinstance(value, list) and all(isinstance(x, str) for x in value):
            return value
        return None

    def flag(self, name: str, default: str = "") -> str:
        values = self.flags.get(name)
        return values[-1] if values else default


class Stage(Record):
    def __init__(self, index: int, base: str, name: str, platform: str, line: int,
                 instructions: list[Instruction] | None = None, original: str = "") -> None:
        self.index = index
        self.base = base              # FROM's image word, unexpanded
        self.name = name              # AS name, lower case ("" when none)
        self.platform = platform
        self.line = line
        self.instructions: list[Instruction] = [] if instructions is None else instructions
        self.original = original


class Containerfile(Record):
    def __init__(self, path: str, meta_args: list[Instruction], stages: list[Stage],
                 escape: str = "\\") -> None:
        self.path = path
        self.meta_args = meta_args    # ARGs before the first FROM
        self.stages = stages
        self.escape = escape          # the `# escape=` directive's character


def _fail(path: str, line: int, text: str, why: str, hint: str | None = None) -> BuildFileError:
    return BuildFileError(f"{path}:{line}: {text.strip()[:80]!s}: {why}",
                          hint=hint or "correct the Containerfile")


def _directives(lines: list[str]) -> tuple[str, int]:
    """The escape character and how many leading lines were directives."""
    escape = "\\"
    seen: set[str] = set()
    n = 0
    for raw in lines:
        m = _DIRECTIVE.match(raw.strip())
        if m is None:
            break
        key, value = m.group(1).lower(), m.group(2)
        if key in seen or key not in ("escape", "syntax", "check"):
            break               # docker: an unknown or repeated directive is a comment
        seen.add(key)
        if key == "escape":
            if value not in ("\\", "`"):
                raise BuildFileError(f"invalid escape directive {value!r}",
                                     hint="use # escape=\\ or # escape=`")
            escape = value
        n += 1
    return escape, n


def _split_flags(keyword: str, rest: str, path: str, line: int,
                 original: str) -> tuple[dict[str, list[str]], str]:
    flags: dict[str, list[str]] = {}
    if keyword not in _FLAGGED:
        return flags, rest
    while True:
        rest = rest.lstrip()
        m = re.match(r"--([A-Za-z][A-Za-z0-9-]*)(?:=(\S*))?(?:\s+|$)", rest)
        if m is None:
            return flags, rest
        name, value = m.group(1).lower(), m.group(2)
        if value is None:
            value = "true"
        flags.setdefault(name, []).append(value)
        rest = rest[m.end():]


def _read_heredocs(keyword: str, rest: str, lines: list[str], i: int, path: str, line: int,
                   original: str) -> tuple[list[Heredoc], int]:
    """Heredoc bodies follow the instruction line: read them, return the next line."""
    docs: list[Heredoc] = []
    if keyword not in _HEREDOC_OK or "<<" not in rest:
        return docs, i
    for m in _HEREDOC.finditer(rest):
        strip_tabs, quote, name = m.group(1) == "-", m.group(2), m.group(3)
        body: list[str] = []
        while True:
            if i >= len(lines):
                raise _fail(path, line, original, f"heredoc {name} has no terminator",
                            hint=f"end it with a line that reads {name}")
            text = lines[i]
            i += 1
            if strip_tabs:
                text = text.lstrip("\t")
            if text == name:
                break
            body.append(text + "\n")
        docs.append(Heredoc(name, "".join(body), expand=not quote))
    return docs, i


def _next_logical(lines: list[str], start: int, escape: str) -> tuple[int, str, int] | None:
    """The next logical instruction: (its first line number, the joined text, the index
    after it); None at the end. Heredoc bodies are read by the caller after it."""
    i = start
    cont_re = re.compile(re.escape(escape) + r"[ \t]*$")
    while i < len(lines):
        raw = lines[i]
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            i += 1
            continue
        first = i + 1
        parts = []
        text = raw
        while True:
            m = cont_re.search(text)
            if m is None:
                parts.append(text)
                i += 1
                break
            parts.append(text[:m.start()])
            i += 1
            # comment and empty lines inside a continuation are skipped, as docker does
            while i < len(lines) and (not lines[i].strip() or lines[i].lstrip().startswith("#")):
                i += 1
            if i >= len(lines):
                break
            text = lines[i]
        return first, "".join(parts), i
    return None


def parse(text: str, path: str = "Containerfile") -> Containerfile:
    if "\0" in text:
        raise BuildFileError(f"{path}: contains a NUL byte", hint="is it a text file?")
    lines = text.replace("\r\n", "\n").split("\n")
    escape, i = _directives(lines)
    meta: list[Instruction] = []
    stages: list[Stage] = []
    while True:
        found = _next_logical(lines, i, escape)
        if found is None:
            break
        line, joined, i = found
        m = re.match(r"\s*([A-Za-z]+)(\s+|$)(.*)$", joined, re.S)
        if m is None:
            raise _fail(path, line, joined, "not an instruction")
        keyword, rest = m.group(1).upper(), m.group(3).strip()
        if keyword not in KNOWN:
            raise _fail(path, line, joined, f"unknown instruction {m.group(1)}",
                        hint="see the Dockerfile reference for the instructions")
        flags, rest = _split_flags(keyword, rest, path, line, joined)
        heredocs, i = _read_heredocs(keyword, rest, lines, i, path, line, joined)
        ins = Instruction(keyword, rest, line, joined.strip(), flags, heredocs)
        if keyword == "FROM":
            stage = _stage(ins, len(stages), path)
            if stage.name and any(s.name == stage.name for s in stages):
                raise _fail(path, line, joined, f"duplicate stage name {stage.name!r}",
                            hint="give each stage its own name")
            stages.append(stage)
        elif not stages:
            if keyword != "ARG":
                raise _fail(path, line, joined, f"{keyword} before the first FROM",
                            hint="start the Containerfile with FROM (only ARG may come before it)")
            meta.append(ins)
        else:
            if not rest and not heredocs and keyword not in ("CMD", "ENTRYPOINT"):
                raise _fail(path, line, joined, f"{keyword} needs arguments")
            stages[-1].instructions.append(ins)
    if not stages:
        raise BuildFileError(f"{path}: no FROM instruction",
                             hint="a Containerfile starts with FROM IMAGE (or FROM scratch)")
    return Containerfile(path, meta, stages, escape)


def _stage(ins: Instruction, index: int, path: str) -> Stage:
    words = ins.args.split()
    if len(words) == 3 and words[1].lower() == "as":
        name = words[2].lower()
        if not re.match(r"^[a-z][a-z0-9._-]*$", name):
            raise _fail(path, ins.line, ins.original, f"invalid stage name {words[2]!r}",
                        hint="a stage name starts with a letter: letters, digits, . _ -")
    elif len(words) == 1:
        name = ""
    else:
        raise _fail(path, ins.line, ins.original, "FROM takes IMAGE [AS NAME]")
    return Stage(index, words[0], name, ins.flag("platform"), ins.line, original=ins.original)


__all__ = ["Containerfile", "Heredoc", "Instruction", "Stage", "parse", "KNOWN"]
