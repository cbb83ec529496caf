"""`Record`: the plain options/value class of the hot path.

Class attributes are the defaults, keyword arguments override them, and list-valued
fields (`_lists`) get a list of their own per instance. It does what the
dataclasses these classes used to be did for them, without importing `dataclasses`
(with `inspect`, `ast`, `re`...): about 10 ms of every `pdman run`.

    class Options(Record):
        _required = ("image",)
        _lists = ("env",)
        image: str
        env: list[str]
        name: str | None = None

    Options("busybox", name="web").env == []
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TypeVar

    R = TypeVar("R", bound="Record")


class Record:
    #: fields without a default, also accepted positionally in this order
    _required: tuple[str, ...] = ()
    #: list fields: a new list per instance (from the given iterable, else empty)
    _lists: tuple[str, ...] = ()
    #: dict fields: a new dict per instance (from the given mapping, else empty)
    _dicts: tuple[str, ...] = ()

    def __init__(self, *args: "Any", **given: "Any") -> None:
        cls = type(self)
        if len(args) > len(self._required):
            raise TypeError(f"{cls.__name__} takes at most {len(self._required)} "
                            "positional arguments")
        given.update(zip(self._required, args))
        for name in self._required:
            if name not in given:
                raise TypeError(f"{cls.__name__} needs {name!r}")
            setattr(self, name, given.pop(name))
        for name in self._lists:
            setattr(self, name, list(given.pop(name, ())))
        for name in self._dicts:
            setattr(self, name, dict(given.pop(name, {})))
        for name in cls.__annotations__:   # every field is an instance attribute
            if name not in self._required and name not in self._lists \
                    and name not in self._dicts:
                setattr(self, name, given.pop(name, getattr(cls, name)))
        if given:
            raise TypeError(f"{cls.__name__} has no field {next(iter(given))!r}")

    def replace(self: "R", **changes: "Any") -> "R":
        """A copy with `changes` (as dataclasses.replace)."""
        unknown = set(changes) - set(vars(self))
        if unknown:
            raise TypeError(f"{type(self).__name__} has no field {unknown.pop()!r}")
        new = object.__new__(type(self))
        vars(new).update(vars(self), **changes)
        return new

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and vars(other) == vars(self)

    __hash__ = None  # type: ignore[assignment]  # mutable, as a dataclass with eq

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({fields})"
