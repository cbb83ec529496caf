"""The pure logic of a pod's cgroup: its slice's name, what a member's placement is
decided on, the limits in both vocabularies (--cpuset-mems), and pod inspect's fields."""

from __future__ import annotations

import pytest

from pdman import cgroups
from pdman.cgroups import limits, pods
from pdman.entities.pods import PodCreateOptions
from pdman.errors import UsageError


def test_the_pods_slice_nests_in_its_parent_by_name() -> None:
    assert pods.slice_name("abc", "pdman.slice") == "pdman-pod_abc.slice"
    assert pods.slice_name("abc", "machine.slice") == "machine-pod_abc.slice"
    assert pods.slice_name("abc", "a-b.slice") == "a-b-pod_abc.slice"


def test_a_member_is_placed_where_its_pod_is_with_the_pods_limits() -> None:
    config = {"limits": {"pids_limit": 5}, "mode": "enabled", "parent": "", "manager": "",
              "pod": {"id": "p", "limits": {"memory": 64 << 20}, "parent": "x.slice"}}
    eff = cgroups._effective(config)
    assert eff["parent"] == "x.slice"
    assert eff["limits"] == {"memory": 64 << 20, "pids_limit": 5}
    assert config["limits"] == {"pids_limit": 5}          # the container's own unchanged
    alone = {"limits": {}, "mode": "enabled", "parent": "", "manager": ""}
    assert cgroups._effective(alone) is alone


def test_pod_limits_parse_as_a_containers_and_add_cpuset_mems() -> None:
    lim = limits.parse(PodCreateOptions(memory="64m", memory_swap="64m", cpus=0.5,
                                        cpu_shares=512, cpuset_cpus="0", cpuset_mems="0"))
    assert lim == {"memory": 64 << 20, "memory_swap": 64 << 20, "cpus": 0.5,
                   "cpu_shares": 512, "cpuset_cpus": "0", "cpuset_mems": "0"}
    props = dict((k, v) for k, _, v in limits.systemd_properties(lim))
    assert props["AllowedMemoryNodes"] == b"\x01" and props["MemoryMax"] == 64 << 20
    assert props["MemorySwapMax"] == 0 and props["CPUQuotaPerSecUSec"] == 500_000
    files = dict(limits.cgroupfs_files(lim))
    assert files["cpuset.mems"] == "0" and files["cpu.max"] == "50000 100000"
    assert limits.controllers_needed({"cpuset_mems": "0"}) == ["cpuset"]
    with pytest.raises(UsageError, match="invalid --cpuset-mems"):
        limits.parse(PodCreateOptions(cpuset_mems="1-0"))


def test_pod_inspect_fields_are_podmans_and_omitted_when_unset() -> None:
    assert pods.inspect_fields({}) == {}
    cfg = {"cgroup": {"limits": {"memory": 64 << 20, "memory_swap": 128 << 20, "cpus": 0.5,
                                 "cpu_shares": 512, "cpuset_cpus": "0-1",
                                 "cpuset_mems": "0"}}}
    assert pods.inspect_fields(cfg) == {
        "CPUPeriod": 100000, "CPUQuota": 50000, "CPUShares": 512, "CPUSetCPUs": "0-1",
        "CPUSetMems": "0", "MemoryLimit": 64 << 20, "MemorySwap": 128 << 20}
