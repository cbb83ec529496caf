/* nsjoin.c - containers that join namespaces instead of creating them
 * (network modes `container:ID`, user-defined networks, pods), and the small
 * namespace chores of the network code.
 *
 * Joining is runc's nsexec dance: a user namespace can only be joined by a
 * single-threaded process, and a container must stay the caller's child:
 *
 *   caller ──clone──▶ intermediate   setns(2) into the user namespace to
 *                                    join (which gives it the capabilities
 *                                    over what that namespace owns), then
 *                                    into the network (IPC, UTS) namespace,
 *                                    if asked
 *                  └─clone(CLONE_PARENT | CLONE_NEW{NS,PID,IPC,UTS})─▶ container
 *                                    a child of the caller, from here on
 *                                    exactly as spawn.c's child (sync 1 ...)
 *
 * The intermediate reports the container's PID (sync 0) and exits.  It and
 * the container write on the same socket, so the container's sync 1 may
 * arrive first: pdman_join_wait() takes both in either order.
 */
#define _GNU_SOURCE
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "internal.h"

_Static_assert(PDMAN_UNSHARE_NET == CLONE_NEWNET, "CLONE_NEWNET");


/* ---- the intermediate (a child of the caller) ---- */

void pdman_join_main(const struct pdman_spawn_spec *spec,
                     const struct pdman_prepared *prep, int sync_fd,
                     unsigned long flags) {
  struct pdman_error err;
  pid_t pid;

  pdman_error_clear(&err);
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0); /* as spawn.c's child: see there */
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  prctl(PR_SET_NAME, "pdman:join", 0, 0, 0);
  if ((spec->join & PDMAN_JOIN_USER) &&
      setns(spec->join_userns_fd, CLONE_NEWUSER) < 0) {
    pdman_error_set(&err, errno, "setns into the user namespace to join");
    goto fail;
  }
  if ((spec->join & PDMAN_JOIN_NET) &&
      setns(spec->join_netns_fd, CLONE_NEWNET) < 0) {
    pdman_error_set(&err, errno, "setns into the network namespace to join");
    goto fail;
  }
  if ((spec->join & PDMAN_JOIN_IPC) &&
      setns(spec->join_ipcns_fd, CLONE_NEWIPC) < 0) {
    pdman_error_set(&err, errno, "setns into the IPC namespace to join");
    goto fail;
  }
  if ((spec->join & PDMAN_JOIN_UTS) &&
      setns(spec->join_utsns_fd, CLONE_NEWUTS) < 0) {
    pdman_error_set(&err, errno, "setns into the UTS namespace to join");
    goto fail;
  }
  /* for the children only: the container is cloned into it */
  if ((spec->join & PDMAN_JOIN_PID) &&
      setns(spec->join_pidns_fd, CLONE_NEWPID) < 0) {
    pdman_error_set(&err, errno, "setns into the PID namespace to join");
    goto fail;
  }
  pid = (pid_t)syscall(SYS_clone, flags | CLONE_PARENT | SIGCHLD, NULL, NULL,
                       NULL, NULL);
  if (pid == 0)
    pdman_child_main(spec, prep, sync_fd);
  if (pid < 0) {
    pdman_error_set(&err, errno, "clone into new namespaces (joining)");
    goto fail;
  }
  /* sync 0: the container's PID, in the caller's PID namespace */
  pdman_sync_send(sync_fd, PDMAN_SYNC_CHILD_PID, pid, NULL, &err);
  _exit(0);
fail:
  pdman_sync_send(sync_fd, PDMAN_SYNC_CHILD_ERROR, 0, &err, &err);
  _exit(PDMAN_EXIT_CHILD_FAILED);
}

/* ---- the caller ---- */


int pdman_join_wait(pid_t intermediate, int sync_fd, int timeout_ms,
                    pid_t *container, int *ready, struct pdman_error *err) {
  struct pdman_sync_msg msg;
  int ret = 0;

  *container = -1;
  *ready = 0;
  while (*container < 0) {
    ret = pdman_sync_recv(sync_fd, timeout_ms, &msg,
                          "waiting for the process joining namespaces", err);
    if (ret < 0)
      break;
    if (ret == 0) {
      ret = pdman_error_set(err, 0, "the process joining namespaces exited before sync 0");
      break;
    }
    if (msg.type == PDMAN_SYNC_CHILD_PID) {
      *container = msg.pid;
    } else if (msg.type == PDMAN_SYNC_CHILD_READY) {
      *ready = 1;
    } else if (msg.type == PDMAN_SYNC_CHILD_ERROR || msg.type == PDMAN_SYNC_EXEC_FAILED) {
      err->errnum = msg.errnum;
      err->kind = PDMAN_ERR_CHILD;
      memcpy(err->msg, msg.msg, sizeof(err->msg));
      ret = -1;
      break;
    } else {
      ret = pdman_error_set(err, EPROTO, "sync 0: unexpected message %d", (int)msg.type);
      break;
    }
  }
  if (ret < 0)
    kill(intermediate, SIGKILL);
  while (waitpid(intermediate, NULL, __WALL) < 0 && errno == EINTR)
    ;
  return ret < 0 ? ret : 0;
}

/* ---- chores ---- */

int pdman_loopback_up(struct pdman_error *err) {
  struct ifreq ifr;
  cleanup_close int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

  if (fd < 0)
    return pdman_error_set(err, errno, "socket for the loopback interface");
  memset(&ifr, 0, sizeof(ifr));
  strcpy(ifr.ifr_name, "lo");
  if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
    return pdman_error_set(err, errno, "SIOCGIFFLAGS `lo`");
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
    return pdman_error_set(err, errno, "bringing up `lo`");
  return 0;
}

/* The families (1: IPv4, 2: IPv6) of the default routes of the main table in
 * the netlink messages of `buf` (a dump's answers or route events). */
static int default_routes(const char *buf, size_t len) {
  const struct nlmsghdr *h;
  int seen = 0;

  for (h = (const struct nlmsghdr *)buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
    const struct rtmsg *r = NLMSG_DATA(h);

    if (h->nlmsg_type != RTM_NEWROUTE || h->nlmsg_len < NLMSG_LENGTH(sizeof(*r)))
      continue;
    if (r->rtm_dst_len != 0 || r->rtm_table != RT_TABLE_MAIN || r->rtm_type != RTN_UNICAST)
      continue;
    seen |= r->rtm_family == AF_INET ? 1 : r->rtm_family == AF_INET6 ? 2 : 0;
  }
  return seen;
}

/* pasta --config-net writes, in this order, the tap's MTU and state, then per
 * family its address and its default route: a default route of every family
 * pasta configures means the namespace is set up (pasta itself goes on
 * filling its buffers for tens of milliseconds, and reads what the container
 * sends meanwhile from the tap's queue once it is done).  Subscribed to route
 * events first, then a dump: nothing written in between is missed.  A
 * netlink failure falls back on sync 9 alone. */
int pdman_wait_network(int sync_fd, int families, struct pdman_error *err) {
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK,
                           .nl_groups = RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE};
  struct {
    struct nlmsghdr h;
    struct rtmsg r;
  } req = {.h = {.nlmsg_len = sizeof(req), .nlmsg_type = RTM_GETROUTE,
                 .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 1},
           .r = {.rtm_family = AF_UNSPEC}};
  char buf[16384] __attribute__((aligned(NLMSG_ALIGNTO)));
  struct pollfd fds[2] = {{.fd = sync_fd, .events = POLLIN}, {.fd = -1, .events = POLLIN}};
  struct pdman_sync_msg msg;
  int seen = 0, ret;
  cleanup_close int nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);

  if (nl >= 0 && bind(nl, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
      send(nl, &req, sizeof(req), 0) == (ssize_t)sizeof(req))
    fds[1].fd = nl;
  while ((seen & families) != families) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR)
        continue;
      return pdman_error_set(err, errno, "poll while waiting for the network");
    }
    if (fds[0].revents) {
      ret = pdman_sync_recv(sync_fd, -1, &msg, "", err);
      if (ret <= 0)
        return ret;
      if (msg.type != PDMAN_SYNC_NETWORK_READY)
        return pdman_error_set(err, EPROTO, "sync 9: unexpected message %d", (int)msg.type);
      return 1;
    }
    if (fds[1].revents) {
      ssize_t n = recv(nl, buf, sizeof(buf), MSG_DONTWAIT);

      if (n > 0)
        seen |= default_routes(buf, (size_t)n);
      else if (n < 0 && errno == ENOBUFS) /* events lost: ask again */
        (void)send(nl, &req, sizeof(req), 0);
      else if (n == 0 || (errno != EAGAIN && errno != EINTR))
        fds[1].fd = -1; /* netlink gave up: sync 9 will come */
    }
  }
  return 1;
}

int pdman_join_namespace(int fd, int nstype, struct pdman_error *err) {
  pdman_error_clear(err);
  if (setns(fd, nstype) < 0)
    return pdman_error_set(err, errno, "setns(%d, %#x)", fd, nstype);
  return 0;
}
