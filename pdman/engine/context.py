"""What every engine verb works in: the store paths and the catalog, opened lazily.

The CLI and the API service each build one `EngineContext` per request from the
global options and pass it to the engine verbs. Hot path: stdlib only, no pathlib.
"""

from __future__ import annotations

from pdman.config import Paths

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

    from pdman.storage.catalog import Catalog, CatalogPool


class EngineContext:
    __slots__ = ("paths", "_catalog", "_pool")

    def __init__(self, paths: Paths, pool: "CatalogPool | None" = None) -> None:
        self.paths = paths
        self._catalog: Catalog | None = None
        self._pool = pool       # the API service's kept connections

    @classmethod
    def create(cls, root: "str | Path | None" = None,
               runroot: "str | Path | None" = None) -> "EngineContext":
        return cls(Paths(root, runroot))

    @property
    def catalog(self) -> "Catalog":
        if self._catalog is None:
            from pdman.storage.catalog import Catalog

            self.paths.ensure()
            self._catalog = self._pool.take() if self._pool else Catalog(self.paths.catalog)
        return self._catalog

    def close(self) -> None:
        if self._catalog is not None:
            if self._pool is not None:
                self._pool.give(self._catalog)
            else:
                self._catalog.close()
            self._catalog = None
