"""systemd unit files: parse (keeping each entry's line, for errors that name it), edit,
write; and systemd's command-line word rules (quoting, `Exec=` values).

The syntax is systemd.syntax(7)'s: `[Section]` headers, `Key=Value` entries (blanks
around `=` dropped, repeated keys kept in order), `#`/`;` comment lines, and a
trailing backslash continuing an entry on the next line (joined with a space).
Stdlib only: the generator runs at every boot and `daemon-reload`.
"""

from __future__ import annotations

from pdman.errors import UnitFileError


class Entry:
    __slots__ = ("key", "value", "line")

    def __init__(self, key: str, value: str, line: int) -> None:
        self.key = key
        self.value = value
        self.line = line


class UnitFile:
    """A unit file as an ordered list of sections, each an ordered list of entries."""

    def __init__(self, path: str = "") -> None:
        self.path = path
        self.sections: dict[str, list[Entry]] = {}

    # -- reading ------------------------------------------------------------------

    @classmethod
    def parse(cls, text: str, path: str = "") -> "UnitFile":
        unit = cls(path)
        section = ""
        pending = ""
        pending_line = 0
        for number, raw in enumerate(text.splitlines(), 1):
            line = raw.strip()
            if pending:
                if line.startswith(("#", ";")):
                    continue            # comments inside a continuation are skipped
                if line.endswith("\\"):
                    pending += " " + line[:-1].rstrip()
                    continue
                unit._add(section, pending + " " + line, pending_line)
                pending = ""
                continue
            if not line or line.startswith(("#", ";")):
                continue
            if line.startswith("["):
                if not line.endswith("]") or len(line) < 3:
                    raise UnitFileError(f"{path}:{number}: invalid section header {line!r}")
                section = line[1:-1]
                unit.sections.setdefault(section, [])
                continue
            if not section:
                raise UnitFileError(f"{path}:{number}: {line!r} is outside any [Section]")
            if line.endswith("\\"):
                pending, pending_line = line[:-1].rstrip(), number
                continue
            unit._add(section, line, number)
        if pending:
            unit._add(section, pending, pending_line)
        return unit

    def _add(self, section: str, line: str, number: int) -> None:
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise UnitFileError(f"{self.path}:{number}: expected KEY=VALUE, got {line!r}")
        self.sections[section].append(Entry(key.strip(), value.strip(), number))

    def entries(self, section: str) -> list[Entry]:
        return self.sections.get(section, [])

    def all(self, section: str, key: str) -> list[Entry]:
        """Every value of `key`, in order; an empty assignment resets the list (systemd's
        rule for list settings)."""
        out: list[Entry] = []
        for e in self.entries(section):
            if e.key == key:
                if e.value == "":
                    out = []
                else:
                    out.append(e)
        return out

    def last(self, section: str, key: str) -> Entry | None:
        found = None
        for e in self.entries(section):
            if e.key == key:
                found = e
        return found

    def has(self, section: str) -> bool:
        return section in self.sections

    # -- writing ------------------------------------------------------------------

    def add(self, section: str, key: str, value: str) -> None:
        self.sections.setdefault(section, []).append(Entry(key, value, 0))

    def set(self, section: str, key: str, value: str) -> None:
        """Replace every `key` entry of `section` by one."""
        entries = self.sections.setdefault(section, [])
        entries[:] = [e for e in entries if e.key != key]
        entries.append(Entry(key, value, 0))

    def setdefault(self, section: str, key: str, value: str) -> None:
        """Set `key` unless the user's file already sets it (a user's `Type=` wins)."""
        if self.last(section, key) is None:
            self.add(section, key, value)

    def remove_section(self, section: str) -> None:
        self.sections.pop(section, None)

    def text(self) -> str:
        parts = []
        for section, entries in self.sections.items():
            lines = [f"[{section}]"] + [f"{e.key}={e.value}" for e in entries]
            parts.append("\n".join(lines) + "\n")
        return "\n".join(parts)


# -- command lines -----------------------------------------------------------------

_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'", " ": " ", "s": " "}


def split_words(value: str, where: str = "") -> list[str]:
    """Split a value into words the way systemd splits command lines and list settings
    (`Environment="A=b c" D=e`): blanks separate, single or double quotes group, a
    backslash escapes. An unterminated quote is an error naming `where`."""
    words: list[str] = []
    i, n = 0, len(value)
    while i < n:
        while i < n and value[i] in " \t":
            i += 1
        if i >= n:
            break
        word: list[str] = []
        quote = ""
        while i < n:
            c = value[i]
            if quote:
                if c == quote:
                    quote = ""
                elif c == "\\" and i + 1 < n:
                    i += 1
                    word.append(_ESCAPES.get(value[i], value[i]))
                else:
                    word.append(c)
            elif c in "\"'":
                quote = c
            elif c == "\\" and i + 1 < n:
                i += 1
                word.append(_ESCAPES.get(value[i], value[i]))
            elif c in " \t":
                break
            else:
                word.append(c)
            i += 1
        if quote:
            raise UnitFileError(f"{where}: unterminated quote in {value!r}")
        words.append("".join(word))
    return words


def _safe(c: str) -> bool:
    return c.isalnum() or c in "-_./:=,+@%"


def quote_word(word: str) -> str:
    """One word for an `ExecStart=` line: as it is when systemd would read it back
    unchanged, else double-quoted with `\\`, `"` and newlines escaped. `%` is left as it
    is: the specifiers (%t, %N, %n) are meant for systemd."""
    if word and all(_safe(c) for c in word):
        return word
    escaped = word.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def join_words(words: list[str]) -> str:
    return " ".join(quote_word(w) for w in words)


def parse_bool(entry: Entry, path: str) -> bool:
    low = entry.value.lower()
    if low in ("1", "yes", "y", "true", "t", "on"):
        return True
    if low in ("0", "no", "n", "false", "f", "off"):
        return False
    raise UnitFileError(f"{path}:{entry.line}: {entry.key}={entry.value}: not a boolean",
                        hint="use true or false")


__all__ = ["Entry", "UnitFile", "join_words", "parse_bool", "quote_word", "split_words"]
