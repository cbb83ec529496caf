/* seccomp_compile.h - the API of `pdman._seccomp`, the profile compiler.
 *
 * A separate cffi module from pdman._native because it links libseccomp:
 * only a start whose compiled filter is not cached yet imports it
 * (pdman/runtime/seccomp/compiler.py), so the start path never loads the
 * library.  The part between the CDEF markers goes to cffi's cdef().
 */
#ifndef PDMAN_SECCOMP_COMPILE_H
#define PDMAN_SECCOMP_COMPILE_H

#include <stddef.h>
#include <stdint.h>

/* CDEF BEGIN */

#define PDMAN_SECCOMP_MSG_MAX 512

/* one argument condition: libseccomp's struct scmp_arg_cmp */
struct pdman_seccomp_arg {
  uint32_t index;     /* 0..5 */
  uint32_t op;        /* enum scmp_compare: 1 NE, 2 LT, 3 LE, 4 EQ, 5 GE, 6 GT, 7 MASKED_EQ */
  uint64_t value;     /* MASKED_EQ: the mask */
  uint64_t value_two; /* MASKED_EQ: the value */
};

struct pdman_seccomp_rule {
  const char *name;  /* syscall name, resolved by libseccomp */
  uint32_t action;   /* SCMP_ACT_* value (the kernel's SECCOMP_RET_*) */
  const struct pdman_seccomp_arg *args; /* all must match (AND) */
  uint32_t n_args;
};

/* Compile a filter of `default_action` for the native architecture plus
 * `arches` (libseccomp names such as "x86", "x32"), with `rules` in order,
 * and write its BPF to `out_fd`.  0, or -1 with `msg` saying why (the rule's
 * syscall name, the unknown architecture, libseccomp's errno). */
int pdman_seccomp_compile(uint32_t default_action, const char *const *arches,
                          size_t n_arches, const struct pdman_seccomp_rule *rules,
                          size_t n_rules, int out_fd, char *msg, size_t msg_len);

/* The syscall's number on the native architecture, a negative pseudo number
 * for one that exists only on another, or -1 (__NR_SCMP_ERROR): unknown. */
int pdman_seccomp_resolve(const char *name);

/* CDEF END */

#endif
