"""Variable expansion and word splitting the way docker's builder does it.

`$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:+alt}`, `${VAR+alt}`
and `${VAR:?message}`; single quotes keep text literal, double quotes keep spaces
together but expand; the escape character (`\\` or the `# escape=` one) escapes the
next character. Quotes are removed from the result, as docker does for ENV, LABEL,
COPY, WORKDIR, ... (RUN, CMD and ENTRYPOINT are not expanded by the builder: the
shell of the container does it).
"""

from __future__ import annotations

from pdman.errors import BuildFileError


class _Lexer:
    def __init__(self, text: str, env: dict[str, str], escape: str, quotes: bool = True) -> None:
        self.s = text
        self.i = 0
        self.env = env
        self.escape = escape
        self.quotes = quotes        # False: quotes are plain text (a heredoc's body)

    def peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ""

    def take(self) -> str:
        c = self.peek()
        self.i += 1
        return c

    def words(self, split: bool) -> list[str]:
        out: list[str] = []
        cur: list[str] = []
        started = False
        while self.i < len(self.s):
            c = self.take()
            if split and c in " \t\n":
                if started:
                    out.append("".join(cur))
                    cur, started = [], False
                continue
            started = True
            if not self.quotes and c in "'\"":
                cur.append(c)
            elif not self.quotes and c == self.escape:
                # in a heredoc only `\$` is an escape: other text stays as written
                cur.append(self.take() if self.peek() == "$" else c)
            elif c == "'":
                end = self.s.find("'", self.i)
                if end < 0:
                    raise BuildFileError(f"unterminated single quote in {self.s!r}",
                                         hint="close the quote")
                cur.append(self.s[self.i:end])
                self.i = end + 1
            elif c == '"':
                cur.append(self.double())
            elif c == self.escape:
                nxt = self.take()
                cur.append(nxt)
            elif c == "$":
                cur.append(self.variable())
            else:
                cur.append(c)
        if started or not split:
            out.append("".join(cur))
        return out

    def double(self) -> str:
        cur: list[str] = []
        while True:
            if self.i >= len(self.s):
                raise BuildFileError(f"unterminated double quote in {self.s!r}",
                                     hint="close the quote")
            c = self.take()
            if c == '"':
                return "".join(cur)
            if c == self.escape and self.peek() in ('"', "$", self.escape):
                cur.append(self.take())
            elif c == "$":
                cur.append(self.variable())
            else:
                cur.append(c)

    def name(self) -> str:
        start = self.i
        while self.peek() and (self.peek().isalnum() or self.peek() == "_"):
            self.i += 1
        return self.s[start:self.i]

    def variable(self) -> str:
        if self.peek() == "{":
            self.take()
            name = self.name()
            if not name:
                raise BuildFileError(f"bad substitution in {self.s!r}", hint="use ${NAME}")
            op = ""
            if self.peek() == ":":
                op = self.take()
            if self.peek() in ("-", "+", "?"):
                op += self.take()
            elif op:
                raise BuildFileError(f"unsupported modifier in {self.s!r}",
                                     hint="use ${NAME:-default} or ${NAME:+alternative}")
            word = self.until_brace() if op else ""
            if not op and self.take() != "}":
                raise BuildFileError(f"missing }} in {self.s!r}", hint="use ${NAME}")
            value = self.env.get(name)
            colon = op.startswith(":")
            unset = value is None or (colon and value == "")
            kind = op[-1:] if op else ""
            if kind == "-":
                return word if unset else str(value)
            if kind == "+":
                return "" if unset else word
            if kind == "?":
                if unset:
                    raise BuildFileError(f"{name}: {word or 'is not set'}",
                                         hint=f"give --build-arg {name}=VALUE")
                return str(value)
            return value or ""
        name = self.name()
        if not name:
            return "$"
        return self.env.get(name, "")

    def until_brace(self) -> str:
        """The word of a modifier: itself expanded, up to the matching `}`."""
        cur: list[str] = []
        while True:
            if self.i >= len(self.s):
                raise BuildFileError(f"missing }} in {self.s!r}", hint="close the ${...}")
            c = self.take()
            if c == "}":
                return "".join(cur)
            if c == "$":
                cur.append(self.variable())
            elif c == self.escape:
                cur.append(self.take())
            elif c == "'":
                end = self.s.find("'", self.i)
                end = len(self.s) if end < 0 else end
                cur.append(self.s[self.i:end])
                self.i = end + 1
            elif c == '"':
                cur.append(self.double())
            else:
                cur.append(c)


def expand_word(text: str, env: dict[str, str], escape: str = "\\") -> str:
    """One word: variables expanded, quotes removed, whitespace kept."""
    return _Lexer(text, env, escape).words(split=False)[0]


def expand_heredoc(text: str, env: dict[str, str], escape: str = "\\") -> str:
    """A heredoc body with an unquoted terminator: variables expanded, quotes and
    everything else kept as written."""
    return _Lexer(text, env, escape, quotes=False).words(split=False)[0]


def expand_words(text: str, env: dict[str, str], escape: str = "\\") -> list[str]:
    """Whitespace-separated words, each expanded (quoted spaces stay in their word)."""
    return _Lexer(text, env, escape).words(split=True)


def key_values(text: str, env: dict[str, str], what: str,
               escape: str = "\\") -> list[tuple[str, str]]:
    """ENV/LABEL/ARG pairs: `K=V K2="v 2"`, or the old one-pair form `K V`."""
    words = expand_words(text, env, escape)
    if not words:
        return []
    if "=" not in words[0]:
        key, _, rest = text.strip().partition(" ")
        if what == "ARG":
            return [(key, "")] if not rest.strip() else [(key, expand_word(rest.strip(), env, escape))]
        if not rest.strip():
            raise BuildFileError(f"{what} {key} needs a value", hint=f"write {what} {key}=VALUE")
        return [(expand_word(key, env, escape), expand_word(rest.strip(), env, escape))]
    pairs = []
    for w in words:
        key, eq, value = w.partition("=")
        if not eq or not key:
            raise BuildFileError(f"{what}: {w!r} is not KEY=VALUE", hint=f"write {what} KEY=VALUE")
        pairs.append((key, value))
    return pairs


__all__ = ["expand_heredoc", "expand_word", "expand_words", "key_values"]
