/* pdman.h - the one definition of the native helper's API and sync protocol.
 *
 * native/build_native.py hands the part between the CDEF markers to cffi's
 * cdef() verbatim, so that part must stay plain C that cffi can parse: no
 * #include, no macros other than integer #defines, no attributes.  The
 * Python bridge (pdman/runtime/native.py) reads the same constants through
 * the compiled module; nothing here is repeated on the Python side.
 *
 * Lifecycle of a container process (see spawn.c):
 *
 *   pdman_spawn()    clone(2) into new namespaces; returns when the child
 *                    reached sync 1 and blocks.
 *   ... caller writes uid_map/gid_map (newuidmap), attaches network and
 *       cgroup to res.pid ...
 *   pdman_release()  sync 2; the child builds the rootfs and execs; returns 0
 *                    once execve succeeded (EOF on the CLOEXEC sync socket),
 *                    or -1 with the child's errno and message.  A child
 *                    killed by a signal after sync 2 also ends in EOF: its
 *                    wait status then tells.
 *   or, with spec->network_late (the network's helper, pasta, still starting):
 *   pdman_release_early()  sync 2 only: the child builds the rootfs while the
 *                    caller waits for the helper, then waits at sync 9;
 *   pdman_network_ready()  sync 9, then as pdman_release: 0 once execve
 *                    succeeded.  The command never starts before sync 9.
 *   pdman_abort()    kill and reap a child that will not be released.
 */
#ifndef PDMAN_H
#define PDMAN_H

#include <stddef.h>
#include <stdint.h>

/* CDEF BEGIN */

#define PDMAN_ERROR_MSG_MAX 1024

/* Exit status of the child when it fails before execve (the parent gets the
 * reason over the sync socket; the status only matters to a bare waitpid). */
#define PDMAN_EXIT_CHILD_FAILED 125

/* The numbered sync points between the caller (parent) and the child of
 * clone(2).  Each one is a struct pdman_sync_msg on a SOCK_SEQPACKET
 * socketpair; both sides mark the matching spot with the same comment. */
enum pdman_sync {
  /* sync 1: child created, in its namespaces, waiting for its ID maps */
  PDMAN_SYNC_CHILD_READY = 1,
  /* sync 2: parent wrote the ID maps (and network, cgroup): child may go on */
  PDMAN_SYNC_MAPS_WRITTEN = 2,
  /* sync 3: child failed before execve; errnum + msg say where */
  PDMAN_SYNC_CHILD_ERROR = 3,
  /* sync 4: execve of the command failed; errnum + msg.
   * Success has no message: the CLOEXEC socket reaches EOF at execve. */
  PDMAN_SYNC_EXEC_FAILED = 4,
  /* sync 5 (exec only): the joining process entered the container's
   * namespaces and forked the process that will exec; `pid` says which.
   * Sync 3/4 or EOF follow from that process as for a spawn. */
  PDMAN_SYNC_EXEC_FORKED = 5,
  /* sync 0 (pdman_spawn with spec->join, nsjoin.c): the intermediate
   * process joined the namespaces and cloned the container; `pid` says
   * which.  Both write on one socket, so this may come after its sync 1. */
  PDMAN_SYNC_CHILD_PID = 6,
  /* sync 7 (pdman_exec_start): the joining process is in the container's
   * namespaces and waits before forking the process; `pid` is its own */
  PDMAN_SYNC_EXEC_JOINED = 7,
  /* sync 8 (pdman_exec_finish): the caller placed the joining process (in
   * the container's cgroup): it may fork the process, which inherits that */
  PDMAN_SYNC_EXEC_GO = 8,
  /* sync 9 (spec->network_late): the container's network is configured.  The
   * child, released at sync 2 with its network still being set up, built its
   * rootfs meanwhile and waits for this right before it execs the command */
  PDMAN_SYNC_NETWORK_READY = 9
};

struct pdman_sync_msg {
  int32_t type;   /* enum pdman_sync */
  int32_t errnum; /* errno of the failing call, 0 if none */
  char msg[PDMAN_ERROR_MSG_MAX];
  int32_t pid;    /* sync 5: the forked process, in the caller's PID namespace */
};

/* Where an error happened; the bridge maps it to an exception class. */
enum pdman_error_kind {
  PDMAN_ERR_HOST = 0,    /* in the calling process (socketpair, clone, ...) */
  PDMAN_ERR_CHILD = 1,   /* container setup in the child, before execve */
  PDMAN_ERR_EXEC = 2,    /* execve of the container command */
  PDMAN_ERR_TIMEOUT = 3  /* the child did not reach the next sync point */
};

/* crun style: errno plus a message naming the syscall and the path, with
 * context prefixed on the way up ("mounting /proc: mount `proc`: EPERM"). */
struct pdman_error {
  int errnum;
  int kind; /* enum pdman_error_kind */
  char msg[PDMAN_ERROR_MSG_MAX];
};

/* Namespaces the container shares with the caller instead of getting its
 * own.  Mount and PID namespaces are always new; the user namespace too,
 * except in root mode (SHARE_USER: the host's IDs, as rootful podman's
 * default), where the caller writes no ID maps. */
enum pdman_share {
  PDMAN_SHARE_NET = 1,
  PDMAN_SHARE_IPC = 2,
  PDMAN_SHARE_UTS = 4,
  PDMAN_SHARE_CGROUP = 8,
  PDMAN_SHARE_USER = 16,
  PDMAN_SHARE_PID = 32   /* --pid=host: no PID namespace; /proc is the host's,
                            bound (a user namespace may not mount a procfs of a
                            PID namespace it does not own) */
};

enum pdman_mount_flag {
  PDMAN_MOUNT_BIND = 1,      /* bind the host path `source` */
  PDMAN_MOUNT_RECURSIVE = 2, /* with BIND: rbind */
  PDMAN_MOUNT_READONLY = 4,
  PDMAN_MOUNT_NOSUID = 8,
  PDMAN_MOUNT_NODEV = 16,
  PDMAN_MOUNT_NOEXEC = 32
};

struct pdman_mount {
  const char *source;      /* host path (BIND) or filesystem source name */
  const char *destination; /* absolute path inside the container */
  const char *fstype;      /* NULL for BIND, else e.g. "tmpfs" */
  const char *data;        /* mount data such as "size=64m,mode=1777", or NULL */
  unsigned int flags;      /* enum pdman_mount_flag */
};

struct pdman_rlimit {
  int resource; /* RLIMIT_* */
  uint64_t soft;
  uint64_t hard;
};

/* Namespaces the container joins instead of creating (network modes
 * `container:ID`, user-defined networks, and pods' shared namespaces; see
 * nsjoin.c).  The fds are open /proc/PID/ns/{user,net,ipc,uts} files of the
 * caller.  Joining a namespace needs CAP_SYS_ADMIN over its owner, so every
 * JOIN_* goes with JOIN_USER of the user namespace that owns them. */
enum pdman_join {
  PDMAN_JOIN_USER = 1, /* no CLONE_NEWUSER: setns(join_userns_fd); its ID
                          maps are written already */
  PDMAN_JOIN_NET = 2,  /* no CLONE_NEWNET: setns(join_netns_fd) */
  PDMAN_JOIN_IPC = 4,  /* no CLONE_NEWIPC: setns(join_ipcns_fd) (pods) */
  PDMAN_JOIN_UTS = 8,  /* no CLONE_NEWUTS: setns(join_utsns_fd) (pods) */
  PDMAN_JOIN_PID = 16  /* no CLONE_NEWPID: setns(join_pidns_fd) (--pid
                          container:ID): the container is born in it */
};

/* the kernel's CLONE_NEW* values (spawn.c checks them at compile time) */
enum pdman_unshare_flag {
  PDMAN_UNSHARE_MOUNT = 0x00020000,
  PDMAN_UNSHARE_USER = 0x10000000,
  PDMAN_UNSHARE_NET = 0x40000000
};

struct pdman_spawn_spec {
  /* the process */
  char *const *argv; /* NULL-terminated; argv[0] searched in the env's PATH */
  char *const *envp; /* NULL-terminated */
  const char *cwd;   /* inside the container; created when missing, unless: */
  int cwd_must_exist; /* a user's --workdir: missing is an error (podman: 126) */
  uint32_t uid;
  uint32_t gid;
  const uint32_t *additional_gids;
  size_t n_additional_gids;
  const char *hostname; /* NULL: leave the UTS namespace's name */

  /* root filesystem: an overlay when n_lowerdirs > 0, else `rootfs` itself
   * bind-mounted (a plain directory) */
  const char *rootfs;             /* overlay mountpoint, or the plain dir */
  const char *const *lowerdirs;   /* top-most first, as overlayfs wants */
  size_t n_lowerdirs;
  const char *upperdir;
  const char *workdir;
  const char *linkdir;            /* cwd for the mount, so lowerdirs can be
                                     short relative link names; or NULL */
  int overlay_userxattr;          /* pass `userxattr` (rootless overlay) */
  int readonly_rootfs;

  /* more mounts, in order (parents before children) */
  const struct pdman_mount *mounts;
  size_t n_mounts;
  const char *const *masked_paths;
  size_t n_masked_paths;
  const char *const *readonly_paths;
  size_t n_readonly_paths;

  /* privileges: bit N is capability N */
  uint64_t cap_bounding;
  uint64_t cap_effective;
  uint64_t cap_permitted;
  uint64_t cap_inheritable;
  uint64_t cap_ambient;
  const struct pdman_rlimit *rlimits;
  size_t n_rlimits;
  int no_new_privs;
  /* seccomp (seccomp.c): a classic BPF program, struct sock_filter[] (8 bytes
   * each) as seccomp_export_bpf writes it, loaded as the last step before
   * execve; NULL: no filter.  Every process also joins a new session keyring. */
  const uint8_t *seccomp_filter;
  size_t seccomp_filter_len;

  /* fds: stdio[i] becomes fd i (-1: /dev/null); fds 3..3+preserve_fds-1
   * are passed on as they are; every other fd is closed at execve */
  int stdio[3];
  int preserve_fds;
  int controlling_tty;      /* make the pty on fd 0 the controlling terminal
                               (`run -t`).  Every process gets a new session
                               (setsid) either way: without one it could reach
                               the caller's terminal through /dev/tty (TIOCSTI) */

  unsigned int share;       /* enum pdman_share */
  unsigned int join;        /* enum pdman_join; 0: create every namespace */
  int join_userns_fd;       /* with PDMAN_JOIN_USER */
  int join_netns_fd;        /* with PDMAN_JOIN_NET */
  int join_ipcns_fd;        /* with PDMAN_JOIN_IPC */
  int join_utsns_fd;        /* with PDMAN_JOIN_UTS */
  int join_pidns_fd;        /* with PDMAN_JOIN_PID */
  int parent_death_signal;  /* for the container process; 0: none */
  int timeout_ms;           /* per sync point; 0: 30 s */
  int set_umask;            /* --umask: set `umask` before execve; 0: inherited */
  unsigned int umask;
  /* --sysctl: written under /proc/sys after sync 2, in the container's own
   * namespaces and before its rootfs ("net.ipv4.ip_forward" -> "1") */
  const char *const *sysctl_keys;
  const char *const *sysctl_values;
  size_t n_sysctls;
  int set_personality;      /* --personality: personality(2) before execve */
  unsigned int personality;
  /* the caller releases the child (sync 2) before its network is ready and
   * says when it is (sync 9): the child waits for that after its rootfs,
   * right before it becomes the command (pdman_release_early) */
  int network_late;
  /* with network_late: stay dumpable until sync 9, not only until sync 2 --
   * the network's helper opens /proc/PID/ns/{user,net}, which a non-dumpable
   * process denies it.  Only for a child alone in a PID namespace of its own
   * (nothing but the caller's user can reach it) */
  int network_late_dumpable;
  /* with network_late: the helper's configuration is visible in the network
   * namespace itself -- the child also goes on without sync 9 once it sees a
   * default route of each family named here (1: IPv4, 2: IPv6), the last
   * thing pasta --config-net writes.  The caller then waits for the execve
   * with pdman_wait_exec (or sends sync 9 with pdman_network_seen, when the
   * helper is ready first) */
  int network_watch;
};

struct pdman_spawn_result {
  int pid;     /* in the caller's PID namespace */
  int sync_fd; /* parent end of the sync socket (CLOEXEC), -1 when done */
};

/* Clone the child and wait for sync 1.  0 on success, <0 and *err set. */
int pdman_spawn(const struct pdman_spawn_spec *spec,
                struct pdman_spawn_result *res, struct pdman_error *err);

/* Sync 2, then wait for execve (0) or the child's error (<0; the child is
 * reaped and res->pid set to -1).  timeout_ms <= 0 means 30 s. */
int pdman_release(struct pdman_spawn_result *res, int timeout_ms,
                  struct pdman_error *err);

/* With spec->network_late: sync 2 only, returning at once; 0, or <0 with
 * *err set (the child is reaped then).  A child that died meanwhile is
 * reported by pdman_network_ready. */
int pdman_release_early(struct pdman_spawn_result *res, struct pdman_error *err);

/* After pdman_release_early: sync 9, then as pdman_release. */
int pdman_network_ready(struct pdman_spawn_result *res, int timeout_ms,
                        struct pdman_error *err);

/* With spec->network_watch, after pdman_release_early: wait for the execve
 * (0) or the child's error (<0), sending nothing -- the child went on by
 * itself (res->sync_fd became readable). */
int pdman_wait_exec(struct pdman_spawn_result *res, int timeout_ms,
                    struct pdman_error *err);

/* With spec->network_watch: sync 9 (which a child that already went on by
 * itself no longer reads), then as pdman_wait_exec. */
int pdman_network_seen(struct pdman_spawn_result *res, int timeout_ms,
                       struct pdman_error *err);

/* SIGKILL and reap a child that was spawned but not released (or released
 * early and not yet told its network is ready). */
void pdman_abort(struct pdman_spawn_result *res);

/* unshare(2) the calling process; flags: enum pdman_unshare_flag. */
int pdman_unshare(int flags, struct pdman_error *err);

/* mount(2) with the error naming source and target; flags are MS_*. */
int pdman_mount(const char *source, const char *target, const char *fstype,
                unsigned long flags, const char *data, struct pdman_error *err);

/* umount2(2) with the error naming the target; flags are MNT_*. */
int pdman_umount(const char *target, int flags, struct pdman_error *err);

/* ---- exec (setns.c) ----
 *
 * Start spec->argv inside the namespaces of the running process target_pid
 * (a container's PID 1): user first, then mount, PID, network, UTS, IPC and
 * cgroup -- each one only where it differs from the caller's.  The process
 * that execs is a child of the caller (CLONE_PARENT), so the caller waits for
 * it as for its own.  Of the spec only the process part is used: argv, envp,
 * cwd, uid, gid, additional_gids, caps, rlimits, no_new_privs, stdio,
 * controlling_tty, parent_death_signal, timeout_ms.
 *
 * In two halves, so that the caller can move the joining process into the
 * container's cgroup before the process is forked (it inherits the cgroup
 * from its first instruction on).  pdman_exec_start returns 0 once the joiner
 * is in the namespaces and waits (sync 7; res->pid is the joiner,
 * res->sync_fd open), or <0 with *err set.  Then either pdman_exec_finish
 * (sync 8): 0 once execve succeeded (res->pid the process, res->sync_fd -1),
 * or <0 with *err set (kind PDMAN_ERR_EXEC when the command was not found or
 * not executable); or pdman_exec_abort: the joiner ends, nothing started. */
int pdman_exec_start(int target_pid, const struct pdman_spawn_spec *spec,
                     struct pdman_spawn_result *res, struct pdman_error *err);
int pdman_exec_finish(int target_pid, const struct pdman_spawn_spec *spec,
                      struct pdman_spawn_result *res, struct pdman_error *err);
void pdman_exec_abort(struct pdman_spawn_result *res);

/* ---- the monitor (monitor.c, the executable pdman-monitor) ----
 *
 * Ready: the monitor writes PDMAN_MONITOR_READY on its --ready-fd once its
 * attach socket listens; on a setup failure it writes 'E' and the message,
 * kills the container and exits 125.
 *
 * Exit file `<run dir>/exit`, written atomically (rename) when the container
 * exited, one `key=value` per line:
 *   pid=1234                    the container process it is about
 *   exit_code=137               128+N when signal N ended it
 *   signal=9                    0 unless a signal ended it
 *   oom_killed=0                1: SIGKILLed while its cgroup counted an OOM kill
 *   finished_at=1704164645.123456789   seconds since the epoch (UTC)
 *
 * Attach socket `<run dir>/attach`: SOCK_SEQPACKET; every packet starts with
 * one byte, enum pdman_attach_packet, and is at most PDMAN_ATTACH_PACKET_MAX
 * bytes. */
#define PDMAN_ATTACH_PACKET_MAX 8192
#define PDMAN_MONITOR_READY 82 /* 'R' */

enum pdman_attach_packet {
  /* client -> monitor */
  PDMAN_ATTACH_STDIN = 1,       /* bytes for the container's stdin */
  PDMAN_ATTACH_STDIN_CLOSE = 2, /* end of input: close the container's stdin */
  PDMAN_ATTACH_RESIZE = 3,      /* uint16 rows, uint16 cols (host order) */
  /* monitor -> client */
  PDMAN_ATTACH_STDOUT = 11,     /* output bytes */
  PDMAN_ATTACH_STDERR = 12,
  PDMAN_ATTACH_EXIT = 13        /* int32 exit status (host order); then EOF */
};

/* setns(2) of the calling process into the namespace open as `fd`, of
 * type `nstype` (an enum pdman_unshare_flag value; 0: any).  The caller
 * must be single-threaded to join a user namespace (a forked helper). */
int pdman_join_namespace(int fd, int nstype, struct pdman_error *err);

/* confine.c: keep only the capabilities in `keep` (bit N: capability N) in
 * the bounding, permitted and effective sets, clear the ambient and
 * inheritable ones, set no_new_privs.  For pdman's own helper processes. */
int pdman_keep_caps(uint64_t keep, struct pdman_error *err);
/* CDEF END */

#endif
