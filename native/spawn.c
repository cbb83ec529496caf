/* spawn.c - clone(2) into the container's namespaces and step through the
 * numbered sync points of pdman.h with the child.
 *
 * No CLONE_VM: the caller is a Python interpreter that keeps running (it
 * runs newuidmap, attaches network and cgroup) while the child waits, so the
 * child needs its own copy of memory.  All signals are blocked across clone
 * so that no Python signal handler can run in the child; the child resets
 * every disposition to the default and unblocks them just before execve.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "internal.h"

/* ---- the sync socket ---- */



/* ---- the child ---- */

static void reset_signal_dispositions(void) {
  struct sigaction sa;
  int sig;

  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = SIG_DFL;
  for (sig = 1; sig < _NSIG; sig++)
    sigaction(sig, &sa, NULL); /* EINVAL for KILL, STOP, libc's own: fine */
}

/* Put the caller's stdio fds on 0, 1, 2 (-1: /dev/null), keep fds
 * 3..3+preserve_fds-1 and the sync fd (close-on-exec), close the others. */
static int setup_fds(const struct pdman_spawn_spec *spec, int *sync_fd,
                     struct pdman_error *err) {
  int first_free = 3 + (spec->preserve_fds > 0 ? spec->preserve_fds : 0);
  int high[3] = {-1, -1, -1};
  int i, fd, ret = 0, orig_sync = *sync_fd;

  /* the sync fd may be 0..2 if the caller had closed stdio */
  fd = fcntl(*sync_fd, F_DUPFD_CLOEXEC, first_free);
  if (fd < 0)
    return pdman_error_set(err, errno, "dup sync fd");
  close(*sync_fd);
  *sync_fd = fd;

  for (i = 0; i < 3; i++) {
    /* a closed stdio fd of the caller is where our socket landed */
    if (spec->stdio[i] < 0 || spec->stdio[i] == orig_sync) {
      cleanup_close int null = open("/dev/null", O_RDWR | O_CLOEXEC);

      high[i] = null < 0 ? -1 : fcntl(null, F_DUPFD_CLOEXEC, first_free);
    } else {
      high[i] = fcntl(spec->stdio[i], F_DUPFD_CLOEXEC, first_free);
    }
    if (high[i] < 0) {
      ret = pdman_error_set(err, errno, "dup stdio fd %d (for fd %d)",
                            spec->stdio[i], i);
      goto out;
    }
  }
  for (i = 0; i < 3; i++) {
    if (dup2(high[i], i) < 0) {
      ret = pdman_error_set(err, errno, "dup2 onto fd %d", i);
      goto out;
    }
  }
  for (i = 3; i < first_free; i++) {
    if (fcntl(i, F_SETFD, 0) < 0) {
      ret = pdman_error_set(err, errno, "preserved fd %d", i);
      goto out;
    }
  }
out:
  for (i = 0; i < 3; i++)
    if (high[i] >= 0)
      close(high[i]);
  if (ret < 0)
    return ret;
  /* Close the rest now rather than at execve: a concurrent spawn from
   * another thread may have left its child's end of its sync socket open
   * in the caller, and that spawn sees execve as EOF only once we let go. */
  if (*sync_fd > first_free &&
      syscall(SYS_close_range, first_free, *sync_fd - 1, 0) < 0)
    return pdman_error_set(err, errno, "close_range from fd %d", first_free);
  if (syscall(SYS_close_range, *sync_fd + 1, ~0U, 0) < 0)
    return pdman_error_set(err, errno, "close_range from fd %d", *sync_fd + 1);
  return 0;
}

/* --sysctl KEY=VALUE: /proc/sys/KEY with dots as slashes (no allocation: this
 * runs in the child of clone(2)) */
static int write_sysctls(const struct pdman_spawn_spec *spec,
                         struct pdman_error *err) {
  size_t i, j, n;

  for (i = 0; i < spec->n_sysctls; i++) {
    char path[PATH_MAX];
    const char *key = spec->sysctl_keys[i], *val = spec->sysctl_values[i];
    cleanup_close int fd = -1;

    n = (size_t)snprintf(path, sizeof(path), "/proc/sys/%s", key);
    if (n >= sizeof(path))
      return pdman_error_set(err, ENAMETOOLONG, "sysctl `%s`", key);
    for (j = strlen("/proc/sys/"); j < n; j++)
      if (path[j] == '.')
        path[j] = '/';
    fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
      return pdman_error_set(err, errno, "sysctl `%s`: open `%s`", key, path);
    if (write(fd, val, strlen(val)) < 0)
      return pdman_error_set(err, errno, "sysctl `%s`: writing `%s`", key, val);
  }
  return 0;
}

int pdman_new_session(const struct pdman_spawn_spec *spec,
                      struct pdman_error *err) {
  /* Always a session of its own: in the caller's session the caller's
   * terminal is its controlling terminal, open to it as /dev/tty, and
   * TIOCSTI on it types into the user's shell.  Without a controlling
   * terminal /dev/tty gives ENXIO, and TIOCSTI on a terminal passed as
   * stdio (`--log-driver passthrough`, `-i`) gives EPERM. */
  if (setsid() < 0)
    return pdman_error_set(err, errno, "setsid");
  /* with -t: a shell needs a controlling terminal for job control and ^C;
   * the container's session gets its pty */
  if (spec->controlling_tty && ioctl(0, TIOCSCTTY, 0) < 0)
    return pdman_error_set(err, errno, "making the pty on fd 0 the controlling terminal");
  return 0;
}

static int child_run(const struct pdman_spawn_spec *spec,
                     const struct pdman_prepared *prep, int *sync_fd,
                     struct pdman_error *err) {
  struct pdman_sync_msg msg;
  int ret;

  /* Non-dumpable until execve (which resets it): /proc/PID/{exe,fd,mem,...}
   * of a non-dumpable process need CAP_SYS_PTRACE over the user namespace of
   * its memory -- the caller's, not the container's -- so nothing in the
   * container can reopen this copy of the caller's executable or its fds
   * (runc's CVE-2019-5736). */
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  prctl(PR_SET_NAME, "pdman:child", 0, 0, 0);
  reset_signal_dispositions();

  ret = setup_fds(spec, sync_fd, err);
  if (ret < 0)
    return pdman_error_wrap(err, "setting up fds");
  ret = pdman_new_session(spec, err);
  if (ret < 0)
    return ret;

  /* The caller writes the ID maps (newuidmap checks it owns /proc/PID) and
   * attaches the network through /proc/PID, which a non-dumpable process
   * denies it: dumpable from sync 1 to sync 2 only (to sync 9 with
   * network_late_dumpable).  Meanwhile the process is alone in its new PID
   * namespace (no container process can see it) and holds nothing but its
   * stdio and the sync socket (setup_fds). */
  prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
  /* sync 1: child created, in its namespaces, waiting for its ID maps */
  ret = pdman_sync_send(*sync_fd, PDMAN_SYNC_CHILD_READY, 0, NULL, err);
  if (ret < 0)
    return ret;

  /* sync 2: parent wrote the ID maps (and network, cgroup) */
  ret = pdman_sync_recv(*sync_fd, -1, &msg, "", err);
  if (ret < 0)
    return ret;
  if (ret == 0) /* the parent gave up on us: nobody to tell */
    _exit(PDMAN_EXIT_CHILD_FAILED);
  if (msg.type != PDMAN_SYNC_MAPS_WRITTEN)
    return pdman_error_set(err, EPROTO, "sync 2: unexpected message %d",
                           (int)msg.type);
  /* a network helper still starting may yet open /proc/PID/ns (pasta does, by
   * PID, within milliseconds of its start): dumpable until sync 9 then, the
   * process still alone in its PID namespace */
  if (!(spec->network_late && spec->network_late_dumpable))
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);

  prctl(PR_SET_NAME, "pdman:init", 0, 0, 0);
  if (pdman_setresgid(0, 0, 0) < 0)
    return pdman_error_set(err, errno, "setresgid to 0 in the user namespace");
  if (pdman_setresuid(0, 0, 0) < 0)
    return pdman_error_set(err, errno, "setresuid to 0 in the user namespace");

  /* a network namespace of its own: up its loopback, as every runtime does */
  if (!(spec->share & PDMAN_SHARE_NET) && !(spec->join & PDMAN_JOIN_NET)) {
    ret = pdman_loopback_up(err);
    if (ret < 0)
      return ret;
  }

  /* after sync 2, so that the cgroup the parent chose is the ns root */
  if (!(spec->share & PDMAN_SHARE_CGROUP) && unshare(CLONE_NEWCGROUP) < 0)
    return pdman_error_set(err, errno, "unshare cgroup namespace");

  /* the host's /proc still: its /proc/sys shows the caller's namespaces,
   * and these are the container's own now */
  ret = write_sysctls(spec, err);
  if (ret < 0)
    return ret;

  ret = pdman_setup_rootfs(spec, prep, err);
  if (ret < 0)
    return ret;

  if (spec->set_personality && personality(spec->personality) < 0)
    return pdman_error_set(err, errno, "personality 0x%x", spec->personality);

  /* a joined UTS namespace (a pod's) keeps the hostname its owner set */
  if (spec->hostname != NULL && !(spec->share & PDMAN_SHARE_UTS) &&
      !(spec->join & PDMAN_JOIN_UTS) &&
      sethostname(spec->hostname, strlen(spec->hostname)) < 0)
    return pdman_error_set(err, errno, "sethostname `%s`", spec->hostname);

  if (spec->network_late) {
    /* sync 9: the container's network is configured.  Before the identity
     * changes (a new uid may make the process non-dumpable early) and the
     * seccomp filter (a profile may deny recv) */
    if (spec->network_watch) {
      /* or the configuration is there to see, whichever comes first */
      ret = pdman_wait_network(*sync_fd, spec->network_watch, err);
      if (ret < 0)
        return ret;
      if (ret == 0) /* the parent gave up on us (its network failed) */
        _exit(PDMAN_EXIT_CHILD_FAILED);
      prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
      /* the parent learns of the execve by EOF, as after sync 9 */
      return pdman_exec_process(spec, err);
    }
    ret = pdman_sync_recv(*sync_fd, -1, &msg, "", err);
    if (ret < 0)
      return ret;
    if (ret == 0) /* the parent gave up on us (its network failed) */
      _exit(PDMAN_EXIT_CHILD_FAILED);
    if (msg.type != PDMAN_SYNC_NETWORK_READY)
      return pdman_error_set(err, EPROTO, "sync 9: unexpected message %d",
                             (int)msg.type);
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  }

  return pdman_exec_process(spec, err);
}

void pdman_child_main(const struct pdman_spawn_spec *spec,
                      const struct pdman_prepared *prep, int sync_fd) {
  struct pdman_error err;
  struct pdman_error ignored;

  pdman_error_clear(&err);
  child_run(spec, prep, &sync_fd, &err);
  /* sync 3 / sync 4: the child's error, or EOF once execve succeeded */
  pdman_sync_send(sync_fd,
                  err.kind == PDMAN_ERR_EXEC ? PDMAN_SYNC_EXEC_FAILED
                                             : PDMAN_SYNC_CHILD_ERROR,
                  0, &err, &ignored);
  _exit(PDMAN_EXIT_CHILD_FAILED);
}

/* ---- the parent ---- */

static void reap(struct pdman_spawn_result *res, int kill_first) {
  if (res->pid > 0) {
    if (kill_first)
      kill(res->pid, SIGKILL);
    while (waitpid(res->pid, NULL, __WALL) < 0 && errno == EINTR)
      ;
    res->pid = -1;
  }
  if (res->sync_fd >= 0) {
    close(res->sync_fd);
    res->sync_fd = -1;
  }
}

static unsigned long clone_flags(const struct pdman_spawn_spec *spec) {
  unsigned long flags = CLONE_NEWNS;

  if (!(spec->share & PDMAN_SHARE_PID) && !(spec->join & PDMAN_JOIN_PID))
    flags |= CLONE_NEWPID;

  if (!(spec->join & PDMAN_JOIN_USER) && !(spec->share & PDMAN_SHARE_USER))
    flags |= CLONE_NEWUSER;
  if (!(spec->share & PDMAN_SHARE_NET) && !(spec->join & PDMAN_JOIN_NET))
    flags |= CLONE_NEWNET;
  if (!(spec->share & PDMAN_SHARE_IPC) && !(spec->join & PDMAN_JOIN_IPC))
    flags |= CLONE_NEWIPC;
  if (!(spec->share & PDMAN_SHARE_UTS) && !(spec->join & PDMAN_JOIN_UTS))
    flags |= CLONE_NEWUTS;
  return flags;
}

static int timeout_of(int timeout_ms) {
  return timeout_ms > 0 ? timeout_ms : PDMAN_DEFAULT_TIMEOUT_MS;
}

/* The child's message (sync 3 or 4) as the caller's error. */
static int child_failure(const struct pdman_sync_msg *msg,
                         struct pdman_error *err) {
  err->errnum = msg->errnum;
  err->kind = msg->type == PDMAN_SYNC_EXEC_FAILED ? PDMAN_ERR_EXEC
                                                  : PDMAN_ERR_CHILD;
  memcpy(err->msg, msg->msg, sizeof(err->msg));
  return -1;
}

int pdman_spawn(const struct pdman_spawn_spec *spec,
                struct pdman_spawn_result *res, struct pdman_error *err) {
  struct pdman_prepared prep;
  struct pdman_sync_msg msg;
  sigset_t all, old;
  int fds[2];
  pid_t pid;
  int ret, saved, ready = 0;

  pdman_error_clear(err);
  res->pid = -1;
  res->sync_fd = -1;
  if (spec->argv == NULL || spec->argv[0] == NULL)
    return pdman_error_set(err, EINVAL, "spawn: empty argv");

  ret = pdman_prepare_rootfs(spec, &prep, err);
  if (ret < 0)
    return ret;

  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) < 0)
    return pdman_error_set(err, errno, "socketpair");

  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  /* joining: first an intermediate in no new namespace (nsjoin.c) */
  pid = (pid_t)syscall(SYS_clone,
                       ((spec->join & PDMAN_JOIN_USER) ? 0 : clone_flags(spec)) | SIGCHLD,
                       NULL, NULL, NULL, NULL);
  if (pid == 0) {
    close(fds[0]);
    if (spec->join & PDMAN_JOIN_USER) /* nsjoin.c: clones the container */
      pdman_join_main(spec, &prep, fds[1], clone_flags(spec));
    pdman_child_main(spec, &prep, fds[1]);
  }
  saved = errno;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  close(fds[1]);
  if (pid < 0) {
    close(fds[0]);
    return pdman_error_set(err, saved, "clone into new namespaces");
  }
  res->sync_fd = fds[0];
  if (spec->join & PDMAN_JOIN_USER) {
    /* sync 0: the intermediate cloned the container (maybe past sync 1) */
    ret = pdman_join_wait(pid, fds[0], timeout_of(spec->timeout_ms), &pid,
                          &ready, err);
    if (ret < 0) {
      res->pid = pid; /* -1 unless the container exists */
      reap(res, 1);
      return pdman_error_wrap(err, "spawning container process");
    }
  }
  res->pid = pid;

  /* sync 1: child created, in its namespaces, waiting for its ID maps */
  if (ready)
    return 0;
  ret = pdman_sync_recv(res->sync_fd, timeout_of(spec->timeout_ms), &msg,
                        "waiting for the container process (sync 1)", err);
  if (ret == 0)
    ret = pdman_error_set(err, 0, "child exited before sync 1");
  else if (ret > 0 && msg.type == PDMAN_SYNC_CHILD_READY)
    return 0;
  else if (ret > 0 && (msg.type == PDMAN_SYNC_CHILD_ERROR ||
                       msg.type == PDMAN_SYNC_EXEC_FAILED))
    ret = child_failure(&msg, err);
  else if (ret > 0)
    ret = pdman_error_set(err, EPROTO, "sync 1: unexpected message %d",
                          (int)msg.type);
  reap(res, 1);
  return pdman_error_wrap(err, "spawning container process");
}

/* Send sync `type` (none with 0) and wait for the child's execve (EOF) or its
 * error.  With `gone_ok` the child may have closed its end already by going on
 * by itself (spec->network_watch): EPIPE and then EOF mean it exec'd. */
static int go_and_wait_exec2(struct pdman_spawn_result *res, int type, int gone_ok,
                             int timeout_ms, struct pdman_error *err) {
  struct pdman_sync_msg msg;
  int ret, died_early = 0;

  pdman_error_clear(err);
  if (res->pid <= 0 || res->sync_fd < 0)
    return pdman_error_set(err, EINVAL, "release: no child waiting");

  if (type != 0) {
    ret = pdman_sync_send(res->sync_fd, type, 0, NULL, err);
    if (ret < 0 && err->errnum != EPIPE) {
      reap(res, 1);
      return ret;
    }
    /* on EPIPE the child is gone; a last message of its may still be queued */
    died_early = ret < 0 && !gone_ok;
    if (ret < 0)
      pdman_error_clear(err);
  }

  /* sync 3 / sync 4: the child's error, or EOF once execve succeeded */
  ret = pdman_sync_recv(res->sync_fd, timeout_of(timeout_ms), &msg,
                        "waiting for the container process to exec", err);
  if (ret == 0 && !died_early) {
    close(res->sync_fd);
    res->sync_fd = -1;
    return 0;
  }
  if (ret == 0)
    ret = pdman_error_set(err, 0, "container process exited before sync 2");
  else if (ret > 0 && (msg.type == PDMAN_SYNC_CHILD_ERROR ||
                       msg.type == PDMAN_SYNC_EXEC_FAILED))
    ret = child_failure(&msg, err);
  else if (ret > 0)
    ret = pdman_error_set(err, EPROTO, "sync 3: unexpected message %d",
                          (int)msg.type);
  reap(res, 1);
  return ret;
}

static int go_and_wait_exec(struct pdman_spawn_result *res, int type,
                            int timeout_ms, struct pdman_error *err) {
  return go_and_wait_exec2(res, type, 0, timeout_ms, err);
}

int pdman_release(struct pdman_spawn_result *res, int timeout_ms,
                  struct pdman_error *err) {
  /* sync 2: parent wrote the ID maps (and network, cgroup) */
  return go_and_wait_exec(res, PDMAN_SYNC_MAPS_WRITTEN, timeout_ms, err);
}

int pdman_release_early(struct pdman_spawn_result *res, struct pdman_error *err) {
  int ret;

  pdman_error_clear(err);
  if (res->pid <= 0 || res->sync_fd < 0)
    return pdman_error_set(err, EINVAL, "release: no child waiting");
  /* sync 2: parent wrote the ID maps (and cgroup; the network follows) */
  ret = pdman_sync_send(res->sync_fd, PDMAN_SYNC_MAPS_WRITTEN, 0, NULL, err);
  /* EPIPE: the child is gone; pdman_network_ready reads its last message */
  if (ret < 0 && err->errnum == EPIPE) {
    pdman_error_clear(err);
    return 0;
  }
  if (ret < 0)
    reap(res, 1);
  return ret;
}

int pdman_network_ready(struct pdman_spawn_result *res, int timeout_ms,
                        struct pdman_error *err) {
  /* sync 9: the container's network is configured */
  return go_and_wait_exec(res, PDMAN_SYNC_NETWORK_READY, timeout_ms, err);
}

int pdman_wait_exec(struct pdman_spawn_result *res, int timeout_ms,
                    struct pdman_error *err) {
  return go_and_wait_exec2(res, 0, 1, timeout_ms, err);
}

int pdman_network_seen(struct pdman_spawn_result *res, int timeout_ms,
                       struct pdman_error *err) {
  return go_and_wait_exec2(res, PDMAN_SYNC_NETWORK_READY, 1, timeout_ms, err);
}

void pdman_abort(struct pdman_spawn_result *res) {
  reap(res, 1);
}

_Static_assert(PDMAN_UNSHARE_USER == CLONE_NEWUSER, "CLONE_NEWUSER");
_Static_assert(PDMAN_UNSHARE_MOUNT == CLONE_NEWNS, "CLONE_NEWNS");

int pdman_unshare(int flags, struct pdman_error *err) {
  pdman_error_clear(err);
  if (flags & ~(PDMAN_UNSHARE_USER | PDMAN_UNSHARE_MOUNT | PDMAN_UNSHARE_NET))
    return pdman_error_set(err, EINVAL, "unshare: unsupported flags %#x", flags);
  if (unshare(flags) < 0) {
    int saved = errno;
    char names[64] = "";

    if (flags & PDMAN_UNSHARE_USER)
      strcat(names, "|CLONE_NEWUSER");
    if (flags & PDMAN_UNSHARE_MOUNT)
      strcat(names, "|CLONE_NEWNS");
    if (flags & PDMAN_UNSHARE_NET)
      strcat(names, "|CLONE_NEWNET");
    return pdman_error_set(err, saved, "unshare(%s)", names[0] ? names + 1 : "0");
  }
  return 0;
}
