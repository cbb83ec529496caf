"""Remote handlers of the verbs that move files and images as tar streams: `cp` (the
archive endpoints, both ways), `export`, `import`, `save`, `load`, `commit`, `push`.
Host paths are the client's: an archive the client reads is uploaded, one the service
writes comes back to the client."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

import os
import sys

from pdman.errors import RegistryError, RemoteError, UsageError
from pdman.remote.client import Client
from pdman.remote.common import refuse_unsupported


def _not_a_terminal(output: "str | None") -> None:
    if output is None and sys.stdout.isatty():
        raise UsageError("refusing to write a tar archive to a terminal",
                         hint="redirect stdout or use --output FILE")


def _write_out(chunks: "Iterator[bytes]", output: "str | None") -> None:
    """A tar stream to stdout, or to OUTPUT through a partial file (an interrupted
    download leaves no half archive under the name)."""
    if output is None or output == "-":
        sys.stdout.flush()
        out = sys.stdout.buffer
        for chunk in chunks:
            out.write(chunk)
        out.flush()
        return
    tmp = output + ".partial"
    try:
        with open(tmp, "wb") as f:
            for chunk in chunks:
                f.write(chunk)
        os.replace(tmp, output)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _input(path: "str | None") -> "Any":
    """The archive to upload: a file, or stdin (`-`/none) when it is not a terminal."""
    if path in (None, "-"):
        if sys.stdin.isatty():
            raise UsageError("no archive on stdin", hint="give a file, or pipe one in")
        return sys.stdin.buffer
    try:
        return open(path, "rb")
    except OSError as exc:
        raise UsageError(f"{path}: {exc.strerror}", hint="check the host path") from None


# ------------------------------------------------------------------------------ cp

def cp(c: Client, source: str, destination: str, overwrite: bool = False,
       archive: bool = True) -> int:
    import tempfile

    from pdman.cli.handlers.container_files import _split, _unpack_on_host, host_tar

    src_ctr, src = _split(source)
    dst_ctr, dst = _split(destination)
    if src_ctr is None and dst_ctr is None:
        raise UsageError("`cp` copies between a container and the host, or two containers",
                         hint="write one side as CONTAINER:PATH")
    put = {"noOverwriteDirNonDir": "false" if overwrite else "true",
           "copyUIDGID": "true" if archive else "false"}

    def get(name: str, path: str) -> "Iterator[bytes]":
        return c.stream("GET", f"/containers/{name}/archive", "container", {"path": path})

    with tempfile.TemporaryFile() as tmp:
        if src_ctr is not None:
            if dst_ctr is None and dst == "-":
                _write_out(get(src_ctr, src), None)
                return 0
            for chunk in get(src_ctr, src):
                tmp.write(chunk)
            tmp.seek(0)
            if dst_ctr is None:
                _unpack_on_host(tmp, dst, os.path.basename(src.rstrip("/")) or "root")
                return 0
        elif src == "-":
            c.request("PUT", f"/containers/{dst_ctr}/archive", "container",
                      {"path": dst, **put}, upload=_input("-"))
            return 0
        else:
            if not os.path.lexists(src):
                raise UsageError(f"{src}: no such file or directory", hint="check the host path")
            host_tar(tmp, src)
            tmp.seek(0)
        c.request("PUT", f"/containers/{dst_ctr}/archive", "container", {"path": dst, **put},
                  upload=tmp)
    return 0


# ---------------------------------------------------------------- export, save, load

def export(c: Client, container: str, output: "str | None") -> int:
    _not_a_terminal(output)
    _write_out(c.stream("GET", f"/containers/{container}/export", "container"), output)
    return 0


def save(c: Client, images: "list[str]", output: "str | None", format: str,
         quiet: bool, **rest: Any) -> int:
    refuse_unsupported("save", rest, {"multi_image_archive"})
    if format != "docker-archive":
        raise RemoteError(f"`save --format {format}` is not supported through a remote "
                          "connection", hint="the Docker API saves docker-archive tarballs")
    _not_a_terminal(output)
    for name in images:
        c.json("GET", f"/images/{name}/json", "image")      # a missing image: its 404
    _write_out(c.stream("GET", "/images/get", "image", {"names": list(images)}), output)
    return 0


def _stream_errors(msg: "dict[str, Any]", what: str) -> None:
    text = msg.get("error") or (msg.get("errorDetail") or {}).get("message")
    if text:
        raise RegistryError(f"{what}: {text}") if what.startswith("push") else \
            UsageError(f"{what}: {text}")


def load(c: Client, input: "str | None", quiet: bool) -> int:
    f = _input(input)
    try:
        for msg in c.json_lines("POST", "/images/load", "image", {"quiet": "1"}, upload=f):
            _stream_errors(msg, "loading the archive")
            text = str(msg.get("stream") or "")
            # docker: "Loaded image: NAME" (or "Loaded image ID: sha256:..."), as ours
            for line in text.splitlines():
                if line.startswith("Loaded image"):
                    print(line.replace("Loaded image ID:", "Loaded image:"))
    finally:
        if f is not sys.stdin.buffer:
            f.close()
    return 0


def import_(c: Client, source: str, image: "str | None", change: "list[str] | None",
            message: "str | None", quiet: bool, **rest: Any) -> int:
    refuse_unsupported("import", rest, set())
    params: dict[str, Any] = {"fromSrc": "-"}
    if image:
        repo, tag = image, ""
        last = image.rpartition("/")[2]
        if ":" in last:
            repo, _, tag = image.rpartition(":")
        params.update(repo=repo, **({"tag": tag} if tag else {}))
    if message:
        params["message"] = message
    if change:
        params["changes"] = list(change)
    f = _input(source)
    image_id = ""
    try:
        for msg in c.json_lines("POST", "/images/create", "image", params, upload=f):
            _stream_errors(msg, f"importing {source}")
            status = str(msg.get("status") or "")
            if status.startswith("sha256:"):
                image_id = status
    finally:
        if f is not sys.stdin.buffer:
            f.close()
    if not image_id:
        raise RemoteError("the service did not name the imported image")
    print(image_id.removeprefix("sha256:"))
    return 0


# ------------------------------------------------------------------- commit, push

def commit(c: Client, container: str, image: "str | None", message: "str | None",
           author: "str | None", change: "list[str] | None", pause: bool, quiet: bool,
           iidfile: "str | None" = None, **rest: Any) -> int:
    refuse_unsupported("commit", rest, set())
    params: dict[str, Any] = {"container": container, "pause": "1" if pause else "0"}
    if image:
        repo, tag = image, ""
        if ":" in image.rpartition("/")[2]:
            repo, _, tag = image.rpartition(":")
        params.update(repo=repo, **({"tag": tag} if tag else {}))
    if message:
        params["comment"] = message
    if author:
        params["author"] = author
    if change:
        params["changes"] = list(change)
    # the body is the new image's container config: none to change (podman's service
    # insists on one)
    doc = c.json("POST", "/commit", "container", params, body={})
    if iidfile:
        with open(iidfile, "w", encoding="ascii") as f:
            f.write("sha256:" + str(doc["Id"]).removeprefix("sha256:"))
    print(str(doc["Id"]).removeprefix("sha256:"))
    return 0


def _auth_header(creds: "str | None") -> str:
    """docker's X-Registry-Auth: base64url JSON; `{}` lets the service use its own
    logins."""
    import base64
    import json

    doc: dict[str, str] = {}
    if creds:
        user, _, password = creds.partition(":")
        doc = {"username": user, "password": password}
    return base64.urlsafe_b64encode(json.dumps(doc).encode()).decode()


def push(c: Client, image: str, destination: "str | None", tls_verify: "str | None",
         creds: "str | None", authfile: "str | None", quiet: bool, format: "str | None",
         digestfile: "str | None", **rest: Any) -> int:
    refuse_unsupported("push", rest, set())
    for opt, value in (("--tls-verify", tls_verify), ("--authfile", authfile),
                       ("--format", format)):
        if value is not None:
            raise RemoteError(f"`push {opt}` is not supported through a remote connection",
                              hint="the service's own registries.conf and logins apply")
    from pdman.errors import ImageNotFound

    target = destination.removeprefix("docker://") if destination else image
    repo, tag = target, ""
    if "@" not in target and ":" in target.rpartition("/")[2]:
        repo, _, tag = target.rpartition(":")
    made_tag = False
    if destination:
        # the Docker API pushes a name the service has: tag the image so, push, untag
        try:
            c.json("GET", f"/images/{target}/json", "image")
        except ImageNotFound:
            c.request("POST", f"/images/{image}/tag", "image",
                      {"repo": repo, "tag": tag or "latest"})
            made_tag = True
    digest = ""
    try:
        for msg in c.json_lines("POST", f"/images/{repo}/push", "image",
                                {"tag": tag} if tag else None,
                                headers={"X-Registry-Auth": _auth_header(creds)}):
            _stream_errors(msg, f"push {target}")
            digest = (msg.get("aux") or {}).get("Digest") or digest
            if not quiet and msg.get("status"):
                line = " ".join(str(msg[k]) for k in ("id", "status") if msg.get(k))
                if not msg.get("progressDetail", {}).get("current"):
                    print(line, file=sys.stderr, flush=True)
    finally:
        if made_tag:
            try:
                c.request("DELETE", f"/images/{repo}:{tag or 'latest'}", "image")
            except Exception:  # noqa: BLE001 - the push's own outcome matters more
                pass
    if digestfile:
        with open(digestfile, "w") as f:
            f.write(digest)
    return 0


__all__ = ["commit", "cp", "export", "import_", "load", "push", "save"]
