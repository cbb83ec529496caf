"""The guest image of the VM tier: a debootstrap'd Debian bookworm with systemd, built
once and cached (as root, on the host).

    sudo python3 -m tests.vm.image build [--force]     (from the repo root)

Cache: $PDMAN_VM_CACHE, else /var/cache/pdman-testbed/vm. The image is built into
`.tmp/`, renamed to `guest.KEY/` when complete and published by swapping the symlink
`guest -> guest.KEY`, so a killed build leaves no half image. KEY hashes the recipe:
this file, the files baked into the guest (tests/vm/guest/pdman-vm-boot*), pdman's
Python dependencies (their wheels are installed in the guest's venv) and the Debian
mirror. Change any of them and the next run rebuilds (~2 min); otherwise it is reused.

What the guest has (DESIGN §9, issue 7):
  - linux-image-amd64 (the full kernel: 9p needs it), booted directly with
    -kernel/-initrd, an initrd with only the modules the VM needs;
  - systemd as PID 1 on the unified cgroup hierarchy, dbus, dbus-user-session,
    libpam-systemd, uidmap; the user `tester` (uid 1000, subordinate IDs
    100000:65536), lingering, so user@1000.service runs from boot and delegates
    cpu, memory and pids to it;
  - slirp4netns (pdman's fallback user-mode network: published ports with no network
    device; the guest's passt would need a host interface to copy);
  - podman 4.3 with crun, conmon, fuse-overlayfs, catatonit and netavark (Debian's), to
    compare a pdman Quadlet unit's start with podman's `generate systemd` unit;
  - docker-registry, so a registry on the guest's 127.0.0.1 can serve the test images
    (the guest has no network device);
  - /opt/pdman-venv: Python with pdman's dependencies (wheels built on the host, no
    network needed in the guest); pdman itself is installed at each boot from a wheel
    of the tree under test;
  - pdman-vm-boot.service: mounts the host's 9p shares and runs
    tests/vm/guest/tier.sh from the shared source, then powers off.
No getty on the serial line (it would interfere with the console), no timers.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

from tests.bed import rootfs

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DEFAULT_CACHE = Path("/var/cache/pdman-testbed/vm")
SUITE = "bookworm"
USER, UID = "tester", 1000
VENV = "/opt/pdman-venv"
DISK_SIZE = "4G"

PACKAGES = [
    "systemd", "systemd-sysv", "dbus", "dbus-user-session", "libpam-systemd", "uidmap",
    "python3", "python3-venv", "docker-registry", "procps", "kmod", "util-linux",
    "initramfs-tools", "zstd", "slirp4netns",
    # podman 4.3 (Debian 12's), only to time the same unit under podman against pdman's
    # (tests/vm/test_podman_compare_vm.py); its runtime, monitor and rootless helpers
    # (netavark: containers-common needs a container-network-stack, which debootstrap,
    # resolving no virtual packages, would leave unmet)
    "podman", "crun", "conmon", "fuse-overlayfs", "catatonit", "netavark",
]
# Modules the initrd needs to mount the root disk and the 9p shares; nothing else, so
# it unpacks fast under emulation.
INITRD_MODULES = ["virtio_pci", "virtio_blk", "ext4", "9p", "9pnet_virtio", "netfs"]
BAKED = [HERE / "guest" / "pdman-vm-boot", HERE / "guest" / "pdman-vm-boot.service"]
# units that would only cost boot time (or, the serial getty, fight the console)
MASKED = [
    "serial-getty@ttyS0.service", "getty@tty1.service", "apt-daily.timer",
    "apt-daily-upgrade.timer", "dpkg-db-backup.timer", "e2scrub_all.timer",
    "fstrim.timer", "systemd-tmpfiles-clean.timer", "man-db.timer",
    "systemd-networkd-wait-online.service", "systemd-timesyncd.service",
    "docker-registry.service",
]


def cache_dir() -> Path:
    return Path(os.environ.get("PDMAN_VM_CACHE") or DEFAULT_CACHE)


def python_requirements() -> list[str]:
    """pdman's runtime and test dependencies, as pyproject.toml names them."""
    meta = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return list(meta["dependencies"]) + list(meta["optional-dependencies"]["test"])


def recipe_key(mirror: str) -> str:
    h = hashlib.sha256()
    for path in [Path(__file__).resolve(), *BAKED]:
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    h.update(json.dumps([python_requirements(), mirror, SUITE, PACKAGES]).encode())
    return h.hexdigest()[:16]


def current(cache: Path | None = None) -> Path | None:
    """The published image directory if it matches today's recipe, else None."""
    cache = cache or cache_dir()
    link = cache / "guest"
    try:
        mirror = rootfs.host_mirror()
    except RuntimeError:
        mirror = ""
    want = f"guest.{recipe_key(mirror)}"
    if link.is_symlink() and os.readlink(link) == want and (cache / want / "done").exists():
        return cache / want
    return None


def _run(cmd: list[str], log: Path, **kw: object) -> None:
    with open(log, "ab") as out:
        out.write(("\n$ " + " ".join(cmd) + "\n").encode())
        out.flush()
        subprocess.run(["setpriv", "--pdeathsig", "KILL", "--", *cmd], check=True,
                       stdout=out, stderr=subprocess.STDOUT, **kw)  # type: ignore[call-overload]


def _wheels(dest: Path, log: Path) -> None:
    """Wheels of pdman's dependencies, built here (the guest has no network)."""
    dest.mkdir(parents=True, exist_ok=True)
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--disable-pip-version-check",
          "-w", str(dest), *python_requirements()], log)


def _configure(root: Path, log: Path) -> None:
    """Everything inside the guest except the kernel and the venv."""
    (root / "etc/hostname").write_text("pdman-vm\n")
    (root / "etc/hosts").write_text("127.0.0.1\tlocalhost\n127.0.1.1\tpdman-vm\n")
    (root / "etc/fstab").write_text("# root comes from the kernel command line\n")
    (root / "etc/initramfs-tools/conf.d").mkdir(parents=True, exist_ok=True)
    (root / "etc/initramfs-tools/conf.d/pdman-vm").write_text("MODULES=list\nCOMPRESS=zstd\n")
    (root / "etc/initramfs-tools/modules").write_text("\n".join(INITRD_MODULES) + "\n")
    shutil.copy(HERE / "guest/pdman-vm-boot", root / "usr/local/sbin/pdman-vm-boot")
    os.chmod(root / "usr/local/sbin/pdman-vm-boot", 0o755)
    shutil.copy(HERE / "guest/pdman-vm-boot.service",
                root / "etc/systemd/system/pdman-vm-boot.service")
    masks = " ".join(MASKED)
    rootfs.chroot_step(root, f"""
useradd -m -u {UID} -s /bin/bash {USER}
echo '{USER}:100000:65536' > /etc/subuid
echo '{USER}:100000:65536' > /etc/subgid
passwd -d root
mkdir -p /var/lib/systemd/linger && touch /var/lib/systemd/linger/{USER}
systemctl enable pdman-vm-boot.service
systemctl set-default multi-user.target
for u in {masks}; do ln -sf /dev/null /etc/systemd/system/$u; done
""", log)


def _kernel_and_venv(root: Path, wheels: Path, log: Path, mirror: str) -> None:
    """The kernel goes in after the initramfs config (one initrd build, not two);
    the venv from the host's wheels."""
    inside = root / "tmp/wheels"
    shutil.copytree(wheels, inside)
    rootfs.chroot_step(root, f"""
echo 'deb {mirror} {SUITE} main' > /etc/apt/sources.list
apt-get update -qq
apt-get install -y -qq --no-install-recommends linux-image-amd64 >/dev/null
apt-get clean
python3 -m venv {VENV}
{VENV}/bin/pip install -q --no-index --disable-pip-version-check --find-links /tmp/wheels \\
  {' '.join(repr(r) for r in python_requirements())}
rm -rf /tmp/wheels
""", log)


def _export(root: Path, out: Path, log: Path) -> None:
    boot = root / "boot"
    kernel = max(boot.glob("vmlinuz-*"))
    initrd = boot / kernel.name.replace("vmlinuz-", "initrd.img-")
    shutil.copy(kernel, out / "vmlinuz")
    shutil.copy(initrd, out / "initrd.img")
    # the kernel's modules for hardware a VM never has only cost disk
    mods = root / "lib/modules" / kernel.name.replace("vmlinuz-", "") / "kernel"
    for sub in ("drivers/gpu", "drivers/net/wireless", "drivers/media", "sound",
                "drivers/infiniband", "drivers/staging", "net/wireless", "drivers/bluetooth"):
        shutil.rmtree(mods / sub, ignore_errors=True)
    _run(["mkfs.ext4", "-q", "-F", "-L", "pdman-vm", "-d", str(root), str(out / "rootfs.img"),
          DISK_SIZE], log)


def build(force: bool = False) -> Path:
    cache = cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two runs at once build once
        if not force and (found := current(cache)):
            print(f"vm image: cached {found}", file=sys.stderr)
            return found
        mirror = rootfs.host_mirror()
        key = recipe_key(mirror)
        tmp = cache / ".tmp"
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
        log = tmp / "build.log"
        root = tmp / "root"
        started = time.monotonic()
        print(f"vm image: building guest.{key} (log: {cache}/guest.{key}/build.log)",
              file=sys.stderr)
        try:
            _wheels(tmp / "wheels", log)
            _run(["debootstrap", "--variant=minbase", "--include=" + ",".join(PACKAGES),
                  SUITE, str(root), mirror], log)
            _configure(root, log)
            _kernel_and_venv(root, tmp / "wheels", log, mirror)
            _export(root, tmp, log)
        except BaseException:
            print(f"vm image: build failed; see {log}", file=sys.stderr)
            raise
        shutil.rmtree(root)
        shutil.rmtree(tmp / "wheels")
        secs = time.monotonic() - started
        (tmp / "done").write_text(json.dumps({"key": key, "seconds": round(secs, 1)}) + "\n")
        final = cache / f"guest.{key}"
        if final.exists():
            shutil.rmtree(final)
        tmp.rename(final)
        link_tmp = cache / "guest.new"
        if link_tmp.is_symlink():
            link_tmp.unlink()
        link_tmp.symlink_to(final.name)
        link_tmp.rename(cache / "guest")
        for old in cache.glob("guest.*"):  # earlier recipes: a few GB each
            if old.is_dir() and old.name != final.name and old.name != "guest.new":
                shutil.rmtree(old, ignore_errors=True)
        os.chmod(final, 0o755)
        print(f"vm image: built in {secs:.0f} s", file=sys.stderr)
        return final


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python3 -m tests.vm.image")
    sub = p.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="build the guest image unless cached")
    b.add_argument("--force", action="store_true")
    args = p.parse_args(argv)
    if args.cmd == "build":
        print(build(force=args.force))
    return 0


if __name__ == "__main__":
    sys.exit(main())
