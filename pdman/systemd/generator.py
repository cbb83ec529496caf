"""`pdman-systemd-generator`: the systemd generator that turns Quadlet files into
services (systemd.generator(7): called with NORMAL-DIR [EARLY-DIR LATE-DIR] at boot and
at every `daemon-reload`; units go into NORMAL-DIR).

    pdman-systemd-generator [--user] [--dryrun] [-v] [NORMAL-DIR [EARLY-DIR LATE-DIR]]

Run as `pdman-user-generator` (the name `install-generator --user` links it under) it
acts as `--user`. Files are searched where podman's Quadlet searches them, then in
pdman's own directories; the first file of a name wins. A file that cannot be
translated is reported (file:line) on stderr -- and to the kernel log when run by
systemd -- and generates nothing; the others still do. Exit status 1 when any failed.

Stdlib only: it runs at boot, before most of the system is up.
"""

from __future__ import annotations

import os
import sys

from pdman.errors import PdmanError, UnitFileError
from pdman.systemd import quadlet
from pdman.systemd.unitfile import UnitFile

GENERATOR_NAMES = ("pdman-systemd-generator", "pdman-system-generator", "pdman-user-generator")


def search_dirs(user: bool) -> list[str]:
    """Where Quadlet files are looked for, first wins (podman-systemd.unit(5)'s paths,
    then pdman's own). QUADLET_UNIT_DIRS (colon-separated) replaces the list, as in
    podman, for debugging a few files."""
    override = os.environ.get("QUADLET_UNIT_DIRS") or os.environ.get("PDMAN_QUADLET_UNIT_DIRS")
    if override:
        return [d for d in override.split(":") if d]
    if not user:
        return ["/run/containers/systemd", "/etc/containers/systemd",
                "/usr/share/containers/systemd", "/run/pdman/systemd", "/etc/pdman/systemd",
                "/usr/share/pdman/systemd"]
    home = os.path.expanduser("~")
    config = os.environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    runtime = os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}"
    uid = os.getuid()
    return [os.path.join(runtime, "containers/systemd"),
            os.path.join(config, "containers/systemd"),
            f"/etc/containers/systemd/users/{uid}", "/etc/containers/systemd/users",
            os.path.join(runtime, "pdman/systemd"), os.path.join(config, "pdman/systemd"),
            f"/etc/pdman/systemd/users/{uid}", "/etc/pdman/systemd/users"]


def find_files(dirs: list[str], user: bool) -> list[str]:
    """Quadlet files in `dirs` (and their subdirectories), one per file name: the first
    directory that has a name wins. The system search skips `users/` (those files are
    for user managers)."""
    found: dict[str, str] = {}
    for top in dirs:
        if not os.path.isdir(top):
            continue
        for root, subdirs, files in os.walk(top, followlinks=True):
            subdirs.sort()
            if not user and root == top:
                subdirs[:] = [d for d in subdirs if d != "users"]
            if user and root == top and top.endswith("/users"):
                subdirs[:] = []         # users/UID is searched on its own, for that UID
            for name in sorted(files):
                kind = name.rpartition(".")[2]
                if kind in quadlet.KINDS and name not in found:
                    found[name] = os.path.join(root, name)
    return [found[n] for n in sorted(found)]


def _dropin_dirs(path: str) -> list[str]:
    """`foo.container.d/`, then the truncated-name ones of `foo-bar.container`
    (`foo-.container.d/`), then the type-wide `container.d/`; later ones are read
    first so that the more specific override, as in podman."""
    directory, name = os.path.split(path)
    stem, _, kind = name.rpartition(".")
    dirs = [os.path.join(directory, f"{kind}.d")]
    pieces = stem.split("-")
    for i in range(1, len(pieces)):
        dirs.append(os.path.join(directory, "-".join(pieces[:i]) + f"-.{kind}.d"))
    dirs.append(os.path.join(directory, f"{name}.d"))
    return dirs


def load(path: str) -> quadlet.Source:
    """Read a Quadlet file with its drop-ins (`*.conf`, by name; a name in a more
    specific directory replaces the same name in a wider one)."""
    with open(path, encoding="utf-8") as f:
        unit = UnitFile.parse(f.read(), path)
    confs: dict[str, str] = {}
    for d in _dropin_dirs(path):
        if os.path.isdir(d):
            for name in os.listdir(d):
                if name.endswith(".conf"):
                    confs[name] = os.path.join(d, name)
    for name in sorted(confs):
        with open(confs[name], encoding="utf-8") as f:
            extra = UnitFile.parse(f.read(), confs[name])
        for section, entries in extra.sections.items():
            unit.sections.setdefault(section, []).extend(entries)
    return quadlet.Source(path, unit)


def pdman_executable() -> str:
    """The `pdman` that generated units run: the single-file binary itself, else the
    `pdman` script beside this generator (systemd runs generators with a bare PATH),
    else the one on PATH."""
    override = os.environ.get("PDMAN_GENERATOR_PDMAN")
    if override:
        return override
    if getattr(sys, "frozen", False):
        return invoked_path()
    here = os.path.dirname(os.path.realpath(sys.argv[0] or ""))
    beside = os.path.join(here, "pdman")
    if here and os.access(beside, os.X_OK) and not os.path.isdir(beside):
        return beside
    import shutil

    return shutil.which("pdman") or "/usr/bin/pdman"


def invoked_path() -> str:
    """The file this process was started as, links resolved: for the single-file
    binary, the installed launcher (sys.executable is the bundle unpacked in a cache,
    which may be cleaned), reached through the generator link or PATH."""
    import shutil

    arg0 = sys.argv[0] if sys.argv else ""
    path = arg0 if "/" in arg0 else (shutil.which(arg0) or arg0)
    return os.path.realpath(path)


class Result:
    def __init__(self) -> None:
        self.units: list[quadlet.Generated] = []
        self.errors: list[PdmanError] = []


def generate(files: list[str], user: bool, pdman: str) -> Result:
    """Translate every file; a failed one is recorded and skipped."""
    result = Result()
    sources: list[quadlet.Source] = []
    for path in files:
        try:
            sources.append(load(path))
        except PdmanError as exc:
            result.errors.append(exc)
        except (OSError, UnicodeDecodeError) as exc:
            result.errors.append(UnitFileError(f"{path}: cannot read it: {exc}"))
    index = quadlet.Sources(sources)
    for source in sources:
        try:
            result.units.append(quadlet.translate(source, index, pdman, user))
        except PdmanError as exc:
            result.errors.append(exc)
    return result


def write(result: Result, out_dir: str) -> None:
    """Write the units and their [Install] links into `out_dir`."""
    os.makedirs(out_dir, exist_ok=True)
    for gen in result.units:
        path = os.path.join(out_dir, gen.service_name)
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write("# Automatically generated by pdman-systemd-generator\n#\n")
            f.write(gen.unit.text())
        os.replace(tmp, path)
        for link, target in gen.install_links():
            link_path = os.path.join(out_dir, link)
            os.makedirs(os.path.dirname(link_path), exist_ok=True)
            try:
                os.unlink(link_path)
            except FileNotFoundError:
                pass
            os.symlink(target, link_path)


def _log_errors(errors: list[PdmanError], to_kmsg: bool) -> None:
    for exc in errors:
        text = f"pdman-generator: {exc.message}" + (f" ({exc.hint})" if exc.hint else "")
        print(text, file=sys.stderr)
        if to_kmsg:
            # systemd runs generators with stderr on the journal only on newer versions;
            # the kernel log is where Quadlet writes its errors too
            try:
                with open("/dev/kmsg", "w", encoding="utf-8") as k:
                    k.write(f"<3>{text}\n")
            except OSError:
                pass


USAGE = ("usage: pdman-systemd-generator [--user] [--dryrun] [-v] "
         "[NORMAL-DIR [EARLY-DIR LATE-DIR]]")


def run(args: list[str], user: bool = False) -> int:
    dryrun = verbose = no_kmsg = False
    dirs: list[str] = []
    for a in args:
        if a == "--user":
            user = True
        elif a == "--dryrun":
            dryrun = True
        elif a in ("-v", "--verbose"):
            verbose = True
        elif a == "--no-kmsg-log":
            no_kmsg = True
        elif a in ("-h", "--help"):
            print(USAGE)
            return 0
        elif a.startswith("-"):
            print(f"{USAGE}\nError: unknown option {a}", file=sys.stderr)
            return 2
        else:
            dirs.append(a)
    if not dryrun and not dirs:
        print(f"{USAGE}\nError: missing the output directory (or --dryrun)", file=sys.stderr)
        return 2
    search = search_dirs(user)
    files = find_files(search, user)
    if verbose:
        print(f"pdman-generator: searching {':'.join(search)}; found {len(files)} file(s)",
              file=sys.stderr)
    result = generate(files, user, pdman_executable())
    _log_errors(result.errors, to_kmsg=not dryrun and not no_kmsg and os.getuid() == 0)
    if dryrun:
        for gen in result.units:
            print(f"---{gen.service_name}---")
            print(gen.unit.text())
    else:
        write(result, dirs[0])
    return 1 if result.errors else 0


def main(argv: list[str] | None = None) -> int:
    """The executable's entry point (its name may say `--user`)."""
    args = sys.argv[1:] if argv is None else argv
    name = os.path.basename(sys.argv[0] or "")
    return run(args, user=name == "pdman-user-generator")


__all__ = ["GENERATOR_NAMES", "find_files", "generate", "load", "main", "pdman_executable",
           "run", "search_dirs", "write"]
