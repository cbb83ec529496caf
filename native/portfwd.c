/* portfwd.c - pdman-portfwd: the published TCP ports of a slirp4netns
 * container, forwarded by a splice(2) proxy instead of slirp4netns's user-mode
 * TCP stack (the role of podman's rootlessport, in C).
 *
 * pdman (network/portfwd.py) binds the host's listening sockets itself -- a
 * port in use is its error, before this program runs -- and passes them in.
 * This program joins the container's user and network namespaces; sockets it
 * creates from then on live in the container's network namespace, while the
 * inherited listeners stay in the host's:
 *
 *   client ──▶ listener (host netns) ──accept──▶ conn ──connect──▶ ADDR:CPORT
 *                                                 (container netns)
 *   bytes: socket ──splice──▶ pipe ──splice──▶ socket, one pipe per direction
 *
 * ADDR is the container's own address on slirp4netns's tap (10.0.2.100 by
 * default), never its loopback: connecting from the container's network
 * namespace to that address, the container sees its clients come from its
 * own non-loopback address.  Were it 127.0.0.1 (as rootlessport did before
 * CVE-2021-20199), every remote client would look local to the container, and
 * services that trust loopback (Redis' protected mode, admin endpoints) or
 * listen on 127.0.0.1 only would be open to the network.  A service bound to
 * 127.0.0.1 inside is not reachable through a published port, as with docker.
 *
 * Usage:
 *   pdman-portfwd --pid PID --addr IPV4|auto --ready-fd FD LISTEN-FD:CONTAINER-PORT...
 *
 * `--addr auto` (pasta, for ports published on the host's loopback): the
 * container's first non-loopback IPv4 address, found once inside.
 * Once in the namespaces it writes '1' on --ready-fd and closes it; a failure
 * before that is a line on stderr (the log file pdman gives it) and status 1.
 * It exits on SIGTERM or SIGINT, and when the process --pid exits: the host
 * ports must not stay taken for a container that is gone.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#include "internal.h"

/* Go's (so rootlessport's) pipe size: one splice moves up to 1 MiB */
#define PIPE_SIZE (1 << 20)
/* read+write rounds of one direction before other connections get a turn */
#define PUMP_ROUNDS 8
/* how long accepting pauses when out of file descriptors */
#define PAUSE_MS 100
#define MAX_EVENTS 64

enum kind { K_SIGNAL, K_PIDFD, K_LISTENER, K_CONN };

/* first member of everything epoll points at */
struct source {
  enum kind kind;
};

struct listener {
  struct source src;
  int fd;
  int port; /* in the container */
};

/* one direction: from fd[d] to fd[!d] through a pipe */
struct flow {
  int pipe[2];
  size_t pending; /* bytes in the pipe */
  int eof;        /* the source sent FIN */
  int shut;       /* ... and it was passed on: shutdown(SHUT_WR) of the sink */
};

struct conn {
  struct source src;
  int fd[2];          /* 0: the client (host netns), 1: the container side */
  int connecting;
  int closed;         /* freed at the end of the loop turn: more events of this
                         turn may still point here */
  int queued;         /* on fwd.ready */
  struct flow flow[2]; /* 0: client to container, 1: container to client */
  struct conn *next_ready, *next_dead;
};

struct fwd {
  int epfd;
  struct in_addr target; /* the container's address connections go to */
  int auto_target;       /* --addr auto: its first non-loopback IPv4 address */
  struct listener *listeners;
  int n_listeners;
  long long resume_at; /* accepting paused until then (ms), or 0 */
  struct conn *ready;  /* ran out of budget with more to move */
  struct conn *dead;
};

static struct source signal_source = {K_SIGNAL};
static struct source pidfd_source = {K_PIDFD};

static void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void warn(const char *fmt, ...) {
  va_list ap;

  fputs("pdman-portfwd: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

static long long now_ms(void) {
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A number in [min, max] that ends at `end` ('\0' or a separator). */
static int parse_int(const char *text, char end, int min, int max, int *out) {
  char *stop;
  long v;

  errno = 0;
  v = strtol(text, &stop, 10);
  if (errno != 0 || stop == text || *stop != end || v < min || v > max)
    return -1;
  *out = (int)v;
  return 0;
}

/* ---- set-up ---- */

static int parse_options(int argc, char **argv, int *pid, int *ready_fd, struct fwd *f,
                         struct pdman_error *err) {
  int i;

  int have_addr = 0;

  f->listeners = calloc((size_t)argc, sizeof(*f->listeners));
  if (f->listeners == NULL)
    return pdman_error_set(err, errno, "calloc");
  for (i = 1; i < argc; i++) {
    struct listener *l = &f->listeners[f->n_listeners];
    const char *colon = strchr(argv[i], ':');
    int *value = strcmp(argv[i], "--pid") == 0        ? pid
                 : strcmp(argv[i], "--ready-fd") == 0 ? ready_fd
                                                      : NULL;

    if (strcmp(argv[i], "--addr") == 0) {
      if (i + 1 < argc && strcmp(argv[i + 1], "auto") == 0) {
        f->auto_target = 1; /* found once in the container's namespace */
        have_addr = 1;
        i++;
        continue;
      }
      if (i + 1 >= argc || inet_pton(AF_INET, argv[i + 1], &f->target) != 1)
        return pdman_error_set(err, EINVAL, "--addr needs an IPv4 address or `auto`");
      /* the whole point of the address: never the container's loopback */
      if ((ntohl(f->target.s_addr) >> 24) == 127)
        return pdman_error_set(err, EINVAL, "--addr %s is a loopback address: the container "
                               "would see every client as local", argv[i + 1]);
      have_addr = 1;
      i++;
    } else if (value != NULL) {
      if (i + 1 >= argc || parse_int(argv[i + 1], '\0', 1, INT32_MAX, value) < 0)
        return pdman_error_set(err, EINVAL, "%s needs a positive number", argv[i]);
      i++;
    } else if (colon != NULL && parse_int(argv[i], ':', 0, INT32_MAX, &l->fd) == 0 &&
               parse_int(colon + 1, '\0', 1, 65535, &l->port) == 0) {
      l->src.kind = K_LISTENER;
      f->n_listeners++;
    } else {
      return pdman_error_set(err, EINVAL, "invalid argument `%s` (usage: pdman-portfwd "
                             "--pid PID --addr IPV4 --ready-fd FD LISTEN-FD:CONTAINER-PORT...)", argv[i]);
    }
  }
  if (*pid <= 0 || !have_addr || f->n_listeners == 0)
    return pdman_error_set(err, EINVAL, "--pid, --addr and at least one "
                           "LISTEN-FD:CONTAINER-PORT are required");
  return 0;
}

static int check_listener(const struct listener *l, struct pdman_error *err) {
  int yes = 0;
  socklen_t len = sizeof(yes);

  if (getsockopt(l->fd, SOL_SOCKET, SO_ACCEPTCONN, &yes, &len) < 0)
    return pdman_error_set(err, errno, "fd %d (for container port %d)", l->fd, l->port);
  if (!yes)
    return pdman_error_set(err, EINVAL, "fd %d (for container port %d) is not listening",
                           l->fd, l->port);
  /* non-blocking accept; close-on-exec like every other fd here */
  if (fcntl(l->fd, F_SETFL, fcntl(l->fd, F_GETFL) | O_NONBLOCK) < 0 ||
      fcntl(l->fd, F_SETFD, FD_CLOEXEC) < 0)
    return pdman_error_set(err, errno, "fcntl of fd %d", l->fd);
  return 0;
}

static int same_ns(int fd, const char *own) {
  struct stat a, b;

  return fstat(fd, &a) == 0 && stat(own, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* Join the user namespace first: it gives the capabilities that setns on its
 * network namespace needs.  setns(CLONE_NEWUSER) refuses a multi-threaded
 * process, which this one never is. */
static int join_namespaces(pid_t pid, int pidfd, struct pdman_error *err) {
  char path[64];
  cleanup_close int user = -1;
  cleanup_close int net = -1;

  snprintf(path, sizeof(path), "/proc/%d/ns/user", pid);
  user = open(path, O_RDONLY | O_CLOEXEC);
  if (user < 0)
    return pdman_error_set(err, errno, "open `%s`", path);
  snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
  net = open(path, O_RDONLY | O_CLOEXEC);
  if (net < 0)
    return pdman_error_set(err, errno, "open `%s`", path);
  /* pidfd pins the container's process, but the namespace files were opened
   * by PID: they are its namespaces only if it has not exited (and the PID
   * been reused) in between */
  if (pidfd >= 0 && syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0)
    return pdman_error_set(err, errno, "the container process %d", pid);
  /* already there (pdman runs inside the container's user namespace):
   * setns would fail with EINVAL */
  if (!same_ns(user, "/proc/self/ns/user") && setns(user, CLONE_NEWUSER) < 0)
    return pdman_error_set(err, errno, "setns to `/proc/%d/ns/user`", pid);
  if (setns(net, CLONE_NEWNET) < 0)
    return pdman_error_set(err, errno, "setns to `/proc/%d/ns/net`", pid);
  return 0;
}

/* --addr auto (pasta, whose tap copies the host's address): the first IPv4
 * address of an interface that is up and not loopback, seen from inside. */
static int find_target(struct fwd *f, struct pdman_error *err) {
  struct ifaddrs *list, *a;

  if (getifaddrs(&list) < 0)
    return pdman_error_set(err, errno, "getifaddrs in the container's network namespace");
  for (a = list; a != NULL; a = a->ifa_next) {
    if (a->ifa_addr == NULL || a->ifa_addr->sa_family != AF_INET ||
        !(a->ifa_flags & IFF_UP) || (a->ifa_flags & IFF_LOOPBACK))
      continue;
    f->target = ((struct sockaddr_in *)a->ifa_addr)->sin_addr;
    freeifaddrs(list);
    return 0;
  }
  freeifaddrs(list);
  return pdman_error_set(err, EADDRNOTAVAIL, "the container has no IPv4 address but loopback "
                         "to forward to");
}

static int epoll_add(int epfd, int fd, uint32_t events, void *ptr, struct pdman_error *err) {
  struct epoll_event ev = {.events = events, .data.ptr = ptr};

  if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
    return pdman_error_set(err, errno, "epoll_ctl add fd %d", fd);
  return 0;
}

static int setup(int argc, char **argv, struct fwd *f, int *ready_fd, struct pdman_error *err) {
  struct rlimit rl;
  sigset_t mask;
  int pid = 0;
  int sigfd, pidfd, i, ret;

  ret = parse_options(argc, argv, &pid, ready_fd, f, err);
  if (ret < 0)
    return ret;
  /* splice to a socket the peer closed must be EPIPE, not death */
  signal(SIGPIPE, SIG_IGN);
  /* six fds a connection (two sockets, two pipes): as many as the hard limit allows */
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  for (i = 0; i < f->n_listeners; i++) {
    ret = check_listener(&f->listeners[i], err);
    if (ret < 0)
      return ret;
  }
  f->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (f->epfd < 0)
    return pdman_error_set(err, errno, "epoll_create1");
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
    return pdman_error_set(err, errno, "sigprocmask");
  sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sigfd < 0)
    return pdman_error_set(err, errno, "signalfd");
  ret = epoll_add(f->epfd, sigfd, EPOLLIN, &signal_source, err);
  if (ret < 0)
    return ret;
  /* readable when the container's process exits (Linux >= 5.3; without it,
   * pdman's teardown still ends this process) */
  pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (pidfd < 0 && errno != ENOSYS)
    return pdman_error_set(err, errno, "pidfd_open of the container process %d", pid);
  if (pidfd >= 0) {
    fcntl(pidfd, F_SETFD, FD_CLOEXEC);
    ret = epoll_add(f->epfd, pidfd, EPOLLIN, &pidfd_source, err);
    if (ret < 0)
      return ret;
  }
  ret = join_namespaces(pid, pidfd, err);
  if (ret < 0)
    return ret;
  if (f->auto_target) {
    ret = find_target(f, err);
    if (ret < 0)
      return ret;
  }
  for (i = 0; i < f->n_listeners; i++) {
    ret = epoll_add(f->epfd, f->listeners[i].fd, EPOLLIN, &f->listeners[i].src, err);
    if (ret < 0)
      return ret;
  }
  return 0;
}

/* ---- connections ---- */

static void conn_close(struct fwd *f, struct conn *c) {
  int d, i;

  if (c->closed)
    return;
  c->closed = 1;
  for (d = 0; d < 2; d++) {
    if (c->fd[d] >= 0)
      close(c->fd[d]); /* which also takes it out of the epoll set */
    for (i = 0; i < 2; i++)
      if (c->flow[d].pipe[i] >= 0)
        close(c->flow[d].pipe[i]);
  }
  c->next_dead = f->dead;
  f->dead = c;
}

/* Connected to the container (or not): 0 when connected or still connecting
 * (an event of the client came first), -1 when the connection must close. */
static int finish_connect(struct conn *c) {
  struct sockaddr_storage peer;
  socklen_t len = sizeof(int), plen = sizeof(peer);
  int error = 0, d;

  /* ECONNREFUSED: nothing listens on the port (yet); the client sees its
   * connection closed, as with rootlessport */
  if (getsockopt(c->fd[1], SOL_SOCKET, SO_ERROR, &error, &len) < 0 || error != 0)
    return -1;
  if (getpeername(c->fd[1], (struct sockaddr *)&peer, &plen) < 0)
    return errno == ENOTCONN ? 0 : -1;
  c->connecting = 0;
  for (d = 0; d < 2; d++) {
    if (pipe2(c->flow[d].pipe, O_NONBLOCK | O_CLOEXEC) < 0)
      return -1;
    /* fewer, larger splices; past fs.pipe-user-pages-soft the user gets
     * EPERM here, and the default size still works */
    fcntl(c->flow[d].pipe[1], F_SETPIPE_SZ, PIPE_SIZE);
  }
  return 0;
}

/* Move what can move from fd[d] to fd[!d]: 1 when the budget ran out with more
 * to move, 0 when the next step waits for an event (or the flow is done), -1
 * on an error of either socket (ECONNRESET, EPIPE). */
static int pump_flow(struct conn *c, int d) {
  struct flow *fl = &c->flow[d];
  int round;

  for (round = 0; round < PUMP_ROUNDS; round++) {
    /* read only into an empty pipe: EAGAIN then always means "nothing to
     * read" (never "pipe full"), so an edge-triggered EPOLLIN follows */
    if (fl->pending == 0 && !fl->eof) {
      ssize_t n = splice(c->fd[d], NULL, fl->pipe[1], NULL, PIPE_SIZE,
                         SPLICE_F_MOVE | SPLICE_F_NONBLOCK);

      if (n < 0 && errno == EINTR)
        return 1; /* try again next turn */
      if (n < 0)
        return errno == EAGAIN ? 0 : -1;
      if (n == 0)
        fl->eof = 1;
      fl->pending = (size_t)n;
    }
    while (fl->pending > 0) {
      ssize_t n = splice(fl->pipe[0], NULL, c->fd[!d], NULL, fl->pending,
                         SPLICE_F_MOVE | SPLICE_F_NONBLOCK);

      if (n < 0 && errno == EINTR)
        return 1;
      if (n < 0 && errno == EAGAIN)
        return 0; /* the sink is full: its EPOLLOUT follows */
      if (n <= 0)
        return -1;
      fl->pending -= (size_t)n;
    }
    if (fl->eof) {
      /* half-close: pass the FIN on, the other direction may go on */
      if (!fl->shut)
        shutdown(c->fd[!d], SHUT_WR);
      fl->shut = 1;
      return 0;
    }
  }
  return 1;
}

/* Whatever woke the connection (its sockets are edge-triggered, so one event
 * says little), move everything that can move. */
static void pump(struct fwd *f, struct conn *c) {
  int d, more = 0;

  if (c->closed)
    return;
  if (c->connecting) {
    if (finish_connect(c) < 0)
      conn_close(f, c);
    if (c->connecting || c->closed)
      return;
  }
  for (d = 0; d < 2; d++) {
    int ret = pump_flow(c, d);

    if (ret < 0) {
      conn_close(f, c);
      return;
    }
    more |= ret;
  }
  if (c->flow[0].shut && c->flow[1].shut) {
    conn_close(f, c);
  } else if (more && !c->queued) {
    c->queued = 1;
    c->next_ready = f->ready;
    f->ready = c;
  }
}

static void conn_open(struct fwd *f, int client, int port) {
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                           .sin_addr = f->target};
  struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET};
  struct conn *c = calloc(1, sizeof(*c));
  int one = 1, d;

  if (c == NULL) {
    close(client);
    return;
  }
  c->src.kind = K_CONN;
  c->connecting = 1;
  for (d = 0; d < 2; d++)
    c->flow[d].pipe[0] = c->flow[d].pipe[1] = -1;
  c->fd[0] = client;
  /* created after setns: in the container's network namespace */
  c->fd[1] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  ev.data.ptr = c;
  if (c->fd[1] < 0 || (connect(c->fd[1], (struct sockaddr *)&to, sizeof(to)) < 0 &&
                       errno != EINPROGRESS)) {
    conn_close(f, c);
    return;
  }
  /* as Go sets on every TCP connection (so rootlessport): the small writes of
   * request/response protocols leave at once */
  for (d = 0; d < 2; d++)
    setsockopt(c->fd[d], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  /* edge-triggered: pump() moves data until EAGAIN, so no level needs
   * repeating, and a half-closed socket's EPOLLHUP cannot spin the loop */
  if (epoll_ctl(f->epfd, EPOLL_CTL_ADD, c->fd[0], &ev) < 0 ||
      epoll_ctl(f->epfd, EPOLL_CTL_ADD, c->fd[1], &ev) < 0) {
    conn_close(f, c);
    return;
  }
  pump(f, c); /* a local address often connects at once, and the client may have sent */
}

static void set_accepting(struct fwd *f, uint32_t events) {
  int i;

  for (i = 0; i < f->n_listeners; i++) {
    struct epoll_event ev = {.events = events, .data.ptr = &f->listeners[i].src};

    epoll_ctl(f->epfd, EPOLL_CTL_MOD, f->listeners[i].fd, &ev);
  }
}

static void on_listener(struct fwd *f, struct listener *l) {
  int i;

  /* level-triggered: a bounded batch, the rest next turn */
  for (i = 0; i < MAX_EVENTS; i++) {
    int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

    if (fd >= 0) {
      conn_open(f, fd, l->port);
    } else if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
      /* the pending connection stays readable: pause rather than spin */
      warn("accept for container port %d: %s (pausing %d ms)", l->port, strerror(errno),
           PAUSE_MS);
      set_accepting(f, 0);
      f->resume_at = now_ms() + PAUSE_MS;
      return;
    } else if (errno != ECONNABORTED && errno != EINTR) {
      return; /* EAGAIN: none left */
    }
  }
}

/* ---- the loop ---- */

static int loop(struct fwd *f) {
  struct epoll_event events[MAX_EVENTS];

  for (;;) {
    struct conn *c, *ready;
    int timeout = -1, n, i;

    if (f->ready != NULL) {
      timeout = 0;
    } else if (f->resume_at != 0) {
      long long left = f->resume_at - now_ms();

      timeout = left > 0 ? (int)left : 0;
    }
    n = epoll_wait(f->epfd, events, MAX_EVENTS, timeout);
    if (n < 0 && errno != EINTR) {
      warn("epoll_wait: %s", strerror(errno));
      return 1;
    }
    for (i = 0; i < n; i++) {
      struct source *s = events[i].data.ptr;

      if (s->kind == K_SIGNAL || s->kind == K_PIDFD)
        return 0; /* stopped, or the container exited: the kernel closes the rest */
      if (s->kind == K_LISTENER)
        on_listener(f, (struct listener *)s);
      else
        pump(f, (struct conn *)s);
    }
    ready = f->ready;
    f->ready = NULL;
    while ((c = ready) != NULL) {
      ready = c->next_ready;
      c->queued = 0;
      pump(f, c);
    }
    /* only now: no event or ready entry of this turn points at them any more */
    while ((c = f->dead) != NULL) {
      f->dead = c->next_dead;
      free(c);
    }
    if (f->resume_at != 0 && now_ms() >= f->resume_at) {
      f->resume_at = 0;
      set_accepting(f, EPOLLIN);
    }
  }
}

int main(int argc, char **argv) {
  static struct fwd f;
  struct pdman_error err;
  int ready_fd = -1;

  pdman_error_clear(&err);
  if (setup(argc, argv, &f, &ready_fd, &err) < 0) {
    warn("%s", err.msg);
    return 1;
  }
  if (ready_fd >= 0) {
    if (write(ready_fd, "1", 1) != 1) {
      warn("writing to the ready fd %d: %s", ready_fd, strerror(errno));
      return 1;
    }
    close(ready_fd);
  }
  return loop(&f);
}
