/* seccomp.c - the kernel surface of a container process, in the child:
 * a session keyring of its own, and the seccomp filter loaded as the last
 * step before execve (exec.c calls both; so `run` and `exec` get them).
 *
 * The filter arrives compiled (pdman/runtime/seccomp: libseccomp turns the
 * JSON profile into BPF once, the store caches it), so this side needs no
 * libseccomp and does not allocate: a raw seccomp(2) of the bytes.
 *
 * seccomp(SECCOMP_SET_MODE_FILTER) needs no_new_privs or CAP_SYS_ADMIN in
 * the caller's user namespace.  no_new_privs is only set when asked for
 * (`--security-opt no-new-privileges`: it would disable setuid programs in
 * the image), so without it exec.c's capset keeps CAP_SYS_ADMIN
 * (pdman_seccomp_held_caps) until the filter is in, and the final capset here
 * drops it: the filter then has to allow capset(2), as every profile that
 * lets a process start does.
 */
#define _GNU_SOURCE
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/keyctl.h>
#include <linux/seccomp.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>

#include "internal.h"

int pdman_join_session_keyring(struct pdman_error *err) {
  /* a new anonymous session keyring, as runc and crun do: the keys of the
   * caller's login session are no longer reachable from the container */
  if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL, 0, 0, 0) < 0 &&
      errno != ENOSYS) /* a kernel without keys: nothing to hide */
    return pdman_error_set(err, errno, "keyctl(KEYCTL_JOIN_SESSION_KEYRING)");
  return 0;
}

uint64_t pdman_seccomp_held_caps(const struct pdman_spawn_spec *spec) {
  uint64_t admin = 1ULL << CAP_SYS_ADMIN;

  if (spec->seccomp_filter == NULL || spec->no_new_privs)
    return 0;
  return admin & ~spec->cap_effective;
}

int pdman_seccomp_load(const struct pdman_spawn_spec *spec,
                       struct pdman_error *err) {
  struct sock_fprog prog;
  uint64_t held = pdman_seccomp_held_caps(spec);

  if (spec->seccomp_filter == NULL)
    return 0;
  if (spec->seccomp_filter_len == 0 ||
      spec->seccomp_filter_len % sizeof(struct sock_filter) != 0 ||
      spec->seccomp_filter_len / sizeof(struct sock_filter) > BPF_MAXINSNS)
    return pdman_error_set(err, EINVAL, "seccomp filter of %zu bytes",
                           spec->seccomp_filter_len);
  prog.len = (unsigned short)(spec->seccomp_filter_len / sizeof(struct sock_filter));
  prog.filter = (struct sock_filter *)(uintptr_t)spec->seccomp_filter;
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
    return pdman_error_set(err, errno, "loading the seccomp filter");
  if (held != 0) {
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3,
                                           .pid = 0};
    struct __user_cap_data_struct data[2];
    int i;

    for (i = 0; i < 2; i++) {
      data[i].effective = (uint32_t)(spec->cap_effective >> (32 * i));
      data[i].permitted = (uint32_t)(spec->cap_permitted >> (32 * i));
      data[i].inheritable = (uint32_t)(spec->cap_inheritable >> (32 * i));
    }
    if (syscall(SYS_capset, &hdr, data) < 0)
      return pdman_error_set(err, errno,
                             "capset after loading the seccomp filter "
                             "(the profile must allow capset)");
  }
  return 0;
}
