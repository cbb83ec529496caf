#!/bin/sh
# Runs INSIDE the guest, as root, once per boot (started by pdman-vm-boot from the
# shared source, so editing it needs no image rebuild):
#   1. install this run's pdman wheel into the guest's venv (no network: local wheel);
#   2. run the tests/vm pytest tier as the lingering user `tester` through a real login
#      session (`su -l` -> pam_systemd: XDG_RUNTIME_DIR, DBUS_SESSION_BUS_ADDRESS, a
#      session scope), with the source read-only;
#   3. leave the output, junit XML and exit status in the results share.
set -u
R=/mnt/results
S=/mnt/share
VENV=/opt/pdman-venv
exec >>"$R/tier.log" 2>&1
stamp() { echo "[vm $(cut -d' ' -f1 /proc/uptime)s] $*"; }

stamp "booted; installing pdman from $(ls $S/wheels)"
if ! "$VENV/bin/pip" install -q --no-index --no-deps --disable-pip-version-check \
     --force-reinstall "$S"/wheels/pdman-*.whl; then
  stamp "pip install failed"
  echo 125 > "$R/exit-code"
  exit 1
fi

# the Quadlet generator for user managers, as an administrator installs it (systemd runs
# generators only from system directories); the tests' daemon-reload runs it
"$VENV/bin/pdman" systemd install-generator --user || stamp "install-generator failed"

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
stamp "pytest tests/vm $args (as tester, login session)"
# the user's own temp dir: /tmp is shared with root, /run is noexec
su -l tester -c "
  set -e
  export PATH=$VENV/bin:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin
  export PYTHONDONTWRITEBYTECODE=1 PDMAN_VM_SHARE=$S LANG=C.UTF-8
  mkdir -p \$HOME/tmp && export TMPDIR=\$HOME/tmp
  cd /mnt/src
  exec python -m pytest -p no:cacheprovider -rsP \
    --durations=5 --junitxml=\$HOME/junit.xml tests/vm $args
"
code=$?
cp /home/tester/junit.xml "$R/junit.xml" 2>/dev/null || true
stamp "pytest exited $code"
echo "$code" > "$R/exit-code"
sync
