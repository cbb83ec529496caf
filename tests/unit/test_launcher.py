"""The single file's launcher (packaging/launcher) and its payload (packaging/pack_binary.py),
on a stand-in bundle: a shell script as the bundle's `pdman`, so no PyInstaller build is
needed. The launcher is compiled here with the same flags as build-binary.sh."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "packaging"))
import pack_binary

SCRIPT = """#!/bin/sh
echo "args=$*"
echo "exe=$(readlink /proc/$$/exe) pid=$$"
env | grep -E '^(_PYI_|LD_LIBRARY_PATH)' | sort
exit "${1:-0}"
"""


@pytest.fixture(scope="module")
def launcher(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cc = shutil.which(os.environ.get("CC", "cc"))
    if cc is None:
        pytest.fail("no C compiler (packaging/install-deps.sh installs gcc)", pytrace=False)
    out = tmp_path_factory.mktemp("launcher") / "launcher"
    src = REPO / "packaging" / "launcher"
    subprocess.run([cc, "-O2", "-Wall", "-Wextra", "-Werror", "-o", str(out),
                    str(src / "launcher.c"), str(src / "sha256.c"), "-lz"], check=True)
    return out


@pytest.fixture
def single(tmp_path: Path, launcher: Path) -> Path:
    bundle = tmp_path / "bundle"
    (bundle / "_internal" / "sub").mkdir(parents=True)
    (bundle / "pdman").write_text(SCRIPT)
    (bundle / "pdman").chmod(0o755)
    (bundle / "_internal" / "big.txt").write_text("pdman " * 100_000)  # compressed
    (bundle / "_internal" / "sub" / "link").symlink_to("../big.txt")
    out = tmp_path / "bin" / "pdman"
    pack_binary.write(launcher, bundle, "9.8.7", out)
    return out


def _run(exe: Path, *args: str, cache: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {"PATH": "/usr/bin:/bin", "HOME": str(cache.parent), "PDMAN_BUNDLE_CACHE": str(cache)}
    return subprocess.run([str(exe), *args], env={**base, **env}, capture_output=True, text=True,
                          timeout=30, check=False)


def test_unpacks_once_and_execs_in_place(single: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = _run(single, "0", "two words", cache=cache)
    assert first.returncode == 0, first.stderr
    assert "args=0 two words" in first.stdout
    [bundle] = [p for p in cache.iterdir()]
    marker = (bundle / ".pdman-payload").read_text()
    assert bundle.name == f"9.8.7-{marker[:16]}"
    trailer = single.read_bytes()[-128:]
    assert trailer.startswith(b"pdman-bundle-v1\n")
    assert trailer[32:96].decode() == marker
    assert (bundle / "_internal" / "big.txt").read_text() == "pdman " * 100_000
    assert os.readlink(bundle / "_internal" / "sub" / "link") == "../big.txt"
    assert os.access(bundle / "pdman", os.X_OK)
    assert oct((bundle / "_internal" / "big.txt").stat().st_mode & 0o777) == "0o644"
    stamp = (bundle / ".pdman-payload").stat().st_mtime_ns
    second = _run(single, "3", cache=cache)
    assert second.returncode == 3
    assert (bundle / ".pdman-payload").stat().st_mtime_ns == stamp


def test_exit_status_and_pid_are_the_programs(single: Path, tmp_path: Path) -> None:
    proc = subprocess.Popen([str(single), "5"], env={"PATH": "/usr/bin:/bin",
                            "PDMAN_BUNDLE_CACHE": str(tmp_path / "c")},
                            stdout=subprocess.PIPE, text=True)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 5
    assert f"pid={proc.pid}" in out  # no parent process stays around the program


def test_concurrent_first_runs(single: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: _run(single, cache=cache), range(8)))
    assert [r.returncode for r in results] == [0] * 8, [r.stderr for r in results]
    assert len(list(cache.iterdir())) == 1


def test_damaged_payload_is_refused(single: Path, tmp_path: Path) -> None:
    data = bytearray(single.read_bytes())
    data[len(data) - 200] ^= 0x01  # last bytes of the payload, before the trailer
    single.write_bytes(bytes(data))
    cache = tmp_path / "cache"
    done = _run(single, cache=cache)
    assert done.returncode == 125
    assert "damaged" in done.stderr
    assert not cache.exists() or list(cache.iterdir()) == []


def test_truncated_file_is_refused(single: Path, tmp_path: Path) -> None:
    single.write_bytes(single.read_bytes()[:-1000])
    done = _run(single, cache=tmp_path / "cache")
    assert done.returncode == 125
    assert "pdman:" in done.stderr


def _bundle(cache: Path) -> Path:
    [bundle] = list(cache.iterdir())
    return bundle.resolve()


def _tool_vars(out: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in out.splitlines()
                if line.startswith(("_PYI_", "LD_LIBRARY_PATH")))


def test_bootloader_environment_preset(single: Path, tmp_path: Path) -> None:
    """What PyInstaller's bootloader would set before restarting itself, so it does not."""
    cache = tmp_path / "cache"
    done = _run(single, cache=cache)
    assert done.returncode == 0, done.stderr
    bundle = _bundle(cache)
    assert _tool_vars(done.stdout) == {"LD_LIBRARY_PATH": f"{bundle}/_internal",
                                       "_PYI_ARCHIVE_FILE": f"{bundle}/pdman",
                                       "_PYI_PARENT_PROCESS_LEVEL": "-1"}


def test_own_library_path_kept(single: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    done = _run(single, cache=cache, LD_LIBRARY_PATH="/mine")
    bundle = _bundle(cache)
    seen = _tool_vars(done.stdout)
    assert seen["LD_LIBRARY_PATH"] == f"{bundle}/_internal:/mine"
    assert seen["LD_LIBRARY_PATH_ORIG"] == "/mine"  # what pdman gives host tools back


def test_nested_run_starts_clean(single: Path, tmp_path: Path) -> None:
    """Started from inside a bundled pdman (another version, even): nothing of the
    parent's bootloader variables is passed on."""
    cache = tmp_path / "cache"
    done = _run(single, cache=cache, _PYI_ARCHIVE_FILE="/x/pdman", _PYI_PARENT_PROCESS_LEVEL="1",
                _PYI_LINUX_PROCESS_NAME="other", LD_LIBRARY_PATH="/x/_internal:/mine",
                LD_LIBRARY_PATH_ORIG="/mine")
    assert done.returncode == 0, done.stderr
    bundle = _bundle(cache)
    assert _tool_vars(done.stdout) == {"LD_LIBRARY_PATH": f"{bundle}/_internal:/mine",
                                       "LD_LIBRARY_PATH_ORIG": "/mine",
                                       "_PYI_ARCHIVE_FILE": f"{bundle}/pdman",
                                       "_PYI_PARENT_PROCESS_LEVEL": "-1"}


def test_cache_others_can_write_is_refused(single: Path, tmp_path: Path) -> None:
    cache = tmp_path / "shared"
    cache.mkdir()
    cache.chmod(0o777)
    done = _run(single, cache=cache)
    assert done.returncode == 125
    assert "PDMAN_BUNDLE_CACHE" in done.stderr


def test_executable_removed_by_hand_is_unpacked_again(single: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    _run(single, cache=cache)
    [bundle] = list(cache.iterdir())
    (bundle / "pdman").unlink()
    done = _run(single, cache=cache)
    assert done.returncode == 0, done.stderr
    assert (bundle / "pdman").exists()
