"""Where pdman keeps things, and the containers configuration files it reads.

Paths follow podman's defaults. A user (rootless mode):
  root (images, layers, catalog)   $XDG_DATA_HOME/pdman       (~/.local/share/pdman)
  runroot (sockets, exit files)    $XDG_RUNTIME_DIR/pdman     (/run/user/UID/pdman)
                                   else $TMPDIR/pdman-run-UID, checked (fallback_runroot)
Real root (root mode, `is_root_mode`): a store of its own, apart from every user's,
whatever HOME and XDG_* say (a system unit may set them or not):
  root                             /var/lib/pdman
  runroot                          /run/pdman
Both overridable with `--root`/`--runroot` or PDMAN_ROOT/PDMAN_RUNROOT, so tests use
throw-away stores. The home directory is $HOME, else the passwd entry's: a system unit
without `User=` starts pdman with no HOME, USER or XDG_* at all. This module is on the
hot path of every command: stdlib only.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path


#: root mode's store and runtime state (podman's are /var/lib/containers, /run/containers)
ROOT_MODE_ROOT = "/var/lib/pdman"
ROOT_MODE_RUNROOT = "/run/pdman"

_root_mode: "bool | None" = None


def is_root_mode() -> bool:
    """Real root: UID 0 whose user namespace maps every ID (the host's own), not root of
    some user namespace (`unshare -r`, a rootless container) that only looks like it."""
    global _root_mode
    if _root_mode is None:
        _root_mode = os.geteuid() == 0 and _full_uid_map()
    return _root_mode


def _full_uid_map() -> bool:
    try:
        with open("/proc/self/uid_map", encoding="ascii") as f:
            return f.read().split() == ["0", "0", "4294967295"]
    except OSError:
        return True  # no /proc to tell: believe the UID


def _home() -> str:
    """$HOME, else the passwd entry's home: what a login shell would have set."""
    home = os.environ.get("HOME")
    if home and os.path.isabs(home):
        return home
    import pwd

    uid = os.getuid()
    try:
        home = pwd.getpwuid(uid).pw_dir
    except KeyError:
        home = ""
    if not home or not os.path.isabs(home):
        from pdman.errors import StorageError

        raise StorageError(f"no home directory for uid {uid}: HOME is not set and the user "
                           "database has no home for it",
                           hint="set HOME, or give the store with --root/--runroot "
                                "(or PDMAN_ROOT/PDMAN_RUNROOT)")
    return home


def _xdg(var: str, fallback: str) -> str:
    value = os.environ.get(var)
    if value and os.path.isabs(value):
        return value
    return os.path.join(_home(), fallback)


def default_root() -> str:
    env = os.environ.get("PDMAN_ROOT")
    if env:
        return env
    if is_root_mode():
        return ROOT_MODE_ROOT
    return os.path.join(_xdg("XDG_DATA_HOME", ".local/share"), "pdman")


def default_runroot() -> str:
    env = os.environ.get("PDMAN_RUNROOT")
    if env:
        return env
    if is_root_mode():
        return ROOT_MODE_RUNROOT
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isdir(runtime):
        return os.path.join(runtime, "pdman")
    # no logind session (cron, su): podman falls back to a per-user dir in /tmp
    return fallback_runroot()


def fallback_runroot() -> str:
    """$TMPDIR/pdman-run-UID (TMPDIR defaults to /tmp), made here if missing. In a
    directory every user can write to, anyone may have made it first: it is refused,
    as podman refuses its own, unless it is a real directory of this user's with mode
    0700 -- else another user could read the sockets and plant the state files."""
    import stat

    uid = os.getuid()
    path = os.path.join(os.environ.get("TMPDIR") or "/tmp", f"pdman-run-{uid}")
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return path     # not makeable: the first use says why
    st = os.lstat(path)
    if stat.S_ISDIR(st.st_mode) and st.st_uid == uid and stat.S_IMODE(st.st_mode) == 0o700:
        return path
    from pdman.errors import StorageError

    if stat.S_ISLNK(st.st_mode):
        what = "a symlink"
    elif not stat.S_ISDIR(st.st_mode):
        what = "not a directory"
    else:
        what = f"owned by uid {st.st_uid} with mode {stat.S_IMODE(st.st_mode):04o}"
    raise StorageError(
        f"the runroot {path} (used because XDG_RUNTIME_DIR is not set) is {what}, "
        f"not a directory of uid {uid} with mode 0700",
        hint="set XDG_RUNTIME_DIR to a directory of yours with mode 0700 (a login "
             "session has /run/user/UID), or pass --runroot; or remove or "
             f"`chmod 0700` {path} if it is yours")


class Paths:
    """Every on-disk location one pdman invocation uses.

    Paths are `str`, not `pathlib.Path`: this object is built on the hot path of every
    command, and importing pathlib costs more than `pdman ps` does otherwise.
    """

    __slots__ = ("root", "runroot")

    def __init__(self, root: "str | Path | None" = None, runroot: "str | Path | None" = None) -> None:
        self.root = os.path.abspath(str(root or default_root()))
        self.runroot = os.path.abspath(str(runroot or default_runroot()))

    def __repr__(self) -> str:
        return f"Paths(root={self.root!r}, runroot={self.runroot!r})"

    @property
    def catalog(self) -> str:
        return os.path.join(self.root, "catalog.db")

    @property
    def blobs(self) -> str:
        return os.path.join(self.root, "blobs")

    @property
    def layers(self) -> str:
        return os.path.join(self.root, "layers")

    @property
    def links(self) -> str:
        """Short names for layer dirs, so long overlay lowerdir lists fit one page."""
        return os.path.join(self.root, "l")

    @property
    def containers(self) -> str:
        return os.path.join(self.root, "containers")

    @property
    def volumes(self) -> str:
        return os.path.join(self.root, "volumes")

    @property
    def tmp(self) -> str:
        """Partial downloads and unpacks; anything here is garbage after a crash."""
        return os.path.join(self.root, "tmp")

    def ensure(self) -> None:
        for p, flag in ((self.root, "--root"), (self.runroot, "--runroot")):
            try:
                os.makedirs(p, mode=0o700, exist_ok=True)
            except OSError as exc:
                from pdman.errors import StorageError

                raise StorageError(f"cannot create the {flag[2:]} {p}: {exc.strerror}",
                                   hint=f"give a writable directory with {flag} (or "
                                        f"PDMAN_{flag[2:].upper()})") from None


def config_home() -> "Path":
    from pathlib import Path

    return Path(_xdg("XDG_CONFIG_HOME", ".config"))


def registries_conf_paths() -> "list[Path]":
    """registries.conf locations in podman's order: the user's wins over the system's."""
    from pathlib import Path

    env = os.environ.get("CONTAINERS_REGISTRIES_CONF")
    if env:
        return [Path(env)]
    return [config_home() / "containers/registries.conf", Path("/etc/containers/registries.conf")]


def auth_file_path() -> "Path":
    """containers auth.json: REGISTRY_AUTH_FILE, else $XDG_RUNTIME_DIR/containers/auth.json
    (root without XDG_RUNTIME_DIR: /run/containers/0/auth.json, as rootful podman)."""
    from pathlib import Path

    env = os.environ.get("REGISTRY_AUTH_FILE")
    if env:
        return Path(env)
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isdir(runtime):
        return Path(runtime) / "containers/auth.json"
    if is_root_mode():
        return Path("/run/containers/0/auth.json")  # rootful podman's
    return config_home() / "containers/auth.json"


def docker_config_path() -> "Path":
    from pathlib import Path

    env = os.environ.get("DOCKER_CONFIG")
    return (Path(env) if env else Path(_home()) / ".docker") / "config.json"
