#!/usr/bin/env bash
# Install the Debian packages pdman and its test bed need (run as root; idempotent).
# apt-get runs only when something is missing, so a prepared machine pays nothing.
set -euo pipefail

PACKAGES=(
  # runtime: subordinate ID mapping, rootless overlay fallback, rootless networking
  uidmap fuse-overlayfs passt slirp4netns
  # building pdman: Debian's Python with venv, headers and a C compiler for the cffi helper
  python3 python3-venv python3-dev gcc libc6-dev
  # seccomp: libseccomp compiles the profiles (pdman._seccomp); libseccomp2 at run time
  libseccomp-dev libseccomp2
  # the single-file binary's launcher (packaging/launcher: zlib for its payload)
  zlib1g-dev
  # test bed: a real registry, real images built offline, pushing them
  docker-registry busybox-static debootstrap skopeo apache2-utils rsync ca-certificates
  # the reference engine: archive interop tests and the side-by-side benchmarks
  podman runc
  # podman-compose 1.0.3 (Debian 12), driven against pdman in tests/integration/test_compose.py
  podman-compose
  # the VM tier (tests/vm): a systemd + cgroup v2 guest under software emulation
  qemu-system-x86
  # benchmarks
  hyperfine
  # the docker CLI and docker-compose that drive `pdman system service` in the API tests
  # (Debian's docker.io, whose daemon is never started: see policy-rc.d below)
  docker.io docker-compose
  # the remote client's ssh transport (the system ssh client) and its test, which starts
  # its own unprivileged sshd on loopback (the package's sshd service is never started)
  openssh-client openssh-server
  # build contexts given as git URLs are cloned with the system git
  git
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  # docker.io's post-install would start dockerd (and containerd): a policy-rc.d that
  # refuses every service start keeps package installs from starting daemons
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# This kind of host runs no udev, so these device nodes come up 0600; Debian's default
# (what pasta, slirp4netns and fuse-overlayfs expect for unprivileged users) is 0666.
for dev in /dev/net/tun /dev/fuse; do
  [ -c "$dev" ] && chmod 0666 "$dev"
done
exit 0
