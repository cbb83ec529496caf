"""`pdman events`, as the unprivileged user against the real registry: the lifecycle of
a container, an image, a volume and a network seen in the event log, with podman's
line format, filters, --since/--until, --format, streaming, concurrent writers, and
the log's size cap (containers.conf `events_logfile_max_size`)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path

from tests.bed.runner import run_pdman, wait_for

NONE = ("--network", "none")

#: podman's default line: Go's time, type, status, ID, (image=..., name=...)
LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d{1,9})? [+-]\d{4} \S+) "
                  r"(container|image|volume|network|pod|system) (\S+) (.*)$")


def pd(env: dict[str, str], *args: object, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run_pdman(*args, env=env, check=check)


def logged(env: dict[str, str], *args: str) -> list[dict[str, object]]:
    out = pd(env, "events", "--no-stream", "--format", "json", *args).stdout
    return [json.loads(line) for line in out.splitlines()]


def test_run_stop_rm_make_the_container_event_sequence(registry_env: dict[str, str],
                                                       busybox: str) -> None:
    env = registry_env
    cid = pd(env, "run", "-d", *NONE, "--name", "ev1", "--label", "team=a", busybox,
             "sleep", "60").stdout.strip()
    pd(env, "stop", "-t", "0", "ev1")
    pd(env, "rm", "ev1")
    pd(env, "run", "--rm", *NONE, "--name", "ev2", busybox, "sh", "-c", "exit 3", check=False)
    evs = logged(env, "--filter", "type=container")
    one = [e["Status"] for e in evs if e.get("Name") == "ev1"]
    # create, init, start; the exit (died) before stop returns; the monitor's cleanup may
    # come before or after the stop event; remove last
    assert one[:3] == ["create", "init", "start"], one
    assert one[-1] == "remove" and {"died", "stop", "cleanup"} <= set(one[3:-1]), one
    assert one.index("died") < one.index("stop")
    for e in evs:
        if e.get("Name") == "ev1":
            assert e["ID"] == cid and e["Image"] == busybox and e["Type"] == "container"
            assert (e["Attributes"] or {}).get("team") == "a"
    two = [e for e in evs if e.get("Name") == "ev2"]
    assert [e["Status"] for e in two] == ["create", "init", "start", "attach", "died",
                                          "cleanup", "remove"]
    assert [e.get("ContainerExitCode") for e in two if e["Status"] == "died"] == [3]

    # podman's default line
    text = pd(env, "events", "--no-stream", "--filter", "container=ev1").stdout.splitlines()
    assert text, "no events for ev1"
    for line in text:
        m = LINE.match(line)
        assert m, line
        assert m.group(2) == "container"
        assert m.group(4) == f"{cid} (image={busybox}, name=ev1, team=a)"


def test_images_volumes_networks_are_logged(registry_env: dict[str, str], busybox: str,
                                            tmp_path: Path) -> None:
    env = registry_env
    pd(env, "tag", busybox, "localhost/evtag:1")
    pd(env, "untag", "localhost/evtag:1", "localhost/evtag:1")
    pd(env, "save", "-o", tmp_path / "b.tar", busybox)
    pd(env, "volume", "create", "evvol")
    pd(env, "volume", "rm", "evvol")
    pd(env, "network", "create", "evnet")
    pd(env, "network", "rm", "evnet")
    evs = logged(env)
    seen = [(e["Type"], e["Status"], e.get("Name")) for e in evs]
    assert ("image", "pull", busybox) in seen
    assert ("image", "tag", "localhost/evtag:1") in seen
    assert ("image", "untag", "localhost/evtag:1") in seen
    assert ("image", "save", busybox) in seen
    assert ("volume", "create", "evvol") in seen and ("volume", "remove", "evvol") in seen
    assert ("network", "create", "evnet") in seen and ("network", "remove", "evnet") in seen
    lines = pd(env, "events", "--no-stream", "--filter", "volume=evvol").stdout.splitlines()
    assert [line.split(" ", 5)[4:] for line in lines] == [["volume", "create evvol"],
                                                          ["volume", "remove evvol"]]
    assert [e["Status"] for e in logged(env, "--filter", "type=network")] == ["create", "remove"]


def test_filters_since_until_and_format(registry_env: dict[str, str], busybox: str) -> None:
    env = registry_env
    pd(env, "create", *NONE, "--name", "fa", "--label", "k=1", busybox, "true")
    time.sleep(1.1)
    middle = time.time()
    time.sleep(1.1)
    pd(env, "create", *NONE, "--name", "fb", busybox, "true")
    names = lambda *a: [e.get("Name") for e in logged(env, "--filter", "event=create", *a)]  # noqa: E731
    assert names() == ["fa", "fb"]
    assert names("--filter", "container=fb") == ["fb"]
    assert names("--filter", "container=fa", "--filter", "container=fb") == ["fa", "fb"]
    assert names("--filter", "label=k=1") == ["fa"]
    assert names("--filter", "label=k") == ["fa"]
    assert names("--filter", "image=busybox") == ["fa", "fb"]
    assert names("--filter", "image=nosuch") == []
    assert names("--since", str(middle)) == ["fb"]
    assert names("--until", str(middle)) == ["fa"]
    assert names("--since", "10m") == ["fa", "fb"]
    assert names("--since", time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(middle))) == ["fb"]
    assert names("--filter", f"since={middle}") == ["fb"]
    assert names("--filter", "type=image") == []
    out = pd(env, "events", "--no-stream", "--filter", "event=create", "--format",
             "{{.Type}} {{.Status}} {{.Name}} {{.Image}}").stdout
    assert out.splitlines() == [f"container create fa {busybox}", f"container create fb {busybox}"]
    bad = pd(env, "events", "--no-stream", "--filter", "colour=red", check=False)
    assert bad.returncode == 125 and "colour" in bad.stderr and "Traceback" not in bad.stderr
    bad = pd(env, "events", "--no-stream", "--since", "yesterday-ish", check=False)
    assert bad.returncode == 125 and "--since" in bad.stderr


def test_streaming_sees_a_container_start_live(registry_env: dict[str, str], busybox: str) -> None:
    env = registry_env
    out_path = Path(env["PDMAN_RUNROOT"]) / "stream.out"
    with open(out_path, "w") as out:
        watcher = subprocess.Popen(["pdman", "events", "--filter", "type=container",
                                    "--format", "{{.Status}} {{.Name}}"],
                                   env=env, stdout=out, stderr=subprocess.STDOUT, text=True)
    try:
        # a first event proves the stream is listening (it shows only new events)
        def listening() -> bool:
            pd(env, "create", *NONE, busybox, "true")
            return "create " in out_path.read_text()
        wait_for(listening, timeout=30, interval=0.5)
        pd(env, "run", "-d", *NONE, "--name", "live", busybox, "sleep", "30")
        wait_for(lambda: "start live" in out_path.read_text(), timeout=30)
        pd(env, "rm", "-f", "-t", "0", "live")
        wait_for(lambda: "remove live" in out_path.read_text(), timeout=30)
        assert watcher.poll() is None      # still streaming
    finally:
        watcher.terminate()
        watcher.wait(timeout=20)
    text = out_path.read_text()
    assert "Traceback" not in text
    live = [line for line in text.splitlines() if line.endswith(" live")]
    assert live[:3] == ["create live", "init live", "start live"], live

    # --until in the future: the stream ends by itself then
    until = time.time() + 3
    done = pd(env, "events", "--since", "1h", "--until", str(until), "--filter",
              "container=live", "--format", "{{.Status}}")
    assert time.time() >= until - 0.5
    assert done.stdout.splitlines()[0] == "create"


def test_concurrent_writers_never_interleave(registry_env: dict[str, str]) -> None:
    env = registry_env
    procs = [subprocess.Popen(["pdman", "volume", "create", f"cw{i}-{'x' * 150}"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for i in range(12)]
    for p in procs:
        assert p.wait(timeout=120) == 0, p.stderr.read() if p.stderr else ""
    log = Path(env["PDMAN_RUNROOT"], "events", "events.log").read_text()
    lines = log.splitlines()
    assert len(lines) == 12 and log.endswith("\n")
    assert sorted(json.loads(line)["Name"] for line in lines) == sorted(
        f"cw{i}-{'x' * 150}" for i in range(12))


def test_the_log_is_bounded_by_containers_conf(registry_env: dict[str, str],
                                               tmp_path: Path) -> None:
    conf = tmp_path / "containers.conf"
    conf.write_text('[containers]\n\n[engine]\n# a small cap for the test\n'
                    'events_logger = "file"\nevents_logfile_max_size = 2000\n')
    env = dict(registry_env, CONTAINERS_CONF=str(conf))
    for i in range(30):
        pd(env, "volume", "create", f"bound{i:02d}")
    log = Path(env["PDMAN_RUNROOT"], "events", "events.log")
    total = log.stat().st_size + Path(str(log) + ".1").stat().st_size
    assert total <= 2000 + 200, total      # the cap, plus at most one line over it
    names = [e["Name"] for e in logged(env)]
    assert names[-1] == "bound29"
    assert names == sorted(names) and len(names) < 30      # the oldest were dropped
    # events_logger = "none": no events at all
    conf.write_text('[engine]\nevents_logger="none"\n')
    pd(env, "volume", "create", "silent")
    assert "silent" not in [e["Name"] for e in logged(env)]
    # and a custom path
    conf.write_text(f'[engine]\nevents_logfile_path="{tmp_path}/custom.log"\n')
    pd(env, "volume", "create", "elsewhere")
    assert "elsewhere" in (tmp_path / "custom.log").read_text()
    assert [e["Name"] for e in logged(env)] == ["elsewhere"]
    assert os.stat(tmp_path / "custom.log").st_mode & 0o777 == 0o600
