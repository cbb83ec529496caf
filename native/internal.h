/* internal.h - declarations shared by the C files of the helper, not by cffi.
 *
 * Conventions (crun's): a function that can fail takes `struct pdman_error
 * *err` and returns < 0 with *err set; callers add context on the way up and
 * every call site reads `if (ret < 0) return ret;`.  Resources are released
 * with the cleanup attributes below so early returns cannot leak.
 *
 * Everything reached from the child of clone(2) must not allocate: the
 * caller may be multi-threaded and another thread may hold the malloc lock.
 */
#ifndef PDMAN_INTERNAL_H
#define PDMAN_INTERNAL_H

#include <errno.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "pdman.h"

#define PDMAN_DEFAULT_TIMEOUT_MS 30000

/* Credentials in the child: raw syscalls.  glibc's wrappers broadcast the
 * change to every thread it believes exists (SIGSETXID, taking its stack
 * lock); after clone(2) of a threaded caller those threads are not ours. */
#define pdman_setresuid(r, e, s) syscall(SYS_setresuid, (r), (e), (s))
#define pdman_setresgid(r, e, s) syscall(SYS_setresgid, (r), (e), (s))
#define pdman_setgroups(n, list) syscall(SYS_setgroups, (n), (list))

/* ---- cleanup helpers ---- */

static inline void pdman_closep(int *fd) {
  if (*fd >= 0) {
    int saved = errno;
    close(*fd);
    errno = saved;
  }
}

static inline void pdman_freep(void *p) {
  free(*(void **)p);
}

#define cleanup_close __attribute__((cleanup(pdman_closep)))
#define cleanup_free __attribute__((cleanup(pdman_freep)))

/* ---- error.c ---- */

/* Set *err to "<formatted text>: <strerror(errnum)>" (no suffix when errnum is
 * 0) and return -1. */
int pdman_error_set(struct pdman_error *err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefix *err's message with "<formatted text>: " and return -1. */
int pdman_error_wrap(struct pdman_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void pdman_error_clear(struct pdman_error *err);

/* ---- sync.c: the sync socket (one pdman_sync_msg per packet) ---- */

/* 0, or <0 with *err set */
int pdman_sync_send(int fd, int type, int pid, const struct pdman_error *detail,
                    struct pdman_error *err);
/* 1 with *msg filled, 0 at EOF, <0 on error or after timeout_ms (-1: no timeout;
 * err->kind PDMAN_ERR_TIMEOUT, the message is `what`).  A partial message is an
 * error: both sides then give up rather than wait for the rest. */
int pdman_sync_recv(int fd, int timeout_ms, struct pdman_sync_msg *msg, const char *what,
                    struct pdman_error *err);

/* ---- mounts.c (child, after sync 2) ---- */

/* Everything the child needs that the parent computed before clone(2). */
struct pdman_prepared {
  char overlay_data[4096]; /* mount(2) reads at most one page of options */
  int overlay_fsconfig;    /* too long for that page: one fsconfig(2)
                              `lowerdir+` per layer instead (Linux >= 6.8) */
};

int pdman_prepare_rootfs(const struct pdman_spawn_spec *spec,
                         struct pdman_prepared *prep, struct pdman_error *err);

/* Mount the rootfs and the container's filesystems, pivot_root into it,
 * mask and protect paths.  Returns with "/" the container's root. */
int pdman_setup_rootfs(const struct pdman_spawn_spec *spec,
                       const struct pdman_prepared *prep,
                       struct pdman_error *err);

/* ---- spawn.c ---- */

/* The container process after clone(2): sync 1, sync 2, rootfs, execve. */
void pdman_child_main(const struct pdman_spawn_spec *spec,
                      const struct pdman_prepared *prep, int sync_fd)
    __attribute__((noreturn));

/* setsid(2), and with spec->controlling_tty the pty on fd 0 as the
 * controlling terminal: for the container's process and for an exec'd one */
int pdman_new_session(const struct pdman_spawn_spec *spec,
                      struct pdman_error *err);

/* ---- nsjoin.c ---- */

/* The intermediate process of a spawn with spec->join: setns, then clone the
 * container with `flags` | CLONE_PARENT, report its PID (sync 0), exit. */
void pdman_join_main(const struct pdman_spawn_spec *spec,
                     const struct pdman_prepared *prep, int sync_fd,
                     unsigned long flags) __attribute__((noreturn));

/* In the caller: wait for sync 0 and reap the intermediate.  *ready is set
 * when the container's sync 1 came first. */
int pdman_join_wait(pid_t intermediate, int sync_fd, int timeout_ms,
                    pid_t *container, int *ready, struct pdman_error *err);

/* In a new network namespace: bring up `lo`, as every runtime does. */
int pdman_loopback_up(struct pdman_error *err);

/* spec->network_watch: wait until the network namespace has a default route
 * of each family in `families` (1: IPv4, 2: IPv6), or sync 9 comes on
 * `sync_fd`.  1 then, 0 when the parent closed the socket, <0 on error. */
int pdman_wait_network(int sync_fd, int families, struct pdman_error *err);

/* ---- exec.c (child, after pdman_setup_rootfs) ---- */

/* rlimits, groups, uid/gid, capabilities, no_new_privs, cwd, signal mask,
 * then execve.  Returns only on failure; err->kind is PDMAN_ERR_EXEC when
 * execve itself failed. */
int pdman_exec_process(const struct pdman_spawn_spec *spec,
                       struct pdman_error *err);

/* ---- seccomp.c (child, from pdman_exec_process) ---- */

/* Join a new anonymous session keyring (ENOSYS: a kernel without keys). */
int pdman_join_session_keyring(struct pdman_error *err);

/* Capabilities the first capset must keep until the filter is loaded. */
uint64_t pdman_seccomp_held_caps(const struct pdman_spawn_spec *spec);

/* Load spec->seccomp_filter (if any), then drop what was held for it. */
int pdman_seccomp_load(const struct pdman_spawn_spec *spec,
                       struct pdman_error *err);

#endif
