"""The native helper, end to end: clone into namespaces, overlay rootfs, exec.

Runs as the unprivileged test user (the product is rootless). The rootfs is a
lower dir made on the fly from the host's busybox-static; every check looks
from INSIDE the container with busybox.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pdman.errors import CommandNotExecutableError, CommandNotFoundError, RuntimeFailure
from pdman.runtime import idmap, native
from pdman.runtime.native import (
    BindMount,
    DirRootfs,
    OverlayRootfs,
    Rlimit,
    SpawnSpec,
    TmpfsMount,
)
from pdman.runtime.spawn import spawn_container, wait

pytestmark = pytest.mark.integration

if os.geteuid() == 0:
    pytest.skip("the suite is rootless: run it as an unprivileged user with a subordinate "
                "ID range (bash tests/run does, via tests/bed/user.sh)",
                allow_module_level=True)

BUSYBOX = shutil.which("busybox", path="/bin:/usr/bin") or "/bin/busybox"
DEFAULT_CAPEFF = f"{native.cap_mask(native.DEFAULT_CAPS):016x}"


def _make_busybox_tree(root: Path) -> Path:
    (root / "bin").mkdir(parents=True)
    shutil.copy(BUSYBOX, root / "bin/busybox")
    applets = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True,
                             check=True).stdout.split()
    for applet in applets:
        if applet != "busybox":
            os.symlink("busybox", root / "bin" / applet)
    for d in ("proc", "sys", "dev", "tmp", "etc", "root"):
        (root / d).mkdir()
    (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (root / "bin/not-executable").write_text("#!/bin/sh\necho no\n")
    os.chmod(root / "bin/not-executable", 0o644)
    return root


@pytest.fixture(scope="module")
def lower(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not os.path.exists(BUSYBOX):
        pytest.skip("busybox-static is not installed")
    return _make_busybox_tree(tmp_path_factory.mktemp("layer") / "lower")


@pytest.fixture
def overlay(tmp_path: Path, lower: Path) -> OverlayRootfs:
    for d in ("upper", "work", "merged"):
        (tmp_path / d).mkdir()
    # containers/storage style: short link names relative to the `l/` dir
    links = tmp_path / "l"
    links.mkdir()
    os.symlink(lower, links / "BUSYBOX0")
    return OverlayRootfs(
        mountpoint=str(tmp_path / "merged"),
        lowerdirs=["BUSYBOX0"],
        upperdir=str(tmp_path / "upper"),
        workdir=str(tmp_path / "work"),
        linkdir=str(links),
    )


@pytest.fixture(scope="module")
def mapping() -> idmap.IdMapping:
    return idmap.mapping_for_current_user()


@pytest.fixture
def full_mapping(mapping: idmap.IdMapping) -> idmap.IdMapping:
    if mapping.single_id:
        pytest.skip(f"needs a subordinate ID range: {mapping.warning}")
    return mapping


def run(spec: SpawnSpec, mapping: idmap.IdMapping) -> tuple[int, str]:
    """Run to completion; (exit status, stdout+stderr)."""
    r, w = os.pipe()
    try:
        pid = spawn_container(spec.replace(stdio=(-1, w, w)), mapping)
    finally:
        os.close(w)
    with os.fdopen(r, "rb") as out:
        output = out.read().decode()
    return wait(pid), output


def sh(script: str, rootfs: OverlayRootfs | DirRootfs, mapping: idmap.IdMapping,
       **kw: object) -> tuple[int, str]:
    return run(SpawnSpec(argv=["sh", "-c", script], rootfs=rootfs, **kw), mapping)  # type: ignore[arg-type]


def status_field(output: str, name: str) -> str:
    for line in output.splitlines():
        if line.startswith(name + ":"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"{name} not in {output!r}")


# ---- namespaces and rootfs ----


def test_command_is_pid_1(overlay: OverlayRootfs, mapping: idmap.IdMapping) -> None:
    assert sh("echo $$", overlay, mapping) == (0, "1\n")


def test_no_host_process_visible(overlay: OverlayRootfs, mapping: idmap.IdMapping) -> None:
    code, out = sh("ps -o pid,comm; ls /proc", overlay, mapping)
    assert code == 0
    lines = out.splitlines()
    pids = {int(line.split()[0]) for line in lines[1:] if line.split()[0].isdigit()
            and len(line.split()) == 2}
    assert pids == {1, 2}, out  # sh and ps
    proc_pids = {int(x) for x in out.split() if x.isdigit()}
    assert os.getpid() not in proc_pids or os.getpid() <= 2


def test_root_in_container(overlay: OverlayRootfs, mapping: idmap.IdMapping) -> None:
    assert sh("id -u; id -g", overlay, mapping) == (0, "0\n0\n")


def test_sensitive_proc_paths_masked(overlay: OverlayRootfs,
                                     mapping: idmap.IdMapping) -> None:
    code, out = sh(
        "if [ -e /proc/kcore ]; then echo kcore=$(wc -c < /proc/kcore); "
        "else echo kcore=absent; fi; "
        "echo keys=$(wc -c < /proc/keys); ls -A /proc/acpi | wc -l; "
        "echo 1 > /proc/sys/kernel/domainname && echo sys-writable; "
        "cat /proc/self/mountinfo", overlay, mapping)
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0] in ("kcore=0", "kcore=absent"), out
    assert lines[1] == "keys=0"
    assert lines[2] == "0"
    assert "sys-writable" not in out
    targets = {line.split()[4] for line in lines if len(line.split()) > 5}
    assert {"/proc/keys", "/proc/acpi", "/proc/timer_list", "/proc/sys"} <= targets


def test_writes_land_in_upper_dir(overlay: OverlayRootfs, lower: Path,
                                  mapping: idmap.IdMapping) -> None:
    code, out = sh("echo data > /newfile && echo more > /bin/added && rm /bin/cat",
                   overlay, mapping)
    assert code == 0, out
    upper = Path(overlay.upperdir)
    assert (upper / "newfile").read_text() == "data\n"
    assert (upper / "bin/added").read_text() == "more\n"
    assert not (lower / "newfile").exists()
    assert not (lower / "bin/added").exists()
    assert (lower / "bin/cat").is_symlink()  # the removal is a whiteout in upper
    # owned by the user on the host: container root is the user
    assert (upper / "newfile").stat().st_uid == os.getuid()


def test_many_layers_fit_with_short_link_names(tmp_path: Path, lower: Path,
                                               mapping: idmap.IdMapping) -> None:
    # 26-character link names, as containers/storage makes them, relative to
    # the `l/` dir: 130 layers stay within the one page mount(2) reads
    links = tmp_path / "l"
    links.mkdir()
    names = []
    for i in range(130):
        layer = tmp_path / "layers" / f"{i:03d}"
        (layer / "layers").mkdir(parents=True)
        (layer / "layers" / f"{i:03d}").write_text(f"{i}\n")
        (layer / "top").write_text(f"{i}\n")
        name = f"{i:03d}".ljust(26, "X")
        os.symlink(layer, links / name)
        names.append(name)
    os.symlink(lower, links / "BUSYBOX".ljust(26, "X"))
    for d in ("upper", "work", "merged"):
        (tmp_path / d).mkdir()
    rootfs = OverlayRootfs(str(tmp_path / "merged"), names[::-1] + ["BUSYBOX".ljust(26, "X")],
                           str(tmp_path / "upper"), str(tmp_path / "work"), linkdir=str(links))
    code, out = sh("ls /layers | wc -l; cat /top", rootfs, mapping)
    assert (code, out) == (0, "130\n129\n")


def test_layers_beyond_a_page_of_options(tmp_path: Path, lower: Path,
                                         mapping: idmap.IdMapping) -> None:
    # absolute paths: 200 layers need ~14 KB of options, more than the page
    # mount(2) reads; they go one by one through fsconfig(2) `lowerdir+`
    layers = []
    for i in range(200):
        layer = tmp_path / ("layer-with-a-long-directory-name-" + "x" * 30 + f"-{i:03d}")
        (layer / "layers").mkdir(parents=True)
        (layer / "layers" / f"{i:03d}").write_text("")
        layers.append(str(layer))
    for d in ("upper", "work", "merged"):
        (tmp_path / d).mkdir()
    rootfs = OverlayRootfs(str(tmp_path / "merged"), layers + [str(lower)],
                           str(tmp_path / "upper"), str(tmp_path / "work"))
    assert len(":".join(rootfs.lowerdirs)) > 4096
    code, out = sh("ls /layers | wc -l", rootfs, mapping)
    assert (code, out) == (0, "200\n")
    missing = rootfs._replace(lowerdirs=[str(tmp_path / "missing")] + layers)
    with pytest.raises(RuntimeFailure, match=r"lowerdir\+ `.*/missing`"):
        run(SpawnSpec(argv=["true"], rootfs=missing), mapping)


def test_plain_directory_rootfs(tmp_path: Path, mapping: idmap.IdMapping) -> None:
    root = _make_busybox_tree(tmp_path / "rootfs")
    code, out = sh("echo $$; touch /made-here", DirRootfs(str(root)), mapping)
    assert (code, out) == (0, "1\n")
    assert (root / "made-here").exists()


def test_hostname(overlay: OverlayRootfs, mapping: idmap.IdMapping) -> None:
    assert sh("hostname", overlay, mapping, hostname="ctr-name") == (0, "ctr-name\n")


def test_env_and_working_dir(overlay: OverlayRootfs, mapping: idmap.IdMapping) -> None:
    code, out = sh("echo $GREETING; pwd", overlay, mapping,
                   env={"PATH": "/bin", "GREETING": "hello"}, cwd="/work/dir")
    assert (code, out) == (0, "hello\n/work/dir\n")


def test_mounts_tmpfs_readonly_rootfs(overlay: OverlayRootfs, tmp_path: Path,
                                      mapping: idmap.IdMapping) -> None:
    vol = tmp_path / "vol"
    vol.mkdir()
    (vol / "in").write_text("from host\n")
    code, out = sh(
        "cat /data/in; touch /ro/x 2>/dev/null && echo ro-writable; "
        "touch /scratch/x && echo tmpfs-ok; touch /rootfile 2>/dev/null && echo root-writable; true",
        overlay, mapping,
        mounts=[BindMount(str(vol), "/data"), BindMount(str(vol), "/ro", readonly=True)],
        tmpfs=[TmpfsMount("/scratch")], readonly_rootfs=True)
    assert (code, out) == (0, "from host\ntmpfs-ok\n"), out


def test_mount_targets_resolve_inside_the_rootfs(overlay: OverlayRootfs, tmp_path: Path,
                                                 mapping: idmap.IdMapping) -> None:
    # an image layer with a dangling /etc/resolv.conf (Debian's points into
    # /run) and a symlink that tries to lead a mount out of the rootfs
    layer = tmp_path / "links-layer"
    (layer / "etc").mkdir(parents=True)
    os.symlink("/run/resolve/stub.conf", layer / "etc/resolv.conf")
    escape = tmp_path / "outside"
    os.symlink(f"../../../../../../../..{escape}", layer / "etc/escape")
    assert overlay.linkdir is not None
    os.symlink(layer, Path(overlay.linkdir) / "LINKS0")
    rootfs = overlay._replace(lowerdirs=["LINKS0", *overlay.lowerdirs])
    host_file = tmp_path / "resolv.conf"
    host_file.write_text("nameserver 10.0.2.3\n")
    code, out = sh("cat /etc/resolv.conf; ls /etc/escape/", rootfs, mapping,
                   mounts=[BindMount(str(host_file), "/etc/resolv.conf", readonly=True),
                           BindMount(str(host_file), "/etc/escape/file")])
    assert (code, out) == (0, "nameserver 10.0.2.3\nfile\n"), out
    upper = Path(overlay.upperdir)
    assert (upper / "run/resolve/stub.conf").exists()  # made inside the rootfs
    assert not escape.exists()  # and nothing outside it
    assert (upper / escape.relative_to("/") / "file").exists()


def test_rlimits(overlay: OverlayRootfs, mapping: idmap.IdMapping) -> None:
    code, out = sh("ulimit -n; ulimit -Hn", overlay, mapping,
                   rlimits=[Rlimit("nofile", 512, 768)])
    assert (code, out) == (0, "512\n768\n")


def test_spawn_while_other_threads_run(overlay: OverlayRootfs,
                                       mapping: idmap.IdMapping) -> None:
    # the API service spawns from worker threads while others come and go:
    # the child of clone(2) must not depend on the caller's other threads
    stop = threading.Event()

    def churn() -> None:
        while not stop.is_set():
            t = threading.Thread(target=lambda: None)
            t.start()
            t.join()

    def own_overlay(i: int) -> OverlayRootfs:
        # as for containers: an upper and work dir each (overlayfs refuses a second
        # mount on an upper/work dir in use)
        base = Path(overlay.upperdir).parent / f"worker{i}"
        for d in ("upper", "work", "merged"):
            (base / d).mkdir(parents=True)
        return overlay._replace(mountpoint=str(base / "merged"), upperdir=str(base / "upper"),
                                workdir=str(base / "work"))

    churner = threading.Thread(target=churn)
    churner.start()
    try:
        results: list[tuple[int, str]] = []
        workers = [threading.Thread(target=lambda rootfs=own_overlay(i): results.append(
            sh("id -u", rootfs, mapping, uid=0))) for i in range(4)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(timeout=30)
        results.extend(sh("echo $$", overlay, mapping) for _ in range(10))
    finally:
        stop.set()
        churner.join()
    assert results.count((0, "0\n")) == 4
    assert results.count((0, "1\n")) == 10


# ---- exit status and errors ----


def test_exit_status_propagated(overlay: OverlayRootfs, mapping: idmap.IdMapping) -> None:
    assert sh("exit 3", overlay, mapping) == (3, "")


def test_killed_by_signal_is_128_plus_n(overlay: OverlayRootfs,
                                        mapping: idmap.IdMapping) -> None:
    # PID 1 ignores signals it has no handler for when they come from inside
    # its namespace (kill -9 $$ is a no-op there), so SIGKILL comes from the host
    pid = spawn_container(SpawnSpec(argv=["sleep", "60"], rootfs=overlay,
                                    stdio=(-1, -1, -1)), mapping)
    os.kill(pid, signal.SIGKILL)
    assert wait(pid) == 137
    # a non-init process killing itself: the shell reports 128+9 and exits with it
    assert sh('sh -c "kill -9 \\$\\$"; exit $?', overlay, mapping)[0] == 137


def test_failure_before_release_kills_the_child(overlay: OverlayRootfs,
                                                mapping: idmap.IdMapping) -> None:
    seen: list[int] = []

    def network_setup(pid: int) -> None:
        seen.append(pid)
        raise RuntimeFailure("network setup failed")

    with pytest.raises(RuntimeFailure, match="network setup failed"):
        spawn_container(SpawnSpec(argv=["true"], rootfs=overlay), mapping,
                        before_release=network_setup)
    assert seen and not os.path.exists(f"/proc/{seen[0]}")  # killed and reaped


def test_child_killed_before_release_is_an_error(overlay: OverlayRootfs,
                                                 mapping: idmap.IdMapping) -> None:
    child = native.spawn(SpawnSpec(argv=["true"], rootfs=overlay))
    os.kill(child.pid, signal.SIGKILL)
    os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # dead, not reaped
    with pytest.raises(RuntimeFailure, match="exited before sync 2"):
        native.release(child, timeout=5)


def test_missing_command(overlay: OverlayRootfs, mapping: idmap.IdMapping) -> None:
    with pytest.raises(CommandNotFoundError) as info:
        run(SpawnSpec(argv=["no-such-command"], rootfs=overlay), mapping)
    assert info.value.exit_code == 127
    assert "no-such-command" in str(info.value)
    with pytest.raises(CommandNotFoundError):
        run(SpawnSpec(argv=["/bin/no-such-file"], rootfs=overlay), mapping)


def test_not_executable(overlay: OverlayRootfs, mapping: idmap.IdMapping) -> None:
    with pytest.raises(CommandNotExecutableError) as info:
        run(SpawnSpec(argv=["not-executable"], rootfs=overlay), mapping)
    assert info.value.exit_code == 126


def test_child_error_names_syscall_and_path(overlay: OverlayRootfs,
                                            mapping: idmap.IdMapping) -> None:
    broken = overlay._replace(lowerdirs=["NO-SUCH-LINK"])
    start = time.monotonic()
    with pytest.raises(RuntimeFailure) as info:
        run(SpawnSpec(argv=["true"], rootfs=broken, timeout=20), mapping)
    assert time.monotonic() - start < 10  # an error, not a timeout
    message = str(info.value)
    assert "mount" in message and overlay.mountpoint in message, message
    assert "No such file or directory" in message, message
    assert info.value.exit_code == 125


def test_bad_bind_source_is_reported(overlay: OverlayRootfs, tmp_path: Path,
                                     mapping: idmap.IdMapping) -> None:
    missing = str(tmp_path / "missing")
    with pytest.raises(RuntimeFailure, match=f"stat bind source `{missing}`"):
        run(SpawnSpec(argv=["true"], rootfs=overlay,
                      mounts=[BindMount(missing, "/x")]), mapping)


# ---- users, ownership, privileges ----


def test_file_ownership_on_bind_mount(overlay: OverlayRootfs, tmp_path: Path,
                                      full_mapping: idmap.IdMapping) -> None:
    vol = tmp_path / "vol"
    vol.mkdir()
    code, out = sh("touch /vol/by-root && touch /vol/by-1000 && chown 1000:1000 /vol/by-1000",
                   overlay, full_mapping, mounts=[BindMount(str(vol), "/vol")])
    assert code == 0, out
    assert (vol / "by-root").stat().st_uid == os.getuid()
    owner = (vol / "by-1000").stat()
    assert owner.st_uid == full_mapping.host_uid(1000)
    assert owner.st_gid == full_mapping.host_gid(1000)
    sub = idmap.parse_subid(Path(idmap.SUBUID_FILE).read_text(),
                            os.environ.get("USER", ""), os.getuid())
    if sub:
        assert owner.st_uid == sub[0].start + 999


def test_default_capabilities(overlay: OverlayRootfs, mapping: idmap.IdMapping) -> None:
    code, out = sh("cat /proc/self/status", overlay, mapping)
    assert code == 0, out
    assert status_field(out, "CapEff") == DEFAULT_CAPEFF == "00000000800405fb"
    assert status_field(out, "CapBnd") == DEFAULT_CAPEFF
    assert status_field(out, "NoNewPrivs") == "0"


def test_no_capabilities(overlay: OverlayRootfs, mapping: idmap.IdMapping) -> None:
    code, out = sh("cat /proc/self/status; touch /etc/x && chown 5 /etc/x || echo denied",
                   overlay, mapping, caps=[])
    assert code == 0, out
    for name in ("CapEff", "CapPrm", "CapBnd", "CapAmb"):
        assert status_field(out, name) == "0000000000000000"
    assert "denied" in out


def test_no_new_privs(overlay: OverlayRootfs, mapping: idmap.IdMapping) -> None:
    code, out = sh("cat /proc/self/status", overlay, mapping, no_new_privs=True)
    assert code == 0, out
    assert status_field(out, "NoNewPrivs") == "1"


def test_non_root_user(overlay: OverlayRootfs, full_mapping: idmap.IdMapping) -> None:
    code, out = sh("id -u; id -g; id -G; cat /proc/self/status", overlay, full_mapping,
                   uid=1000, gid=1000, additional_gids=[1000, 20])
    assert code == 0, out
    lines = out.splitlines()
    assert lines[:3] == ["1000", "1000", "1000 20"], out
    # podman's rule: a non-root user in the container holds no capabilities
    for name in ("CapEff", "CapPrm", "CapInh", "CapAmb"):
        assert status_field(out, name) == "0000000000000000", name


def test_single_id_mapping(overlay: OverlayRootfs) -> None:
    single = idmap.single_id_mapping(os.getuid(), os.getgid())
    code, out = sh("id -u; echo $$; cat /proc/self/uid_map", overlay, single)
    assert code == 0, out
    assert out.split()[:5] == ["0", "1", "0", str(os.getuid()), "1"]


# ---- run_in_userns ----


def _chown_and_stat(path: str, uid: int) -> tuple[int, int]:
    os.chown(path, uid, uid)
    st = os.stat(path)
    return os.getuid(), st.st_uid


def _fail_inside() -> None:
    raise RuntimeFailure("failed inside", hint="a hint")


def test_run_in_userns(tmp_path: Path, full_mapping: idmap.IdMapping) -> None:
    target = tmp_path / "f"
    target.write_text("x")
    inside_uid, inside_owner = idmap.run_in_userns(_chown_and_stat, str(target), 1000)
    assert (inside_uid, inside_owner) == (0, 1000)
    assert target.stat().st_uid == full_mapping.host_uid(1000)
    with pytest.raises(RuntimeFailure, match="failed inside") as info:
        idmap.run_in_userns(_fail_inside)
    assert info.value.hint == "a hint"


def _children() -> set[int]:
    """PIDs whose parent is this process (the session's registries among them)."""
    me = str(os.getpid())
    kids = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    stat = f.read()
            except OSError:
                continue
            if stat[stat.rindex(b")") + 2:].split()[1].decode() == me:
                kids.add(int(entry))
    return kids


@pytest.fixture(autouse=True)
def _no_leaked_children() -> Iterator[None]:
    before = _children()
    yield
    # every container was reaped: no zombie, no child left waiting at a sync point
    # (children from before the test, such as the test bed's registries, are not ours)
    assert _children() - before == set()


def test_the_monitor_ready_byte_is_native_pdman_h_s() -> None:
    # runtime/monitor keeps its own copy, so that a detached start's caller need not
    # load the native module to read one byte
    from pdman.runtime import monitor, native

    assert monitor.MONITOR_READY == native.MONITOR_READY
