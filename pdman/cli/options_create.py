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
Network = Annotated[Optional[list[str]], typer.Option(
    "--network", "--net",
    help="Network: pasta[:OPTS] (default; OPTS: pasta's own options, comma-separated, e.g. "
         "pasta:--mtu,1400), slirp4netns[:OPTS] (OPTS: mtu=N, cidr=NET, enable_ipv6=true, "
         "allow_host_loopback=true, outbound_addr=IP, port_handler=rootlesskit (default: "
         "pdman-portfwd) or slirp4netns), none, host, container:ID, or a network name "
         "NAME[:alias=A,...] (repeatable for several networks, each with its aliases).")]
Platform = Annotated[Optional[str], typer.Option(
    "--platform", help="Platform of the image to pull: OS/ARCH[/VARIANT].")]
Rootfs = Annotated[bool, typer.Option(
    "--rootfs", help="IMAGE is a root filesystem directory instead: PATH runs in it "
                     "(its changes written there), PATH:O runs an overlay on it (changes "
                     "in the container's storage, gone with the container).")]
Uidmap = Annotated[Optional[list[str]], typer.Option(
    "--uidmap", help="Map container UIDs: CONTAINER_UID:FROM_UID:AMOUNT, FROM_UID an ID of "
                     "your user namespace (0: your user, 1..: your /etc/subuid range, in "
                     "order); repeatable; with no --gidmap it maps GIDs too.")]
Gidmap = Annotated[Optional[list[str]], typer.Option(
    "--gidmap", help="Map container GIDs: CONTAINER_GID:FROM_GID:AMOUNT, as --uidmap.")]
Subuidname = Annotated[Optional[str], typer.Option(
    "--subuidname", help="Map container UIDs from 0 onto the /etc/subuid ranges of NAME "
                         "(within your own).")]
Subgidname = Annotated[Optional[str], typer.Option(
    "--subgidname", help="Map container GIDs from 0 onto the /etc/subgid ranges of NAME "
                         "(within your own).")]
Arch = Annotated[Optional[str], typer.Option(
    "--arch", help="Architecture of the image to pull from a multi-platform image, e.g. "
                   "arm64 (default: the host's).")]
Os = Annotated[Optional[str], typer.Option(
    "--os", help="OS of the image to pull from a multi-platform image (default: linux).")]
Variant = Annotated[Optional[str], typer.Option(
    "--variant", help="Architecture variant of the image to pull, e.g. v8 for arm64.")]
Authfile = Annotated[Optional[str], typer.Option(
    "--authfile", help="Registry credentials file of the pull (default: "
                       "$REGISTRY_AUTH_FILE, else ${XDG_RUNTIME_DIR}/containers/auth.json).")]
# podman's boolean (`--tls-verify`, `--tls-verify=false`: cli/fast.bool_values rewrites
# the valued form); None when not given, so that registries.conf decides
TlsVerify = Annotated[Optional[bool], typer.Option(
    "--tls-verify/--no-tls-verify", show_default=False,
    help="Require HTTPS and verify certificates when pulling (--tls-verify=false: "
         "allow plain HTTP).")]
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
                     "your user, other IDs your subordinate range); `keep-id[:uid=U,gid=G]` "
                     "(your user is UID U inside, default your own UID, and the process runs "
                     "as it); as root, `auto[:size=N]` (a range of its own from the "
                     "`containers` entry of /etc/subuid and /etc/subgid, N IDs or the "
                     "image's highest ID + 1, at least 1024). nomap is not built yet.")]
Secret = Annotated[Optional[list[str]], typer.Option(
    "--secret", help="Give the container a secret (`pdman secret create`): "
                     "NAME[,type=mount|env][,target=PATH|VAR][,uid=U,gid=G,mode=M]; mounted "
                     "read-only at /run/secrets/NAME by default.")]
Sdnotify = Annotated[str, typer.Option(
    "--sdnotify", help="Under a systemd unit (NOTIFY_SOCKET set): conmon (default) tells "
                       "systemd READY=1 and the monitor's PID once the container runs; "
                       "container passes the socket in (/run/notify/notify.sock) so the "
                       "container sends READY=1 itself; healthy sends the monitor's PID "
                       "at once and READY=1 after the first passing healthcheck (needs one); "
                       "ignore sends nothing.")]
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
CpusetMems = Annotated[Optional[str], typer.Option(
    "--cpuset-mems", help="Memory nodes (NUMA) the container may use, e.g. 0 or 0-1 "
                          "(cpuset.mems).")]
CpuPeriod = Annotated[Optional[int], typer.Option(
    "--cpu-period", help="CPU CFS period in microseconds, 1000-1000000 (the period of "
                         "cpu.max; default 100000).")]
CpuQuota = Annotated[Optional[int], typer.Option(
    "--cpu-quota", help="CPU time in microseconds the container may use per --cpu-period "
                        "(cpu.max; at least 1000).")]
CgroupConf = Annotated[Optional[list[str]], typer.Option(
    "--cgroup-conf", help="Write VALUE to the cgroup v2 interface file KEY of the "
                          "container's cgroup, e.g. memory.high=1g (repeatable; needs a "
                          "delegated cgroup).")]
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

# -- options of lower priority (engine/runextra.py) --
EnvHost = Annotated[bool, typer.Option(
    "--env-host", help="Start from your own environment (before the image's -e and --env-file).")]
EnvMerge = Annotated[Optional[list[str]], typer.Option(
    "--env-merge", help="Merge into the image's variable: NAME=VALUE, ${NAME} standing for "
                        "the image's value (e.g. PATH=/opt/bin:${PATH}).")]
Unsetenv = Annotated[Optional[list[str]], typer.Option(
    "--unsetenv", help="Remove this variable of the image's or pdman's defaults (PATH, TERM, "
                       "HOSTNAME...).")]
UnsetenvAll = Annotated[bool, typer.Option(
    "--unsetenv-all", help="Keep only the variables you give (-e, --env-file): none of the "
                           "image's or pdman's defaults.")]
LabelFile = Annotated[Optional[list[str]], typer.Option(
    "--label-file", help="Read labels from a file of KEY=VALUE lines.")]
Annotation = Annotated[Optional[list[str]], typer.Option(
    "--annotation", help="Set an annotation KEY=VALUE (shown by inspect).")]
Expose = Annotated[Optional[list[str]], typer.Option(
    "--expose", help="Expose a port or range PORT[-PORT][/tcp|udp] (-P publishes it too).")]
GroupAdd = Annotated[Optional[list[str]], typer.Option(
    "--group-add", help="Add a supplementary group (name in the image's /etc/group, or GID).")]
NoHosts = Annotated[bool, typer.Option(
    "--no-hosts", help="Keep the image's /etc/hosts instead of generating one.")]
Pidfile = Annotated[Optional[str], typer.Option(
    "--pidfile", help="Write the container process's PID (as the host sees it) to this file.")]
ShmSize = Annotated[Optional[str], typer.Option(
    "--shm-size", help="Size of /dev/shm, e.g. 256m (default 64m).")]
Tz = Annotated[Optional[str], typer.Option(
    "--tz", help="Time zone of the container (Area/City, or `local`: the host's): "
                 "its /etc/localtime.")]
Uts = Annotated[Optional[str], typer.Option(
    "--uts", help="UTS namespace: private (default) or host (the host's hostname).")]
Ipc = Annotated[Optional[str], typer.Option(
    "--ipc", help="IPC namespace: private (default, also shareable, none) or host.")]
DnsOption = Annotated[Optional[list[str]], typer.Option(
    "--dns-option", help="An `options` entry of the container's resolv.conf (e.g. ndots:2).")]
DnsSearch = Annotated[Optional[list[str]], typer.Option(
    "--dns-search", help="A search domain of the container's resolv.conf (`.`: none).")]
ReadOnlyTmpfs = Annotated[bool, typer.Option(
    "--read-only-tmpfs/--no-read-only-tmpfs",
    help="With --read-only, mount tmpfs on /tmp, /var/tmp and /run (the default).")]
Requires = Annotated[Optional[list[str]], typer.Option(
    "--requires", help="Containers to start first whenever this one starts (comma-separated).")]
InitPath = Annotated[Optional[str], typer.Option(
    "--init-path", help="The init program --init runs (default: pdman's own).")]
InitCtr = Annotated[Optional[str], typer.Option(
    "--init-ctr", help="Make it an init container of its pod (--pod): `always` runs it to "
                       "completion at every `pod start`, before the other containers; "
                       "`once` at the next one only, then removes it.")]
OomScoreAdj = Annotated[Optional[int], typer.Option(
    "--oom-score-adj", help="The process's OOM score adjustment (-1000..1000; without "
                            "privileges it can only be raised).")]
VolumesFrom = Annotated[Optional[list[str]], typer.Option(
    "--volumes-from", help="Mount the volumes and binds of another container: CTR[:ro|rw].")]
Umask = Annotated[Optional[str], typer.Option(
    "--umask", help="The process's umask, in octal (default: pdman's own, usually 0022).")]
Rmi = Annotated[bool, typer.Option(
    "--rmi", help="Remove the image once the container exits (implies --rm; an image "
                  "other containers use is kept).")]
Restart = Annotated[Optional[str], typer.Option(
    "--restart", help="Restart policy when the container exits: no (default), "
                      "on-failure[:MAX_RETRIES] (a non-zero exit), always, or unless-stopped; "
                      "with docker's back-off (100 ms doubling, reset after 10 s of running). "
                      "A stop, kill or rm by the user is respected. No daemon: the "
                      "container's monitor restarts it.")]
HealthCmd = Annotated[Optional[str], typer.Option(
    "--health-cmd", help="Healthcheck command run in the container: a string run by /bin/sh "
                         "-c, or a JSON array ([\"CMD\", \"curl\", \"-f\", \"URL\"], "
                         "[\"CMD-SHELL\", \"...\"]); `none` disables the image's.")]
HealthInterval = Annotated[Optional[str], typer.Option(
    "--health-interval", help="Time between healthchecks, e.g. 30s (default), 1m; "
                              "`disable`: only `pdman healthcheck run`.")]
HealthTimeout = Annotated[Optional[str], typer.Option(
    "--health-timeout", help="Time a healthcheck may take before it counts as failed and is "
                             "killed (default 30s, at least 1s).")]
HealthRetries = Annotated[Optional[int], typer.Option(
    "--health-retries", help="Failures in a row that make the container unhealthy "
                             "(default 3).")]
HealthStartPeriod = Annotated[Optional[str], typer.Option(
    "--health-start-period", help="Time the container gets to start up: failed "
                                  "healthchecks within it do not count (default 0s).")]
HealthStartInterval = Annotated[Optional[str], typer.Option(
    "--health-start-interval", help="Time between healthchecks during the start period "
                                    "(default: the interval).")]
HealthOnFailure = Annotated[Optional[str], typer.Option(
    "--health-on-failure", help="Action when the container becomes unhealthy: none "
                                "(default), kill, restart or stop.")]
NoHealthcheck = Annotated[bool, typer.Option(
    "--no-healthcheck", help="Disable any healthcheck, the image's too.")]

# -- more of them (engine/runcompat.py) --
PasswdRun = Annotated[bool, typer.Option(
    "--passwd/--no-passwd", help="Add the container's user to its /etc/passwd and /etc/group "
                                 "when the image does not know its UID (the default; "
                                 "--passwd=false: never).")]
PasswdEntry = Annotated[Optional[str], typer.Option(
    "--passwd-entry", help="The /etc/passwd line added for a user the image does not know: "
                           "$USERNAME, $UID, $GID, $NAME and $HOME are replaced.")]
Hostuser = Annotated[Optional[list[str]], typer.Option(
    "--hostuser", help="Add this host account (name or UID) to the container's /etc/passwd.")]
Chrootdirs = Annotated[Optional[list[str]], typer.Option(
    "--chrootdirs", help="A chroot directory inside the container: /etc/hosts and "
                         "/etc/resolv.conf are bound into its etc/ too.")]
Cgroupns = Annotated[Optional[str], typer.Option(
    "--cgroupns", help="cgroup namespace: private (default: the container's cgroup is its "
                       "root) or host.")]
SeccompPolicy = Annotated[str, typer.Option(
    "--seccomp-policy", help="default (the --security-opt profile, else pdman's own); "
                             "image (a profile named in the image's label) is refused.")]
HttpProxy = Annotated[bool, typer.Option(
    "--http-proxy/--no-http-proxy", help="Pass the host's proxy variables (http_proxy, "
                                         "https_proxy, ftp_proxy, no_proxy and upper case) "
                                         "in, unless set otherwise (default true).")]
ImageVolume = Annotated[str, typer.Option(
    "--image-volume", help="The image's VOLUMEs: bind (default: anonymous volumes), tmpfs, "
                           "or ignore.")]
Timeout = Annotated[int, typer.Option(
    "--timeout", help="Kill the container (SIGKILL) after this many seconds of "
                             "running (0: never).")]
Sysctl = Annotated[Optional[list[str]], typer.Option(
    "--sysctl", help="Set a namespaced sysctl KEY=VALUE (net.*, fs.mqueue.*, kernel's IPC "
                     "ones); others are refused.")]
Personality = Annotated[Optional[str], typer.Option(
    "--personality", help="Execution domain (personality(2)): LINUX or LINUX32.")]
Device = Annotated[Optional[list[str]], typer.Option(
    "--device", help="Bind a host device node: HOST[:CONTAINER][:rwm] (rootless: one your "
                     "user can open).")]
Pid = Annotated[Optional[str], typer.Option(
    "--pid", help="PID namespace: private (default), host (the host's processes, its "
                  "/proc), or container:NAME (another running container's).")]
Ip = Annotated[Optional[str], typer.Option(
    "--ip", help="The container's IPv4 address on its user-defined network (--network NAME).")]
Ip6 = Annotated[Optional[str], typer.Option(
    "--ip6", help="The container's IPv6 address on its user-defined network (--network "
                  "NAME); the network needs an IPv6 subnet.")]
MacAddress = Annotated[Optional[str], typer.Option(
    "--mac-address", help="The container's MAC address on its user-defined network, e.g. "
                          "92:d0:c6:0a:29:33.")]
Attach = Annotated[Optional[list[str]], typer.Option(
    "--attach", "-a", help="Attach only these streams: stdin, stdout, stderr (repeatable; "
                           "the others go to the log only).")]
PreserveFds = Annotated[int, typer.Option(
    "--preserve-fds", help="Pass fds 3 to 3+N-1 of pdman's caller into the "
                                  "container.")]
