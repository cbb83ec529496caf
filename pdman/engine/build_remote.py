"""Build contexts that are not a local directory: an HTTP(S) URL of a tar archive (or of
a lone Containerfile) and a git repository, fetched into the build's private tmp area
the way buildah (what `podman build` runs) fetches them.

- a git context is a URL starting with git://, git@, github.com/, or an http(s)/ssh URL
  whose path ends in .git; `URL#REF:SUBDIR` picks a branch or tag and a subdirectory
  (docker's form). It is cloned with the system's git, one commit deep where the
  transport allows, submodules included; transports that run programs (ext::) or read
  host files (file://) are refused, so a context cannot reach outside what it names.
- any other http(s) URL is downloaded: a tar archive (plain, gzip, bzip2 or xz) is
  unpacked with the same rules as a context on stdin; anything else is taken as the
  Containerfile of an empty context, as docker and buildah do.
"""

from __future__ import annotations

import os
import subprocess
import tempfile

from pdman.errors import UsageError

#: a stalled server or clone fails the build rather than hanging it
TIMEOUT = 300.0


def is_git(context: str) -> bool:
    base = context.partition("#")[0]
    if context.startswith(("git://", "git@", "github.com/")):
        return True
    return base.startswith(("http://", "https://", "ssh://")) and base.rstrip("/").endswith(".git")


def is_remote(context: str) -> bool:
    return is_git(context) or context.startswith(("http://", "https://"))


def fetch_context(context: str, area: str) -> tuple[str, str]:
    """The context named by the URL `context`, fetched into a new directory under `area`;
    returns (the context directory, the directory the caller removes afterwards)."""
    tmp = tempfile.mkdtemp(prefix="context-", dir=area)
    try:
        if is_git(context):
            return _clone(context, tmp), tmp
        _download(context, tmp)
        return tmp, tmp
    except BaseException:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _clone(context: str, tmp: str) -> str:
    url, _, fragment = context.partition("#")
    ref, _, subdir = fragment.partition(":")
    if url.startswith("github.com/"):
        url = "https://" + url
    repo = os.path.join(tmp, "repo")
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "/bin/true",
           "GIT_PROTOCOL_FROM_USER": "0"}
    base = ["git", "-c", "protocol.ext.allow=never", "-c", "protocol.file.allow=never",
            "-c", "advice.detachedHead=false"]
    args = ["clone", "--quiet", "--recurse-submodules", *(["--branch", ref] if ref else [])]
    # shallow where the transport can; the "dumb" http transport cannot, so retry deep
    for depth in (["--depth", "1", "--shallow-submodules"], []):
        try:
            done = subprocess.run([*base, *args, *depth, "--", url, repo], env=env,
                                  stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                  timeout=TIMEOUT, check=False)
        except FileNotFoundError:
            raise UsageError(f"cannot clone {url}: git is not installed",
                             hint="install git (packaging/install-deps.sh lists it)") from None
        except subprocess.TimeoutExpired:
            raise UsageError(f"cloning {url} took longer than {int(TIMEOUT)}s",
                             hint="check the URL and the network") from None
        if done.returncode == 0:
            break
        import shutil

        shutil.rmtree(repo, ignore_errors=True)
    else:
        err = (done.stderr.strip().splitlines() or ["git clone failed"])[-1]
        raise UsageError(f"cannot clone the build context {context}: {err}",
                         hint="check the URL, the branch or tag after #, and the network")
    if not subdir:
        return repo
    import posixpath

    rel = posixpath.normpath(subdir.strip("/"))
    path = os.path.join(repo, rel)
    if rel.startswith("..") or os.path.islink(path) or not os.path.isdir(path):
        raise UsageError(f"the build context {context}: {subdir} is not a directory of the "
                         "repository", hint="write URL#REF:SUBDIR with SUBDIR inside it")
    return path


def _download(url: str, tmp: str) -> None:
    import urllib.error
    import urllib.request

    from pdman.build.sources import extract_context
    from pdman.errors import BuildFileError

    got = os.path.join(tmp, ".download")
    request = urllib.request.Request(url, headers={"User-Agent": "pdman-build"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:  # noqa: S310
            with open(got, "wb") as out:
                while chunk := answer.read(1 << 20):
                    out.write(chunk)
    except urllib.error.HTTPError as exc:
        raise UsageError(f"cannot fetch the build context {url}: the server answered "
                         f"{exc.code} {exc.reason}", hint="check the URL") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise UsageError(f"cannot fetch the build context {url}: {reason}",
                         hint="check the URL and the network") from None
    import tarfile

    if _is_tar(got):
        try:
            with open(got, "rb") as f:
                extract_context(f, tmp)
        except (tarfile.TarError, OSError, EOFError, BuildFileError) as exc:
            raise UsageError(f"the build context {url} is not a usable tar archive: {exc}",
                             hint="serve a tar archive of the context directory") from None
        os.unlink(got)
    else:
        # not an archive: the Containerfile of an empty context
        os.rename(got, os.path.join(tmp, "Dockerfile"))


def _is_tar(path: str) -> bool:
    with open(path, "rb") as f:
        head = f.read(512)
    if head[:2] == b"\x1f\x8b" or head[:3] == b"BZh" or head[:6] == b"\xfd7zXZ\x00":
        return True
    return len(head) == 512 and head[257:262] == b"ustar"


__all__ = ["fetch_context", "is_git", "is_remote"]
