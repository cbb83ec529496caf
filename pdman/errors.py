"""The one exception hierarchy of pdman.

Every error a user can meet is a `PdmanError`: a short kebab-case `reference`, a
message that names the object, and a `hint` saying what to do. Exit codes (and, in
the API service, HTTP statuses) are mapped here and nowhere else.

    PdmanError                         exit 125 (engine error, docker's convention)
    ├── UsageError                     bad flags or arguments            125
    │   └── ShortNameError             ambiguous short name, no terminal to ask
    ├── ReferenceFormatError           malformed image reference         125
    ├── NotFoundError                  no such image/container/volume/network  125 (HTTP 404)
    │   ├── ImageNotFound
    │   ├── ContainerNotFound
    │   ├── VolumeNotFound
    │   ├── NetworkNotFound
    │   ├── SecretNotFound
    │   └── PodNotFound
    ├── ConflictError                  name in use, image in use, wrong state  125 (HTTP 409)
    ├── RegistryError                  HTTP/auth/protocol failure of a registry
    │   ├── AuthenticationError        (HTTP 401)
    │   └── DigestMismatchError        downloaded bytes do not match the digest
    ├── LayerError                     hostile or corrupt layer archive
    ├── StorageError                   catalog or store inconsistency, disk full
    ├── HostSupportError               the host lacks what is needed (userns, cgroup v2, ...)
    ├── RuntimeFailure                 the container could not be started (child error)
    ├── BuildFileError                 a Containerfile that cannot be built (file:line)  125
    ├── UnitFileError                  a Quadlet unit file that cannot be translated (file:line)  125
    ├── KubeFileError                  Kubernetes YAML that `kube play` cannot run (names the object)  125
    ├── BuildStepFailed                a RUN step exited non-zero           1 (podman build's)
    ├── CommandNotExecutableError      exec: permission denied          126
    └── CommandNotFoundError           exec: no such file               127
"""

from __future__ import annotations

#: docker's conventions for `run`/`exec`: the engine itself failed
EXIT_ENGINE = 125
EXIT_NOT_EXECUTABLE = 126
EXIT_NOT_FOUND = 127


class PdmanError(Exception):
    """Base of every error pdman reports to a user."""

    reference = "pdman-error"
    exit_code = EXIT_ENGINE
    http_status = 500

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message

    def render(self) -> str:
        """The text shown to a user: `Error: <message>` and a hint line, with every
        control character escaped (see `terminal_safe`)."""
        text = f"Error: {self.message}"
        if self.hint:
            text += f"\nHint: {self.hint}"
        return terminal_safe(text)


def terminal_safe(text: str, keep: str = "\n\t") -> str:
    """`text` with what a terminal would obey rather than show escaped (issue #12):
    messages quote outside data -- a registry's platform names, an image's file names
    -- and an ESC in them would move the cursor, retitle the window or hide the rest
    of the line. C0/C1 controls, DEL and other non-printable characters become `\\xNN`
    / `\\uNNNN`; the characters of `keep` stay (newlines and tabs: messages are laid
    out with them; a file name keeps none, so that it cannot forge a line)."""
    if text.isprintable():
        return text
    out = []
    for c in text:
        if c.isprintable() or c in keep:
            out.append(c)
        else:
            n = ord(c)
            if 0xDC80 <= n <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape)
                n -= 0xDC00
            out.append(f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}" if n < 0x10000
                       else f"\\U{n:08x}")
    return "".join(out)


class UsageError(PdmanError):
    reference = "usage"
    http_status = 400


class ShortNameError(UsageError):
    """A short image name that more than one search registry may serve, and nobody
    to ask which (short-name-mode = enforcing without a terminal)."""

    reference = "short-name-ambiguous"


class ReferenceFormatError(PdmanError):
    reference = "invalid-reference-format"
    http_status = 400


class NotFoundError(PdmanError):
    reference = "not-found"
    http_status = 404


class ImageNotFound(NotFoundError):
    reference = "image-not-found"


class ContainerNotFound(NotFoundError):
    reference = "container-not-found"


class VolumeNotFound(NotFoundError):
    reference = "volume-not-found"


class NetworkNotFound(NotFoundError):
    reference = "network-not-found"


class SecretNotFound(NotFoundError):
    reference = "secret-not-found"


class PodNotFound(NotFoundError):
    reference = "pod-not-found"


class ConflictError(PdmanError):
    reference = "conflict"
    http_status = 409


class PortInUseError(ConflictError):
    """A published host port something else holds: podman exits 126 for it (the
    container cannot start), and scripts test that code."""

    reference = "port-in-use"
    exit_code = EXIT_NOT_EXECUTABLE


class RegistryError(PdmanError):
    reference = "registry-error"
    http_status = 502


class AuthenticationError(RegistryError):
    reference = "authentication-required"
    http_status = 401


class DigestMismatchError(RegistryError):
    reference = "digest-mismatch"


class LayerError(PdmanError):
    reference = "bad-layer"


class StorageError(PdmanError):
    reference = "storage-error"


class HostSupportError(PdmanError):
    reference = "host-unsupported"


class RuntimeFailure(PdmanError):
    reference = "runtime-failure"


class BuildFileError(UsageError):
    """The Containerfile is wrong: the message names the file, the line and the
    instruction."""

    reference = "build-file"


class UnitFileError(UsageError):
    """A Quadlet unit file (`.container`, `.volume`, ...) is wrong: the message names
    the file and the line; the generator then writes no unit for it."""

    reference = "unit-file"


class KubeFileError(UsageError):
    """Kubernetes YAML that `kube play`/`kube down` cannot use: unparsable, an object
    of an unsupported kind or field; the message names the document and object
    (`Deployment/web`)."""

    reference = "kube-yaml"


class BuildStepFailed(PdmanError):
    """A RUN step's command failed: the build exits 1, as `podman build` does."""

    reference = "build-step-failed"
    exit_code = 1


class CommandNotExecutableError(PdmanError):
    reference = "not-executable"
    exit_code = EXIT_NOT_EXECUTABLE


class CommandNotFoundError(PdmanError):
    reference = "command-not-found"
    exit_code = EXIT_NOT_FOUND


def exit_code_for(exc: BaseException) -> int:
    """The one place that maps an exception to a process exit code."""
    if isinstance(exc, PdmanError):
        return exc.exit_code
    if isinstance(exc, KeyboardInterrupt):
        return 130
    return EXIT_ENGINE


def http_status_for(exc: BaseException) -> int:
    """The one place that maps an exception to an HTTP status (API service)."""
    if isinstance(exc, PdmanError):
        return exc.http_status
    return 500


class RemoteError(PdmanError):
    """The remote client could not reach its API service, or the service cannot do
    what was asked (a verb pdman runs only locally)."""

    reference = "remote-error"
