"""Runtime hook of pdman's bundle: PyInstaller's own runtime hooks, run on first import.

PyInstaller runs a hook for inspect, pkgutil and multiprocessing (and its ctypes patch)
at every start, importing those modules whether the program uses them or not (~25 ms,
most of a warm `pdman ps`). pdman.spec moves them here: each runs, unchanged, right
after its module is first imported, so the patched behaviour is the same wherever the
module is used, and free where it is not.
"""


def _install() -> None:
    import sys

    DEFERRED = {}  # filled in by pdman.spec

    class _HookedLoader:
        """The module's own loader, then the hooks that PyInstaller would have run."""

        def __init__(self, loader, hooks):
            self._loader = loader
            self._hooks = hooks

        def create_module(self, spec):
            return self._loader.create_module(spec)

        def exec_module(self, module):
            self._loader.exec_module(module)
            for hook_name, source in self._hooks:
                exec(compile(source, hook_name, "exec"), {"__name__": hook_name})  # noqa: S102

        def __getattr__(self, name):
            return getattr(self._loader, name)

    class DeferredHooks:
        @classmethod
        def find_spec(cls, name, path=None, target=None):
            hooks = DEFERRED.get(name)
            if hooks is None:
                return None
            for finder in sys.meta_path:
                if finder is cls or not hasattr(finder, "find_spec"):
                    continue
                spec = finder.find_spec(name, path, target)
                if spec is not None:
                    break
            else:
                return None
            del DEFERRED[name]
            if spec.loader is not None:
                spec.loader = _HookedLoader(spec.loader, hooks)
            return spec

    for name in [n for n in DEFERRED if n in sys.modules]:
        # imported during the bootstrap already: run its hooks now, as PyInstaller would
        for hook_name, source in DEFERRED.pop(name):
            exec(compile(source, hook_name, "exec"), {"__name__": hook_name})  # noqa: S102
    sys.meta_path.insert(0, DeferredHooks)


_install()
del _install
