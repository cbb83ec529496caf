"""The environment for the host's own programs that pdman runs (newuidmap, newgidmap,
pasta, slirp4netns, sleep, ...).

In the single-file binary, PyInstaller's bootloader puts its bundle first on
`LD_LIBRARY_PATH` (keeping the caller's value, if any, in `LD_LIBRARY_PATH_ORIG`) and
sets `_PYI_*` variables. A system tool started with those would load the bundle's copies
of libssl, libz, libffi, ... instead of the system's, or fail in odd ways. `clean_env()`
is the caller's environment as it was before the bootloader touched it. Outside a bundle
it is the environment unchanged (a user's own LD_LIBRARY_PATH is theirs to keep).
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping


def clean_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    out = dict(os.environ if env is None else env)
    bundled = getattr(sys, "frozen", False) or "LD_LIBRARY_PATH_ORIG" in out or any(
        k.startswith("_PYI_") for k in out)
    if not bundled:
        return out
    orig = out.pop("LD_LIBRARY_PATH_ORIG", None)
    out.pop("LD_LIBRARY_PATH", None)
    if orig:
        out["LD_LIBRARY_PATH"] = orig
    for key in [k for k in out if k.startswith("_PYI_") or k == "_MEIPASS2"]:
        del out[key]
    return out
