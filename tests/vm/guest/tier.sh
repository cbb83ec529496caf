#!/bin/sh
# Runs INSIDE the guest, as root, once per boot (started by pdman-vm-boot from the
# shared source, so editing it needs no image rebuild):
#   1. install this run's pdman wheel into the guest's venv (no network: local wheel);
#   2. run the tests/vm pytest tier as the lingering user `tester` through a real login
#      session (`su -l` -> pam_systemd: XDG_RUNTIME_DIR, DBUS_SESSION_BUS_ADDRESS, a
#      session scope), with the source read-only;
#   3. run the tests marked vm_root as root (system units without User=);
#   4. leave the output, junit XML and exit status in the results share.
# A test marked `after_reboot` runs in a second boot: when the first boot's tests ask
# for one (conftest.request_reboot), this script reboots the guest (QEMU keeps its
# snapshot disk across the reset), the same script runs again, counts boot 2, and runs
# only the after_reboot tests; the exit status is the worse of the two runs.
set -u
R=/mnt/results
S=/mnt/share
VENV=/opt/pdman-venv
exec >>"$R/tier.log" 2>&1
stamp() { echo "[vm $(cut -d' ' -f1 /proc/uptime)s] $*"; }

BOOT=$(( $(cat "$R/boot-count" 2>/dev/null || echo 0) + 1 ))
echo "$BOOT" > "$R/boot-count"
REBOOT_ASKED=/home/tester/.pdman-vm-reboot
if [ "$BOOT" -gt 2 ]; then
  stamp "boot $BOOT: the guest restarted without being asked to (a kernel panic?)"
  echo 125 > "$R/exit-code"
  exit 1
fi
if [ "$BOOT" -eq 2 ]; then
  stamp "booted again (boot 2): pdman is installed already"
else
stamp "booted; installing pdman from $(ls $S/wheels)"
rm -f "$REBOOT_ASKED"
if ! "$VENV/bin/pip" install -q --no-index --no-deps --disable-pip-version-check \
     --force-reinstall "$S"/wheels/pdman-*.whl; then
  stamp "pip install failed"
  echo 125 > "$R/exit-code"
  exit 1
fi

# the Quadlet generator for user managers, as an administrator installs it (systemd runs
# generators only from system directories); the tests' daemon-reload runs it
"$VENV/bin/pdman" systemd install-generator --user || stamp "install-generator failed"
fi

stamp "waiting for user@1000.service"
i=0
until systemctl is-active --quiet user@1000.service; do
  i=$((i + 1))
  if [ "$i" -gt 120 ]; then
    stamp "user@1000.service never became active"
    systemctl status user@1000.service --no-pager
    echo 125 > "$R/exit-code"
    exit 1
  fi
  sleep 1
done

args=$(cat "$S/pytest-args" 2>/dev/null || true)
# `tests/vm/test_x.py ...` runs those files alone; other arguments add to tests/vm
case " $args " in *" tests/vm/"*) where="" ;; *) where=tests/vm ;; esac
junit=junit.xml
[ "$BOOT" -eq 2 ] && junit=junit-boot2.xml
stamp "pytest $where $args (boot $BOOT, as tester, login session)"
# the user's own temp dir: /tmp is shared with root, /run is noexec
su -l tester -c "
  set -e
  export PATH=$VENV/bin:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin
  export PYTHONDONTWRITEBYTECODE=1 PDMAN_VM_SHARE=$S LANG=C.UTF-8 PDMAN_VM_BOOT=$BOOT
  mkdir -p \$HOME/tmp && export TMPDIR=\$HOME/tmp
  cd /mnt/src
  exec python -m pytest -p no:cacheprovider -rsP \
    --durations=5 --junitxml=\$HOME/$junit $where $args
"
code=$?
cp "/home/tester/$junit" "$R/$junit" 2>/dev/null || true
stamp "pytest exited $code"

# the root pass: tests marked vm_root (pdman as root, system units without User=), run
# as root with the environment of a system service (no HOME, USER or XDG_*)
stamp "pytest $where $args, the vm_root tests (boot $BOOT, as root)"
(cd /mnt/src && env -i PATH=$VENV/bin:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin \
   PYTHONDONTWRITEBYTECODE=1 PDMAN_VM_SHARE=$S PDMAN_VM_PASS=root PDMAN_VM_BOOT=$BOOT \
   LANG=C.UTF-8 python -m pytest -p no:cacheprovider -rsP --durations=5 \
   --junitxml=/root/junit-root-$BOOT.xml $where $args)
root_code=$?
cp /root/junit-root-$BOOT.xml "$R/junit-root-$BOOT.xml" 2>/dev/null || true
stamp "root pytest exited $root_code"
# 5 ("no tests ran") in one pass is fine when the other ran tests; in both, a failure
if [ "$code" = 5 ] && [ "$root_code" = 0 ]; then code=0; fi
if [ "$root_code" != 5 ] && [ "$code" = 0 ]; then code=$root_code; fi
if [ "$BOOT" -eq 1 ] && [ -e "$REBOOT_ASKED" ]; then
  echo "$code" > "$R/boot1-code"
  stamp "rebooting the guest for the after_reboot tests ($(cat "$REBOOT_ASKED" | tr '\n' ' '))"
  sync
  systemctl reboot
  sleep 600      # the reboot stops this unit before pdman-vm-boot can power off
  exit 0
fi
if [ "$BOOT" -eq 2 ]; then
  first=$(cat "$R/boot1-code" 2>/dev/null || echo 125)
  [ "$code" -eq 0 ] && code=$first
fi
echo "$code" > "$R/exit-code"
sync
