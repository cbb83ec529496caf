/* exec.c - the last steps of the child: rlimits, user and groups,
 * capabilities (raw capset/prctl, no libcap), no_new_privs, working
 * directory, signal mask, then execve with a PATH search done in the
 * container's root and environment.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/capability.h>

#include "internal.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static const char *rlimit_name(int resource) {
  static const struct {
    int resource;
    const char *name;
  } names[] = {
      {RLIMIT_CPU, "RLIMIT_CPU"},         {RLIMIT_FSIZE, "RLIMIT_FSIZE"},
      {RLIMIT_DATA, "RLIMIT_DATA"},       {RLIMIT_STACK, "RLIMIT_STACK"},
      {RLIMIT_CORE, "RLIMIT_CORE"},       {RLIMIT_RSS, "RLIMIT_RSS"},
      {RLIMIT_NPROC, "RLIMIT_NPROC"},     {RLIMIT_NOFILE, "RLIMIT_NOFILE"},
      {RLIMIT_MEMLOCK, "RLIMIT_MEMLOCK"}, {RLIMIT_AS, "RLIMIT_AS"},
      {RLIMIT_LOCKS, "RLIMIT_LOCKS"},     {RLIMIT_SIGPENDING, "RLIMIT_SIGPENDING"},
      {RLIMIT_MSGQUEUE, "RLIMIT_MSGQUEUE"}, {RLIMIT_NICE, "RLIMIT_NICE"},
      {RLIMIT_RTPRIO, "RLIMIT_RTPRIO"},   {RLIMIT_RTTIME, "RLIMIT_RTTIME"},
  };
  size_t i;

  for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
    if (names[i].resource == resource)
      return names[i].name;
  return "RLIMIT_?";
}

static int set_rlimits(const struct pdman_spawn_spec *spec,
                       struct pdman_error *err) {
  size_t i;

  for (i = 0; i < spec->n_rlimits; i++) {
    const struct pdman_rlimit *r = &spec->rlimits[i];
    struct rlimit rl = {.rlim_cur = r->soft, .rlim_max = r->hard};

    if (setrlimit(r->resource, &rl) < 0)
      return pdman_error_set(err, errno, "setrlimit %s to %llu/%llu",
                             rlimit_name(r->resource),
                             (unsigned long long)r->soft,
                             (unsigned long long)r->hard);
  }
  return 0;
}

static int drop_bounding_set(uint64_t keep, struct pdman_error *err) {
  int cap;

  for (cap = 0; cap < 64; cap++) {
    if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) < 0)
      break; /* EINVAL past the kernel's last capability */
    if (keep & (1ULL << cap))
      continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
      return pdman_error_set(err, errno, "prctl(PR_CAPBSET_DROP, %d)", cap);
  }
  return 0;
}

static int set_capabilities(const struct pdman_spawn_spec *spec,
                            struct pdman_error *err) {
  struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3,
                                         .pid = 0};
  struct __user_cap_data_struct data[2];
  uint64_t held = pdman_seccomp_held_caps(spec); /* until the filter is in */
  int i, cap;

  for (i = 0; i < 2; i++) {
    data[i].effective = (uint32_t)((spec->cap_effective | held) >> (32 * i));
    data[i].permitted = (uint32_t)((spec->cap_permitted | held) >> (32 * i));
    data[i].inheritable = (uint32_t)(spec->cap_inheritable >> (32 * i));
  }
  if (syscall(SYS_capset, &hdr, data) < 0)
    return pdman_error_set(err, errno, "capset");

  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 &&
      errno != EINVAL)
    return pdman_error_set(err, errno, "prctl(PR_CAP_AMBIENT_CLEAR_ALL)");
  for (cap = 0; cap < 64; cap++) {
    if (!(spec->cap_ambient & (1ULL << cap)))
      continue;
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
      return pdman_error_set(err, errno, "prctl(PR_CAP_AMBIENT_RAISE, %d)", cap);
  }
  return 0;
}

/* Switch to the container user keeping the capabilities we still need to
 * set the final ones: drop the bounding set first (needs CAP_SETPCAP), keep
 * permitted caps across setuid, then capset the requested sets. */
static int set_identity(const struct pdman_spawn_spec *spec,
                        struct pdman_error *err) {
  int ret;

  ret = drop_bounding_set(spec->cap_bounding, err);
  if (ret < 0)
    return ret;
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
    return pdman_error_set(err, errno, "prctl(PR_SET_KEEPCAPS)");

  if (pdman_setgroups(spec->n_additional_gids, spec->additional_gids) < 0) {
    /* with a single-ID mapping setgroups is denied; only fail if asked for
     * groups */
    if (!(errno == EPERM && spec->n_additional_gids == 0))
      return pdman_error_set(err, errno, "setgroups (%zu groups)",
                             spec->n_additional_gids);
  }
  if (pdman_setresgid(spec->gid, spec->gid, spec->gid) < 0)
    return pdman_error_set(err, errno, "setresgid %u", spec->gid);
  if (pdman_setresuid(spec->uid, spec->uid, spec->uid) < 0)
    return pdman_error_set(err, errno, "setresuid %u", spec->uid);
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
    return pdman_error_set(err, errno, "prctl(PR_SET_KEEPCAPS, 0)");

  ret = set_capabilities(spec, err);
  if (ret < 0)
    return ret;
  if (spec->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return pdman_error_set(err, errno, "prctl(PR_SET_NO_NEW_PRIVS)");
  if (spec->set_umask)
    umask(spec->umask & 0777);
  return 0;
}

static const char *env_path(char *const *envp) {
  for (; envp != NULL && *envp != NULL; envp++)
    if (strncmp(*envp, "PATH=", 5) == 0)
      return *envp + 5;
  return DEFAULT_PATH;
}

static int exec_failed(struct pdman_error *err, int errnum, const char *fmt,
                       const char *file) {
  pdman_error_set(err, errnum, fmt, file);
  err->kind = PDMAN_ERR_EXEC;
  return -1;
}

/* execvpe's search, but with the container's PATH and no allocation: an
 * executable found but not runnable (EACCES) wins over not found. */
static int exec_command(char *const *argv, char *const *envp,
                        struct pdman_error *err) {
  const char *file = argv[0], *p, *end;
  char buf[PATH_MAX];
  int saw_eacces = 0;
  size_t flen = strlen(file);

  if (strchr(file, '/') != NULL) {
    execve(file, argv, envp);
    return exec_failed(err, errno, "exec `%s`", file);
  }
  for (p = env_path(envp);; p = end + 1) {
    size_t dlen;

    end = strchr(p, ':');
    if (end == NULL)
      end = p + strlen(p);
    dlen = (size_t)(end - p);
    if (dlen == 0) {
      p = ".";
      dlen = 1;
    }
    if (dlen + 1 + flen < sizeof(buf)) {
      memcpy(buf, p, dlen);
      buf[dlen] = '/';
      memcpy(buf + dlen + 1, file, flen + 1);
      execve(buf, argv, envp);
      switch (errno) {
      case EACCES:
        saw_eacces = 1;
        break;
      case ENOENT:
      case ENOTDIR:
      case ESTALE:
      case ENODEV:
      case ETIMEDOUT:
        break;
      default:
        return exec_failed(err, errno, "exec `%s`", buf);
      }
    }
    if (*end == '\0')
      break;
  }
  if (saw_eacces)
    return exec_failed(err, EACCES, "executable file `%s` in $PATH", file);
  return exec_failed(err, ENOENT, "executable file `%s` not found in $PATH",
                     file);
}

int pdman_exec_process(const struct pdman_spawn_spec *spec,
                       struct pdman_error *err) {
  sigset_t none;
  int ret;

  ret = set_rlimits(spec, err);
  if (ret < 0)
    return ret;
  ret = pdman_join_session_keyring(err); /* seccomp.c */
  if (ret < 0)
    return ret;
  ret = set_identity(spec, err);
  if (ret < 0)
    return ret;
  if (spec->cwd != NULL && chdir(spec->cwd) < 0)
    return pdman_error_set(err, errno, "chdir to working directory `%s`",
                           spec->cwd);
  /* credential changes reset it; set it last */
  if (prctl(PR_SET_PDEATHSIG, spec->parent_death_signal, 0, 0, 0) < 0)
    return pdman_error_set(err, errno, "prctl(PR_SET_PDEATHSIG)");
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  ret = pdman_seccomp_load(spec, err); /* seccomp.c: the last step */
  if (ret < 0)
    return ret;
  return exec_command(spec->argv, spec->envp, err);
}
