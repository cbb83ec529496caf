"""cffi (API mode) builder of `pdman._native`, the native helper.

setup.py names `native/build_native.py:ffibuilder` in `cffi_modules`, so
`pip install .` compiles the helper; for a build in place while working on
the C code: `python native/build_native.py` (writes pdman/_native*.so).

The cdef is the part of pdman.h between the CDEF markers, so the API and the
sync protocol are written once, in the header.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from cffi import FFI

HERE = Path(__file__).resolve().parent
SOURCES = ["spawn.c", "mounts.c", "exec.c", "error.c"]


def cdef_text(header: Path = HERE / "pdman.h") -> str:
    """The declarations between the CDEF markers of the header."""
    text = header.read_text()
    match = re.search(r"/\* CDEF BEGIN \*/(.*?)/\* CDEF END \*/", text, re.DOTALL)
    if match is None:
        raise RuntimeError(f"{header}: no CDEF BEGIN/END markers")
    return match.group(1)


def make_ffibuilder(absolute: bool = False) -> FFI:
    """The builder; source paths relative to the cwd unless `absolute`.

    setuptools wants paths relative to the directory it runs in (the project
    root); cffi's own compile() changes directory, so it needs absolute ones.
    """

    def path(p: Path) -> str:
        return str(p) if absolute else os.path.relpath(p)

    ffi = FFI()
    ffi.cdef(cdef_text())
    ffi.set_source(
        "pdman._native",
        '#include "pdman.h"\n',
        sources=[path(HERE / name) for name in SOURCES],
        include_dirs=[path(HERE)],
        depends=[path(HERE / "pdman.h"), path(HERE / "internal.h")],
        extra_compile_args=["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter",
                            "-Wno-format-truncation"],
    )
    return ffi


ffibuilder = make_ffibuilder()


if __name__ == "__main__":
    # in place: the .so lands in pdman/ next to the Python sources
    tmpdir = HERE.parent / "build" / "cffi"
    so = make_ffibuilder(absolute=True).compile(tmpdir=str(tmpdir), verbose=True)
    target = HERE.parent / "pdman" / Path(so).name
    os.replace(so, target)
    print(f"installed {target}")
