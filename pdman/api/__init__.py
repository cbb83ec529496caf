"""The Docker-compatible REST API service (`pdman system service`).

    server.py    listening (unix/tcp/socket activation), peer check, idle exit, threads
    http.py      HTTP/1.1 on one connection: requests, responses, chunked streams, hijacking
    router.py    routes, the /vX.Y prefix, and the one mapping of errors to statuses
    system.py containers.py attach.py exec.py images.py networks.py volumes.py
                 handlers: parse HTTP, build the engine's options objects, call the SAME
                 engine verbs the CLI calls, render docker's JSON shapes

No engine logic lives here: what the CLI and the API both need sits in `pdman/engine/`.
"""
