"""`typing.NamedTuple`'s class syntax without importing `typing` at run time.

`typing` costs every `run` ~2 ms of start-up (it builds its special forms and imports
`re`, `collections.abc`, `contextlib`...), and the value types on `run`'s path (ID maps,
mounts, network modes, cgroup plans) were its only users there. The classes made here
are what `typing.NamedTuple` makes -- a `collections.namedtuple` with the annotated
fields, their defaults, and the body's methods and properties -- while type checkers
see `typing.NamedTuple` itself:

    TYPE_CHECKING = False
    if TYPE_CHECKING:
        from typing import NamedTuple
    else:
        from pdman.namedtuple import NamedTuple

    class IdRange(NamedTuple):
        container_id: int
        host_id: int
        size: int = 1

As with `typing.NamedTuple`, a method body may not use `super()` (no class cell).
"""

from __future__ import annotations

import collections

_NOT_COPIED = frozenset(("__module__", "__qualname__", "__annotations__", "__doc__",
                         "__orig_bases__", "__slots__"))


class _Maker(type):
    def __new__(mcls, name: str, bases: tuple[type, ...], ns: dict[str, object]) -> type:
        fields = list(ns.get("__annotations__", {}))    # type: ignore[call-overload]
        with_default = [f for f in fields if f in ns]
        if with_default != fields[len(fields) - len(with_default):]:
            raise TypeError(f"{name}: a field without a default follows one with a default")
        cls = collections.namedtuple(name, fields, defaults=[ns[f] for f in with_default],
                                     module=str(ns["__module__"]))
        for key, value in ns.items():
            if key not in _NOT_COPIED and key not in fields:
                setattr(cls, key, value)
        cls.__doc__ = ns.get("__doc__") or cls.__doc__   # type: ignore[assignment]
        cls.__qualname__ = str(ns.get("__qualname__", name))
        return cls


NamedTuple = type.__new__(_Maker, "NamedTuple", (), {"__module__": __name__})

__all__ = ["NamedTuple"]
