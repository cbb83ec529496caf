"""Options of `create` and `run`, each defined once and used by both declarations."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

Image = Annotated[str, typer.Argument(help="Image to run: name[:tag], name@digest or image ID.")]
Command = Annotated[Optional[list[str]], typer.Argument(
    help="Command and arguments (default: the image's Entrypoint and Cmd).")]
Name = Annotated[Optional[str], typer.Option("--name", help="Assign a name to the container.")]
Env = Annotated[Optional[list[str]], typer.Option(
    "--env", "-e", help="Set an environment variable NAME=VALUE (NAME alone: from the caller).")]
EnvFile = Annotated[Optional[list[str]], typer.Option(
    "--env-file", help="Read environment variables from a file (NAME=VALUE lines).")]
Workdir = Annotated[Optional[str], typer.Option(
    "--workdir", "-w", help="Working directory inside the container.")]
User = Annotated[Optional[str], typer.Option(
    "--user", "-u", help="Run as USER[:GROUP] (names from the container's /etc/passwd, or IDs).")]
Entrypoint = Annotated[Optional[str], typer.Option(
    "--entrypoint", help="Override the image's entrypoint (\"\" clears it).")]
Hostname = Annotated[Optional[str], typer.Option(
    "--hostname", "-h", help="Container host name (default: the short container ID).")]
Interactive = Annotated[bool, typer.Option(
    "--interactive", "-i", help="Keep stdin open and connected to the container.")]
Tty = Annotated[bool, typer.Option("--tty", "-t", help="Allocate a pseudo-terminal.")]
Init = Annotated[bool, typer.Option(
    "--init", help="Run a tiny init as PID 1 that forwards signals and reaps zombies.")]
ReadOnly = Annotated[bool, typer.Option(
    "--read-only", help="Mount the container's root filesystem read-only.")]
Tmpfs = Annotated[Optional[list[str]], typer.Option(
    "--tmpfs", help="Mount a tmpfs: PATH[:OPTIONS], e.g. /run:size=64m.")]
Volume = Annotated[Optional[list[str]], typer.Option(
    "--volume", "-v", help="Bind mount or named volume: SOURCE:DEST[:ro|rw][,U] (U: the source chowned to the container user), or DEST for an anonymous volume.")]
Mount = Annotated[Optional[list[str]], typer.Option(
    "--mount", help="Mount: type=bind|volume|tmpfs,source=...,target=...[,readonly].")]
CapAdd = Annotated[Optional[list[str]], typer.Option("--cap-add", help="Add a capability (or ALL).")]
CapDrop = Annotated[Optional[list[str]], typer.Option("--cap-drop", help="Drop a capability (or ALL).")]
Privileged = Annotated[bool, typer.Option(
    "--privileged", help="Give every capability and turn the seccomp filter off (still never more "
    "than the user has).")]
SecurityOpt = Annotated[Optional[list[str]], typer.Option(
    "--security-opt", help="Security option: no-new-privileges[=true|false] (no privileges "
    "gained through setuid/file capabilities), seccomp=unconfined (no syscall filter) or "
    "seccomp=PROFILE.json (a docker/OCI seccomp profile instead of the default one; see "
    "pdman-security(7)).")]
Label = Annotated[Optional[list[str]], typer.Option("--label", "-l", help="Set a label KEY=VALUE.")]
Pull = Annotated[str, typer.Option(
    "--pull", help="Pull the image: missing (default), always, or never.")]
Network = Annotated[str, typer.Option(
    "--network", "--net",
    help="Network: pasta[:OPTS] (default; OPTS: pasta's own options, comma-separated, e.g. "
         "pasta:--mtu,1400), slirp4netns[:OPTS] (OPTS: mtu=N, cidr=NET, enable_ipv6=true, "
         "allow_host_loopback=true, outbound_addr=IP, port_handler=rootlesskit (default: "
         "pdman-portfwd) or slirp4netns), none, host, container:ID, or a network name.")]
Platform = Annotated[Optional[str], typer.Option(
    "--platform", help="Platform of the image to pull: OS/ARCH[/VARIANT].")]
TlsVerify = Annotated[Optional[str], typer.Option(
    "--tls-verify", help="Require HTTPS and verify certificates when pulling (true/false).")]
StopSignal = Annotated[Optional[str], typer.Option(
    "--stop-signal", help="Signal that stops the container (default: the image's, else SIGTERM).")]
StopTimeout = Annotated[Optional[int], typer.Option(
    "--stop-timeout", help="Seconds to wait after the stop signal before SIGKILL (default 10).")]
QuietPull = Annotated[bool, typer.Option(
    "--quiet", "-q", help="Do not print pull progress.")]
Remove = Annotated[bool, typer.Option(
    "--rm", help="Remove the container (and its anonymous volumes) when it exits.")]
Cidfile = Annotated[Optional[str], typer.Option(
    "--cidfile", help="Write the container's ID to this file (it must not exist yet).")]
Replace = Annotated[bool, typer.Option(
    "--replace", help="If a container of the same --name exists, remove it (forcibly) first.")]
Userns = Annotated[Optional[str], typer.Option(
    "--userns", help="User namespace: `host` (or empty; the default: container root is "
                     "your user, other IDs your subordinate range). keep-id, nomap and auto "
                     "are not built yet.")]
Pod = Annotated[Optional[str], typer.Option(
    "--pod", help="Run in this pod (name or ID), sharing its namespaces; `new:NAME` creates "
                  "the pod first (with this container's -p, --network, --dns, --add-host).")]
PodIdFile = Annotated[Optional[str], typer.Option(
    "--pod-id-file", help="Run in the pod whose ID is in this file (`pod create --pod-id-file`).")]
Detach = Annotated[bool, typer.Option(
    "--detach", "-d", help="Run in the background and print the container ID.")]
DetachKeys = Annotated[Optional[str], typer.Option(
    "--detach-keys", help="Key sequence that detaches an attached terminal (default ctrl-p,ctrl-q).")]
SigProxy = Annotated[bool, typer.Option(
    "--sig-proxy/--no-sig-proxy", help="Forward the signals pdman receives to the container.")]
Publish = Annotated[Optional[list[str]], typer.Option(
    "--publish", "-p", help="Publish a port: [[IP:]HOSTPORT:]CONTAINERPORT[/tcp|udp], ranges too.")]
PublishAll = Annotated[bool, typer.Option(
    "--publish-all", "-P", help="Publish every port the image exposes to a free host port.")]
Dns = Annotated[Optional[list[str]], typer.Option("--dns", help="Nameserver for the container.")]
AddHost = Annotated[Optional[list[str]], typer.Option(
    "--add-host", help="Add HOST:IP to the container's /etc/hosts.")]
NetworkAlias = Annotated[Optional[list[str]], typer.Option(
    "--network-alias", help="Another name the container answers to on its network.")]
Memory = Annotated[Optional[str], typer.Option(
    "--memory", "-m", help="Memory limit, e.g. 512m (needs cgroup v2 delegated by systemd).")]
MemorySwap = Annotated[Optional[str], typer.Option(
    "--memory-swap", help="Memory plus swap limit (-1: unlimited swap).")]
MemoryReservation = Annotated[Optional[str], typer.Option(
    "--memory-reservation", help="Soft memory limit (memory.low).")]
Cpus = Annotated[Optional[float], typer.Option("--cpus", help="CPU quota in CPUs, e.g. 0.5.")]
CpuShares = Annotated[Optional[int], typer.Option(
    "--cpu-shares", "-c", help="Relative CPU weight (cgroup v1 shares, converted to cpu.weight).")]
CpuWeight = Annotated[Optional[int], typer.Option(
    "--cpu-weight", help="Relative CPU weight, 1-10000 (cpu.weight).")]
CpusetCpus = Annotated[Optional[str], typer.Option(
    "--cpuset-cpus", help="CPUs the container may use, e.g. 0-1.")]
Ulimit = Annotated[Optional[list[str]], typer.Option(
    "--ulimit", help="Resource limit TYPE=SOFT[:HARD], e.g. nofile=1024:2048 (-1: unlimited); "
                     "by default nofile and nproc are the caller's hard limits (podman's).")]
PidsLimit = Annotated[Optional[int], typer.Option(
    "--pids-limit", help="Maximum number of processes (-1: unlimited).")]
Cgroups = Annotated[str, typer.Option(
    "--cgroups", help="enabled (default), disabled, no-conmon or split.")]
CgroupParent = Annotated[Optional[str], typer.Option(
    "--cgroup-parent", help="Parent slice or cgroup path for the container's cgroup.")]
CgroupManager = Annotated[Optional[str], typer.Option(
    "--cgroup-manager", help="systemd or cgroupfs (default: systemd when a user manager runs).")]
LogDriver = Annotated[str, typer.Option(
    "--log-driver", help="k8s-file (default), journald, none, or passthrough (a "
                         "foreground container writes to pdman's own stdout/stderr: no "
                         "copying, no log).")]
LogOpt = Annotated[Optional[list[str]], typer.Option(
    "--log-opt", help="Logging option, e.g. max-size=10m, path=FILE.")]
