/* pdman-init: the tiny init that `run --init` puts in front of the command.
 *
 * As PID 1 of a PID namespace, a process gets no default signal actions (the kernel
 * drops SIGTERM for an init without a handler) and inherits every orphan, which it
 * must reap or they stay zombies. Most programs do neither, so this does: it starts
 * the command as its child, forwards every catchable signal to it, reaps whatever
 * exits, and leaves with the command's status (128+N when signal N killed it).
 *
 * Built static (the image may have no libc) and bind-mounted read-only into the
 * container at /run/pdman-init:   pdman-init -- CMD [ARG...]
 *
 * `pdman-init -P` is a pod's infra process (catatonit -P's role): it runs nothing,
 * only holds the pod's namespaces, reaps, and leaves with 0 on SIGTERM, SIGINT or
 * SIGHUP (`pod stop`).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static void die(const char *what, const char *arg) {
  fprintf(stderr, "pdman-init: %s%s%s: %s\n", what, arg ? " " : "", arg ? arg : "",
          strerror(errno));
  exit(errno == ENOENT ? 127 : errno == EACCES ? 126 : 125);
}

static int pause_forever(void) {
  sigset_t all;

  sigfillset(&all);
  if (sigprocmask(SIG_SETMASK, &all, NULL) < 0)
    die("sigprocmask", NULL);
  prctl(PR_SET_NAME, "pdman-pause", 0, 0, 0);
  for (;;) {
    siginfo_t info;
    int sig = sigwaitinfo(&all, &info);

    if (sig < 0) {
      if (errno == EINTR)
        continue;
      die("sigwaitinfo", NULL);
    }
    if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP)
      return 0;
    if (sig == SIGCHLD)
      while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
  }
}

int main(int argc, char **argv) {
  sigset_t all, old;
  int first = 1, status = 0;
  pid_t child;

  if (argc == 2 && strcmp(argv[1], "-P") == 0)
    return pause_forever();
  if (argc > 1 && strcmp(argv[1], "--") == 0)
    first = 2;
  if (first >= argc) {
    fprintf(stderr, "usage: pdman-init [--] COMMAND [ARG...]\n");
    return 125;
  }
  /* block everything: signals are taken with sigwaitinfo, one at a time */
  sigfillset(&all);
  if (sigprocmask(SIG_SETMASK, &all, &old) < 0)
    die("sigprocmask", NULL);

  child = fork();
  if (child < 0)
    die("fork", NULL);
  if (child == 0) {
    sigprocmask(SIG_SETMASK, &old, NULL);
    /* its own process group: a terminal's ^C reaches it as it would without init */
    setpgid(0, 0);
    if (isatty(STDIN_FILENO))
      tcsetpgrp(STDIN_FILENO, getpid());
    execvp(argv[first], argv + first);
    die("exec", argv[first]);
  }
  prctl(PR_SET_NAME, "pdman-init", 0, 0, 0);

  for (;;) {
    siginfo_t info;
    int sig = sigwaitinfo(&all, &info);

    if (sig < 0) {
      if (errno == EINTR)
        continue;
      die("sigwaitinfo", NULL);
    }
    if (sig != SIGCHLD) {
      /* forwarded; SIGKILL and SIGSTOP cannot be caught, so they never get here */
      kill(child, sig);
      continue;
    }
    for (;;) {
      int st;
      pid_t pid = waitpid(-1, &st, WNOHANG);

      if (pid <= 0)
        break;
      if (pid == child) {
        status = WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
        /* the command is done: the namespace goes with us, and its orphans too */
        return status;
      }
    }
  }
}
