"""What podman users' scripts do, run unchanged against pdman (issue #13): the cleaning
command, the flags and commands scripts use, and podman's exit codes and error words.
Expected behaviour was taken from podman 4.3 run on the same host."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

from tests.bed.runner import run_pdman

Pd = Callable[..., Any]


def _pd(env: dict[str, str]) -> Pd:
    return lambda *a, **kw: run_pdman(*a, env=env, **kw)


def _ids(pd: Pd, *flags: str) -> list[str]:
    return pd("ps", "-a", "--format", "{{.Names}}", *flags).stdout.split()


def test_the_cleaning_command_removes_everything(registry_env: dict[str, str], busybox: str) -> None:
    pd = _pd(registry_env)
    pd("run", "-d", "--name", "up", busybox, "sleep", "600")
    pd("create", "--name", "made", busybox, "true")
    pd("run", "--name", "done", busybox, "true")
    clean = pd("rm", "-t", "0", "--all", "--force", "--ignore")
    assert sorted(clean.stdout.split()) != []
    assert _ids(pd) == []
    # again, on an empty store: still 0, as in podman (scripts run it first thing)
    assert pd("rm", "-t", "0", "--all", "--force", "--ignore").returncode == 0
    assert pd("rm", "--time=0", "-fai").returncode == 0


def test_rm_of_a_missing_container_podman_words_and_exit_code(registry_env: dict[str, str]) -> None:
    pd = _pd(registry_env)
    gone = pd("rm", "nosuch", check=False)
    # podman 4.3: exit 1 and `no container with name or ID "nosuch" found: no such container`
    assert gone.returncode == 1
    assert 'no container with name or ID "nosuch" found: no such container' in gone.stderr
    assert pd("rm", "--ignore", "nosuch").returncode == 0
    stop = pd("stop", "nosuch", check=False)
    assert stop.returncode == 125 and "no such container" in stop.stderr
    img = pd("image", "inspect", "nosuch:1", check=False)
    assert img.returncode == 125 and "image not known" in img.stderr


def test_rm_force_with_time_stops_with_the_stop_signal_first(
        registry_env: dict[str, str], busybox: str) -> None:
    pd = _pd(registry_env)
    vol = pd("volume", "create", "marks").stdout.strip()
    pd("run", "-d", "--name", "graceful", "-v", f"{vol}:/marks", busybox, "sh", "-c",
       "trap 'echo stopped > /marks/how; exit 0' TERM; while :; do sleep 0.1; done")
    pd("rm", "-f", "-t", "30", "graceful")
    out = pd("run", "--rm", "-v", f"{vol}:/marks", busybox, "cat", "/marks/how").stdout
    assert out == "stopped\n"


def test_name_conflict_in_podman_words_and_replace(registry_env: dict[str, str], busybox: str) -> None:
    pd = _pd(registry_env)
    first = pd("create", "--name", "web", busybox, "true").stdout.strip()
    dup = pd("create", "--name", "web", busybox, "true", check=False)
    assert dup.returncode == 125
    assert f'the container name "web" is already in use by {first}' in dup.stderr
    assert "that name is already in use" in dup.stderr
    second = pd("create", "--replace", "--name", "web", busybox, "true").stdout.strip()
    assert second != first
    assert _ids(pd) == ["web"]
    assert pd("inspect", "--format", "{{.Id}}", "web").stdout.strip() == second
    # --replace of a running one: it is removed (killed) first
    pd("run", "-d", "--replace", "--name", "web", busybox, "sleep", "600")
    out = pd("run", "--replace", "--name", "web", busybox, "echo", "fresh").stdout
    assert out == "fresh\n" and _ids(pd) == ["web"]


def test_start_all_and_filter(registry_env: dict[str, str], busybox: str) -> None:
    pd = _pd(registry_env)
    for name in ("a1", "a2", "b1"):
        pd("create", "--name", name, "--label", f"grp={name[0]}", busybox, "sleep", "600")
    pd("start", "--filter", "label=grp=b")
    running = pd("ps", "--format", "{{.Names}}").stdout.split()
    assert running == ["b1"]
    pd("start", "--all")
    running = pd("ps", "--format", "{{.Names}}", "--sort", "names").stdout.split()
    assert running == ["a1", "a2", "b1"]
    pd("rm", "-fa", "-t", "0")


def test_ps_flags_scripts_use(registry_env: dict[str, str], busybox: str) -> None:
    pd = _pd(registry_env)
    pd("create", "--name", "zed", busybox, "true")
    pd("create", "--name", "alpha", busybox, "true")
    assert pd("ps", "-a", "--sort", "names", "--format", "{{.Names}}").stdout.split() == ["alpha", "zed"]
    plain = pd("ps", "-a", "--noheading", "--external").stdout
    assert "CONTAINER ID" not in plain and len(plain.splitlines()) == 2
    table = pd("ps", "-a", "--noheading", "--format", "table {{.Names}}").stdout.split()
    assert sorted(table) == ["alpha", "zed"]
    bad = pd("ps", "--sort", "bogus", check=False)
    assert bad.returncode == 125 and "--sort" in bad.stderr


def test_images_name_filter_noheading_sort(registry_env: dict[str, str], busybox: str) -> None:
    pd = _pd(registry_env)
    pd("tag", busybox, "localhost/other:1")
    repo = busybox.rsplit(":", 1)[0]
    listed = pd("images", "--format", "{{.Repository}}:{{.Tag}}", repo).stdout.split()
    assert listed == [busybox]
    assert pd("images", "--format", "{{.Repository}}", "localhost/other").stdout.split() == ["localhost/other"]
    plain = pd("images", "-n").stdout
    assert "REPOSITORY" not in plain and len(plain.splitlines()) == 2
    by_repo = pd("images", "--sort", "repository", "--format", "{{.Repository}}").stdout.split()
    assert by_repo == sorted(by_repo)
    assert pd("images", "--noheading", "nosuch/thing").stdout == ""


def test_network_and_volume_ls_noheading(pdman_env: dict[str, str]) -> None:
    pd = _pd(pdman_env)
    pd("volume", "create", "v1")
    assert pd("volume", "ls", "--noheading").stdout.split() == ["local", "v1"]
    assert "NAME" not in pd("network", "ls", "--noheading").stdout


def test_exists_commands(registry_env: dict[str, str], busybox: str) -> None:
    pd = _pd(registry_env)
    pd("create", "--name", "here", busybox, "true")
    pd("volume", "create", "vol")
    pd("network", "create", "net")
    for args in (("container", "exists", "here"), ("container", "exists", "--external", "here"),
                 ("image", "exists", busybox), ("volume", "exists", "vol"),
                 ("network", "exists", "net")):
        assert pd(*args, check=False).returncode == 0, args
    for args in (("container", "exists", "gone"), ("image", "exists", "nosuch:1"),
                 ("volume", "exists", "gone"), ("network", "exists", "gone")):
        done = pd(*args, check=False)
        assert done.returncode == 1 and done.stdout == "" and done.stderr == "", args


def test_init_and_wait_on_a_created_container(registry_env: dict[str, str], busybox: str) -> None:
    pd = _pd(registry_env)
    pd("create", "--name", "fresh", busybox, "true")
    assert pd("init", "fresh").stdout == "fresh\n"
    assert pd("container", "init", "--all").returncode == 0
    # podman: `wait` on a created, never-started container returns 0 at once
    assert pd("wait", "fresh", timeout=30).stdout == "0\n"
    pd("run", "-d", "--name", "busy", busybox, "sleep", "600")
    busy = pd("init", "busy", check=False)
    assert busy.returncode == 125 and "container state improper" in busy.stderr
    pd("rm", "-f", "-t", "0", "busy")


def test_version_and_its_format(pdman_env: dict[str, str]) -> None:
    pd = _pd(pdman_env)
    version = pd("--version").stdout.split()[-1]
    assert pd("version", "--format", "{{.Client.Version}}").stdout == version + "\n"
    data = json.loads(pd("version", "--format", "json").stdout)
    assert data["Client"]["Version"] == version and data["Client"]["Os"] == "linux"
    assert f"Version:      {version}" in pd("version").stdout


def test_system_prune(registry_env: dict[str, str], busybox: str) -> None:
    pd = _pd(registry_env)
    pd("run", "--name", "old", busybox, "true")
    pd("run", "-d", "--name", "live", busybox, "sleep", "600")
    pd("volume", "create", "unused")
    pd("network", "create", "spare")
    out = pd("system", "prune", "-f").stdout
    assert "Deleted Containers" in out and "Deleted Networks" in out and "spare" in out
    assert _ids(pd) == ["live"]
    assert pd("volume", "exists", "unused", check=False).returncode == 0
    pd("system", "prune", "--force", "--volumes")
    assert pd("volume", "exists", "unused", check=False).returncode == 1
    assert pd("image", "exists", busybox, check=False).returncode == 0  # used by `live`
    pd("rm", "-f", "-t", "0", "live")
    pd("system", "prune", "-a", "-f")
    assert pd("image", "exists", busybox, check=False).returncode == 1


def test_userns(registry_env: dict[str, str], busybox: str) -> None:
    pd = _pd(registry_env)
    assert pd("run", "--rm", "--userns=host", busybox, "id", "-u").stdout == "0\n"
    assert pd("run", "--rm", "--userns", "", busybox, "id", "-u").stdout == "0\n"
    # keep-id: tests/compat/test_userns_keepid.py
    assert pd("run", "--rm", "--userns=keep-id", busybox, "id", "-u").stdout == f"{os.getuid()}\n"


def test_entrypoint_json_term_containerenv(registry_env: dict[str, str], busybox: str) -> None:
    pd = _pd(registry_env)
    out = pd("run", "--rm", "--entrypoint", '["/bin/echo","x"]', busybox, "y").stdout
    assert out == "x y\n"
    assert pd("run", "--rm", "--entrypoint", "/bin/echo", busybox, "z").stdout == "z\n"
    env = pd("run", "--rm", busybox, "sh", "-c", "echo $TERM; cat /run/.containerenv").stdout
    lines = env.splitlines()
    assert lines[0] == "xterm"
    assert 'engine="pdman-' in env and "rootless=1" in env and f'image="{busybox}"' in env


def test_info_has_podmans_field_names(pdman_env: dict[str, str]) -> None:
    pd = _pd(pdman_env)
    fmt = ("{{.Host.Distribution.Distribution}}|{{.Host.OCIRuntime.Name}}|{{.Host.LogDriver}}|"
           "{{.Store.GraphRoot}}|{{.Store.GraphDriverName}}|{{.Host.Security.Rootless}}|"
           "{{.Store.ContainerStore.Number}}|{{.Version.Version}}")
    out = pd("info", "--format", fmt).stdout.strip().split("|")
    release = dict(line.split("=", 1) for line in open("/etc/os-release").read().splitlines() if "=" in line)
    assert out[0] == release["ID"].strip('"')
    assert out[1] == "pdman" and out[2] == "k8s-file"
    assert out[3] == pdman_env["PDMAN_ROOT"] and out[4] == "overlay" and out[5] == "true"
    assert out[6] == "0" and out[7] == pd("--version").stdout.split()[-1]
    data = json.loads(pd("info", "--format", "json").stdout)
    assert data["host"]["memTotal"] > 0 and data["host"]["cpus"] >= 1


def test_cp_relative_paths_between_containers_overwrite_and_bad_input(
        registry_env: dict[str, str], busybox: str, tmp_path: Any) -> None:
    pd = _pd(registry_env)
    pd("create", "--name", "a", "-w", "/tmp", busybox, "true")
    pd("create", "--name", "b", busybox, "true")
    hi = tmp_path / "hi.txt"
    hi.write_text("hi\n")
    # `CTR:.` and relative paths are the container's working directory (podman)
    pd("cp", str(hi), "a:.")
    pd("cp", "a:hi.txt", str(tmp_path / "back.txt"))
    assert (tmp_path / "back.txt").read_text() == "hi\n"
    pd("cp", "a:/tmp/hi.txt", str(tmp_path / "abs.txt"))
    assert (tmp_path / "abs.txt").read_text() == "hi\n"
    # container to container
    pd("cp", "a:/etc/passwd", "b:/tmp/pw")
    pd("cp", "b:/tmp/pw", str(tmp_path / "pw"))
    assert (tmp_path / "pw").read_text().startswith("root:")
    # a directory onto a file: podman's refusal, with or without --overwrite
    d = tmp_path / "d"
    d.mkdir()
    for extra in ((), ("--overwrite",)):
        bad = pd("cp", *extra, str(d), "a:/tmp/hi.txt", check=False)
        assert bad.returncode == 125, bad.stderr
        assert "destination must be a directory when copying a directory" in bad.stderr
    # a file where the container has a directory of that name: only with --overwrite
    pd("cp", str(d), "a:/tmp/")             # makes /tmp/d, a directory
    f = tmp_path / "f" / "d"
    f.parent.mkdir()
    f.write_text("file now\n")
    clash = pd("cp", str(f), "a:/tmp/", check=False)
    assert clash.returncode == 125 and "--overwrite" in clash.stderr
    pd("cp", "--overwrite", str(f), "a:/tmp/")
    pd("cp", "a:/tmp/d", str(tmp_path / "got"))
    assert (tmp_path / "got").read_text() == "file now\n"
    # `cp -` with something that is not a tar: a clean error, no traceback
    junk = pd("cp", "-", "a:/tmp", input="garbage\n", check=False)
    assert junk.returncode == 125 and "Traceback" not in junk.stderr
    assert "source must be a (compressed) tar archive" in junk.stderr


def test_logs_follow_two_containers_at_once(registry_env: dict[str, str], busybox: str) -> None:
    pd = _pd(registry_env)
    # c1 runs on: followed one after the other (the old way), c2's line would only come
    # after c1 exits, that is never
    pd("run", "-d", "--name", "c1", busybox, "sh", "-c", "echo one; sleep 600")
    pd("run", "-d", "--name", "c2", busybox, "sh", "-c", "echo two")
    import select
    import shutil
    import subprocess

    exe = shutil.which("pdman", path=registry_env["PATH"])
    proc = subprocess.Popen([exe, "logs", "-f", "c1", "c2"], env=registry_env,
                            stdout=subprocess.PIPE)
    assert proc.stdout is not None
    got = b""
    try:
        while not (b"one\n" in got and b"two\n" in got):
            # a guard against hanging the suite, not a timing assertion
            ready, _, _ = select.select([proc.stdout], [], [], 60)
            assert ready, f"logs -f printed {got!r} and nothing more: it does not follow both"
            chunk = os.read(proc.stdout.fileno(), 4096)
            assert chunk, f"logs -f ended after {got!r}"
            got += chunk
    finally:
        proc.kill()
        proc.wait()
        pd("rm", "-f", "-t", "0", "c1", "c2")


def test_missing_workdir_is_126_but_the_images_is_created(registry_env: dict[str, str], busybox: str) -> None:
    pd = _pd(registry_env)
    missing = pd("run", "--rm", "-w", "/nonexist", busybox, "pwd", check=False)
    # podman 4.3: `workdir "/nonexist" does not exist on container ...`, exit 126
    assert missing.returncode == 126, missing.stderr
    assert 'workdir "/nonexist" does not exist on container' in missing.stderr
    assert pd("run", "--rm", "-w", "/tmp", busybox, "pwd").stdout == "/tmp\n"
    vol = pd("volume", "create").stdout.strip()
    assert pd("run", "--rm", "-v", f"{vol}:/data", "-w", "/data", busybox, "pwd").stdout == "/data\n"
    # a committed image whose WorkingDir is missing from its files: created, as podman does
    pd("create", "--name", "base", busybox, "true")
    pd("commit", "-q", "--change", "WORKDIR /made/by/image", "base", "localhost/wd:1")
    assert pd("run", "--rm", "localhost/wd:1", "pwd").stdout == "/made/by/image\n"


def test_cidfile_written_by_run_and_create_read_by_stop_kill_rm(
        registry_env: dict[str, str], busybox: str, tmp_path: Any) -> None:
    pd = _pd(registry_env)
    cid = tmp_path / "cid"
    started = pd("run", "-d", "--cidfile", str(cid), busybox, "sleep", "600").stdout.strip()
    assert cid.read_text() == started
    again = pd("run", "-d", "--cidfile", str(cid), busybox, "true", check=False)
    assert again.returncode == 125 and "container id file exists" in again.stderr
    pd("kill", "--cidfile", str(cid))
    pd("stop", "--cidfile", str(cid))
    pd("rm", "--cidfile", str(cid))
    assert _ids(pd) == []
    # systemd units' ExecStopPost: the file may be gone already
    assert pd("rm", "--ignore", "-f", "--cidfile", str(tmp_path / "none")).returncode == 0
    assert pd("stop", "--ignore", "--cidfile", str(tmp_path / "none")).returncode == 0
    gone = pd("rm", "--cidfile", str(tmp_path / "none"), check=False)
    assert gone.returncode == 125 and "no such file or directory" in gone.stderr
    made = tmp_path / "made"
    created = pd("create", "--cidfile", str(made), busybox, "true").stdout.strip()
    assert made.read_text() == created
    # an attached run writes it before the container runs
    out = pd("run", "--rm", "--cidfile", str(tmp_path / "fg"), "-v", f"{tmp_path}:/host:ro",
             busybox, "cat", "/host/fg").stdout
    assert len(out) == 64 and out != created


def test_exit_codes_per_failure_class_as_podmans(registry_env: dict[str, str], busybox: str) -> None:
    """podman 4.3, run on this host: 125 for the engine's own errors (a bad flag, an
    image it cannot find), 126 for a command that cannot be invoked and for a published
    port already in use, 127 for a command not found."""
    import socket

    pd = _pd(registry_env)
    bad_flag = pd("run", "--bogus", busybox, "true", check=False)
    assert bad_flag.returncode == 125 and "--bogus" in bad_flag.stderr
    registry = busybox.split("/")[0]
    no_image = pd("run", "--rm", f"{registry}/no-such-image:1", "true", check=False)
    assert no_image.returncode == 125 and "Traceback" not in no_image.stderr
    assert pd("run", "--rm", busybox, "no-such-command", check=False).returncode == 127
    assert pd("run", "--rm", busybox, "/etc/passwd", check=False).returncode == 126
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        taken = pd("run", "--rm", "-p", f"127.0.0.1:{port}:80", busybox, "true", check=False)
    # podman 4.3: `Error: cannot listen on the TCP port: listen tcp4 127.0.0.1:PORT:
    # bind: address already in use`, exit 126
    assert taken.returncode == 126, taken.stderr
    assert (f"cannot listen on the TCP port: listen tcp4 127.0.0.1:{port}: "
            "bind: address already in use") in taken.stderr


def test_load_from_an_http_url(registry_env: dict[str, str], busybox: str, tmp_path: Any) -> None:
    """`load -i http://...`: podman downloads the archive; served here from 127.0.0.1."""
    import functools
    import http.server
    import threading

    pd = _pd(registry_env)
    pd("pull", "-q", busybox)
    pd("tag", busybox, "localhost/fromweb:1")
    pd("save", "-o", str(tmp_path / "bb.tar"), "localhost/fromweb:1")
    pd("rmi", "localhost/fromweb:1")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        out = pd("load", "-i", f"{base}/bb.tar")
        assert "localhost/fromweb:1" in out.stdout
        assert pd("run", "--rm", "localhost/fromweb:1", "echo", "ok").stdout == "ok\n"
        missing = pd("load", "-i", f"{base}/nothing.tar", check=False)
        assert missing.returncode == 125 and "404" in missing.stderr
        assert "Traceback" not in missing.stderr
    finally:
        server.shutdown()
        server.server_close()


def test_logs_names_and_color_as_podmans(registry_env: dict[str, str], busybox: str) -> None:
    """podman 4.3 on this host: with several containers each line starts with the short
    ID, or the name with -n/--names; --color wraps each container's lines in its own
    colour (white, red, ...), reset before the newline; one container: no mark."""
    pd = _pd(registry_env)
    a = pd("run", "--name", "lga", busybox, "echo", "fromA").stdout
    assert a == "fromA\n"
    b_id = pd("create", "--name", "lgb", busybox, "echo", "fromB").stdout.strip()
    pd("start", "-a", "lgb")
    a_id = pd("inspect", "--format", "{{.Id}}", "lga").stdout.strip()
    assert pd("logs", "lga", "lgb").stdout == f"{a_id[:12]} fromA\n{b_id[:12]} fromB\n"
    assert pd("logs", "-n", "lga", "lgb").stdout == "lga fromA\nlgb fromB\n"
    assert pd("logs", "--names", "lga").stdout == "fromA\n"
    colored = pd("logs", "--color", "--names", "lga", "lgb").stdout
    assert colored == "\033[37mlga fromA\033[0m\n\033[31mlgb fromB\033[0m\n"
    assert pd("logs", "--color", "lga").stdout == "\033[37mfromA\033[0m\n"
    # --tail has no short form in podman (-n is --names)
    assert pd("logs", "--tail", "1", "lga").stdout == "fromA\n"
