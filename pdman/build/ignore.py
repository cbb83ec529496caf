""".containerignore / .dockerignore with docker's rules.

Each line is a pattern on paths relative to the context root (a leading `/` and `./`
are dropped, the path is cleaned); `*` and `?` do not cross `/`, `**` matches any
number of directories, `[...]` is a character class; a pattern that matches a
directory excludes everything below it; `!PATTERN` re-includes what matches, and
the LAST matching line decides. Lines starting with `#` are comments.
"""

from __future__ import annotations

import posixpath
import re


def _clean(pattern: str) -> str:
    p = posixpath.normpath(pattern.strip().lstrip("/"))
    return "" if p == "." else p


def _regex(pattern: str) -> re.Pattern[str]:
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            if pattern.startswith("**", i):
                i += 2
                if pattern.startswith("/", i):          # `**/`: zero or more directories
                    out.append("(?:.*/)?")
                    i += 1
                else:
                    out.append(".*")
                continue
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1:end]
                if body.startswith("^"):
                    body = "!" + body[1:]
                body = ("^" + body[1:]) if body.startswith("!") else body
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = end
        elif c == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("^" + "".join(out) + "$")


class IgnoreRules:
    def __init__(self, lines: list[str]) -> None:
        self.rules: list[tuple[bool, re.Pattern[str]]] = []
        for raw in lines:
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            exception = line.startswith("!")
            if exception:
                line = line[1:].strip()
            pattern = _clean(line)
            if pattern:
                self.rules.append((exception, _regex(pattern)))

    @classmethod
    def from_text(cls, text: str) -> "IgnoreRules":
        return cls(text.splitlines())

    def excluded(self, rel: str) -> bool:
        """Whether the context path `rel` (relative, `/`-separated) is left out."""
        rel = _clean(rel)
        if not rel:
            return False
        parts = rel.split("/")
        prefixes = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
        result = False
        for exception, rx in self.rules:
            # a pattern that matches a parent directory matches its contents too
            if any(rx.match(p) for p in prefixes):
                result = not exception
        return result

    def __bool__(self) -> bool:
        return bool(self.rules)


__all__ = ["IgnoreRules"]
