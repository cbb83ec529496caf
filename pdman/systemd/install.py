"""`pdman systemd install-generator`: link the Quadlet generator where systemd runs
generators from (systemd.generator(7) lists only system directories, for user managers
too: /run, /etc, /usr/local/lib and /usr/lib systemd/user-generators)."""

from __future__ import annotations

import os
import sys

from pdman.errors import HostSupportError, UsageError

SYSTEM_DIR = "/etc/systemd/system-generators"
USER_DIR = "/etc/systemd/user-generators"


def generator_executable() -> str:
    """What the link points at: the single-file binary (it acts as the generator when
    called by a generator's name), else the `pdman-systemd-generator` script installed
    beside `pdman`."""
    if getattr(sys, "frozen", False):
        from pdman.systemd.generator import invoked_path

        return invoked_path()
    here = os.path.dirname(os.path.realpath(sys.argv[0] or ""))
    script = os.path.join(here, "pdman-systemd-generator")
    if os.access(script, os.X_OK):
        return script
    import shutil

    found = shutil.which("pdman-systemd-generator")
    if found:
        return os.path.realpath(found)
    raise UsageError("cannot find the pdman-systemd-generator executable beside pdman",
                     hint="reinstall pdman (pip installs it as a script), or use the "
                          "single-file binary")


def install_generator(user: bool, directory: str | None = None) -> str:
    """Make the link; returns its path. Idempotent: an existing link is replaced."""
    directory = directory or (USER_DIR if user else SYSTEM_DIR)
    if directory in (USER_DIR, SYSTEM_DIR) and os.geteuid() != 0:
        raise HostSupportError(
            f"installing a generator into {directory} needs root: systemd runs generators "
            "only from system directories, also for user managers",
            hint=("run it as root (sudo pdman systemd install-generator --user), or write "
                  "the units once into your own unit directory: pdman systemd generator "
                  "--user ~/.config/systemd/user && systemctl --user daemon-reload")
            if user else "run it as root")
    name = "pdman-user-generator" if user else "pdman-system-generator"
    target = generator_executable()
    link = os.path.join(directory, name)
    os.makedirs(directory, exist_ok=True)
    tmp = link + ".tmp"
    try:
        os.unlink(tmp)
    except FileNotFoundError:
        pass
    os.symlink(target, tmp)
    os.replace(tmp, link)
    return link


__all__ = ["install_generator", "generator_executable"]
