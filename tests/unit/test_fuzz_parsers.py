"""Property-based fuzzing of every parser that takes outside input (issue #12, class 9).

The one property, for each parser: it returns a result or raises a `PdmanError`
(which the CLI shows as a clean one-line error) — never any other exception, which
would reach the user as a traceback. Inputs are half structure, half noise: shapes
close to the real format (so that the parser gets past its first check) with hostile
values in every field.

Bounded for CI: derandomized (the same examples every run, no example database),
no per-example deadline, example counts tuned so the whole file takes about 25 s of
CPU (well under a minute on two idle cores).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from hypothesis import HealthCheck, given, settings, strategies as st

from pdman.errors import PdmanError
from pdman.image import auth, config as image_config, manifest, reference, registries_conf
from pdman.image.registry import parse_challenge
from pdman.cli import output
from pdman.engine import runopts
from pdman.engine.image_transfer import apply_changes
from pdman.runtime import users
from pdman.storage.tarstream import LayerStream, Limits
from pdman.storage.unpack import unpack_layer

T = TypeVar("T")


def fuzz(examples: int) -> Callable[[T], T]:
    return settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])


def clean(fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
    """Call the parser; a PdmanError is a clean answer, anything else fails the test."""
    try:
        return fn(*args, **kw)
    except PdmanError as exc:
        assert exc.message, f"{type(exc).__name__} without a message"
        return None


@contextmanager
def scratch() -> Iterator[Path]:
    # hypothesis runs one test function many times: a fresh directory per example
    path = Path(tempfile.mkdtemp(prefix="pdman-fuzz-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


DIGEST = "sha256:" + "ab" * 32
digests = st.one_of(st.just(DIGEST), st.just("sha512:" + "c" * 128), st.text(max_size=80),
                    st.integers(), st.none(), st.just("sha256:" + "A" * 64))
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(),
                    st.text(max_size=40), st.just(10 ** 400), st.just(-1), st.just("\0"))


def json_like(keys: list[str]) -> st.SearchStrategy[Any]:
    """Nested JSON values whose object keys are mostly the format's own."""
    key = st.one_of(st.sampled_from(keys), st.text(max_size=10)) if keys else st.text(max_size=10)
    return st.recursive(scalars, lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(key, inner, max_size=6)), max_leaves=25)


def raw_json(value: Any) -> bytes:
    try:
        return json.dumps(value, allow_nan=True).encode()
    except (ValueError, OverflowError):
        return b"{}"


hostile_json = st.one_of(
    st.binary(max_size=200),
    st.sampled_from([b"[" * 100_000, b'{"a":' * 50_000, b"\xff\xfe{}", b"1e99999",
                     b'{"mediaType": NaN}', b"null", b'"x"', b"[]"]),
)


# -- image references ------------------------------------------------------------------

ref_text = st.one_of(
    st.text(max_size=300),
    st.text(alphabet="abcXYZ019.:/@_-[]%\u00b2\u0660 ", max_size=80),
    st.builds(lambda a, b, c: f"{a}/{b}:{c}", st.text("a.b:5", max_size=20),
              st.text("ab_-./", max_size=300), st.text("a1._-\u00e9", max_size=200)),
    st.builds(lambda n, d: f"{n}@{d}", st.text("ab/", min_size=1, max_size=10), digests.map(str)),
)


@fuzz(400)
@given(ref_text)
def test_image_references(text: str) -> None:
    ref = clean(reference.parse, text)
    if ref is not None:
        assert clean(reference.parse, str(ref)) is not None  # what it prints parses again
    clean(reference.normalize, text)
    reference.looks_like_id(text)


# -- manifests, indexes, configs ---------------------------------------------------------

MANIFEST_KEYS = ["schemaVersion", "mediaType", "config", "layers", "manifests", "digest",
                 "size", "urls", "annotations", "platform", "os", "architecture", "variant"]
descriptor = st.fixed_dictionaries(
    {"mediaType": st.one_of(st.sampled_from(list(manifest.LAYER_COMPRESSION)), scalars),
     "digest": digests, "size": scalars},
    optional={"urls": json_like([]), "annotations": json_like(["k"]),
              "platform": json_like(["os", "architecture", "variant"])})
manifest_doc = st.one_of(
    json_like(MANIFEST_KEYS),
    st.fixed_dictionaries({"schemaVersion": scalars,
                           "mediaType": st.sampled_from(manifest.ACCEPT + ("", "x")),
                           "config": st.one_of(descriptor, scalars),
                           "layers": st.one_of(st.lists(st.one_of(descriptor, scalars),
                                                        max_size=3), scalars)},
                          optional={"manifests": st.lists(descriptor, max_size=3),
                                    "annotations": json_like(["k"])}),
)


@fuzz(300)
@given(st.one_of(manifest_doc.map(raw_json), hostile_json),
       st.sampled_from(list(manifest.ACCEPT) + ["", "text/html", manifest.DOCKER_SCHEMA1]))
def test_manifests_and_indexes(raw: bytes, content_type: str) -> None:
    doc = clean(manifest.parse, raw, content_type, "docker://r/x:1")
    if isinstance(doc, manifest.Manifest):
        for layer in doc.layers:
            clean(manifest.layer_compression, layer, "docker://r/x:1")
    if isinstance(doc, manifest.Index):
        clean(manifest.choose, doc, manifest.host_platform(), "docker://r/x:1")


CONFIG_KEYS = ["rootfs", "diff_ids", "type", "config", "Env", "Cmd", "Entrypoint", "User",
               "WorkingDir", "Labels", "ExposedPorts", "Volumes", "StopSignal", "os",
               "architecture", "history", "created"]
config_doc = st.one_of(
    json_like(CONFIG_KEYS),
    st.fixed_dictionaries(
        {"rootfs": st.one_of(st.fixed_dictionaries({"diff_ids": st.lists(digests, max_size=3)}),
                             scalars)},
        optional={"config": st.one_of(json_like(CONFIG_KEYS), st.fixed_dictionaries(
            {k: json_like([]) for k in ("Env", "Cmd", "User", "Labels", "ExposedPorts")})),
            "os": scalars, "architecture": scalars, "history": json_like([])}),
)


@fuzz(300)
@given(st.one_of(config_doc.map(raw_json), hostile_json))
def test_image_configs(raw: bytes) -> None:
    cfg = clean(image_config.parse, raw, "the config of r/x:1")
    if cfg is None:
        return
    # what `run` reads from a config it accepted must have the types it expects
    icfg = cfg.get("config") or {}
    runopts.merge_env(list(icfg.get("Env") or []), {})
    list(icfg.get("Entrypoint") or []) + list(icfg.get("Cmd") or [])
    sorted((icfg.get("ExposedPorts") or {}).keys())
    dict(icfg.get("Labels") or {})
    str(icfg.get("User") or "0").partition(":")


# -- tar headers -------------------------------------------------------------------------

def _octal(width: int) -> st.SearchStrategy[bytes]:
    """A numeric tar field: octal (sane or huge), base-256, negative or garbage."""
    return st.one_of(
        st.integers(0, 8 ** (width - 1) - 1).map(lambda n: b"%0*o\0" % (width - 1, n)),
        st.integers(-(2 ** 70), 2 ** 70).map(
            lambda n: (b"\x80" if n >= 0 else b"\xff") + abs(n).to_bytes(width - 1, "big",
                                                                           signed=False)
            if abs(n) < 256 ** (width - 1) else b"\x80" * width),
        st.binary(min_size=width, max_size=width),
        st.just(b"-1".ljust(width, b"\0")), st.just(b" " * width),
    )


names = st.one_of(st.sampled_from(["a", "d/", "d/f", "./x", "../x", "/etc/passwd", ".wh.a",
                                   "d/.wh..wh..opq", ".wh..wh.plnk", "s/x", "a/" * 60 + "z"]),
                  st.text(max_size=120))
TYPES = b"0123456 7gxLKSDMNVA\0"


@st.composite
def tar_headers(draw: st.DrawFn) -> bytes:
    """One 512-byte header, field by field, with a right or wrong checksum."""
    name = draw(names).encode("utf-8", "surrogateescape")[:100]
    kind = draw(st.sampled_from(sorted(set(TYPES)))).to_bytes(1, "big")
    link = draw(st.sampled_from(["a", "d", "/", "..", "../../etc", "s", ""]) | st.text(max_size=30))
    fields = [name.ljust(100, b"\0"), draw(_octal(8)), draw(_octal(8)), draw(_octal(8)),
              draw(st.one_of(_octal(12), st.sampled_from([b"%011o\0" % n for n in (0, 3, 700)]))),
              draw(_octal(12)), b" " * 8, kind,
              link.encode("utf-8", "surrogateescape")[:100].ljust(100, b"\0"),
              draw(st.sampled_from([b"ustar\x0000", b"ustar  \0", b"\0" * 8])),
              b"\0" * 32, b"\0" * 32, draw(_octal(8)), draw(_octal(8)),
              draw(st.binary(max_size=155)).ljust(155, b"\0"), b"\0" * 12]
    block = bytearray(b"".join(fields))
    assert len(block) == 512
    if draw(st.booleans()):
        block[148:156] = b"%06o\0 " % (sum(block) & 0o777777)
    else:
        block[148:156] = draw(st.binary(min_size=8, max_size=8))
    return bytes(block)


PAX_KEYS = ["path", "linkpath", "size", "mtime", "atime", "uid", "gid", "uname", "gname",
            "SCHILY.xattr.user.x", "SCHILY.xattr.user.overlay.opaque",
            "SCHILY.xattr.security.capability", "GNU.sparse.map", "GNU.sparse.size",
            "GNU.sparse.major", "GNU.sparse.minor", "GNU.sparse.name", "hdrcharset"]
PAX_VALUES = ["1e400", "-1e400", "nan", "inf", "-5", "99999999999999999999999", "1.5",
              "-62135596801", "253402300800", "0,10,20", "", "x" * 5000,
              "a/" * 3000 + "z", "BINARY", "\udcff"]


@st.composite
def pax_records(draw: st.DrawFn) -> bytes:
    out = b""
    for _ in range(draw(st.integers(1, 4))):
        key = draw(st.sampled_from(PAX_KEYS) | st.text(max_size=10))
        value = draw(st.sampled_from(PAX_VALUES) | st.text(max_size=30))
        body = f" {key}={value}\n".encode("utf-8", "surrogateescape")
        length = len(body) + len(str(len(body)))
        length += len(str(length)) - len(str(len(body)))
        if draw(st.integers(0, 9)) == 0:  # a lying length field
            length = draw(st.integers(-5, 10 ** 6))
        out += str(length).encode() + body
    return out


def _pax_block(records: bytes, global_: bool) -> bytes:
    info = tarfile.TarInfo("././@PaxHeader")
    info.type = tarfile.XGLTYPE if global_ else tarfile.XHDTYPE
    info.size = len(records)
    pad = (-len(records)) % 512
    return info.tobuf(tarfile.USTAR_FORMAT) + records + b"\0" * pad


@st.composite
def hostile_tars(draw: st.DrawFn) -> bytes:
    data = b""
    for _ in range(draw(st.integers(1, 4))):
        if draw(st.booleans()):
            data += _pax_block(draw(pax_records()), draw(st.booleans()))
        data += draw(tar_headers())
        data += draw(st.binary(max_size=700))  # the entry's data, too short or too long
    data += draw(st.sampled_from([b"\0" * 1024, b"", b"\0" * 100]))
    if draw(st.integers(0, 4)) == 0:
        data = data[:draw(st.integers(0, len(data)))]
    return data


@fuzz(150)
@given(hostile_tars())
def test_tar_headers(data: bytes) -> None:
    with scratch() as tmp:
        clean(unpack_layer, io.BytesIO(data), str(tmp / "layer"), Limits(max_size=1 << 24),
              threaded=False)


ENTRY_TYPES = [tarfile.REGTYPE, tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE,
               tarfile.FIFOTYPE, tarfile.CHRTYPE, tarfile.CONTTYPE, b"Z"]


@st.composite
def pax_tars(draw: st.DrawFn) -> bytes:
    """Well-formed archives (tarfile writes them) whose PAX records and numbers are
    hostile: the fields a layer can set past the 512-byte header's limits."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for _ in range(draw(st.integers(1, 4))):
            info = tarfile.TarInfo(draw(names))
            info.type = draw(st.sampled_from(ENTRY_TYPES))
            info.linkname = draw(st.sampled_from(["a", "d", "/", "..", "../../etc", "s"]))
            info.mtime = draw(st.one_of(st.integers(-(2 ** 70), 2 ** 70),
                                        st.floats(allow_nan=False, allow_infinity=False)))
            info.mode = draw(st.integers(0, 0o7777))
            info.uid = draw(st.integers(0, 2 ** 40))
            info.gid = draw(st.integers(0, 2 ** 40))
            info.pax_headers = draw(st.dictionaries(
                st.sampled_from(PAX_KEYS), st.sampled_from(PAX_VALUES) | st.text(max_size=12),
                max_size=3))
            data = draw(st.binary(max_size=64)) if info.type == tarfile.REGTYPE else b""
            info.size = len(data)
            try:
                tar.addfile(info, io.BytesIO(data))
            except (ValueError, OverflowError, UnicodeError):
                continue  # tarfile itself refuses to write it
    return buf.getvalue()


@fuzz(200)
@given(pax_tars())
def test_tar_pax_records(data: bytes) -> None:
    with scratch() as tmp:
        clean(unpack_layer, io.BytesIO(data), str(tmp / "layer"), Limits(max_size=1 << 24),
              threaded=False)


@fuzz(60)
@given(st.sampled_from([1000, 3000]), st.booleans())
def test_paths_thousands_deep(depth: int, as_dirs: bool) -> None:
    # one PAX path of `depth` components, or `depth` nested directory entries
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        if as_dirs:
            for i in range(1, depth + 1):
                info = tarfile.TarInfo("d/" * i)
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
        else:
            info = tarfile.TarInfo("d/" * depth + "f")
            tar.addfile(info, io.BytesIO(b""))
    with scratch() as tmp:
        assert clean(unpack_layer, io.BytesIO(buf.getvalue()), str(tmp / "layer"),
                     threaded=False) is None


@fuzz(200)
@given(st.one_of(st.binary(max_size=2000),
                 st.binary(max_size=300).map(lambda b: b"\x1f\x8b\x08\x00" + b),
                 st.binary(max_size=300).map(lambda b: b"\x28\xb5\x2f\xfd" + b)),
       st.booleans())
def test_compressed_garbage(data: bytes, threaded: bool) -> None:
    def drain() -> None:
        stream = LayerStream(io.BytesIO(data), Limits(max_size=1 << 24), threaded)
        try:
            stream.drain()
        finally:
            stream.close()

    clean(drain)
    with scratch() as tmp:
        clean(unpack_layer, io.BytesIO(data), str(tmp / "layer"), threaded=threaded)


# -- registries.conf ---------------------------------------------------------------------

def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v) if v == v and abs(v) != float("inf") else "nan"
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))} = {_toml_value(x)}"
                               for k, x in v.items()) + "}"
    return '""'


CONF_KEYS = ["unqualified-search-registries", "short-name-mode", "aliases", "registry",
             "location", "prefix", "insecure", "blocked", "mirror", "registries", "search",
             "block"]
toml_scalars = st.one_of(st.booleans(), st.integers(-(2 ** 63), 2 ** 63 - 1),
                         st.text(max_size=20), st.sampled_from(["docker.io", "*.example.com",
                                                                "127.0.0.1:5000", ""]))
toml_values = st.recursive(toml_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3),
    st.dictionaries(st.sampled_from(CONF_KEYS), inner, max_size=4)), max_leaves=12)


@st.composite
def registries_confs(draw: st.DrawFn) -> str:
    top = draw(st.dictionaries(st.sampled_from(CONF_KEYS), toml_values, max_size=4))
    text = "".join(f"{json.dumps(k)} = {_toml_value(v)}\n" for k, v in top.items())
    for _ in range(draw(st.integers(0, 2))):
        table = draw(st.dictionaries(st.sampled_from(CONF_KEYS), toml_values, max_size=4))
        text += "[[registry]]\n" + "".join(f"{json.dumps(k)} = {_toml_value(v)}\n"
                                          for k, v in table.items())
    return text


@fuzz(250)
@given(st.one_of(registries_confs(), st.text(max_size=200),
                 st.just("a = " + "[" * 3000 + "]" * 3000)),
       ref_text)
def test_registries_conf(text: str, name: str) -> None:
    conf = clean(registries_conf.parse_text, text, "registries.conf")
    if conf is None:
        return
    ref = clean(reference.parse, name)
    if ref is not None:
        candidates = clean(conf.candidates, ref) or []
        for c in candidates:
            clean(conf.endpoints, c)
            conf.is_insecure(c.domain)


@fuzz(40)
@given(st.binary(max_size=300))
def test_registries_conf_file_bytes(data: bytes) -> None:
    with scratch() as tmp:
        (tmp / "registries.conf").write_bytes(data)
        clean(registries_conf.load, [tmp / "registries.conf"])


# -- --format templates ------------------------------------------------------------------

ITEM = {"ID": "abc", "Names": ["a", "b"], "Labels": {"k": "v"}, "State": {"Pid": 7},
        "Pid": 7, "Ports": None, "Mounts": [], "Size": 1.5}


class Report:
    """Some handlers format objects, not dicts: attributes are fields too."""

    def __init__(self) -> None:
        self.ID = "abc"
        self.Names = ["a"]


WORDS = [".", ".ID", ".Names", ".State.Pid", ".Labels", ".Pid", ".Size", ".Ports", ".Nope",
         ".__class__", "._x", "json", "upper", "lower", "title", "join", "index",
         "truncate", "range", "end", "if", '"', "'", '","', '"k"', "12", "-3", "x", "|",
         "(", ")", "\\"]
actions = st.lists(st.sampled_from(WORDS), max_size=4).map(
    lambda ws: "{{" + " ".join(ws) + "}}")
template_text = st.one_of(
    st.text(max_size=60),
    st.lists(st.one_of(actions, st.sampled_from(["{{", "}}", "{{-", "-}}", "\\t", "\\n",
                                                 " ", "x", "table "])), max_size=5).map("".join),
)


@fuzz(400)
@given(template_text, st.sampled_from([ITEM, Report()]))
def test_format_templates(template: str, item: object) -> None:
    clean(output.render_template, template, item)
    real = output.sys.stdout
    output.sys.stdout = io.StringIO()
    try:
        clean(output.print_formatted, template, [item, {"ID": "x"}])
    finally:
        output.sys.stdout = real


def test_templates_cannot_reach_python_internals() -> None:
    assert clean(output.render_template, "{{.__class__}}", Report()) is None
    assert clean(output.render_template, "{{json .__init__.__globals__}}", Report()) is None


# -- --change instructions (commit, import) ---------------------------------------------

change_text = st.one_of(
    st.text(max_size=60),
    st.builds(lambda i, v: f"{i} {v}",
              st.sampled_from(["CMD", "ENTRYPOINT", "ENV", "LABEL", "EXPOSE", "WORKDIR", "USER",
                               "VOLUME", "ONBUILD", "STOPSIGNAL", "FROM", "env"]),
              st.one_of(st.text(max_size=30), st.sampled_from(
                  ['["a"', '["a", 1]', '[' * 5000, 'A="b', "A b", "A=1 B='2", '{"a": 1}',
                   '["/data"]', "8080/udp 53", "A=\0", '["\\u0000"]', "/\0"]))),
)


@fuzz(300)
@given(st.lists(change_text, max_size=3))
def test_change_instructions(changes: list[str]) -> None:
    config: dict[str, Any] = {"config": {"Env": ["A=1"]}}
    try:
        apply_changes(config, changes)
    except PdmanError as exc:
        assert exc.message
        return
    # what a commit writes, pdman itself reads back
    raw = json.dumps(dict(config, rootfs={"diff_ids": []})).encode()
    assert clean(image_config.parse, raw, "committed") is not None, config


# -- env files ---------------------------------------------------------------------------

env_file = st.one_of(
    st.binary(max_size=400),
    st.lists(st.one_of(st.sampled_from(["A=1", "#c", "", " B = 2", "=x", "K", "X*", "\0=1",
                                        "A\0B=1", "A=\0", "ÄÖ=ü"]), st.text(max_size=30)),
             max_size=8).map(lambda lines: "\n".join(lines).encode("utf-8", "surrogatepass")),
)


@fuzz(300)
@given(env_file, st.lists(st.text(max_size=20), max_size=3))
def test_env_files(data: bytes, pairs: list[str]) -> None:
    with scratch() as tmp:
        path = tmp / "env"
        path.write_bytes(data)
        env = clean(runopts.env_list, pairs, [str(path)], {"K": "v", "X1": "y"})
    if env is not None:
        for key, value in env.items():
            assert "\0" not in key and "\0" not in value
        runopts.merge_env([], env)


# -- passwd / group ----------------------------------------------------------------------

passwd_text = st.one_of(
    st.binary(max_size=400),
    st.lists(st.one_of(
        st.sampled_from(["root:x:0:0:root:/root:/bin/sh", "web:x:33:33::/var/www:/bin/false",
                         "web:x:abc:33::/:", "web:x:33", "web:x:-1:-1::", "web:x:\u00b2:\u00b2::",
                         "web:x:99999999999999999999:1::", "web:x:4294967295:0::",
                         "wheel:x:10:web,root", "wheel:x:zz:web", "web", "::::::", "web:x:1:1:\0:/h",
                         "web:x:1:1::" + "h" * 10000]),
        st.text(max_size=40)), max_size=8).map(lambda ls: "\n".join(ls).encode("utf-8",
                                                                            "surrogatepass")),
)
user_names = st.one_of(st.sampled_from(["root", "web", "0", "33", "nobody", "99999999999",
                                        "\u00b2", "wheel", "1" * 50]), st.text(max_size=12))


@fuzz(300)
@given(passwd_text, passwd_text, user_names, st.one_of(st.just(""), user_names))
def test_passwd_and_group(passwd: bytes, group: bytes, user: str, grp: str) -> None:
    with scratch() as tmp:
        etc = tmp / "layer" / "etc"
        etc.mkdir(parents=True)
        (etc / "passwd").write_bytes(passwd)
        (etc / "group").write_bytes(group)
        spec = clean(runopts.user_spec, f"{user}:{grp}" if grp else user)
        if spec is None:
            return
        who = clean(users.resolve, [str(tmp / "layer")], *spec)
    if who is not None:
        for n in (who.uid, who.gid, *who.additional_gids):
            assert 0 <= n <= users.MAX_ID
        assert "\0" not in who.home


# -- auth.json and WWW-Authenticate ------------------------------------------------------

AUTH_KEYS = ["auths", "127.0.0.1:5000", "docker.io", "https://index.docker.io/v1/", "auth",
             "username", "password", "identitytoken"]
auth_values = st.one_of(st.sampled_from(["dTpw", "dXNlcg==", "!!!", "\u00e9", "", "Og=="]),
                        scalars)
auth_doc = st.one_of(
    json_like(AUTH_KEYS),
    st.fixed_dictionaries({"auths": st.dictionaries(
        st.sampled_from(AUTH_KEYS[1:4]) | st.text(max_size=10),
        st.one_of(st.dictionaries(st.sampled_from(AUTH_KEYS[4:]), auth_values, max_size=3),
                  scalars), max_size=3)}),
)


@fuzz(300)
@given(st.one_of(auth_doc.map(raw_json), hostile_json),
       st.sampled_from(["127.0.0.1:5000", "docker.io", "quay.io"]))
def test_auth_files(raw: bytes, registry: str) -> None:
    with scratch() as tmp:
        path = tmp / "auth.json"
        path.write_bytes(raw)
        clean(auth.lookup, registry, "team/app", str(path))
        clean(auth.remove, registry, str(path))
        path.write_bytes(raw)
        clean(auth.store, registry, auth.Credentials("u", "p"), str(path))


@fuzz(300)
@given(st.one_of(
    st.text(max_size=200),
    st.lists(st.sampled_from(["Bearer ", "Basic ", "realm=", '"', "\\", ",", "service=",
                              "scope=", "https://a/token", " ", "=", "x"]),
             max_size=12).map("".join)))
def test_www_authenticate(header: str) -> None:
    challenge = clean(parse_challenge, header)
    if challenge is not None:
        assert isinstance(challenge.params, dict)


# -- what a registry (or its token server) answers --------------------------------------

TOKEN_BODIES = [b'{"token": "t", "expires_in": 300}', b'{"expires_in": 1e400, "token": "t"}',
                b'{"token": "t", "expires_in": "soon"}', b"[1, 2]", b"[" * 50_000, b"\xff",
                b'{"token": {"a": 1}}', b'{"errors": 5}', b'{"errors": [1, "x", {"code": 2}]}',
                b'{"errors": "x"}', b""]
CHALLENGES = ['Bearer realm="http://127.0.0.1:1/token",service="r"', 'Bearer realm="::::"',
              'Bearer realm="http://[::1"', 'Bearer realm=""', 'Bearer realm="ftp://x/t"',
              'Bearer realm="http://127.0.0.1:1/t\\u0000"', "Basic", 'Bearer realm="/relative"']


@fuzz(300)
@given(st.one_of(st.sampled_from(CHALLENGES), st.text(max_size=60)),
       st.sampled_from([200, 401, 403, 404, 500]),
       st.one_of(st.sampled_from(TOKEN_BODIES), st.binary(max_size=60)),
       st.sampled_from([200, 401, 404, 500]))
def test_registry_and_token_answers(challenge: str, token_status: int, token_body: bytes,
                                    manifest_status: int) -> None:
    import httpx

    from pdman.image.registry import RegistryClient

    def answer(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/v2/":
            return httpx.Response(401, headers={"WWW-Authenticate": challenge.encode("utf-8", "surrogateescape")})
        if path.startswith("/v2/"):
            if "Authorization" not in request.headers and challenge.startswith("Bearer"):
                return httpx.Response(401, headers={"WWW-Authenticate": challenge.encode("utf-8", "surrogateescape")})
            return httpx.Response(manifest_status, content=token_body,
                                  headers={"Content-Type": manifest.OCI_MANIFEST})
        return httpx.Response(token_status, content=token_body)

    client = RegistryClient("127.0.0.1:1", insecure=True, retries=1,
                            credentials=auth.Credentials("u", "p"),
                            transport=httpx.MockTransport(answer), sleep=lambda s: None)
    with client:
        clean(client.get_manifest, "team/app", "latest", manifest.ACCEPT)


# -- Containerfiles (pdman build) -----------------------------------------------------

containerfile_text = st.one_of(
    st.text(max_size=300),
    st.lists(st.one_of(
        st.sampled_from(["FROM busybox AS a", "FROM a", "FROM scratch", "ARG X=1", "# escape=`",
                         "RUN <<EOF", "EOF", "COPY <<-'E' /x", "\tE", "ENV A=\"$X\" B=${X:-d}",
                         "COPY --from=a /x /y", "LABEL a=\"b", "HEALTHCHECK --interval=x CMD t",
                         "HEALTHCHECK --retries=x CMD t", "FROM a AS a",
                         "ENTRYPOINT [\"a\"", "WORKDIR ${X:+", "VOLUME [\"/d\"]", "RUN a \\",
                         "EXPOSE 80/tcp $X", "SHELL sh", "USER ${Y:?no}", "ONBUILD RUN x"]),
        st.text(alphabet="FROMRUNCPYENVARG $={}[]\"'\\`<-:+?\n\t#", max_size=40)),
        max_size=12).map("\n".join),
)


@fuzz(400)
@given(containerfile_text, st.sampled_from(["", "a", "0", "nope"]))
def test_containerfiles(text: str, target: str) -> None:
    """Parsing, planning and every metadata instruction either work or raise a PdmanError
    (shown as `Error:` with the file and line), never a traceback."""
    from pdman.build import plan
    from pdman.build.parser import parse

    cf = clean(parse, text)
    if cf is None:
        return
    gargs = clean(plan.global_args, cf, {"X": "v"})
    if gargs is None:
        return
    clean(plan.needed_stages, cf, target, gargs)
    for stage in cf.stages:
        state = plan.StageState({"config": {}}, "k", "id", gargs, {}, cf.escape)
        for ins in stage.instructions:
            if ins.keyword not in plan.LAYER_STEPS:
                clean(plan.apply_metadata, state, ins)


mount_specs = st.one_of(
    st.text(max_size=80),
    st.lists(st.one_of(
        st.sampled_from(["type=cache", "type=bind", "type=tmpfs", "type=secret", "type=x",
                         "target=/c", "dst=rel", "id=a", "from=a", "source=../x", "rw",
                         "ro=false", "uid=", "gid=-1", "mode=0777", "mode=9", "size=1",
                         "sharing=locked", "required", "required=maybe", "=", ",,"]),
        st.text(alphabet="typecahdsrgio=,/.0123456789-", max_size=16)),
        max_size=8).map(",".join),
)


@fuzz(400)
@given(mount_specs, st.sampled_from(["/", "/w", ""]))
def test_run_mount_options(spec: str, workdir: str) -> None:
    """`RUN --mount=` values: a RunMount with an absolute target, or a PdmanError."""
    from pdman.build.mounts import parse_mount

    m = clean(parse_mount, spec, workdir)
    if m is not None:
        assert m.target.startswith("/") and m.kind in ("bind", "cache", "tmpfs", "secret")
