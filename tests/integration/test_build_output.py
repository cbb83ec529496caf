"""`pdman build --output` (the final stage's files written out besides the image) and
`--platform`/`--arch`/`--os`/`--variant` (the FROM image chosen from the test bed's
multi-platform busybox index, recorded in the built image, RUN refused where this host
cannot execute it)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.integration.test_build import Run, context, inspect, pd  # noqa: F401 (fixture)

if os.geteuid() == 0:
    pytest.skip("the suite is rootless: run it as an unprivileged user (bash tests/run)",
                allow_module_level=True)


def test_output_local_and_tar(pd: Run, busybox: str, tmp_path: Path) -> None:
    ctx = context(tmp_path / "ctx", {
        "Containerfile": f"FROM {busybox} AS build\nRUN mkdir /out && echo made > /out/made"
                         " && ln /out/made /out/hard\nFROM scratch\n"
                         "COPY --from=build /out/ /\nCOPY msg /msg\n",
        "msg": "context file\n"})
    local, archive = tmp_path / "local", tmp_path / "out.tar"
    pd("build", "-t", "outimg", "-o", f"type=local,dest={local}",
       "--output", f"type=tar,dest={archive}", str(ctx))
    assert (local / "made").read_text() == "made\n"
    assert (local / "msg").read_text() == "context file\n"
    assert os.stat(local / "hard").st_ino == os.stat(local / "made").st_ino
    assert os.stat(local / "made").st_uid == os.getuid()      # the user's files
    with tarfile.open(archive) as tar:
        names = {m.name.lstrip("./") for m in tar.getmembers()}
        assert {"made", "msg", "hard"} <= names
        assert tar.extractfile("msg").read() == b"context file\n"  # type: ignore[union-attr]
    assert not Path(str(archive) + ".partial").exists()
    assert inspect(pd, "outimg")["Id"]                        # the image is made as well
    # -o DIR is type=local; a directory that is not empty is refused before it is touched
    plain = tmp_path / "plain"
    pd("build", "-q", "-o", str(plain), str(ctx))
    assert (plain / "msg").read_text() == "context file\n"
    done = pd("build", "-q", "-o", str(plain), str(ctx), check=False)
    assert done.returncode == 125 and "not empty" in done.stderr
    done = pd("build", "-o", "type=zip,dest=x", str(ctx), check=False)
    assert done.returncode == 125 and "type must be local or tar" in done.stderr


def test_output_tar_to_stdout(pd: Run, busybox: str, tmp_path: Path,
                              registry_env: dict[str, str]) -> None:
    ctx = context(tmp_path / "ctx", {
        "Containerfile": f"FROM {busybox}\nRUN echo run-output-line && echo x > /x\n"})
    exe = shutil.which("pdman", path=registry_env.get("PATH"))
    assert exe is not None
    done = subprocess.run([exe, "build", "--no-cache", "-o", "-", str(ctx)],
                          capture_output=True, env=registry_env, timeout=300, check=False)
    assert done.returncode == 0, done.stderr.decode()
    # stdout is the archive alone: the steps and the RUN's own output went to stderr
    stderr = done.stderr.decode()
    assert "STEP 1/2" in stderr and "run-output-line" in stderr
    (tmp_path / "o.tar").write_bytes(done.stdout)
    with tarfile.open(tmp_path / "o.tar") as tar:
        x = tar.extractfile(next(m for m in tar.getmembers() if m.name.lstrip("./") == "x"))
        assert x is not None and x.read() == b"x\n"


def test_platform_picks_the_index_entry(pd: Run, busybox: str, tmp_path: Path) -> None:
    ctx = context(tmp_path / "ctx", {
        "Containerfile": f"FROM {busybox}\nCOPY msg /msg\nCMD [\"sh\"]\n", "msg": "m\n"})
    try:
        out = tmp_path / "arm"
        pd("build", "-t", "armimg", "--platform", "linux/arm64", "-o", str(out), str(ctx))
        # the arm64 manifest's layer (the test bed marks which one a client picked)
        assert (out / "etc" / "pdman-platform").read_text() == "linux/arm64\n"
        cfg = inspect(pd, "armimg")
        assert (cfg["Architecture"], cfg["Os"]) == ("arm64", "linux")
        # --arch alone means the same; scratch stages record the platform too
        pd("build", "-t", "armimg2", "--arch", "arm64", str(ctx))
        assert inspect(pd, "armimg2")["Architecture"] == "arm64"
        (ctx / "Containerfile").write_text("FROM scratch\nCOPY msg /msg\n")
        pd("build", "-t", "armscratch", "--platform", "linux/arm64/v8", str(ctx))
        cfg = inspect(pd, "armscratch")
        assert (cfg["Architecture"], cfg.get("Variant")) == ("arm64", "v8")
        # a RUN of an image this host cannot execute is refused with the reason
        (ctx / "Containerfile").write_text(f"FROM {busybox}\nRUN true\n")
        done = pd("build", "--platform", "linux/arm64", str(ctx), check=False)
        if os.path.exists("/proc/sys/fs/binfmt_misc/qemu-aarch64"):
            print("qemu-aarch64 is registered here: arm64 RUN steps can run; not checked")
        else:
            assert done.returncode == 125, done.stderr
            assert "RUN cannot execute a linux/arm64" in done.stderr
            assert "no emulator" in done.stderr and "Traceback" not in done.stderr
            assert pd("ps", "-a", "-q").stdout.strip() == ""
        done = pd("build", "--platform", "linux", str(ctx), check=False)
        assert done.returncode == 125 and "invalid platform" in done.stderr
    finally:
        pd("pull", "-q", busybox)       # the host's busybox again for the other tests
    # without --platform the host's image is used again
    (ctx / "Containerfile").write_text(f"FROM {busybox}\nRUN cat /etc/pdman-platform\n")
    done = pd("build", "--no-cache", str(ctx))
    assert "linux/amd64" in done.stdout
