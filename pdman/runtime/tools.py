"""System tools by name (newuidmap, newgidmap, pasta, slirp4netns...): the first
executable on PATH, else in the usual directories (a systemd unit's PATH may be
minimal). shutil.which's rule, without importing shutil, which imports fnmatch, re, bz2
and lzma: ~3 ms of every `run`. Found paths are cached for the process; a miss is not
(the tool may be installed while an API service runs)."""

from __future__ import annotations

import os

#: where a tool is looked for when PATH has none
FALLBACK_PATH = "/usr/bin:/bin:/usr/sbin:/sbin"

_found: dict[str, str] = {}


def find(name: str) -> str | None:
    """Absolute path of the tool `name`, or None."""
    if name in _found:
        return _found[name]
    for path in (os.environ.get("PATH") or os.defpath, FALLBACK_PATH):
        for directory in path.split(os.pathsep):
            if not directory:
                continue            # never the working directory
            candidate = os.path.join(directory, name)
            if os.access(candidate, os.X_OK) and not os.path.isdir(candidate):
                _found[name] = os.path.abspath(candidate)
                return _found[name]
    return None


__all__ = ["FALLBACK_PATH", "find"]
