"""cffi (API mode) builders of `pdman._native`, the native helper, of
`pdman._seccomp`, the seccomp profile compiler (links libseccomp), and of the
C executables shipped in `pdman/libexec/` (the per-container monitor, the
port forwarder of slirp4netns).

setup.py names `native/build_native.py:ffibuilder` in `cffi_modules`, so
`pip install .` compiles the helper, and its build_py step calls
`build_executables`; for a build in place while working on the C code:
`python native/build_native.py` (writes pdman/_native*.so and pdman/libexec/).

The cdef is the part of pdman.h between the CDEF markers, so the API and the
sync protocol are written once, in the header.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

from cffi import FFI

HERE = Path(__file__).resolve().parent
SOURCES = ["spawn.c", "sync.c", "mounts.c", "exec.c", "setns.c", "nsjoin.c", "confine.c", "error.c",
           "seccomp.c"]

#: executables of pdman/libexec/: name -> (sources, extra link flags)
EXECUTABLES: dict[str, tuple[list[str], list[str]]] = {
    # one per running container: small and dynamically linked (libc pages are
    # shared between all monitors)
    "pdman-monitor": (["monitor.c", "error.c"], []),
    # one per slirp4netns container with published TCP ports (network/portfwd.py)
    "pdman-portfwd": (["portfwd.c", "error.c"], []),
}
if (HERE / "init.c").exists():
    # bind-mounted into containers, whose image may have no libc
    EXECUTABLES["pdman-init"] = (["init.c"], ["-static"])

CFLAGS = ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-format-truncation"]


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
        extra_compile_args=CFLAGS,
    )
    return ffi


ffibuilder = make_ffibuilder()


def make_seccomp_ffibuilder(absolute: bool = False) -> FFI:
    """`pdman._seccomp`, the profile compiler: a module of its own because it links
    libseccomp (libseccomp-dev to build, libseccomp2 to run), which only a start
    with an uncached filter needs (pdman/runtime/seccomp/compiler.py)."""

    def path(p: Path) -> str:
        return str(p) if absolute else os.path.relpath(p)

    ffi = FFI()
    ffi.cdef(cdef_text(HERE / "seccomp_compile.h"))
    ffi.set_source(
        "pdman._seccomp",
        '#include "seccomp_compile.h"\n',
        sources=[path(HERE / "seccomp_compile.c")],
        include_dirs=[path(HERE)],
        depends=[path(HERE / "seccomp_compile.h")],
        libraries=["seccomp"],
        extra_compile_args=CFLAGS,
    )
    return ffi


seccomp_ffibuilder = make_seccomp_ffibuilder()


def build_executables(out_dir: Path) -> list[Path]:
    """Compile EXECUTABLES into `out_dir` with $CC (default `cc`); their paths."""
    cc = shlex.split(os.environ.get("CC") or "cc")
    out_dir.mkdir(parents=True, exist_ok=True)
    built = []
    for name, (sources, ldflags) in EXECUTABLES.items():
        target = out_dir / name
        tmp = out_dir / f".{name}.tmp"
        cmd = [*cc, *CFLAGS, "-I", str(HERE), "-o", str(tmp),
               *[str(HERE / src) for src in sources], *ldflags]
        subprocess.run(cmd, check=True)
        os.chmod(tmp, 0o755)
        os.replace(tmp, target)
        built.append(target)
    return built


if __name__ == "__main__":
    # in place: the .so lands in pdman/ next to the Python sources
    tmpdir = HERE.parent / "build" / "cffi"
    for builder in (make_ffibuilder(absolute=True), make_seccomp_ffibuilder(absolute=True)):
        so = builder.compile(tmpdir=str(tmpdir), verbose=True)
        target = HERE.parent / "pdman" / Path(so).name
        os.replace(so, target)
        print(f"installed {target}")
    for exe in build_executables(HERE.parent / "pdman" / "libexec"):
        print(f"installed {exe}")
