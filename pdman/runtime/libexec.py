"""The C executables shipped inside the package (`pdman/libexec/`): built by
`pip install` (setup.py), found next to the Python code — also inside a PyInstaller
bundle, where `__file__` points into the unpacked bundle."""

from __future__ import annotations

import os

from pdman.errors import HostSupportError

_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "libexec")


def path(name: str) -> str:
    exe = os.path.join(_DIR, name)
    if not os.access(exe, os.X_OK):
        raise HostSupportError(f"{name} is missing from this pdman installation ({exe})",
                               hint="reinstall pdman: `pip install .` builds native/ executables")
    return exe
