"""The VM test tier, from the host (as root; `tests/run` calls it after the host tier):

    python3 -m tests.vm.harness [--src DIR] [--timeout SECONDS] [-- PYTEST ARGS...]

1. QEMU: installed from Debian if missing; if it cannot run at all, the tier is
   skipped with the reason printed (exit 0) -- the only skip there is.
2. The guest image (tests/vm/image.py): built once, cached, rebuilt when its recipe
   changes.
3. This run's inputs, in a directory shared read-only with the guest: a wheel of the
   pdman tree under test (`pip wheel`, built here: the guest has no network) and a
   registry storage holding the test bed's busybox and nginx images, which the guest
   serves from its own 127.0.0.1.
4. Boot once, with software emulation (`-accel tcg,thread=multi`: this host's
   /dev/kvm is not one a stock Debian kernel boots under), no network device, the
   source shared read-only over 9p; the guest runs tests/vm/guest/tier.sh, which
   runs `pytest tests/vm` as an unprivileged user in a systemd login session,
   writes the output and exit status to the results share, and powers off. Tests
   marked `after_reboot` run in a second boot of the same guest: a guest reboot
   resets the machine inside the same QEMU process, so the snapshot disk (and what
   the first boot left on it) carries over; only the power-off ends QEMU.
5. Print the guest's pytest output, and exit with its status (125 when the guest
   never reported one: it crashed or timed out; the console log says why).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from tests.vm import image

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
QEMU = "qemu-system-x86_64"
MEMORY_MB = 2048
CPUS = 2


def log(msg: str) -> None:
    print(f"[vm tier] {msg}", file=sys.stderr, flush=True)


def ensure_qemu() -> str | None:
    """The QEMU binary, installed from Debian if missing; None (and why) if it cannot run."""
    exe = shutil.which(QEMU)
    if exe is None and os.geteuid() == 0:
        log("installing qemu-system-x86 (Debian)")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], env=env, check=False)
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends",
                        "qemu-system-x86"], env=env, check=False, stdout=subprocess.DEVNULL)
        exe = shutil.which(QEMU)
    if exe is None:
        return None
    done = subprocess.run([exe, "-accel", "help"], capture_output=True, text=True, check=False)
    if done.returncode != 0 or "tcg" not in done.stdout:
        log(f"{exe} cannot run here: {done.stderr.strip()[:300]}")
        return None
    return exe


def build_wheel(src: Path, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "--disable-pip-version-check", "-w", str(dest), str(src)],
                   check=True, stdout=subprocess.DEVNULL)
    wheels = sorted(dest.glob("pdman-*.whl"))
    if not wheels:
        raise RuntimeError(f"pip wheel made no pdman wheel in {dest}")
    return wheels[-1]


#: the test bed's images the guest's registry serves (as NAME:latest)
GUEST_IMAGES = ("busybox", "nginx")


def registry_storage(dest: Path, work: Path) -> None:
    """A docker-registry storage tree holding busybox:latest and nginx:latest (as the
    host tier's registry has them), for the guest's own registry."""
    from tests.bed import images, registry

    reg = registry.Registry.start(work / "registry")
    try:
        env = dict(os.environ, TMPDIR=str(work))
        for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
            env.pop(var, None)
        for name in GUEST_IMAGES:
            src = images.layout_dir(name).resolve()
            subprocess.run(["skopeo", "--insecure-policy", "copy", "--quiet",
                            "--dest-tls-verify=false", "--all", "--preserve-digests",
                            f"oci:{src}:{images.IMAGES[name].tag}",
                            f"docker://{reg.image(f'{name}:latest')}"],
                           env=env, check=True)
    finally:
        reg.stop()
    shutil.copytree(work / "registry" / "storage", dest, symlinks=True)


def qemu_command(exe: str, img: Path, src: Path, share: Path, results: Path,
                 console: Path) -> list[str]:
    append = ("root=/dev/vda rw console=ttyS0 quiet loglevel=4 systemd.show_status=0 "
              "systemd.unified_cgroup_hierarchy=1 panic=-1 mitigations=off")
    cmd = [exe, "-accel", "tcg,thread=multi", "-cpu", "max", "-smp", str(CPUS),
           "-m", str(MEMORY_MB), "-display", "none", "-monitor", "none",
           "-serial", f"file:{console}", "-nic", "none",
           "-kernel", str(img / "vmlinuz"), "-initrd", str(img / "initrd.img"),
           "-append", append,
           # snapshot: the cached image stays pristine; every boot starts from it
           "-drive", f"file={img / 'rootfs.img'},if=virtio,format=raw,snapshot=on"]
    for tag, path, ro in (("src", src, True), ("share", share, True), ("results", results, False)):
        opt = f"local,path={path},mount_tag={tag},security_model=none"
        cmd += ["-virtfs", opt + (",readonly=on" if ro else "")]
    return cmd


def boot(cmd: list[str], timeout: float) -> int | None:
    """Run the guest to power-off; its QEMU exit code, None on timeout (then killed)."""
    proc = subprocess.Popen(["setpriv", "--pdeathsig", "KILL", "--", *cmd],
                            stdin=subprocess.DEVNULL)
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python3 -m tests.vm.harness")
    p.add_argument("--src", type=Path, default=REPO,
                   help="the pdman tree to test (shared read-only with the guest)")
    p.add_argument("--work", type=Path, default=Path(os.environ.get(
        "PDMAN_VM_WORK", "/var/tmp/pdman-vm")), help="this run's shares and logs")
    p.add_argument("--timeout", type=float, default=3000.0,
                   help="seconds the guest may run before it is killed")
    p.add_argument("pytest_args", nargs="*")
    args = p.parse_args(argv)
    started = time.monotonic()

    exe = ensure_qemu()
    if exe is None:
        print("SKIPPED: VM tier: QEMU (qemu-system-x86_64) cannot run on this host", flush=True)
        return 0
    img = image.build()
    built = time.monotonic()

    work = args.work
    shutil.rmtree(work, ignore_errors=True)
    share, results = work / "share", work / "results"
    for d in (share, results):
        d.mkdir(parents=True)
    build_wheel(args.src, share / "wheels")
    registry_storage(share / "registry", work / "tmp")
    (share / "pytest-args").write_text(" ".join(args.pytest_args))
    os.chmod(results, 0o777)
    subprocess.run(["chmod", "-R", "a+rX", str(work)], check=True)
    prepared = time.monotonic()

    console = work / "console.log"
    log(f"booting the guest (TCG, {CPUS} vCPUs, {MEMORY_MB} MB); console: {console}")
    rc = boot(qemu_command(exe, img, args.src.resolve(), share, results, console), args.timeout)
    done = time.monotonic()

    tier_log = results / "tier.log"
    if tier_log.exists():
        sys.stdout.write(tier_log.read_text(errors="replace"))
        sys.stdout.flush()
    code_file = results / "exit-code"
    code = int(code_file.read_text().strip()) if code_file.exists() else None
    log(f"image {built - started:.0f} s, inputs {prepared - built:.0f} s, "
        f"guest {done - prepared:.0f} s, total {done - started:.0f} s")
    if code is None:
        why = "timed out and was killed" if rc is None else f"stopped (qemu exit {rc})"
        log(f"the guest {why} without reporting a result; console tail:")
        text = console.read_text(errors="replace") if console.exists() else ""
        sys.stdout.write("\n".join(text.splitlines()[-60:]) + "\n")
        return 125
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
