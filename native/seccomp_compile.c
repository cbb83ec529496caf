/* seccomp_compile.c - a seccomp profile, already resolved to rules by
 * pdman/runtime/seccomp/profile.py, to BPF with libseccomp.  Runs in the pdman
 * process, never in a container's child: it may allocate.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <seccomp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "seccomp_compile.h"

static int fail(char *msg, size_t msg_len, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *msg, size_t msg_len, int rc, const char *fmt, ...) {
  va_list ap;
  size_t used;

  va_start(ap, fmt);
  vsnprintf(msg, msg_len, fmt, ap);
  va_end(ap);
  used = strlen(msg);
  if (rc < 0 && used < msg_len)
    snprintf(msg + used, msg_len - used, ": %s", strerror(-rc));
  return -1;
}

static const char *op_name(uint32_t op) {
  static const char *names[] = {"?", "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE",
                                "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT",
                                "SCMP_CMP_MASKED_EQ"};
  return op < sizeof(names) / sizeof(names[0]) ? names[op] : "?";
}

static int add_rule(scmp_filter_ctx ctx, const struct pdman_seccomp_rule *rule,
                    char *msg, size_t msg_len) {
  struct scmp_arg_cmp cmps[6];
  int nr, rc;
  uint32_t i;

  nr = seccomp_syscall_resolve_name(rule->name);
  if (nr == __NR_SCMP_ERROR)
    return fail(msg, msg_len, 0, "unknown syscall `%s`", rule->name);
  if (rule->n_args > 6)
    return fail(msg, msg_len, 0, "syscall `%s`: %u argument conditions (at most 6)",
                rule->name, rule->n_args);
  for (i = 0; i < rule->n_args; i++) {
    const struct pdman_seccomp_arg *a = &rule->args[i];

    if (a->index > 5 || a->op < SCMP_CMP_NE || a->op > SCMP_CMP_MASKED_EQ)
      return fail(msg, msg_len, 0, "syscall `%s`: bad argument condition (index %u, %s)",
                  rule->name, a->index, op_name(a->op));
    cmps[i].arg = a->index;
    cmps[i].op = (enum scmp_compare)a->op;
    cmps[i].datum_a = a->value;
    cmps[i].datum_b = a->value_two;
  }
  rc = seccomp_rule_add_array(ctx, rule->action, nr, rule->n_args, cmps);
  if (rc == -EEXIST)
    return fail(msg, msg_len, rc, "syscall `%s`: a rule conflicting with an earlier one",
                rule->name);
  if (rc < 0)
    return fail(msg, msg_len, rc, "syscall `%s`: adding the rule", rule->name);
  return 0;
}

int pdman_seccomp_compile(uint32_t default_action, const char *const *arches,
                          size_t n_arches, const struct pdman_seccomp_rule *rules,
                          size_t n_rules, int out_fd, char *msg, size_t msg_len) {
  scmp_filter_ctx ctx;
  size_t i;
  int rc, ret = -1;

  msg[0] = '\0';
  ctx = seccomp_init(default_action);
  if (ctx == NULL)
    return fail(msg, msg_len, 0, "seccomp_init: bad default action %#x", default_action);
  /* the filter is exported, not loaded here: libseccomp must not ask for
   * no_new_privs on our behalf (the child decides) */
  seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
  /* a binary tree instead of a list: ~400 allowed syscalls cost a few
   * comparisons each instead of up to 400 (absent in older libseccomp) */
  seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
  for (i = 0; i < n_arches; i++) {
    uint32_t arch = seccomp_arch_resolve_name(arches[i]);

    if (arch == 0) {
      fail(msg, msg_len, 0, "unknown architecture `%s`", arches[i]);
      goto out;
    }
    rc = seccomp_arch_add(ctx, arch);
    if (rc < 0 && rc != -EEXIST) {
      fail(msg, msg_len, rc, "adding architecture `%s`", arches[i]);
      goto out;
    }
  }
  for (i = 0; i < n_rules; i++)
    if (add_rule(ctx, &rules[i], msg, msg_len) < 0)
      goto out;
  rc = seccomp_export_bpf(ctx, out_fd);
  if (rc < 0) {
    fail(msg, msg_len, rc, "exporting the BPF program");
    goto out;
  }
  ret = 0;
out:
  seccomp_release(ctx);
  return ret;
}

int pdman_seccomp_resolve(const char *name) {
  return seccomp_syscall_resolve_name(name);
}
