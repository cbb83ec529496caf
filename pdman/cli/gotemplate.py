"""Go `text/template`, the part podman users write in `--format`.

Actions: `{{.Field}}`, `{{.A.B}}`, `{{.}}`, `{{$}}`, pipelines (`{{.Name | upper}}`),
parenthesised calls, string (`{{"\\n"}}`, raw with backquotes), number and bool
literals, variables (`{{$x := .A}}`, `{{range $i, $e := .L}}`), `{{if}}`/`{{else if}}`/
`{{else}}`/`{{end}}`, `{{range}}` (with `{{else}}`), `{{with}}`, trim markers `{{-`/`-}}`
and `{{/* comments */}}`. Functions: podman's (json, upper, lower, title, join, split,
truncate) and Go's (index, len, printf, print, println, eq, ne, lt, le, gt, ge, and,
or, not). An unknown field is an error that names it, as in podman.

Stdlib only, no `re`: it runs on the hot path of `ps --format`.
"""

from __future__ import annotations

from collections.abc import Mapping

from pdman.errors import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class TemplateError(UsageError):
    """A template that cannot be parsed or executed (podman: exit 125)."""


# ---- values as Go prints them ----

def text(value: "Any") -> str:
    """fmt's %v: what `{{.X}}` prints."""
    if value is None:
        return "<no value>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    if isinstance(value, (list, tuple)):
        return "[" + " ".join(text(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "map[" + " ".join(f"{k}:{text(v)}" for k, v in sorted(value.items())) + "]"
    return str(value)


def _plain(value: "Any") -> "Any":
    """A value json can write: objects become their fields."""
    if hasattr(value, "as_dict"):
        return value.as_dict()
    slots = getattr(type(value), "__slots__", None)
    if slots and not isinstance(value, (str, int, float)):
        return {k: getattr(value, k) for k in slots if hasattr(value, k)}
    if hasattr(value, "__dict__"):
        return dict(vars(value))
    return str(value)


def to_json(value: "Any") -> str:
    import json

    # Go's json.Marshal: compact, and <, >, & escaped as in HTML
    out = json.dumps(value, default=_plain, separators=(",", ":"), ensure_ascii=False)
    return out.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def truth(value: "Any") -> bool:
    """Go's `if`: false, 0, nil and empty strings, lists and maps are false."""
    if value is None:
        return False
    if isinstance(value, (bool, int, float)):
        return bool(value)
    if isinstance(value, (str, list, tuple, Mapping)):
        return len(value) > 0
    return True


def field(obj: "Any", name: str) -> "Any":
    """`.Name` on a map or an object; a map's keys also match ignoring case (pdman's
    reports mix podman's and docker's spellings)."""
    if isinstance(obj, Mapping):
        if name in obj:
            return obj[name]
        lowered = name.lower()
        for k, v in obj.items():
            if str(k).lower() == lowered:
                return v
    elif obj is not None and not isinstance(obj, (str, int, float, list, tuple)):
        # Python's own attributes (`.__class__`, `._private`) are no template fields
        if not name.startswith("_") and hasattr(obj, name):
            return getattr(obj, name)
    raise TemplateError(f"template: can't evaluate field {name}",
                        hint="see `--format json` for the field names")


# ---- functions ----

def _printf(fmt: str, *args: "Any") -> str:
    """Go's fmt.Sprintf for the verbs templates use: %s %v %d %q %f %x %t %%."""
    out: list[str] = []
    i = n = 0
    while i < len(fmt):
        c = fmt[i]
        if c != "%":
            out.append(c)
            i += 1
            continue
        j = i + 1
        while j < len(fmt) and fmt[j] in "-+ #0123456789.":
            j += 1
        if j >= len(fmt):
            out.append(fmt[i:])
            break
        flags, verb = fmt[i + 1:j], fmt[j]
        i = j + 1
        if verb == "%":
            out.append("%")
            continue
        if n >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        arg = args[n]
        n += 1
        if verb in "vs":
            out.append(("%" + flags + "s") % text(arg))
        elif verb == "q":
            out.append(("%" + flags + "s") % to_json(text(arg)))
        elif verb == "t":
            out.append(("%" + flags + "s") % text(bool(arg)))
        elif verb in "dxXofeEgG":
            try:
                out.append(("%" + flags + verb) % (int(arg) if verb in "dxXo" else float(arg)))
            except (TypeError, ValueError):
                out.append(f"%!{verb}({text(arg)})")
        else:
            out.append(f"%!{verb}({text(arg)})")
    return "".join(out)


def _index(container: "Any", *keys: "Any") -> "Any":
    for key in keys:
        if isinstance(container, Mapping):
            container = container.get(key, "")
        elif isinstance(container, (list, tuple, str)):
            try:
                container = container[int(key)]
            except (IndexError, ValueError) as exc:
                raise TemplateError(f"template: error calling index: {exc}") from None
        else:
            raise TemplateError(f"template: can't index item of type {type(container).__name__}")
    return container


def _len(value: "Any") -> int:
    try:
        return len(value)
    except TypeError:
        raise TemplateError(f"template: error calling len: can't compute the length of "
                            f"{text(value)}") from None


def _cmp(op: str) -> "Any":
    def compare(a: "Any", *bs: "Any") -> bool:
        if op == "eq":
            return any(a == b for b in bs)
        b = bs[0]
        try:
            return {"ne": a != b, "lt": a < b, "le": a <= b, "gt": a > b, "ge": a >= b}[op]
        except TypeError:
            raise TemplateError(f"template: error calling {op}: incompatible types") from None
    return compare


def _and(*args: "Any") -> "Any":
    for a in args:
        if not truth(a):
            return a
    return args[-1]


def _or(*args: "Any") -> "Any":
    for a in args:
        if truth(a):
            return a
    return args[-1]


def _join(items: "Any", sep: str) -> str:
    if isinstance(items, str):
        return items
    if isinstance(items, Mapping):
        items = [f"{k}={v}" for k, v in items.items()]
    return sep.join(text(v) for v in items or [])


FUNCS: "dict[str, Any]" = {
    "json": to_json,
    "upper": lambda s: text(s).upper(),
    "lower": lambda s: text(s).lower(),
    "title": lambda s: text(s).title(),
    "join": _join,
    "split": lambda s, sep: text(s).split(sep),
    "truncate": lambda s, n: text(s)[: int(n)],
    "index": _index,
    "len": _len,
    "printf": _printf,
    "print": lambda *a: "".join(text(v) for v in a),
    "println": lambda *a: " ".join(text(v) for v in a) + "\n",
    "eq": _cmp("eq"), "ne": _cmp("ne"), "lt": _cmp("lt"), "le": _cmp("le"),
    "gt": _cmp("gt"), "ge": _cmp("ge"),
    "and": _and, "or": _or, "not": lambda a: not truth(a),
}


# ---- lexing an action ----

def _tokens(src: str) -> list[str]:
    """Split an action's inside into tokens: strings, `(`, `)`, `|`, `:=`, `=`, `,`, words."""
    out: list[str] = []
    i = 0
    while i < len(src):
        c = src[i]
        if c.isspace():
            i += 1
        elif c in "()|,":
            out.append(c)
            i += 1
        elif src.startswith(":=", i):
            out.append(":=")
            i += 2
        elif c == "=":
            out.append("=")
            i += 1
        elif c == '"':
            j = i + 1
            while j < len(src) and src[j] != '"':
                j += 2 if src[j] == "\\" else 1
            if j >= len(src):
                raise TemplateError("template: unterminated quoted string")
            out.append(src[i:j + 1])
            i = j + 1
        elif c == "`":
            j = src.find("`", i + 1)
            if j < 0:
                raise TemplateError("template: unterminated raw quoted string")
            out.append(src[i:j + 1])
            i = j + 1
        else:
            j = i
            while j < len(src) and not src[j].isspace() and src[j] not in "()|,=\"`":
                j += 1
            out.append(src[i:j])
            i = j
    return out


def _string(tok: str) -> str:
    if tok[0] == "`":
        return tok[1:-1]
    import json

    try:
        return str(json.loads(tok))
    except ValueError:
        raise TemplateError(f"template: bad string {tok}") from None


# ---- parsing: a tree of nodes ----
# ("text", str) | ("action", pipe) | ("if", [(pipe, body)...], else_body)
# | ("range", vars, pipe, body, else_body) | ("with", pipe, body, else_body)
# pipe = (declared_vars, [command...]); command = [operand...]
# operand = ("field", base, [names]) | ("lit", value) | ("func", name) | ("pipe", pipe)
#           | ("var", name, [names])

def _split_actions(src: str) -> list[tuple[str, str]]:
    """[("text", ...) | ("action", inside)], with `{{-`/`-}}` trimming applied."""
    parts: list[tuple[str, str]] = []
    i = 0
    while True:
        j = src.find("{{", i)
        if j < 0:
            parts.append(("text", src[i:]))
            break
        parts.append(("text", src[i:j]))
        k = src.find("}}", j + 2)
        if k < 0:
            raise TemplateError("template: unclosed action")
        inside = src[j + 2:k]
        if inside.startswith("- ") or inside == "-":
            parts[-1] = ("text", parts[-1][1].rstrip())
            inside = inside[1:]
        trim_right = inside.endswith(" -")
        if trim_right:
            inside = inside[:-1]
        parts.append(("action", inside.strip()))
        i = k + 2
        if trim_right:
            while i < len(src) and src[i].isspace():
                i += 1
    return [p for p in parts if p != ("text", "")]


class _Parser:
    def __init__(self, src: str) -> None:
        # a typed `\t` or `\n` (the shell keeps the backslash) in the text is a tab or a
        # newline, as podman reads it; inside actions Go's string literals handle them
        self.parts = [(k, v.replace("\\t", "\t").replace("\\n", "\n")) if k == "text" else (k, v)
                      for k, v in _split_actions(src)]
        self.pos = 0

    def parse(self) -> list["Any"]:
        body, end = self._list()
        if end is not None:
            raise TemplateError(f"template: unexpected {{{{{end}}}}}")
        return body

    def _list(self) -> "tuple[list[Any], str | None]":
        """Nodes up to an `end`/`else` (returned as the second item) or the end."""
        nodes: list[Any] = []
        while self.pos < len(self.parts):
            kind, value = self.parts[self.pos]
            self.pos += 1
            if kind == "text":
                nodes.append(("text", value))
                continue
            if value.startswith("/*"):
                continue
            word = value.split(None, 1)[0] if value else ""
            rest = value[len(word):].strip()
            if word in ("end", "else"):
                return nodes, value
            if word == "if":
                nodes.append(self._if(rest))
            elif word in ("range", "with"):
                pipe = self._pipe(rest)
                body, end = self._list()
                other: list[Any] = []
                if end is not None and end.startswith("else"):
                    if end != "else":
                        raise TemplateError(f"template: unexpected {{{{{end}}}}} in {word}")
                    other, end = self._list()
                if end != "end":
                    raise TemplateError(f"template: unexpected EOF: {{{{{word}}}}} has no {{{{end}}}}")
                nodes.append((word, pipe, body, other))
            elif word in ("define", "template", "block"):
                raise TemplateError(f"template: {{{{{word}}}}} is not supported")
            else:
                nodes.append(("action", self._pipe(value)))
        return nodes, None

    def _if(self, cond: str) -> "Any":
        branches = []
        else_body: list[Any] = []
        while True:
            pipe = self._pipe(cond)
            body, end = self._list()
            branches.append((pipe, body))
            if end is None:
                raise TemplateError("template: unexpected EOF: {{if}} has no {{end}}")
            if end == "end":
                break
            if end == "else":
                else_body, end = self._list()
                if end != "end":
                    raise TemplateError("template: unexpected EOF: {{if}} has no {{end}}")
                break
            if end.startswith("else if "):
                cond = end[len("else if "):]
                continue
            raise TemplateError(f"template: unexpected {{{{{end}}}}}")
        return ("if", branches, else_body)

    def _pipe(self, src: str) -> "Any":
        if not src:
            raise TemplateError("template: missing value for command")
        toks = _tokens(src)
        pipe, rest = _parse_pipe(toks)
        if rest:
            raise TemplateError(f"template: unexpected {rest[0]!r} in {src!r}")
        return pipe


def _parse_pipe(toks: list[str]) -> "tuple[Any, list[str]]":
    declared: list[str] = []
    # `$x := ...` or `$i, $e := ...`
    if toks and toks[0].startswith("$"):
        k = 0
        names = []
        while k < len(toks) and toks[k].startswith("$"):
            names.append(toks[k])
            k += 1
            if k < len(toks) and toks[k] == ",":
                k += 1
                continue
            break
        if k < len(toks) and toks[k] in (":=", "="):
            declared = names
            toks = toks[k + 1:]
    commands: list[list[Any]] = []
    current: list[Any] = []
    while toks:
        t = toks[0]
        if t == ")":
            break
        toks = toks[1:]
        if t == "|":
            if not current:
                raise TemplateError("template: missing command before |")
            commands.append(current)
            current = []
        elif t == "(":
            inner, toks = _parse_pipe(toks)
            if not toks or toks[0] != ")":
                raise TemplateError("template: unclosed left paren")
            toks = toks[1:]
            current.append(("pipe", inner))
        else:
            current.append(_operand(t))
    if current:
        commands.append(current)
    if not commands:
        raise TemplateError("template: missing value for command")
    return (declared, commands), toks


def _operand(t: str) -> "Any":
    if t[0] in "\"`":
        return ("lit", _string(t))
    if t == ".":
        return ("field", ".", [])
    if t[0] == ".":
        return ("field", ".", t[1:].split("."))
    if t[0] == "$":
        name, _, path = t.partition(".")
        return ("var", name, path.split(".") if path else [])
    if t in ("true", "false"):
        return ("lit", t == "true")
    if t == "nil":
        return ("lit", None)
    if t[0].isdigit() or (t[0] in "-+" and len(t) > 1):
        try:
            return ("lit", int(t, 0))
        except ValueError:
            try:
                return ("lit", float(t))
            except ValueError:
                raise TemplateError(f"template: bad number syntax: {t!r}") from None
    if t in FUNCS:
        return ("func", t)
    raise TemplateError(f'template: function "{t}" not defined',
                        hint="functions: " + ", ".join(sorted(FUNCS)))


# ---- execution ----

class _Exec:
    def __init__(self, root: "Any") -> None:
        self.root = root
        self.vars: list[dict[str, Any]] = [{"$": root}]

    def var(self, name: str) -> "Any":
        for scope in reversed(self.vars):
            if name in scope:
                return scope[name]
        raise TemplateError(f"template: undefined variable: {name}")

    def run(self, nodes: list["Any"], dot: "Any", out: list[str]) -> None:
        for node in nodes:
            kind = node[0]
            if kind == "text":
                out.append(node[1])
            elif kind == "action":
                declared, _ = node[1]
                value = self.pipe(node[1], dot)
                if not declared:
                    out.append(text(value))
            elif kind == "if":
                for pipe, body in node[1]:
                    if truth(self.pipe(pipe, dot)):
                        self.scoped(body, dot, out)
                        break
                else:
                    self.scoped(node[2], dot, out)
            elif kind == "with":
                value = self.pipe(node[1], dot)
                if truth(value):
                    self.scoped(node[2], value, out)
                else:
                    self.scoped(node[3], dot, out)
            elif kind == "range":
                self.range(node, dot, out)

    def scoped(self, body: list["Any"], dot: "Any", out: list[str],
               names: "dict[str, Any] | None" = None) -> None:
        self.vars.append(dict(names or {}))
        try:
            self.run(body, dot, out)
        finally:
            self.vars.pop()

    def range(self, node: "Any", dot: "Any", out: list[str]) -> None:
        _, pipe, body, other = node
        declared = pipe[0]
        value = self.pipe(([], pipe[1]), dot)
        if isinstance(value, Mapping):
            items = [(k, value[k]) for k in sorted(value)]
        elif isinstance(value, (list, tuple)):
            items = list(enumerate(value))
        elif isinstance(value, int) and not isinstance(value, bool):
            items = [(i, i) for i in range(value)]
        elif value is None:
            items = []
        else:
            raise TemplateError(f"template: range can't iterate over {text(value)}")
        if not items:
            self.scoped(other, dot, out)
            return
        for key, elem in items:
            names = {}
            if len(declared) == 1:
                names[declared[0]] = elem
            elif len(declared) == 2:
                names[declared[0]], names[declared[1]] = key, elem
            self.scoped(body, elem, out, names)

    def pipe(self, pipe: "Any", dot: "Any") -> "Any":
        declared, commands = pipe
        value: Any = None
        for n, command in enumerate(commands):
            value = self.command(command, dot, [value] if n else [])
        if declared:
            self.vars[-1][declared[-1]] = value
        return value

    def command(self, command: list["Any"], dot: "Any", piped: list["Any"]) -> "Any":
        head = command[0]
        if head[0] == "func":
            args = [self.operand(op, dot) for op in command[1:]] + piped
            try:
                return FUNCS[head[1]](*args)
            except TypeError:
                raise TemplateError(f"template: wrong number of args for {head[1]}") from None
        if len(command) > 1 or piped:
            raise TemplateError(f"template: can't give argument to non-function {_name(head)}")
        return self.operand(head, dot)

    def operand(self, op: "Any", dot: "Any") -> "Any":
        kind = op[0]
        if kind == "lit":
            return op[1]
        if kind == "pipe":
            return self.pipe(op[1], dot)
        if kind == "func":
            try:
                return FUNCS[op[1]]()
            except TypeError:  # a function that needs arguments, used as a value
                raise TemplateError(f"template: wrong number of args for {op[1]}") from None
        obj = dot if kind == "field" else self.var(op[1])
        for name in op[2]:
            obj = field(obj, name)
        return obj


def _name(op: "Any") -> str:
    if op[0] == "field":
        return "." + ".".join(op[2])
    if op[0] == "var":
        return op[1]
    return text(op[1]) if op[0] == "lit" else op[0]


class Template:
    """A parsed template; `render(obj)` executes it with `obj` as dot."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.tree = _Parser(source).parse()

    def render(self, obj: "Any") -> str:
        out: list[str] = []
        _Exec(obj).run(self.tree, obj, out)
        return "".join(out)

    def header(self, names: "Mapping[str, str] | None" = None) -> str:
        """A `table` template's header line: its text, with each top-level action
        replaced by its field's column name (`names`, else the field's name in capitals,
        `CreatedAt` as `CREATED AT`)."""
        out = []
        for node in self.tree:
            if node[0] == "text":
                out.append(node[1])
            elif node[0] == "action" and not node[1][0]:
                last = ""
                for command in node[1][1]:
                    for op in command:
                        if op[0] in ("field", "var") and op[2]:
                            last = op[2][-1]
                out.append((names or {}).get(last) or _column(last))
        return "".join(out)


def _column(name: str) -> str:
    if not name:
        return "VALUE"
    words = []
    for i, c in enumerate(name):
        if i and c.isupper() and not name[i - 1].isupper():
            words.append(" ")
        words.append(c.upper())
    return "".join(words)
