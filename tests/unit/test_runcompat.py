"""Pure parsing of the run/create options of engine/runcompat.py (--sysctl, --device,
--cgroupns, --pid, --seccomp-policy, --image-volume) and of `search`'s filters."""

from __future__ import annotations

import pytest

from pdman.engine import runcompat, search
from pdman.errors import UsageError


def _config(net: str = "pasta", ipc: str = "private") -> dict[str, object]:
    return {"net": {"mode": net}, "ipc": ipc, "mounts": []}


def test_sysctls_of_own_namespaces_only() -> None:
    got = runcompat._sysctls(["net.ipv4.ip_forward=1", "kernel.msgmax=8192",
                              "fs.mqueue.msg_max=20"], _config())
    assert got == [["net.ipv4.ip_forward", "1"], ["kernel.msgmax", "8192"],
                   ["fs.mqueue.msg_max", "20"]]
    for bad in ("vm.swappiness=1", "kernel.hostname=x", "net.ipv4/../x=1", "noequals"):
        with pytest.raises(UsageError):
            runcompat._sysctls([bad], _config())
    with pytest.raises(UsageError, match="network namespace"):
        runcompat._sysctls(["net.ipv4.ip_forward=1"], _config(net="host"))
    with pytest.raises(UsageError, match="IPC namespace"):
        runcompat._sysctls(["kernel.shmmax=1"], _config(ipc="host"))


def test_device_forms() -> None:
    assert runcompat.device("/dev/null")["destination"] == "/dev/null"
    d = runcompat.device("/dev/null:/dev/x:r")
    assert (d["source"], d["destination"], d["readonly"]) == ("/dev/null", "/dev/x", True)
    assert runcompat.device("/dev/zero:rw")["destination"] == "/dev/zero"
    for bad in ("/dev/null:/dev/x:rq", "dev/null", "/dev/null:a:b:c", "/etc/passwd",
                "/no/such/device"):
        with pytest.raises(UsageError):
            runcompat.device(bad)


def test_namespace_values() -> None:
    assert runcompat._cgroupns("") == "private" and runcompat._cgroupns("host") == "host"
    with pytest.raises(UsageError):
        runcompat._cgroupns("container:x")
    assert runcompat._pid(None, "", _config()) == {"mode": "private"}  # type: ignore[arg-type]
    assert runcompat._pid(None, "host", _config()) == {"mode": "host"}  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        runcompat._pid(None, "ns:/proc/1/ns/pid", _config())  # type: ignore[arg-type]


def test_seccomp_policy_and_image_volumes() -> None:
    runcompat._seccomp_policy("default", {})
    with pytest.raises(UsageError, match="no seccomp policy defined by image"):
        runcompat._seccomp_policy("image", {})
    with pytest.raises(UsageError):
        runcompat._seccomp_policy("other", {})
    icfg = {"Volumes": {"/data": {}, "/taken": {}}}
    config = {"mounts": [{"destination": "/taken"}]}
    runcompat._image_volumes("bind", icfg, config)
    assert config["mounts"][1] == {"type": "volume", "source": "", "destination": "/data",
                                   "readonly": False, "options": []}
    config = {"mounts": []}
    runcompat._image_volumes("tmpfs", icfg, config)
    assert [m["type"] for m in config["mounts"]] == ["tmpfs", "tmpfs"]
    config = {"mounts": []}
    runcompat._image_volumes("ignore", icfg, config)
    assert config["mounts"] == []


def test_search_filters() -> None:
    assert search._kept(search._filters(())) is True
    assert search._kept(search._filters(("stars=0",))) is True
    assert search._kept(search._filters(("stars=3",))) is False
    assert search._kept(search._filters(("is-official",))) is False
    assert search._kept(search._filters(("is-automated=false",))) is True
    with pytest.raises(UsageError):
        search._filters(("colour=red",))
    with pytest.raises(UsageError):
        search._filters(("stars=many",))
