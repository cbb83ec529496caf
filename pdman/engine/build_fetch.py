"""`ADD URL DEST`: the download, as docker's builder does it -- the file is not
extracted, it is named by the URL's last path segment, its mode is 0600 and its mtime
the server's Last-Modified (when given); `--checksum=sha256:HEX` is verified before the
file is used. The downloaded content (not the URL's answer headers) is what the step's
cache key covers, through the layer's content hash like any ADD source."""

from __future__ import annotations

import hashlib
import os
import posixpath

from pdman.errors import BuildFileError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: a stalled server fails the step rather than hanging the build
TIMEOUT = 60.0


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def fetch(urls: list[str], into: str, checksum: str) -> list[str]:
    """Download each URL into the directory `into`; returns the file names (relative to
    it) in the order given. Errors are BuildFileErrors without the file position."""
    if checksum and len(urls) != 1:
        raise BuildFileError("--checksum needs exactly one URL source",
                             hint="split the ADD into one per URL")
    algorithm, _, expected = checksum.partition(":")
    if checksum and (algorithm not in ("sha256", "sha384", "sha512") or not expected):
        raise BuildFileError(f"--checksum={checksum}: write ALGORITHM:HEX",
                             hint="e.g. --checksum=sha256:<64 hex digits>")
    names = []
    for url in urls:
        name = _file_name(url)
        if name in names:
            raise BuildFileError(f"{url}: two sources named {name}",
                                 hint="add them one ADD at a time")
        digest = _download(url, os.path.join(into, name), algorithm or "sha256")
        if checksum and digest != expected.lower():
            os.unlink(os.path.join(into, name))
            raise BuildFileError(f"{url}: checksum mismatch: expected {checksum}, "
                                 f"got {algorithm}:{digest}",
                                 hint="the file at the URL changed, or the --checksum is wrong")
        names.append(name)
    return names


def _file_name(url: str) -> str:
    from urllib.parse import unquote, urlsplit

    name = posixpath.basename(unquote(urlsplit(url).path))
    if not name or name in (".", "..") or "/" in name or "\0" in name:
        raise BuildFileError(f"{url}: cannot name a file after this URL",
                             hint="use a URL whose path ends with a file name")
    return name


def _download(url: str, path: str, algorithm: str) -> str:
    import email.utils
    import urllib.error
    import urllib.request

    h = hashlib.new(algorithm)
    request = urllib.request.Request(url, headers={"User-Agent": "pdman-build"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:  # noqa: S310
            modified = answer.headers.get("Last-Modified")
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            with os.fdopen(fd, "wb") as out:
                while chunk := answer.read(1 << 20):
                    h.update(chunk)
                    out.write(chunk)
    except urllib.error.HTTPError as exc:
        raise BuildFileError(f"{url}: the server answered {exc.code} {exc.reason}",
                             hint="check the URL") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason: Any = getattr(exc, "reason", exc)
        raise BuildFileError(f"{url}: cannot download: {reason}",
                             hint="check the URL and the network") from None
    os.chmod(path, 0o600)
    if modified:
        try:
            when = email.utils.parsedate_to_datetime(modified).timestamp()
            os.utime(path, (when, when))
        except (TypeError, ValueError, OverflowError):
            pass
    return h.hexdigest()


__all__ = ["fetch", "is_url"]
