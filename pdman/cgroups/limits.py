"""Resource limits: from the command line's words to cgroup v2 terms, once.

`parse(options)` turns the `run`/`create` flags into a plain dict (stored in the
container's config); from that dict `systemd_properties()` gives the unit properties
of a transient scope and `cgroupfs_files()` the interface files to write when pdman
manages the cgroup itself. Both say the same thing, in the two vocabularies:

  --memory              MemoryMax             memory.max
  --memory-swap         MemorySwapMax         memory.swap.max   (swap only: total - memory)
  --memory-reservation  MemoryLow             memory.low
  --cpus                CPUQuotaPerSecUSec    cpu.max           ("quota period")
  --cpu-shares/-weight  CPUWeight             cpu.weight
  --cpuset-cpus         AllowedCPUs           cpuset.cpus
  --pids-limit          TasksMax              pids.max

Pure logic: no file or bus access here.
"""

from __future__ import annotations

import re
from typing import Any

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pdman.entities.create import CreateOptions

CPU_PERIOD_US = 100_000           # cpu.max period (the kernel's and docker's default)
UNLIMITED = -1

# which cgroup v2 controller each limit needs delegated
CONTROLLER = {
    "memory": "memory", "memory_swap": "memory", "memory_reservation": "memory",
    "cpus": "cpu", "cpu_shares": "cpu", "cpu_weight": "cpu",
    "cpuset_cpus": "cpuset", "pids_limit": "pids",
}

_FLAG = {
    "memory": "--memory", "memory_swap": "--memory-swap",
    "memory_reservation": "--memory-reservation", "cpus": "--cpus",
    "cpu_shares": "--cpu-shares", "cpu_weight": "--cpu-weight",
    "cpuset_cpus": "--cpuset-cpus", "pids_limit": "--pids-limit",
}


def flag(key: str) -> str:
    """The command-line flag a limit came from (for messages)."""
    return _FLAG.get(key, "--" + key.replace("_", "-"))


def parse(options: "CreateOptions") -> dict[str, Any]:
    """The limits asked for, checked and normalised; {} when none."""
    from pdman.engine.runopts import memory_bytes
    from pdman.errors import UsageError

    limits: dict[str, Any] = {}
    if options.memory:
        limits["memory"] = memory_bytes(options.memory)
        if limits["memory"] < 6 * 1024 * 1024:
            raise UsageError(f"--memory {options.memory} is too small",
                             hint="the minimum memory limit is 6m, as in podman")
    if options.memory_swap:
        if options.memory_swap == "-1":
            limits["memory_swap"] = UNLIMITED
        else:
            total = memory_bytes(options.memory_swap)
            if "memory" not in limits:
                raise UsageError("--memory-swap needs --memory",
                                 hint="give --memory too: --memory-swap is memory plus swap")
            if total < limits["memory"]:
                raise UsageError(
                    f"--memory-swap {options.memory_swap} is smaller than --memory {options.memory}",
                    hint="--memory-swap is memory plus swap: make it at least --memory "
                         "(equal means no swap, -1 unlimited swap)")
            limits["memory_swap"] = total
    if options.memory_reservation:
        limits["memory_reservation"] = memory_bytes(options.memory_reservation)
        if "memory" in limits and limits["memory_reservation"] > limits["memory"]:
            raise UsageError("--memory-reservation is larger than --memory",
                             hint="the soft limit must not exceed the hard limit")
    if options.cpus is not None:
        if options.cpus <= 0:
            raise UsageError(f"invalid --cpus {options.cpus}", hint="give a positive number, e.g. 0.5")
        limits["cpus"] = float(options.cpus)
    if options.cpu_shares is not None:
        if not 2 <= options.cpu_shares <= 262144:
            raise UsageError(f"invalid --cpu-shares {options.cpu_shares}",
                             hint="shares range from 2 to 262144 (1024 is the default weight)")
        limits["cpu_shares"] = options.cpu_shares
    if options.cpu_weight is not None:
        if not 1 <= options.cpu_weight <= 10000:
            raise UsageError(f"invalid --cpu-weight {options.cpu_weight}",
                             hint="cpu.weight ranges from 1 to 10000 (100 is the default)")
        limits["cpu_weight"] = options.cpu_weight
    if options.cpuset_cpus:
        cpu_list(options.cpuset_cpus)  # validates
        limits["cpuset_cpus"] = options.cpuset_cpus
    if options.pids_limit is not None and options.pids_limit > 0:
        limits["pids_limit"] = options.pids_limit
    return limits


def controllers_needed(limits: dict[str, Any]) -> list[str]:
    return sorted({CONTROLLER[k] for k in limits if k in CONTROLLER})


def cpu_list(spec: str) -> list[int]:
    """`0-2,4` -> [0, 1, 2, 4] (the cpuset list format)."""
    from pdman.errors import UsageError

    cpus: set[int] = set()
    for part in spec.split(","):
        m = re.fullmatch(r"\s*(\d+)(?:-(\d+))?\s*", part)
        if not m or (m.group(2) and int(m.group(2)) < int(m.group(1))):
            raise UsageError(f"invalid --cpuset-cpus {spec!r}",
                             hint="use a CPU list such as 0, 0-1 or 0,2-3")
        lo = int(m.group(1))
        hi = int(m.group(2) or lo)
        cpus.update(range(lo, hi + 1))
    return sorted(cpus)


def cpu_mask(spec: str) -> bytes:
    """A CPU list as systemd's AllowedCPUs wants it: a bit mask, CPU 0 = bit 0 of byte 0."""
    cpus = cpu_list(spec)
    mask = bytearray(max(cpus) // 8 + 1)
    for cpu in cpus:
        mask[cpu // 8] |= 1 << (cpu % 8)
    return bytes(mask)


def weight(limits: dict[str, Any]) -> int | None:
    """cpu.weight from --cpu-weight, or from --cpu-shares converted the way crun and
    runc convert v1 shares (2..262144 onto 1..10000; 1024 -> 39)."""
    if "cpu_weight" in limits:
        return int(limits["cpu_weight"])
    if "cpu_shares" in limits:
        return 1 + ((int(limits["cpu_shares"]) - 2) * 9999) // 262142
    return None


def swap_max(limits: dict[str, Any]) -> int | None:
    """Bytes of swap allowed (None: leave the default). podman's rule: with --memory and
    no --memory-swap, swap may equal the memory limit (twice the memory in all)."""
    if "memory_swap" in limits:
        if limits["memory_swap"] == UNLIMITED:
            return UNLIMITED
        return int(limits["memory_swap"]) - int(limits.get("memory", 0))
    if "memory" in limits:
        return int(limits["memory"])
    return None


def cpu_quota_us(limits: dict[str, Any]) -> int | None:
    """Microseconds of CPU time per 100 ms period."""
    if "cpus" not in limits:
        return None
    return max(1000, round(float(limits["cpus"]) * CPU_PERIOD_US))


def systemd_properties(limits: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """Unit properties as (name, D-Bus signature, value)."""
    infinity = 2**64 - 1
    props: list[tuple[str, str, Any]] = []
    if "memory" in limits:
        props.append(("MemoryMax", "t", int(limits["memory"])))
    swap = swap_max(limits)
    if swap is not None:
        props.append(("MemorySwapMax", "t", infinity if swap == UNLIMITED else swap))
    if "memory_reservation" in limits:
        props.append(("MemoryLow", "t", int(limits["memory_reservation"])))
    quota = cpu_quota_us(limits)
    if quota is not None:
        # systemd takes CPU time per second of wall time; the kernel's period stays 100 ms
        props.append(("CPUQuotaPerSecUSec", "t", quota * (1_000_000 // CPU_PERIOD_US)))
    w = weight(limits)
    if w is not None:
        props.append(("CPUWeight", "t", w))
    if "cpuset_cpus" in limits:
        props.append(("AllowedCPUs", "ay", cpu_mask(str(limits["cpuset_cpus"]))))
    if "pids_limit" in limits:
        props.append(("TasksMax", "t", int(limits["pids_limit"])))
    return props


def cgroupfs_files(limits: dict[str, Any]) -> list[tuple[str, str]]:
    """Interface files and the values to write, in a safe order (cpuset first: the
    others do not depend on it; memory.max before memory.swap.max)."""
    files: list[tuple[str, str]] = []
    if "cpuset_cpus" in limits:
        files.append(("cpuset.cpus", str(limits["cpuset_cpus"])))
    if "memory" in limits:
        files.append(("memory.max", str(int(limits["memory"]))))
    swap = swap_max(limits)
    if swap is not None:
        files.append(("memory.swap.max", "max" if swap == UNLIMITED else str(swap)))
    if "memory_reservation" in limits:
        files.append(("memory.low", str(int(limits["memory_reservation"]))))
    quota = cpu_quota_us(limits)
    if quota is not None:
        files.append(("cpu.max", f"{quota} {CPU_PERIOD_US}"))
    w = weight(limits)
    if w is not None:
        files.append(("cpu.weight", str(w)))
    if "pids_limit" in limits:
        files.append(("pids.max", str(int(limits["pids_limit"]))))
    return files


__all__ = ["CONTROLLER", "cgroupfs_files", "controllers_needed", "cpu_list", "cpu_mask",
           "flag", "parse", "swap_max", "systemd_properties", "weight"]
