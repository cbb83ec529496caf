"""The remote client: pdman's verbs run through a Docker-compatible API service
(pdman's own `system service`, podman's or dockerd's) instead of the local engine.

- `connections.py`: the named destinations of `pdman system connection` (user config).
- `transport.py`: where to connect (--url, --connection, CONTAINER_HOST, ...) and how
  (unix socket, tcp, ssh through the system `ssh` client).
- `client.py`: the HTTP client (stdlib http.client) and the mapping of API errors to PdmanErrors.
- `dispatch.py`: which CLI handler has a remote counterpart; the others are refused.
- `containers.py`, `images.py`, `resources.py`, `system.py`: the remote handlers, which
  take the same options as the CLI's and print the same reports.

Nothing here is imported unless a remote option or variable is set (globalopts.py).
"""
