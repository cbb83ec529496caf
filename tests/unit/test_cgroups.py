"""Resource limits and cgroup placement (pdman/cgroups): the pure logic, every branch,
without a host that has each setup (the VM tier proves them on a real systemd)."""

from __future__ import annotations

import pytest

from pdman.cgroups import limits, placement
from pdman.cgroups.oom import parse_oom_kills
from pdman.cgroups.placement import Host, decide
from pdman.cgroups.stats import flat_keyed, io_bytes, net_bytes, single
from pdman.entities.create import CreateOptions
from pdman.errors import HostSupportError, UsageError

MiB = 1024 * 1024


def opts(**kw: object) -> CreateOptions:
    return CreateOptions(image="busybox", **kw)  # type: ignore[arg-type]


def test_parse_memory_swap_and_reservation() -> None:
    lim = limits.parse(opts(memory="64m", memory_swap="96m", memory_reservation="32m"))
    assert lim == {"memory": 64 * MiB, "memory_swap": 96 * MiB, "memory_reservation": 32 * MiB}
    assert limits.swap_max(lim) == 32 * MiB
    # podman: --memory alone allows as much swap again; -1 unlimited
    assert limits.swap_max(limits.parse(opts(memory="64m"))) == 64 * MiB
    assert limits.swap_max(limits.parse(opts(memory="64m", memory_swap="-1"))) == -1


@pytest.mark.parametrize(("kw", "message"), [
    ({"memory_swap": "1g"}, "--memory-swap needs --memory"),
    ({"memory": "1g", "memory_swap": "512m"}, "smaller than --memory"),
    ({"memory": "1m"}, "too small"),
    ({"memory": "64m", "memory_reservation": "128m"}, "larger than --memory"),
    ({"cpus": 0.0}, "invalid --cpus"),
    ({"cpu_shares": 1}, "invalid --cpu-shares"),
    ({"cpu_weight": 20000}, "invalid --cpu-weight"),
    ({"cpuset_cpus": "1-0"}, "invalid --cpuset-cpus"),
    ({"cpuset_cpus": "a"}, "invalid --cpuset-cpus"),
])
def test_parse_refuses_nonsense(kw: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        limits.parse(opts(**kw))


def test_pids_limit_zero_or_negative_is_unlimited() -> None:
    assert limits.parse(opts(pids_limit=-1)) == {}
    assert limits.parse(opts(pids_limit=0)) == {}
    assert limits.parse(opts(pids_limit=10)) == {"pids_limit": 10}


def test_systemd_properties_and_cgroupfs_files_say_the_same() -> None:
    lim = limits.parse(opts(memory="64m", memory_reservation="16m", cpus=0.5, cpu_shares=1024,
                            cpuset_cpus="0,2-3", pids_limit=10))
    props = {name: (sig, value) for name, sig, value in limits.systemd_properties(lim)}
    assert props["MemoryMax"] == ("t", 64 * MiB)
    assert props["MemorySwapMax"] == ("t", 64 * MiB)
    assert props["MemoryLow"] == ("t", 16 * MiB)
    assert props["CPUQuotaPerSecUSec"] == ("t", 500_000)   # half a CPU-second per second
    assert props["CPUWeight"] == ("t", 39)                  # crun's shares -> weight
    assert props["AllowedCPUs"] == ("ay", bytes([0b1101]))
    assert props["TasksMax"] == ("t", 10)
    files = dict(limits.cgroupfs_files(lim))
    assert files == {"cpuset.cpus": "0,2-3", "memory.max": str(64 * MiB),
                     "memory.swap.max": str(64 * MiB), "memory.low": str(16 * MiB),
                     "cpu.max": "50000 100000", "cpu.weight": "39", "pids.max": "10"}
    unlimited_swap = limits.parse(opts(memory="64m", memory_swap="-1"))
    assert dict(limits.cgroupfs_files(unlimited_swap))["memory.swap.max"] == "max"
    assert {n: v for n, _, v in limits.systemd_properties(unlimited_swap)}[
        "MemorySwapMax"] == 2**64 - 1


def test_cpu_weight_wins_and_mask_spans_bytes() -> None:
    assert limits.weight({"cpu_weight": 500, "cpu_shares": 2}) == 500
    assert limits.weight({"cpu_shares": 2}) == 1
    assert limits.weight({"cpu_shares": 262144}) == 10000
    assert limits.cpu_mask("9") == bytes([0, 2])
    assert limits.controllers_needed({"memory": 1, "pids_limit": 3, "cpus": 1.0}) == \
        ["cpu", "memory", "pids"]


# -- placement --------------------------------------------------------------------

V1 = Host(v2=False, v1_reason="cgroup v2 is not mounted on /sys/fs/cgroup")
SESSION = Host(v2=True, systemd=True, systemd_controllers=("cpu", "memory", "pids"),
               own="/user.slice/user-1000.slice/session-2.scope")
UNIT = Host(v2=True, systemd=True, systemd_controllers=("cpu", "memory", "pids"),
            own="/user.slice/user-1000.slice/user@1000.service/app.slice/web.service",
            own_writable=True, own_controllers=("cpu", "memory", "pids"),
            unit="web.service", unit_delegated=True)
DELEGATED = Host(v2=True, own="/mine", own_writable=True, own_controllers=("memory", "pids"))
NOTHING = Host(v2=True, own="/user.slice/user-1000.slice/session-2.scope")


def cfg(limits: dict[str, object] | None = None, **kw: object) -> dict[str, object]:
    return {"limits": limits or {}, "mode": "enabled", "parent": None, "manager": None, **kw}


def test_v1_host_runs_without_limits_and_refuses_them_with_the_fix() -> None:
    assert decide(cfg(), V1).manager == "none"
    with pytest.raises(HostSupportError, match=r"cannot enforce --memory, --pids-limit on "
                                               r"this host: cgroup v2 is not mounted") as e:
        decide(cfg({"memory": 1, "pids_limit": 2}), V1)
    assert "enable-linger" in (e.value.hint or "")
    with pytest.raises(HostSupportError, match="--cgroup-parent"):
        decide(cfg(parent="x.slice"), V1)


def test_session_with_user_manager_gets_a_scope_in_pdman_slice() -> None:
    assert decide(cfg(), SESSION) == placement.Plan("systemd", slice="pdman.slice")
    assert decide(cfg({"memory": 1}, parent="batch.slice"), SESSION).slice == "batch.slice"
    with pytest.raises(UsageError, match="not a systemd slice"):
        decide(cfg(parent="/some/path"), SESSION)
    with pytest.raises(HostSupportError, match="cpuset controller is not delegated"):
        decide(cfg({"cpuset_cpus": "0"}), SESSION)


def test_inside_a_systemd_service_the_container_stays_in_the_unit() -> None:
    plan = decide(cfg(), UNIT)
    assert plan.manager == "none" and "web.service" in plan.why
    # limits: a child of the unit's (delegated) cgroup, still inside the unit
    assert decide(cfg({"memory": 1}), UNIT) == placement.Plan("cgroupfs", parent=UNIT.own)
    undelegated = UNIT._replace(unit_delegated=False)
    with pytest.raises(HostSupportError, match="unit's cgroup is not delegated") as e:
        decide(cfg({"memory": 1}), undelegated)
    assert "Delegate=yes" in (e.value.hint or "") and "--cgroup-parent" in (e.value.hint or "")
    # told otherwise: a scope of its own
    assert decide(cfg(parent="pdman.slice"), UNIT).manager == "systemd"


def test_delegated_cgroup_without_manager_uses_cgroupfs() -> None:
    assert decide(cfg({"memory": 1}), DELEGATED) == placement.Plan("cgroupfs", parent="/mine")
    with pytest.raises(HostSupportError, match="cpu controller"):
        decide(cfg({"cpus": 1.0}), DELEGATED)
    with pytest.raises(HostSupportError, match="needs a systemd user manager"):
        decide(cfg(manager="systemd"), DELEGATED)
    with pytest.raises(HostSupportError, match="cgroupfs: the current cgroup"):
        decide(cfg(manager="cgroupfs"), SESSION)  # asked for, cannot be had
    with pytest.raises(HostSupportError, match="not delegated to you"):
        decide(cfg({"memory": 1}, manager="cgroupfs"), SESSION)


def test_nothing_delegated_refuses_limits_and_split() -> None:
    assert decide(cfg(), NOTHING).manager == "none"
    with pytest.raises(HostSupportError, match="cannot enforce --cpus"):
        decide(cfg({"cpus": 1.0}), NOTHING)
    with pytest.raises(HostSupportError, match="split"):
        decide(cfg(mode="split"), NOTHING)
    assert decide(cfg(mode="disabled"), NOTHING).manager == "none"
    with pytest.raises(UsageError, match="--cgroups=disabled"):
        decide(cfg({"memory": 1}, mode="disabled"), SESSION)


# -- reading cgroups ----------------------------------------------------------------

def test_parsers() -> None:
    assert parse_oom_kills("low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\noom_group_kill 0\n") == 1
    assert parse_oom_kills("") == 0
    assert flat_keyed("usage_usec 2500\nuser_usec 2000\n")["usage_usec"] == 2500
    assert single("max\n") == 0 and single("67108864\n") == 67108864
    assert io_bytes("8:0 rbytes=4096 wbytes=8192 rios=1 wios=2\n"
                    "8:16 rbytes=1 wbytes=2 rios=1 wios=1\n") == (4097, 8194)
    dev = ("Inter-|   Receive |  Transmit\n face |bytes packets ...\n"
           "    lo:     100       1    0    0    0     0          0         0      100 1 0 0 0 0 0 0\n"
           "  eth0:    2000       3    0    0    0     0          0         0     3000 4 0 0 0 0 0 0\n")
    assert net_bytes(dev) == (2000, 3000)


ROOT_UNIT = Host(v2=True, systemd=True, systemd_controllers=("cpu", "memory", "pids"),
                 own="/system.slice/web.service", own_controllers=("cpu", "memory", "pids"),
                 unit="web.service", default_slice=placement.ROOT_SLICE)


def test_root_scopes_go_in_machine_slice_and_units_need_delegate() -> None:
    """Root mode: the system manager's scopes in machine.slice (rootful podman's); a
    system unit's cgroup only when the manager says Delegate=yes (root could write any)."""
    root_shell = ROOT_UNIT._replace(unit="", own="/user.slice/user-0.slice/session-1.scope")
    assert decide(cfg({"memory": 1}), root_shell) == placement.Plan("systemd",
                                                                   slice="machine.slice")
    with pytest.raises(HostSupportError, match="not delegated") as e:
        decide(cfg({"memory": 1}), ROOT_UNIT)
    assert "--cgroup-parent=machine.slice" in (e.value.hint or "")
    delegated = ROOT_UNIT._replace(unit_delegated=True, own_writable=True)
    assert decide(cfg({"memory": 1}), delegated) == placement.Plan(
        "cgroupfs", parent="/system.slice/web.service")
    assert decide(cfg({"memory": 1}, parent="machine.slice"), ROOT_UNIT).manager == "systemd"


def test_cpu_quota_period_and_cpuset_mems() -> None:
    lim = limits.parse(opts(cpu_quota=25_000, cpu_period=50_000, cpuset_mems="0"))
    files = dict(limits.cgroupfs_files(lim))
    assert files == {"cpu.max": "25000 50000", "cpuset.mems": "0"}
    props = {name: (sig, value) for name, sig, value in limits.systemd_properties(lim)}
    assert props["CPUQuotaPerSecUSec"] == ("t", 500_000)  # 25 ms per 50 ms: half a second
    assert props["CPUQuotaPeriodUSec"] == ("t", 50_000)
    assert props["AllowedMemoryNodes"] == ("ay", bytes([1]))
    assert limits.controllers_needed(lim) == ["cpu", "cpuset"]
    # a period alone keeps no quota; a quota alone takes the default period; -1: none
    assert dict(limits.cgroupfs_files(limits.parse(opts(cpu_period=20_000)))) == \
        {"cpu.max": "max 20000"}
    assert dict(limits.cgroupfs_files(limits.parse(opts(cpu_quota=150_000)))) == \
        {"cpu.max": "150000 100000"}
    assert dict(limits.cgroupfs_files(limits.parse(opts(cpu_quota=-1)))) == \
        {"cpu.max": "max 100000"}
    # update/clone: --cpus and --cpu-quota set the same file, the newer wins
    assert limits.merge({"cpus": 1.0, "memory": 5}, {"cpu_quota": 5000}) == \
        {"memory": 5, "cpu_quota": 5000}
    assert limits.merge({"cpu_quota": 5000, "cpu_period": 9000}, {"cpus": 2.0}) == {"cpus": 2.0}


@pytest.mark.parametrize(("kw", "message"), [
    ({"cpus": 1.0, "cpu_quota": 50_000}, "--cpu-quota and --cpus cannot be set together"),
    ({"cpus": 1.0, "cpu_period": 50_000}, "--cpu-period and --cpus cannot be set together"),
    ({"cpu_period": 10}, "invalid --cpu-period 10"),
    ({"cpu_quota": 10}, "invalid --cpu-quota 10"),
    ({"cpuset_mems": "0-x"}, "invalid --cpuset-mems"),
    ({"cgroup_conf": ["memory.high"]}, "invalid --cgroup-conf"),
    ({"cgroup_conf": ["../memory.max=1"]}, "invalid --cgroup-conf"),
    ({"cgroup_conf": ["cgroup.procs=1"]}, "cannot set cgroup.procs"),
])
def test_cpu_and_cgroup_conf_nonsense_is_refused(kw: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        limits.parse(opts(**kw))


def test_cgroup_conf_files_and_their_controllers() -> None:
    lim = limits.parse(opts(memory="64m", cgroup_conf=["memory.high=33554432",
                                                       "cgroup.max.depth=2"]))
    assert limits.cgroupfs_files(lim)[-2:] == [("memory.high", "33554432"),
                                               ("cgroup.max.depth", "2")]
    assert limits.needs(lim) == [("--memory", "memory"), ("--cgroup-conf memory.high", "memory")]
    with pytest.raises(HostSupportError, match="cannot enforce --cgroup-conf memory.high"):
        decide({"limits": {"cgroup_conf": {"memory.high": "1"}}},
               Host(v2=True, systemd=True, systemd_controllers=("cpu", "pids")))
    with pytest.raises(HostSupportError, match="cannot enforce --cgroup-conf on this host"):
        decide({"limits": {"cgroup_conf": {"memory.high": "1"}}},
               Host(v2=False, v1_reason="cgroup v1"))
