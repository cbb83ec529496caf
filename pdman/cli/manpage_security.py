"""The security text of the manual: `pdman-security(7)` (what pdman promises about
running images built by others, and what it does not) and the SECURITY DEFAULTS section
of `pdman-run(1)` and `pdman-create(1)`. Lists come from the code's own defaults, so
the pages cannot drift from what a container gets. Rendered by manpages.py.
"""

from __future__ import annotations


def _esc(text: str) -> str:
    return text.replace("\\", "\\e").replace("-", "\\-")


def _defaults() -> "dict[str, str]":
    from pdman.engine.runopts import DEFAULT_CAPS
    from pdman.runtime.native import DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS

    return {
        "caps": ", ".join(c.removeprefix("CAP_") for c in DEFAULT_CAPS),
        "masked": ", ".join(DEFAULT_MASKED_PATHS),
        "readonly": ", ".join(DEFAULT_READONLY_PATHS),
    }


def run_section() -> "list[str]":
    """`.SH SECURITY DEFAULTS` of pdman-run(1) and pdman-create(1)."""
    d = _defaults()
    items = [
        ("User namespace",
         "Every container gets one, mapping the user to root inside and the user's "
         "subordinate IDs (/etc/subuid, /etc/subgid) to the other IDs; nothing in the "
         "container is more privileged than the user who runs pdman. As root (root "
         "mode) there is none, as rootful podman's default: the container's root is the "
         "host's root, held in by the capabilities, seccomp filter and masked paths "
         "below."),
        ("Capabilities",
         f"{d['caps']} (podman's default set), in the user namespace only. "
         "--cap-add and --cap-drop change it; --privileged gives all."),
        ("Seccomp",
         "A syscall filter with the effect of podman's default profile "
         "(pdman/runtime/seccomp/default.json, shown by pdman info as "
         "seccompProfilePath): unlisted syscalls fail with ENOSYS (add_key, "
         "request_key, io_uring_*, ...), obsolete or dangerous ones with EPERM "
         "(kexec_load, userfaultfd, swapon, ...), and bpf, perf_event_open, "
         "open_by_handle_at, chroot and a few more are allowed only with the capability "
         "they need. --security-opt seccomp=PROFILE.json uses a docker/OCI profile "
         "instead; seccomp=unconfined and --privileged turn it off. exec'd processes get "
         "the container's filter."),
        ("No new privileges",
         "Off by default, as podman: setuid programs in the image work. "
         "--security-opt no-new-privileges turns it on for the container and its exec'd "
         "processes (NoNewPrivs: 1 in /proc/PID/status)."),
        ("Masked paths",
         f"{d['masked']} are hidden (an empty file or directory over them); "
         f"{d['readonly']} are read-only; /sys is read-only."),
        ("Keyring",
         "Each container process and each exec'd process joins a new session keyring: "
         "keys of the user's login session are not reachable inside."),
    ]
    lines = [".SH SECURITY DEFAULTS",
             "What every container gets unless told otherwise; see "
             "\\fBpdman\\-security\\fR(7) for what pdman promises."]
    for title, text in items:
        lines += [".TP", f"\\fB{_esc(title)}\\fR", _esc(text)]
    return lines


def security_page(date: str, version: str) -> str:
    """pdman-security(7)."""
    d = _defaults()
    promises = [
        ("Names are never looked up inside an image",
         "cp (both ways), export, commit and diff never resolve user or group names "
         "through NSS while looking at a container's root: no library of the image "
         "(libnss_*.so) is ever loaded into pdman. Tar streams carry numeric owners with "
         "empty names, and extraction uses numeric owners. The helper that touches "
         "container content holds only the capabilities it needs."),
        ("A running container cannot swap files under pdman",
         "commit, cp, export and diff read a container's files through directory file "
         "descriptors without following symbolic links, checking what they opened, or "
         "with the container's processes frozen: no host file ends up in an image or a "
         "tar stream, whatever the container does meanwhile."),
        ("The caller's terminal stays the caller's",
         "Every container and every exec runs in a new session. Without \\-t its stdio "
         "are pipes, and the host's /dev/tty is not reachable: TIOCSTI cannot type into "
         "the user's shell. With \\-t it gets a pseudo\\-terminal of its own."),
        ("The process entering a container cannot be taken over",
         "The process that clones a container (run) or joins it (exec) is non\\-dumpable "
         "until it execs the container's command and holds no host file descriptors, so "
         "processes in the container cannot open it through /proc/PID/exe or "
         "/proc/PID/fd; the unpacked single\\-file install is not writable from a "
         "container."),
        ("A published port's client is never the container's loopback",
         "A client of a published port never appears to the container as 127.0.0.1, so "
         "services that trust loopback (Redis protected mode, admin endpoints) stay "
         "protected, and a service bound to the container's 127.0.0.1 is not reachable "
         "through the port. With pasta, a remote client keeps its real address. With "
         "slirp4netns, pdman\\-portfwd connects to the container's own address "
         "(10.0.2.100 by default), which is what the container sees; ports published on "
         "a host loopback address go through the same forwarder with pasta too. One "
         "known exception, below."),
        ("The kernel's attack surface is narrowed",
         "A seccomp filter (below), the user namespace's limited capabilities, masked "
         "and read\\-only paths, and a new session keyring per container."),
        ("Mounts and state files",
         "/sys is read\\-only in every network mode, submounts included. The runtime "
         "directory fallback (without XDG_RUNTIME_DIR) is refused unless it belongs to "
         "the user with mode 0700. Exit files, sockets and pid files are created without "
         "following symbolic links."),
        ("Registry trust",
         "short\\-name\\-mode is enforcing by default: an ambiguous short name prompts on "
         "a terminal and fails without one (permissive and disabled as "
         "containers\\-registries.conf(5) says). Credentials are never sent to a token "
         "realm on another host, nor over plain HTTP unless the registry is configured "
         "insecure."),
        ("Hostile input ends in a clean error",
         "A layer with absurdly deep paths or timestamps, malformed passwd or group files, "
         "malformed manifests, configs, references, registries.conf, env files or "
         "\\-\\-format templates end in an error message and exit status 125, with "
         "nothing left behind: never a Python traceback."),
    ]
    not_promised = [
        "pdman is not a sandbox for code that attacks the kernel: a container shares "
        "the host's kernel, and a kernel bug reachable through the allowed syscalls "
        "reaches the host as the user who runs pdman.",
        "Nothing in a container is more privileged than that user, but nothing is less "
        "privileged either, towards what the user can reach: files the user bind\\-mounts "
        "(\\-v), the host network with \\-\\-network host, ports the user publishes.",
        "Images are not verified beyond their digests: pdman does not check signatures "
        "(policy.json) of what it pulls.",
        "No SELinux or AppArmor confinement.",
        "With the pasta of Debian 12 (2023\\-03), a client on the host's own loopback "
        "that connects to a port published on every address (\\-p 8080:80) reaches the "
        "container's loopback: that pasta has no option to stop it. Publish on a "
        "loopback address (\\-p 127.0.0.1:8080:80) or use \\-\\-network slirp4netns "
        "where that matters; a test pins the gap and fails once a pasta that closes it "
        "is installed.",
        "\\-\\-privileged, \\-\\-cap\\-add and seccomp=unconfined give up the "
        "corresponding protection, as their names say.",
    ]
    lines = [
        f'.TH "PDMAN-SECURITY" "7" "{date}" "pdman {version}" "pdman Manual"',
        ".SH NAME",
        "pdman\\-security \\- what pdman promises when it runs images built by others",
        ".SH DESCRIPTION",
        "pdman runs images that other people built. A user who pulls an image and then "
        "runs a routine command on it (run, exec, cp, export, commit, diff) must not hand "
        "that image their account. These are the promises pdman keeps for that, each "
        "kept by a hostile\\-image test in tests/security/, and the limits of them.",
        ".SH PROMISES",
    ]
    for title, text in promises:
        lines += [".TP", f"\\fB{title}\\fR", text]
    lines += [
        ".SH DEFAULTS",
        ".TP", "\\fBUser namespace\\fR",
        "One per container: the user is root inside, the user's subordinate IDs are the "
        "other IDs. Shown by \\fBpdman info\\fR (host.idMappings). Run as root, pdman "
        "makes none (root mode, host.mode in \\fBpdman info\\fR): the container's root "
        "is the host's root, confined only by the capabilities, seccomp filter and "
        "masked paths below, as a rootful podman container is; the promises above are "
        "made for users, and root mode weakens them to what rootful engines offer. "
        "\\fB\\-\\-userns=auto\\fR gives a root-mode container a user namespace of its "
        "own: a range of the \\fBcontainers\\fR entry of /etc/subuid and /etc/subgid, "
        "never overlapping another container's, so that its root is none of the host's "
        "users.",
        ".TP", "\\fBCapabilities\\fR",
        _esc(d["caps"]) + " (podman's default set), held in the user namespace only, "
        "and by the container's root only: another \\-\\-user gets none (effective, "
        "permitted, inheritable and ambient sets empty; the bounding set as above).",
        ".TP", "\\fBMasked and read\\-only paths\\fR",
        _esc(d["masked"]) + " are masked; " + _esc(d["readonly"]) + " are read\\-only.",
        ".TP", "\\fBSession keyring\\fR",
        "Every container process and exec'd process joins a new anonymous session keyring "
        "(keyctl KEYCTL_JOIN_SESSION_KEYRING, as runc and crun do).",
        ".TP", "\\fBno_new_privs\\fR",
        "Off unless \\-\\-security\\-opt no\\-new\\-privileges: setuid programs of the image "
        "work as in podman.",
        ".SH SECCOMP",
        "The default profile has the effect of the one podman ships with "
        "containers/common (/usr/share/containers/seccomp.json on Debian): the default "
        "action fails a syscall with ENOSYS, so programs fall back (add_key, request_key, "
        "io_uring_setup, io_uring_enter, io_uring_register, ...); kexec_load, "
        "kexec_file_load, userfaultfd, swapon, swapoff, vmsplice and other obsolete or "
        "dangerous calls fail with EPERM; bpf, perf_event_open, fanotify_init, quotactl, "
        "setdomainname, lookup_dcookie need CAP_SYS_ADMIN, open_by_handle_at "
        "CAP_DAC_READ_SEARCH, chroot CAP_SYS_CHROOT, the module calls CAP_SYS_MODULE, "
        "acct CAP_SYS_PACCT, kcmp and process_madvise CAP_SYS_PTRACE, ioperm and iopl "
        "CAP_SYS_RAWIO, the clock setters CAP_SYS_TIME, vhangup CAP_SYS_TTY_CONFIG "
        "(EPERM without). keyctl is allowed, as in podman: the keyring a container sees is "
        "its own. mount, unshare and setns are allowed by the filter as in podman, and "
        "limited by the capabilities of the user namespace.",
        ".PP",
        "\\fB\\-\\-security\\-opt seccomp=PROFILE.json\\fR takes a docker/OCI profile: "
        "defaultAction, defaultErrnoRet, architectures or archMap, and syscalls entries "
        "with names, action (SCMP_ACT_ALLOW, SCMP_ACT_ERRNO, SCMP_ACT_KILL, "
        "SCMP_ACT_KILL_PROCESS, SCMP_ACT_TRAP, SCMP_ACT_TRACE, SCMP_ACT_LOG), errnoRet, "
        "args, includes and excludes (caps, arches). The profile is checked and copied "
        "into the store at create; an invalid one (bad JSON, an unknown syscall or action) "
        "is refused with exit status 125 and no container. The profile must allow the "
        "calls a process makes to start (execve, capset, prctl, ...).",
        ".PP",
        "libseccomp compiles a profile, for the container's capabilities and the "
        "machine's architectures, once: the BPF program is cached in the store "
        "(seccomp/ under the root), and a start reads it. The filter is loaded as the last "
        "step before the container's command or an exec'd command runs. \\fBpdman "
        "inspect\\fR shows HostConfig.SecurityOpt, EffectiveCaps, BoundingCaps and "
        "SeccompProfilePath; \\fBpdman info\\fR shows host.security.",
        ".SH WHAT PDMAN DOES NOT PROMISE",
    ]
    for text in not_promised:
        lines += [".IP \\(bu 2", text]
    lines += [".SH SEE ALSO",
              "\\fBpdman\\-run\\fR(1), \\fBpdman\\-info\\fR(1), \\fBseccomp\\fR(2), "
              "\\fBkeyrings\\fR(7), \\fBuser_namespaces\\fR(7), \\fBcapabilities\\fR(7)"]
    return "\n".join(lines) + "\n"
