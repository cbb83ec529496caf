"""`diff`, `export` and `cp`, against real containers, as the unprivileged user."""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path


from tests.bed.runner import run_pdman


def _changed(env: dict[str, str], image: str) -> str:
    cid = run_pdman("create", image, "sh", "-c",
                    "echo new > /etc/new; rm /bin/ls; echo x >> /etc/passwd; "
                    "mkdir -p /srv/d && echo deep > /srv/d/f && chown 1000:1000 /srv/d/f && chmod 600 /srv/d/f",
                    env=env).stdout.strip()
    run_pdman("start", "-a", cid, env=env)
    return cid


def test_diff_lists_added_changed_deleted(busybox: str, registry_env: dict[str, str]) -> None:
    cid = _changed(registry_env, busybox)
    lines = run_pdman("diff", cid, env=registry_env).stdout.splitlines()
    assert "A /etc/new" in lines
    assert "C /etc/passwd" in lines
    assert "C /etc" in lines
    assert "D /bin/ls" in lines
    assert "A /srv/d/f" in lines


def test_export_is_the_merged_filesystem(busybox: str, registry_env: dict[str, str], tmp_path: Path) -> None:
    cid = _changed(registry_env, busybox)
    out = tmp_path / "fs.tar"
    run_pdman("export", "-o", out, cid, env=registry_env)
    with tarfile.open(out) as tar:
        names = set(tar.getnames())
        assert "etc/new" in names and "bin/busybox" in names
        assert "bin/ls" not in names          # deleted in the container
        f = tar.getmember("srv/d/f")
        assert (f.uid, f.gid, f.mode & 0o777) == (1000, 1000, 0o600)  # container IDs
        assert tar.extractfile("etc/new").read() == b"new\n"  # type: ignore[union-attr]
    assert not (tmp_path / "fs.tar.partial").exists()


def test_cp_both_ways(busybox: str, registry_env: dict[str, str], tmp_path: Path) -> None:
    cid = _changed(registry_env, busybox)
    host_dir = tmp_path / "in"
    host_dir.mkdir()
    (host_dir / "hello.txt").write_text("from host\n")
    run_pdman("cp", host_dir / "hello.txt", f"{cid}:/tmp", env=registry_env)
    run_pdman("cp", host_dir, f"{cid}:/srv", env=registry_env)
    # a tar stream on stdin is unpacked into the container's directory
    packed = io.BytesIO()
    with tarfile.open(fileobj=packed, mode="w") as tar:
        entry = tarfile.TarInfo("streamed/run.sh")
        body = b"#!/bin/sh\necho streamed\n"
        entry.size, entry.mode = len(body), 0o750
        tar.addfile(entry, io.BytesIO(body))
    subprocess.run([_exe(registry_env), "cp", "-", f"{cid}:/srv"], env=registry_env,
                   input=packed.getvalue(), capture_output=True, check=True)
    assert run_pdman("start", "-a", cid, env=registry_env).returncode == 0
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    run_pdman("cp", f"{cid}:/srv/d/f", out_dir, env=registry_env)
    assert (out_dir / "f").read_text() == "deep\n"
    run_pdman("cp", f"{cid}:/tmp/hello.txt", tmp_path / "renamed.txt", env=registry_env)
    assert (tmp_path / "renamed.txt").read_text() == "from host\n"
    stream = subprocess.run([_exe(registry_env), "cp", f"{cid}:/srv/in", "-"], env=registry_env,
                            capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(stream)) as tar:
        assert "in/hello.txt" in tar.getnames()
    stream = subprocess.run([_exe(registry_env), "cp", f"{cid}:/srv/streamed/run.sh", "-"],
                            env=registry_env, capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(stream)) as tar:
        member = tar.getmember("run.sh")
        assert member.mode & 0o777 == 0o750
        assert tar.extractfile(member).read() == b"#!/bin/sh\necho streamed\n"  # type: ignore[union-attr]


def test_cp_into_a_running_container(busybox: str, registry_env: dict[str, str], tmp_path: Path) -> None:
    src = tmp_path / "note"
    src.write_text("live\n")
    proc = subprocess.Popen([_exe(registry_env), "run", "--rm", "--name", "live", busybox, "sh", "-c",
                             "while [ ! -f /tmp/note ]; do sleep 0.05; done; cat /tmp/note"],
                            env=registry_env, stdout=subprocess.PIPE, text=True)
    try:
        for _ in range(200):
            if "Up" in run_pdman("ps", "--filter", "name=live", env=registry_env).stdout:
                break
        run_pdman("cp", src, "live:/tmp/note", env=registry_env)
        out, _ = proc.communicate(timeout=30)
        assert out == "live\n"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_cp_refuses_to_follow_container_symlinks_onto_the_host(busybox: str, registry_env: dict[str, str],
                                                                tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    cid = run_pdman("create", busybox, "ln", "-s", str(victim), "/escape", env=registry_env).stdout.strip()
    run_pdman("start", "-a", cid, env=registry_env)
    payload = tmp_path / "payload"
    payload.write_text("x")
    run_pdman("cp", payload, f"{cid}:/escape", env=registry_env, check=False)
    assert list(victim.iterdir()) == []  # the link resolved inside the container, not here


def _exe(env: dict[str, str]) -> str:
    import shutil

    exe = shutil.which("pdman", path=env["PATH"])
    assert exe
    return exe
