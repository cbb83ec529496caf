"""pdman.namedtuple: typing.NamedTuple's class syntax without importing typing."""

from __future__ import annotations

import pickle
import subprocess
import sys
import typing

import pytest

from pdman.namedtuple import NamedTuple


class Span(NamedTuple):
    """A range of IDs."""

    start: int
    size: int = 1
    label: str = ""

    @property
    def end(self) -> int:
        return self.start + self.size

    def shifted(self, by: int) -> "Span":
        return self._replace(start=self.start + by)


class TypedSpan(typing.NamedTuple):
    start: int
    size: int = 1
    label: str = ""


def test_behaves_like_typing_namedtuple() -> None:
    s = Span(5)
    t = TypedSpan(5)
    assert tuple(s) == tuple(t) == (5, 1, "")
    assert Span._fields == TypedSpan._fields == ("start", "size", "label")
    assert Span._field_defaults == TypedSpan._field_defaults == {"size": 1, "label": ""}
    assert s == (5, 1, "") and hash(s) == hash((5, 1, ""))
    assert s.end == 6 and s.shifted(2) == Span(7) and s._asdict() == {"start": 5, "size": 1,
                                                                        "label": ""}
    assert repr(Span(1, 2, "x")) == "Span(start=1, size=2, label='x')"
    assert isinstance(s, tuple) and Span.__doc__ == "A range of IDs."
    assert Span.__module__ == __name__ and Span.__qualname__ == "Span"
    assert pickle.loads(pickle.dumps(Span(3, 4, "p"))) == Span(3, 4, "p")
    with pytest.raises(TypeError):
        Span()  # type: ignore[call-arg]


def test_a_field_without_default_after_one_with_is_refused() -> None:
    with pytest.raises(TypeError, match="without a default"):
        class Bad(NamedTuple):
            a: int = 0
            b: int


def _imported(code: str, *modules: str) -> list[str]:
    """Which of `modules` a fresh interpreter has imported after running `code`."""
    probe = f"import sys\n{code}\nprint(' '.join(m for m in {modules!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return out.stdout.split()


def test_run_path_modules_do_not_import_typing() -> None:
    """The reason for the module: `run`'s value types without `typing` (~2 ms)."""
    assert _imported("import pdman.runtime.idmap, pdman.runtime.native, pdman.runtime.spec, "
                     "pdman.network.modes, pdman.network.state, pdman.network.backends, "
                     "pdman.cgroups.placement, pdman.cgroups.limits", "typing") == []


def test_a_detached_starts_modules_import_neither_pickle_nor_enum() -> None:
    """runtime/monitor pickles only a failed start's error, and takes the C `_signal`:
    `pickle` (with `re`, `enum`, `struct`) and `signal` (enum) cost a detached start ~4
    ms; `collections.abc` in idmap pulled in `collections` for type hints alone."""
    assert _imported("import pdman.runtime.monitor, pdman.runtime.idmap, pdman.runtime.spawn, "
                     "pdman.network.backends", "pickle", "enum", "re", "signal") == []
    # its type-only imports stay type-only: `stop`/`rm` read exit files through it
    assert _imported("import pdman.runtime.monitor", "pdman.runtime.native",
                     "pdman.runtime.idmap") == []


def test_probing_a_published_port_imports_no_socket_module() -> None:
    """`run -p` checks its host ports before anything is made: with `_socket`, not
    `socket`, whose enums cost ~5 ms of every such run before its clone."""
    assert _imported("from pdman.network import ports\n"
                     "ports.check_free([{'host_ip': '127.0.0.1', 'host_port': 0, "
                     "'protocol': 'tcp', 'container_port': 80}])", "socket", "enum") == []
