"""Root filesystems for the Debian-based images: debootstrap, chroot steps, diffs.

A layer above the base is made the way `docker build` makes one: snapshot the tree,
run a step in it, snapshot again, and write what changed (new or changed entries
plus their parent directories) and what vanished (as `.wh.<name>` whiteouts).
Everything here runs as root on the host; the products are plain tar files.
"""

from __future__ import annotations

import glob
import hashlib
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

from tests.bed.oci import EPOCH, LayerWriter, sorted_tree, whiteout

# Mount points during chroot steps; their contents never belong to an image.
PSEUDO = frozenset({"proc", "sys", "dev"})

# Left behind by debootstrap and apt, different on every run: logs with times in
# them, caches keyed on inode numbers, the .debs, the package lists, backups.
VOLATILE = (
    "dev/*", "var/cache/apt/archives/*.deb", "var/cache/apt/*.bin",
    "var/lib/apt/lists/*_*", "var/lib/apt/lists/auxfiles", "var/log/apt/*",
    "var/log/bootstrap.log", "var/log/alternatives.log", "var/log/dpkg.log",
    "var/cache/debconf/*-old", "var/lib/dpkg/*-old", "var/cache/ldconfig/aux-cache",
    "etc/hostname",  # the build host's name; the engine writes its own
)


def host_mirror() -> str:
    """The Debian mirror apt uses on this host (a `bookworm` suite, not security).

    Read from apt's sources, never written here: the host's apt is what is known
    to reach a mirror (DESIGN §9), and the sandbox reaches no other.
    """
    for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        for stanza in Path(path).read_text().split("\n\n"):
            uris = re.search(r"^URIs:\s*(\S+)", stanza, re.MULTILINE)
            suites = re.search(r"^Suites:\s*(.+)$", stanza, re.MULTILINE)
            if uris and suites and "bookworm" in suites.group(1).split():
                return uris.group(1)
    if os.path.exists("/etc/apt/sources.list"):
        for line in Path("/etc/apt/sources.list").read_text().splitlines():
            m = re.match(r"deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+bookworm\s", line + " ")
            if m:
                return m.group(1)
    raise RuntimeError("no Debian bookworm mirror in /etc/apt/sources.list.d/*.sources "
                       "or /etc/apt/sources.list; the images need one to build")


def debootstrap(target: Path, suite: str, mirror: str, log: Path) -> None:
    """A minbase Debian in `target`, scrubbed of what would differ between runs."""
    with open(log, "wb") as out:
        # pdeathsig: a killed build takes debootstrap with it
        subprocess.run(["setpriv", "--pdeathsig", "KILL", "--",
                        "debootstrap", "--variant=minbase", suite, str(target), mirror],
                       check=True, stdout=out, stderr=subprocess.STDOUT)
    scrub(target)
    # the build host's resolver must not ship; the engine bind-mounts its own
    (target / "etc/resolv.conf").write_bytes(b"")
    os.chmod(target / "etc/resolv.conf", 0o644)


def scrub(root: Path) -> None:
    for pattern in VOLATILE:
        for path in glob.glob(str(root / pattern)):
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.unlink(path)
    _pin_shadow_dates(root / "etc/shadow")


def _pin_shadow_dates(shadow: Path) -> None:
    """Set each account's "last password change" (days since 1970) to EPOCH's day.

    useradd writes today's date there: without this, builds on different days
    differ in /etc/shadow alone (as debuerreotype found, and pins the same way).
    """
    if not shadow.exists():
        return
    day = str(EPOCH // 86400)
    lines = []
    for line in shadow.read_text().splitlines():
        fields = line.split(":")
        if len(fields) > 2 and fields[2]:
            fields[2] = day
        lines.append(":".join(fields))
    st = os.stat(shadow)
    shadow.write_text("".join(f"{line}\n" for line in lines))
    os.chown(shadow, st.st_uid, st.st_gid)
    os.chmod(shadow, st.st_mode & 0o7777)


def chroot_step(root: Path, script: str, log: Path) -> None:
    """Run `script` with /bin/sh inside `root`, with /dev, /proc and the host's
    resolver bound in, then scrub.

    Crash safety: the mounts live in a private mount namespace, so they vanish
    with the step; the step runs as PID 1 of its own PID namespace under
    `unshare --kill-child`, itself under `setpriv --pdeathsig`, so if the build
    dies, apt and every process it started die too instead of writing on."""
    hosts = root / "etc/hosts"
    made_hosts = not hosts.exists()
    if made_hosts:
        hosts.touch()  # a bind mount needs a file to cover
    setup = (
        'set -e; R="$1"; shift\n'
        'mount --bind /dev "$R/dev"\n'
        'mount -t proc proc "$R/proc"\n'
        'mount --bind /etc/resolv.conf "$R/etc/resolv.conf"\n'
        'mount --bind /etc/hosts "$R/etc/hosts"\n'
        'exec chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root '
        'LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive /bin/sh -ec "$1"\n'
    )
    try:
        with open(log, "ab") as out:
            subprocess.run(["setpriv", "--pdeathsig", "KILL", "--",
                            "unshare", "--mount", "--propagation", "private", "--pid",
                            "--fork", "--kill-child", "--",
                            "/bin/sh", "-c", setup, "chroot-step", str(root), script],
                           check=True, stdout=out, stderr=subprocess.STDOUT)
    finally:
        if made_hosts:
            hosts.unlink()
    scrub(root)


Snapshot = dict[str, tuple[object, ...]]


def snapshot(root: Path) -> Snapshot:
    """What a layer diff compares: type, mode, owner, and content (hash) or target.

    mtimes are left out on purpose: apt touches directories it only looked in, and
    the layers clamp mtimes anyway, so an mtime-only change would add nothing.
    """
    snap: Snapshot = {}
    for rel in sorted_tree(root, PSEUDO):
        st = os.lstat(root / rel)
        mode = st.st_mode
        if stat.S_ISREG(mode):
            digest = hashlib.sha256((root / rel).read_bytes()).hexdigest()
            snap[rel] = ("f", mode, st.st_uid, st.st_gid, digest)
        elif stat.S_ISLNK(mode):
            snap[rel] = ("l", st.st_uid, st.st_gid, os.readlink(root / rel))
        else:
            snap[rel] = ("o", mode, st.st_uid, st.st_gid, st.st_rdev)
    return snap


def _key(path: str) -> list[str]:
    return path.split("/")  # component order: a parent always sorts before its children


def write_diff(w: LayerWriter, root: Path, before: Snapshot, after: Snapshot) -> list[str]:
    """Write the layer that turns `before` into `after` (the tree now at `root`).

    Returns the whited-out paths. Parents of every entry are written too, so an
    unpacker never has to invent a directory's owner or mode.
    """
    changed = {p for p, meta in after.items() if before.get(p) != meta}
    # only the topmost vanished path needs a whiteout: it hides what is below
    gone = sorted((p for p in before if p not in after
                   and (p.rpartition("/")[0] or ".") in after.keys() | {"."}), key=_key)
    wanted = set(changed)
    for p in list(changed) + gone:
        parent = p.rpartition("/")[0]
        while parent:
            wanted.add(parent)
            parent = parent.rpartition("/")[0]
    gone_set = set(gone)
    for p in sorted(wanted | gone_set, key=_key):
        if p in gone_set:
            w.add(whiteout(p))
        else:
            w.add_tree(root, [p])
    return gone


def extract(tar: Path, target: Path) -> None:
    """Unpack a layer tar exactly (numeric owners, modes, links) with GNU tar."""
    target.mkdir(parents=True, exist_ok=True)
    subprocess.run(["tar", "--numeric-owner", "--same-permissions", "-xf", str(tar),
                    "-C", str(target)], check=True)
