/* error.c - struct pdman_error: errno plus a message naming syscall and path.
 *
 * Safe in the child of clone(2): vsnprintf on plain %s/%d formats does not
 * allocate, and strerrordesc_np (unlike strerror) neither allocates nor
 * loads a message catalog.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

void pdman_error_clear(struct pdman_error *err) {
  err->errnum = 0;
  err->kind = PDMAN_ERR_HOST;
  err->msg[0] = '\0';
}

int pdman_error_set(struct pdman_error *err, int errnum, const char *fmt,
                    ...) {
  va_list ap;
  int n;

  va_start(ap, fmt);
  n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
  va_end(ap);
  if (n < 0)
    n = 0;
  if (errnum != 0 && (size_t)n < sizeof(err->msg)) {
    const char *desc = strerrordesc_np(errnum);

    if (desc != NULL)
      snprintf(err->msg + n, sizeof(err->msg) - n, ": %s", desc);
    else
      snprintf(err->msg + n, sizeof(err->msg) - n, ": errno %d", errnum);
  }
  err->errnum = errnum;
  return -1;
}

int pdman_error_wrap(struct pdman_error *err, const char *fmt, ...) {
  char prefix[PDMAN_ERROR_MSG_MAX];
  char old[PDMAN_ERROR_MSG_MAX];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(prefix, sizeof(prefix), fmt, ap);
  va_end(ap);
  memcpy(old, err->msg, sizeof(old));
  old[sizeof(old) - 1] = '\0';
  snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old);
  return -1;
}
