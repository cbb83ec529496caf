#!/usr/bin/env bash
# Install pdman's systemd user units (pdman.socket, pdman.service) for the calling user
# and enable the socket: clients then reach the API at
# DOCKER_HOST=unix://$XDG_RUNTIME_DIR/pdman/pdman.sock, and the service starts on demand.
# Usage: bash packaging/install-user-units.sh [--no-enable]   (as the user, not root)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PDMAN=$(command -v pdman) || { echo "pdman is not on PATH" >&2; exit 1; }
DEST=${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user
mkdir -p "$DEST"
install -m 0644 "$HERE/pdman.socket" "$DEST/pdman.socket"
sed "s|@PDMAN@|$PDMAN|" "$HERE/pdman.service" > "$DEST/pdman.service"
chmod 0644 "$DEST/pdman.service"
echo "installed $DEST/pdman.socket and $DEST/pdman.service (ExecStart: $PDMAN)"
if [ "${1:-}" != "--no-enable" ]; then
  systemctl --user daemon-reload
  systemctl --user enable --now pdman.socket
fi
