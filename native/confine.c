/* confine.c - narrowing the privileges of pdman's own helper processes.
 *
 * pdman reads and writes container files from a forked helper that is root of
 * a user namespace (runtime/idmap.py run_in_userns; engine/container_files.py).
 * Before it touches container content it keeps only the capabilities that job
 * needs (reading files of any owner; for writes, setting owners and modes) and
 * sets no_new_privs: whatever the content does to us, the helper can no longer
 * mount, chroot, ptrace, setns or change its IDs (issue #12).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/capability.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"
#include "pdman.h"

int pdman_keep_caps(uint64_t keep, struct pdman_error *err) {
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2] = {{0, 0, 0}, {0, 0, 0}};

  pdman_error_clear(err);
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return pdman_error_set(err, errno, "prctl(PR_SET_NO_NEW_PRIVS)");
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
    return pdman_error_set(err, errno, "prctl(PR_CAP_AMBIENT_CLEAR_ALL)");
  /* the bounding set first: dropping from it needs CAP_SETPCAP, dropped below */
  for (int cap = 0; cap < 64; cap++) {
    if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) < 0)
      break; /* past the kernel's last capability */
    if (keep & ((uint64_t)1 << cap))
      continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
      return pdman_error_set(err, errno, "prctl(PR_CAPBSET_DROP, %d)", cap);
  }
  data[0].effective = data[0].permitted = (uint32_t)keep;
  data[1].effective = data[1].permitted = (uint32_t)(keep >> 32);
  if (syscall(SYS_capset, &hdr, data) < 0)
    return pdman_error_set(err, errno, "capset(%#llx)", (unsigned long long)keep);
  return 0;
}
