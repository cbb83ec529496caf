"""podman 4.3 options of lower priority (issue #13), as a user sees them: `rm --depend`,
`start --detach-keys/--sig-proxy`, `ps/inspect --size`, `images --history`,
`system df -v`, `cp --archive`, `image tree --whatrequires` and the network options."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess

from tests.bed.runner import wait_for
from tests.compat.test_scripts import _pd


def _names(pd, *flags: str) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(pd("ps", "-a", "--format", "{{.Names}}", *flags).stdout.split())


def _id(pd, name: str) -> str:  # type: ignore[no-untyped-def]
    return str(pd("inspect", "--format", "{{.Id}}", name).stdout.strip())


def test_rm_depend(registry_env: dict[str, str], busybox: str) -> None:
    pd = _pd(registry_env)
    pd("create", "--name", "db", busybox, "sleep", "600")
    pd("create", "--name", "app", "--requires", "db", busybox, "sleep", "600")
    pd("create", "--name", "side", "--pid", "container:app", busybox, "true")
    db, app, side = _id(pd, "db"), _id(pd, "app"), _id(pd, "side")
    # podman's refusal: others depend on it
    refused = pd("rm", "db", check=False)
    assert refused.returncode == 125
    assert f"container {db} has dependent containers which must be removed before it: {app}" \
        in refused.stderr
    assert _names(pd) == ["app", "db", "side"]
    # --depend: the dependents go first, recursively; every ID removed is printed
    done = pd("rm", "--depend", "db")
    assert done.stdout.split() == [side, app, db]
    assert _names(pd) == []
    # a pod's infra container: its members depend on it, and the pod goes with them
    pd("pod", "create", "--name", "p")
    pd("create", "--pod", "p", "--name", "member", busybox, "sleep", "600")
    infra = pd("pod", "inspect", "--format", "{{.InfraContainerID}}", "p").stdout.strip()
    member = _id(pd, "member")
    assert pd("rm", "--depend", infra).stdout.split() == [member, infra]
    assert pd("pod", "exists", "p", check=False).returncode == 1
    assert _names(pd) == []
    # `rm -a` orders the removals itself
    pd("run", "-d", "--name", "db2", busybox, "sleep", "600")
    pd("run", "-d", "--name", "app2", "--requires", "db2", busybox, "sleep", "600")
    pd("rm", "-a", "-f")
    assert _names(pd) == []


def test_start_detach_keys_and_sig_proxy(registry_env: dict[str, str], busybox: str) -> None:
    pd = _pd(registry_env)
    pd("create", "--name", "hello", busybox, "echo", "hi")
    # podman: --sig-proxy only when attaching; bad detach keys are refused
    alone = pd("start", "--sig-proxy", "hello", check=False)
    assert alone.returncode == 125 and "you cannot use sig-proxy without --attach" in alone.stderr
    bad = pd("start", "-a", "--detach-keys", "bogus-key", "hello", check=False)
    assert bad.returncode == 125 and "invalid detach key" in bad.stderr
    assert pd("start", "-a", "--detach-keys", "", "--sig-proxy=false", "hello").stdout == "hi\n"
    assert pd("start", "-a", "--detach-keys", "ctrl-x,y", "hello").stdout == "hi\n"
    # a signal to an attached start reaches the container (the default) or, with
    # --sig-proxy=false, only pdman: the container goes on running
    script = "trap 'echo got-term; exit 3' TERM; echo ready; while :; do sleep 1; done"
    exe = shutil.which("pdman", path=registry_env["PATH"])
    assert exe
    for name, proxy in (("proxied", "true"), ("unproxied", "false")):
        pd("create", "--name", name, busybox, "sh", "-c", script)
        proc = subprocess.Popen([exe, "start", "-a", f"--sig-proxy={proxy}", name],
                                env=registry_env, stdout=subprocess.PIPE, text=True)
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline() == "ready\n"
            proc.send_signal(signal.SIGTERM)
            out, _ = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        state = pd("inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", name).stdout.split()
        if proxy == "true":
            assert (out, proc.returncode, state) == ("got-term\n", 3, ["exited", "3"])
        else:
            assert proc.returncode == -signal.SIGTERM and "got-term" not in out
            assert state[0] == "running"
            pd("rm", "-f", name)


def _human(n: int) -> str:
    """podman's SIZE units (decimal, 3 significant digits, no space)."""
    units = ["B", "kB", "MB", "GB"]
    i, x = 0, float(n)
    while x >= 1000 and i < len(units) - 1:
        x, i = x / 1000, i + 1
    return f"{int(x)}B" if i == 0 else f"{x:.3g}{units[i]}"


def test_ps_and_inspect_size(registry_env: dict[str, str], busybox: str) -> None:
    pd = _pd(registry_env)
    pd("run", "--name", "w", busybox, "sh", "-c", "head -c 5000 /dev/zero > /f")
    pd("create", "--name", "fresh", busybox, "true")
    # without --size, podman has neither field
    assert "SizeRw" not in json.loads(pd("inspect", "w").stdout)[0]
    doc = json.loads(pd("container", "inspect", "--size", "w").stdout)[0]
    image_size = json.loads(pd("image", "inspect", busybox).stdout)[0]["Size"]
    rw, rootfs = doc["SizeRw"], doc["SizeRootFs"]
    assert 5000 <= rw < 6000 and rootfs == image_size + rw
    assert pd("inspect", "-s", "--format", "{{.SizeRw}}", "fresh").stdout == "0\n"
    # ps: the SIZE column last, podman's wording; the JSON's Size object
    table = pd("ps", "-a", "--size", "--filter", "name=w").stdout.splitlines()
    assert table[0].split()[-1] == "SIZE"
    assert table[1].endswith(f"{_human(rw)} (virtual {_human(rootfs)})")
    assert pd("ps", "-a", "-s", "--format", "{{.Names}} {{.Size}}", "--sort", "size").stdout \
        .splitlines() == [f"w {_human(rw)} (virtual {_human(rootfs)})",
                          f"fresh 0B (virtual {_human(image_size)})"]
    rows = {r["Names"][0]: r["Size"] for r in json.loads(pd("ps", "-a", "-s", "--format", "json").stdout)}
    assert rows == {"w": {"rootFsSize": rootfs, "rwSize": rw},
                    "fresh": {"rootFsSize": image_size, "rwSize": 0}}
    assert [r["Size"] for r in json.loads(pd("ps", "-a", "--format", "json").stdout)] == [None, None]


def test_images_history(registry_env: dict[str, str], busybox: str) -> None:
    pd = _pd(registry_env)
    pd("tag", busybox, "localhost/h:1")
    pd("tag", busybox, "localhost/h:2")
    table = pd("images", "--history", "--filter", "reference=localhost/h").stdout.splitlines()
    assert table[0].split()[-1] == "HISTORY"
    history = f"localhost/h:2, localhost/h:1, {busybox}"
    assert all(line.endswith(history) for line in table[1:]) and len(table) == 3
    assert pd("images", "--format", "{{.History}}", "localhost/h:1").stdout == history + "\n"
    assert "HISTORY" not in pd("images").stdout
    doc = [i for i in json.loads(pd("images", "--format", "json").stdout)
           if "localhost/h:1" in i["Names"]][0]
    assert doc["History"] == ["localhost/h:2", "localhost/h:1", busybox]


def test_image_tree_whatrequires(registry_env: dict[str, str], busybox: str) -> None:
    pd = _pd(registry_env)
    pd("run", "--name", "c", busybox, "sh", "-c", "echo x > /added")
    pd("commit", "-q", "c", "localhost/child:1")
    base_top = json.loads(pd("image", "inspect", busybox).stdout)[0]["RootFS"]["Layers"][-1]
    child_top = json.loads(pd("image", "inspect", "localhost/child:1").stdout)[0]["RootFS"]["Layers"][-1]
    lines = pd("image", "tree", "--whatrequires", busybox).stdout.splitlines()
    assert lines[3] == "Image Layers"
    assert lines[4].startswith(f"└── ID: {base_top[7:19]} ") and lines[4].endswith(f"[{busybox}]")
    assert lines[5].startswith(f"    └── ID: {child_top[7:19]} Size: ")
    assert lines[5].endswith("Top Layer of: [localhost/child:1]") and len(lines) == 6
    # nothing is built on the child; without the flag, the plain tree
    assert len(pd("image", "tree", "--whatrequires", "localhost/child:1").stdout.splitlines()) == 5
    doc = json.loads(pd("image", "tree", "--whatrequires", "--format", "json", busybox).stdout)
    assert [c["Names"] for c in doc["RequiredBy"]] == [["localhost/child:1"]]
    assert "RequiredBy" not in json.loads(pd("image", "tree", "--format", "json", busybox).stdout)


def test_system_df_verbose(registry_env: dict[str, str], busybox: str) -> None:
    pd = _pd(registry_env)
    pd("volume", "create", "v")
    pd("volume", "create", "idle")
    pd("run", "--name", "d", "-v", "v:/d", busybox, "sh", "-c", "echo hi > /d/x")
    out = pd("system", "df", "-v").stdout
    images, _, rest = out.partition("\nContainers space usage:\n\n")
    ctrs, _, vols = rest.partition("\nLocal Volumes space usage:\n\n")
    assert images.startswith("Images space usage:\n\n")
    image_rows = images.splitlines()[2:]
    assert image_rows[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE",
                                     "SHARED", "SIZE", "UNIQUE", "SIZE", "CONTAINERS"]
    repo, _, tag = busybox.rpartition(":")
    row = [r.split() for r in image_rows[1:] if r.startswith(repo + " ")][0]
    assert row[1] == tag and row[-1] == "1"
    ctr_rows = [r.split() for r in ctrs.splitlines()]
    assert ctr_rows[0][:3] == ["CONTAINER", "ID", "IMAGE"]
    d = [r for r in ctr_rows if r[-1] == "d"][0]
    assert d[0] == _id(pd, "d")[:12] and "exited" in d
    assert d[d.index("/d/x") + 1] == "1"       # LOCAL VOLUMES, after the command
    assert vols.splitlines()[0].split() == ["VOLUME", "NAME", "LINKS", "SIZE"]
    assert sorted(line.split() for line in vols.splitlines()[1:]) == [["idle", "0", "0B"],
                                                                      ["v", "1", "3B"]]


def test_cp_archive(registry_env: dict[str, str], busybox: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import io
    import tarfile

    pd = _pd(registry_env)
    (tmp_path / "f").write_text("hi\n")
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "a").write_text("a\n")
    pd("run", "-d", "--name", "c", "--user", "1000:1000", busybox, "sleep", "600")
    # podman's default: what is copied in belongs to the container's user
    pd("cp", str(tmp_path / "f"), "c:/tmp/t1")
    pd("cp", str(tmp_path / "dir"), "c:/tmp/d1")
    # --archive=false: the source's owners -- the caller's files are the container's root's
    pd("cp", "--archive=false", str(tmp_path / "f"), "c:/tmp/t2")
    pd("cp", "-a=false", str(tmp_path / "dir"), "c:/tmp/d2")
    # a tar stream: its owners kept with --archive=false, the container's user's without
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        info = tarfile.TarInfo("owned")
        info.uid = info.gid = 4242
        info.size = 3
        tar.addfile(info, io.BytesIO(b"x\n\n"))
    run = lambda *a: subprocess.run(  # noqa: E731
        [shutil.which("pdman", path=registry_env["PATH"]) or "pdman", *a], env=registry_env,
        input=data.getvalue(), capture_output=True, check=True)
    run("cp", "--archive=false", "-", "c:/tmp")
    pd("exec", "-u", "0", "c", "mv", "/tmp/owned", "/tmp/kept")
    run("cp", "-", "c:/tmp")
    owners = pd("exec", "c", "stat", "-c", "%n %u:%g", "/tmp/t1", "/tmp/d1", "/tmp/d1/a",
                "/tmp/t2", "/tmp/d2", "/tmp/d2/a", "/tmp/kept", "/tmp/owned").stdout.splitlines()
    assert owners == ["/tmp/t1 1000:1000", "/tmp/d1 1000:1000", "/tmp/d1/a 1000:1000",
                      "/tmp/t2 0:0", "/tmp/d2 0:0", "/tmp/d2/a 0:0",
                      "/tmp/kept 4242:4242", "/tmp/owned 1000:1000"]
    assert pd("exec", "c", "cat", "/tmp/t1", "/tmp/d2/a").stdout == "hi\na\n"


def test_network_connect_static_address(registry_env: dict[str, str], busybox: str) -> None:
    pd = _pd(registry_env)
    pd("network", "create", "first")
    pd("network", "create", "--subnet", "10.89.92.0/24", "second")
    try:
        # a running container: plugged in at once with its address and MAC
        pd("run", "-d", "--name", "up", "--network", "first", busybox, "sleep", "600")
        pd("network", "connect", "--ip", "10.89.92.77", "--mac-address", "92:d0:c6:0a:29:44",
           "second", "up")
        out = pd("exec", "up", "ip", "addr").stdout
        assert "inet 10.89.92.77/24" in out and "link/ether 92:d0:c6:0a:29:44" in out
        # a created one: at its start
        pd("create", "--name", "later", "--network", "first", busybox, "sleep", "600")
        pd("network", "connect", "--ip", "10.89.92.78", "second", "later")
        pd("start", "later")
        assert "inet 10.89.92.78/24" in pd("exec", "later", "ip", "addr").stdout
        pd("create", "--name", "other", "--network", "first", busybox, "true")
        for args, words in ((["--ip", "10.1.1.1"], "not in the subnet 10.89.92.0/24"),
                            (["--mac-address", "93:00:00:00:00:01"], "invalid --mac-address"),
                            (["--ip6", "fd00::5"], "its only subnet is 10.89.92.0/24 (IPv4)")):
            bad = pd("network", "connect", *args, "second", "other", check=False)
            assert bad.returncode == 125 and words in bad.stderr, bad.stderr
        # an address another container holds: refused when it would be taken, at the start
        pd("network", "connect", "--ip", "10.89.92.77", "second", "other")
        bad = pd("start", "other", check=False)
        assert bad.returncode != 0 and "already allocated" in bad.stderr
    finally:
        pd("rm", "-f", "-t", "0", "up", "later", "other", check=False)
        pd("network", "rm", "-f", "first", "second", check=False)


def test_network_create_dns_range_and_ipam(registry_env: dict[str, str], busybox: str) -> None:
    pd = _pd(registry_env)
    try:
        # --disable-dns: the members do not get each other's names
        pd("network", "create", "quiet", "--disable-dns")
        pd("network", "create", "loud")
        for net in ("quiet", "loud"):
            pd("run", "-d", "--name", f"a-{net}", "--network", net, busybox, "sleep", "600")
        hosts = {net: pd("run", "--rm", "--network", net, busybox, "cat", "/etc/hosts").stdout
                 for net in ("quiet", "loud")}
        assert "a-loud" in hosts["loud"] and "a-quiet" not in hosts["quiet"]
        dns = {net: json.loads(pd("network", "inspect", net).stdout)[0]["dns_enabled"]
               for net in ("quiet", "loud")}
        assert dns == {"quiet": False, "loud": True}
        # --ip-range: addresses from that part of the subnet only
        pd("network", "create", "--subnet", "10.89.93.0/24", "--ip-range", "10.89.93.128/25",
           "ranged")
        out = pd("run", "--rm", "--network", "ranged", busybox, "ip", "addr", "show", "eth0").stdout
        assert "inet 10.89.93.129/24" in out
        subnet = json.loads(pd("network", "inspect", "ranged").stdout)[0]["subnets"][0]
        assert subnet["lease_range"] == {"start_ip": "10.89.93.129", "end_ip": "10.89.93.254"}
        # --ipam-driver none: a link without addresses
        pd("network", "create", "--ipam-driver", "none", "bare")
        doc = json.loads(pd("network", "inspect", "bare").stdout)[0]
        assert doc["ipam_options"] == {"driver": "none"} and not doc.get("subnets")
        out = pd("run", "--rm", "--network", "bare", busybox, "ip", "addr", "show", "eth0").stdout
        assert "eth0" in out and "inet " not in out
        assert json.loads(pd("network", "inspect", "loud").stdout)[0]["ipam_options"] == \
            {"driver": "host-local"}
        for args, words in ((["--ip-range", "10.1.0.0/25"], "cannot set gateway or range without subnet"),
                            (["--subnet", "10.89.94.0/24", "--ip-range", "10.1.0.0/25"],
                             "is not inside the subnet"),
                            (["--ipam-driver", "bogus"], "unsupported ipam driver"),
                            (["--ipam-driver", "dhcp"], "unsupported ipam driver"),
                            (["--ipam-driver", "none", "--subnet", "10.89.95.0/24"], "no --subnet")):
            bad = pd("network", "create", *args, "bad", check=False)
            assert bad.returncode == 125 and words in bad.stderr, bad.stderr
    finally:
        pd("rm", "-f", "-t", "0", "a-quiet", "a-loud", check=False)
        pd("network", "rm", "-f", "quiet", "loud", "ranged", "bare", check=False)
