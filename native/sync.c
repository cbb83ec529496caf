/* The sync socket between a caller and the processes it starts (spawn, namespace
 * joining, exec): one fixed-size `struct pdman_sync_msg` per SOCK_SEQPACKET packet,
 * defined once in pdman.h. Shared by spawn.c, nsjoin.c and setns.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "internal.h"

int pdman_sync_send(int fd, int type, int pid, const struct pdman_error *detail,
                    struct pdman_error *err) {
  struct pdman_sync_msg msg;
  ssize_t n;

  memset(&msg, 0, sizeof(msg));
  msg.type = type;
  msg.pid = pid;
  if (detail != NULL) {
    msg.errnum = detail->errnum;
    memcpy(msg.msg, detail->msg, sizeof(msg.msg));
    msg.msg[sizeof(msg.msg) - 1] = '\0';
  }
  do
    n = send(fd, &msg, sizeof(msg), MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return pdman_error_set(err, errno, "send on sync socket");
  if ((size_t)n != sizeof(msg))
    return pdman_error_set(err, EPROTO, "short send on sync socket");
  return 0;
}

/* Wait up to timeout_ms (-1: forever) for readability, EINTR not resetting the clock. */
static int wait_readable(int fd, int timeout_ms, const char *what, struct pdman_error *err) {
  struct pollfd pfd = {.fd = fd, .events = POLLIN};
  struct timespec start, now;
  int left = timeout_ms, ret;

  if (timeout_ms < 0)
    return 0;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    ret = poll(&pfd, 1, left);
    if (ret > 0)
      return 0;
    if (ret == 0) {
      pdman_error_set(err, ETIMEDOUT, "%s", what);
      err->kind = PDMAN_ERR_TIMEOUT;
      return -1;
    }
    if (errno != EINTR)
      return pdman_error_set(err, errno, "poll on sync socket");
    clock_gettime(CLOCK_MONOTONIC, &now);
    left = timeout_ms - (int)((now.tv_sec - start.tv_sec) * 1000 +
                              (now.tv_nsec - start.tv_nsec) / 1000000);
    if (left < 0)
      left = 0;
  }
}

int pdman_sync_recv(int fd, int timeout_ms, struct pdman_sync_msg *msg, const char *what,
                    struct pdman_error *err) {
  ssize_t n;

  if (wait_readable(fd, timeout_ms, what, err) < 0)
    return -1;
  do
    n = recv(fd, msg, sizeof(*msg), 0);
  while (n < 0 && errno == EINTR);
  if (n == 0 || (n < 0 && errno == ECONNRESET))
    return 0;
  if (n < 0)
    return pdman_error_set(err, errno, "recv on sync socket");
  if ((size_t)n != sizeof(*msg))
    return pdman_error_set(err, EPROTO, "short read on sync socket (%zd of %zu bytes)", n,
                           sizeof(*msg));
  msg->msg[sizeof(msg->msg) - 1] = '\0';
  return 1;
}
