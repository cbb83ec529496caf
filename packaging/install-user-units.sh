#!/usr/bin/env bash
# Install pdman's systemd user units for the calling user:
#   pdman.socket, pdman.service  the API on demand: clients reach it at
#                                DOCKER_HOST=unix://$XDG_RUNTIME_DIR/pdman/pdman.sock
#   pdman-restart.service        at boot, start the containers created with
#                                --restart=always (podman-restart.service's job); it runs
#                                before any login when lingering is on
#                                (`loginctl enable-linger $USER`)
# and enable them: the socket now, pdman-restart.service from the next boot on.
# Usage: bash packaging/install-user-units.sh [--no-enable]   (as the user, not root)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PDMAN=$(command -v pdman) || { echo "pdman is not on PATH" >&2; exit 1; }
DEST=${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user
mkdir -p "$DEST"
install -m 0644 "$HERE/pdman.socket" "$DEST/pdman.socket"
for unit in pdman.service pdman-restart.service; do
  sed "s|@PDMAN@|$PDMAN|g" "$HERE/$unit" > "$DEST/$unit"
  chmod 0644 "$DEST/$unit"
done
echo "installed pdman.socket, pdman.service and pdman-restart.service in $DEST (pdman: $PDMAN)"
if [ "${1:-}" != "--no-enable" ]; then
  systemctl --user daemon-reload
  systemctl --user enable --now pdman.socket
  systemctl --user enable pdman-restart.service
fi
