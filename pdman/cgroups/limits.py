"""Resource limits: from the command line's words to cgroup v2 terms, once.

`parse(options)` turns the `run`/`create` flags into a plain dict (stored in the
container's config); from that dict `systemd_properties()` gives the unit properties
of a transient scope and `cgroupfs_files()` the interface files to write when pdman
manages the cgroup itself. Both say the same thing, in the two vocabularies:

  --memory              MemoryMax             memory.max
  --memory-swap         MemorySwapMax         memory.swap.max   (swap only: total - memory)
  --memory-reservation  MemoryLow             memory.low
  --cpus                CPUQuotaPerSecUSec    cpu.max           ("quota period")
  --cpu-quota/-period   CPUQuotaPerSecUSec,   cpu.max           ("quota period")
                        CPUQuotaPeriodUSec
  --cpu-shares/-weight  CPUWeight             cpu.weight
  --cpuset-cpus         AllowedCPUs           cpuset.cpus
  --cpuset-mems         AllowedMemoryNodes    cpuset.mems
  --pids-limit          TasksMax              pids.max
  --cgroup-conf K=V     (none: written)       K

Pure logic: no file or bus access here.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pdman.entities.create import CreateOptions

CPU_PERIOD_US = 100_000           # cpu.max period (the kernel's and docker's default)
UNLIMITED = -1

# which cgroup v2 controller each limit needs delegated
CONTROLLER = {
    "memory": "memory", "memory_swap": "memory", "memory_reservation": "memory",
    "cpus": "cpu", "cpu_shares": "cpu", "cpu_weight": "cpu",
    "cpuset_cpus": "cpuset", "pids_limit": "pids", "cpuset_mems": "cpuset",
    "cpu_period": "cpu", "cpu_quota": "cpu",
}
# the controllers whose interface files --cgroup-conf may name (KEY = CONTROLLER.FILE);
# cgroup.* files need none
_CONF_CONTROLLERS = ("cpu", "cpuset", "memory", "pids", "io", "hugetlb", "rdma", "misc")

_FLAG = {
    "memory": "--memory", "memory_swap": "--memory-swap",
    "memory_reservation": "--memory-reservation", "cpus": "--cpus",
    "cpu_shares": "--cpu-shares", "cpu_weight": "--cpu-weight",
    "cpuset_cpus": "--cpuset-cpus", "pids_limit": "--pids-limit",
    "cpuset_mems": "--cpuset-mems", "cpu_period": "--cpu-period", "cpu_quota": "--cpu-quota",
    "cgroup_conf": "--cgroup-conf",
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
    if options.cpuset_mems:
        cpu_list(options.cpuset_mems, "--cpuset-mems")  # the same list format
        limits["cpuset_mems"] = options.cpuset_mems
    _cfs(options, limits)
    conf = cgroup_conf(options.cgroup_conf or [])
    if conf:
        limits["cgroup_conf"] = conf
    if options.pids_limit is not None and options.pids_limit > 0:
        limits["pids_limit"] = options.pids_limit
    return limits


def _cfs(options: "CreateOptions", limits: dict[str, Any]) -> None:
    """--cpu-period/--cpu-quota: cpu.max's two numbers as given (podman refuses them
    with --cpus, which sets the same file)."""
    from pdman.errors import UsageError

    period, quota = options.cpu_period, options.cpu_quota
    if period is None and quota is None:
        return
    if options.cpus is not None:
        raise UsageError("--cpu-quota and --cpus cannot be set together"
                         if quota is not None else
                         "--cpu-period and --cpus cannot be set together",
                         hint="--cpus N is --cpu-quota N*100000 with the default period")
    if period is not None and period != 0:
        if not 1000 <= period <= 1_000_000:
            raise UsageError(f"invalid --cpu-period {period}",
                             hint="the CFS period ranges from 1000 to 1000000 microseconds")
        limits["cpu_period"] = period
    if quota is not None and quota != 0:
        if quota < 0:
            limits["cpu_quota"] = UNLIMITED       # -1: no quota, as podman's
        elif quota < 1000:
            raise UsageError(f"invalid --cpu-quota {quota}",
                             hint="the quota is at least 1000 microseconds (-1: none)")
        else:
            limits["cpu_quota"] = quota


def cgroup_conf(items: "list[str]") -> dict[str, str]:
    """--cgroup-conf KEY=VALUE items as {file: value}, the names checked: a file of the
    container's own cgroup (no path, no dot-files)."""
    from pdman.errors import UsageError

    conf: dict[str, str] = {}
    for item in items:
        key, eq, value = item.partition("=")
        key = key.strip()
        ctl, dot, rest = key.partition(".")
        if not eq or not dot or not rest or not ctl or "/" in key or key.startswith("."):
            raise UsageError(f"invalid --cgroup-conf {item!r}",
                             hint="use KEY=VALUE with KEY a cgroup v2 interface file, "
                                  "e.g. memory.high=536870912")
        if key in ("cgroup.procs", "cgroup.threads", "cgroup.subtree_control"):
            raise UsageError(f"--cgroup-conf cannot set {key}",
                             hint="pdman manages the container's processes and controllers")
        conf[key] = value
    return conf


def needs(limits: dict[str, Any]) -> "list[tuple[str, str]]":
    """(flag, controller) for each limit that needs a controller delegated."""
    out = [(flag(k), CONTROLLER[k]) for k in limits if k in CONTROLLER]
    for key in (limits.get("cgroup_conf") or {}):
        ctl = key.partition(".")[0]
        if ctl in _CONF_CONTROLLERS:
            out.append((f"--cgroup-conf {key}", ctl))
    return out


def controllers_needed(limits: dict[str, Any]) -> list[str]:
    return sorted({ctl for _, ctl in needs(limits)})


def merge(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """`old` limits with `new` ones over them (update, clone): a new --cpus replaces an
    old --cpu-quota/--cpu-period and the other way round (they set the same cpu.max)."""
    merged = dict(old)
    if "cpus" in new:
        merged.pop("cpu_quota", None)
        merged.pop("cpu_period", None)
    if "cpu_quota" in new or "cpu_period" in new:
        merged.pop("cpus", None)
    merged.update(new)
    if "cgroup_conf" in old and "cgroup_conf" in new:
        merged["cgroup_conf"] = {**old["cgroup_conf"], **new["cgroup_conf"]}
    return merged


def cpu_list(spec: str, what: str = "--cpuset-cpus") -> list[int]:
    """`0-2,4` -> [0, 1, 2, 4] (the cpuset list format)."""
    import re           # here: `run` without --cpuset-* needs no `re`

    from pdman.errors import UsageError

    cpus: set[int] = set()
    for part in spec.split(","):
        m = re.fullmatch(r"\s*(\d+)(?:-(\d+))?\s*", part)
        if not m or (m.group(2) and int(m.group(2)) < int(m.group(1))):
            raise UsageError(f"invalid {what} {spec!r}",
                             hint="use a list such as 0, 0-1 or 0,2-3")
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
    """Microseconds of CPU time per period (cpu_period_us); UNLIMITED: none."""
    if "cpu_quota" in limits:
        return int(limits["cpu_quota"])
    if "cpus" not in limits:
        return None
    return max(1000, round(float(limits["cpus"]) * CPU_PERIOD_US))


def cpu_period_us(limits: dict[str, Any]) -> int:
    return int(limits.get("cpu_period") or CPU_PERIOD_US)


def cpu_max(limits: dict[str, Any]) -> str | None:
    """cpu.max's "QUOTA PERIOD" ("max" for no quota); None: leave the default."""
    quota = cpu_quota_us(limits)
    if quota is None and "cpu_period" not in limits:
        return None
    period = cpu_period_us(limits)
    return f"{'max' if quota in (None, UNLIMITED) else quota} {period}"


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
    period = cpu_period_us(limits)
    if quota is not None:
        # systemd takes CPU time per second of wall time
        per_sec = infinity if quota == UNLIMITED else quota * 1_000_000 // period
        props.append(("CPUQuotaPerSecUSec", "t", per_sec))
    if "cpu_period" in limits:
        props.append(("CPUQuotaPeriodUSec", "t", period))
    w = weight(limits)
    if w is not None:
        props.append(("CPUWeight", "t", w))
    if "cpuset_cpus" in limits:
        props.append(("AllowedCPUs", "ay", cpu_mask(str(limits["cpuset_cpus"]))))
    if "cpuset_mems" in limits:
        props.append(("AllowedMemoryNodes", "ay", cpu_mask(str(limits["cpuset_mems"]))))
    if "pids_limit" in limits:
        props.append(("TasksMax", "t", int(limits["pids_limit"])))
    return props


def cgroupfs_files(limits: dict[str, Any]) -> list[tuple[str, str]]:
    """Interface files and the values to write, in a safe order (cpuset first: the
    others do not depend on it; memory.max before memory.swap.max)."""
    files: list[tuple[str, str]] = []
    if "cpuset_cpus" in limits:
        files.append(("cpuset.cpus", str(limits["cpuset_cpus"])))
    if "cpuset_mems" in limits:
        files.append(("cpuset.mems", str(limits["cpuset_mems"])))
    if "memory" in limits:
        files.append(("memory.max", str(int(limits["memory"]))))
    swap = swap_max(limits)
    if swap is not None:
        files.append(("memory.swap.max", "max" if swap == UNLIMITED else str(swap)))
    if "memory_reservation" in limits:
        files.append(("memory.low", str(int(limits["memory_reservation"]))))
    cmax = cpu_max(limits)
    if cmax is not None:
        files.append(("cpu.max", cmax))
    w = weight(limits)
    if w is not None:
        files.append(("cpu.weight", str(w)))
    if "pids_limit" in limits:
        files.append(("pids.max", str(int(limits["pids_limit"]))))
    return files + conf_files(limits)


def conf_files(limits: dict[str, Any]) -> list[tuple[str, str]]:
    """--cgroup-conf's files, written last (they may refine the limits above)."""
    return [(k, str(v)) for k, v in (limits.get("cgroup_conf") or {}).items()]


__all__ = ["CONTROLLER", "cgroup_conf", "cgroupfs_files", "conf_files", "controllers_needed",
           "cpu_list", "cpu_mask", "cpu_max", "flag", "merge", "needs", "parse", "swap_max",
           "systemd_properties", "weight"]
