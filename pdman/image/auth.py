"""Registry credentials: containers auth.json (what `pdman login` writes) and docker's
config.json, looked up the way podman does.

Order: `--authfile` (or REGISTRY_AUTH_FILE, else $XDG_RUNTIME_DIR/containers/auth.json),
then $XDG_CONFIG_HOME/containers/auth.json, then docker's config.json. Within a file
the most specific key wins: `registry/ns/repo`, then `registry/ns`, then `registry`;
docker-style keys with a scheme (`https://index.docker.io/v1/`) are understood.

    {"auths": {"127.0.0.1:5000": {"auth": "<base64 user:password>"}}}
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pdman.errors import AuthenticationError, UsageError

DOCKER_HUB_KEYS = ("docker.io", "index.docker.io", "registry-1.docker.io")


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str
    #: an identity token (`identitytoken`): exchanged for access tokens (OAuth2 refresh)
    identity_token: str = ""
    source: str = ""

    def __repr__(self) -> str:  # never print a password
        return f"Credentials(username={self.username!r}, source={self.source!r})"


def parse_creds_option(value: str) -> Credentials:
    """`--creds USER[:PASSWORD]` (podman reads a missing password from the terminal)."""
    user, colon, password = value.partition(":")
    if not user:
        raise UsageError("--creds: the username is empty", hint="use --creds USER:PASSWORD")
    if not colon:
        import getpass

        password = getpass.getpass("Password: ")
    return Credentials(user, password, source="--creds")


def _normalize_key(key: str) -> str:
    """`https://index.docker.io/v1/` -> `docker.io`; `http://h:5000/` -> `h:5000`."""
    for scheme in ("https://", "http://"):
        if key.startswith(scheme):
            key = key[len(scheme):]
            key = key.split("/", 1)[0]  # docker keys carry an API path, not a repository
            break
    key = key.rstrip("/")
    if key in DOCKER_HUB_KEYS:
        return "docker.io"
    return key


def decode_entry(entry: dict[str, Any], source: str) -> Credentials | None:
    """One `auths` value: `auth` (base64 user:password) or `username`/`password`."""
    token = str(entry.get("identitytoken") or "")
    raw = entry.get("auth")
    if raw:
        try:
            text = base64.b64decode(str(raw), validate=False).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
            raise AuthenticationError(f"{source}: an `auth` entry is not base64 of "
                                      f"user:password ({exc})",
                                      hint="log in again with `pdman login`") from exc
        user, colon, password = text.partition(":")
        if not colon:
            raise AuthenticationError(f"{source}: an `auth` entry has no `:` between user "
                                      "and password", hint="log in again with `pdman login`")
        return Credentials(user, password, token, source)
    if entry.get("username"):
        return Credentials(str(entry["username"]), str(entry.get("password") or ""), token,
                           source)
    if token:
        return Credentials("<token>", "", token, source)
    return None


def _load_auths(path: Path) -> dict[str, dict[str, Any]]:
    try:
        with open(path, "rb") as f:
            data = json.load(f)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, RecursionError) as exc:
        raise AuthenticationError(f"cannot read the credentials file {path}: "
                                  f"{exc if not isinstance(exc, RecursionError) else 'nested too deeply'}",
                                  hint="fix or remove the file, then log in again") from None
    auths = data.get("auths") if isinstance(data, dict) else None
    if not isinstance(auths, dict):
        return {}
    return {_normalize_key(str(k)): v for k, v in auths.items() if isinstance(v, dict)}


def default_files() -> list[Path]:
    from pdman.config import auth_file_path, config_home, docker_config_path

    files = [auth_file_path()]
    if "REGISTRY_AUTH_FILE" not in os.environ:
        fallback = config_home() / "containers/auth.json"
        if fallback not in files:
            files.append(fallback)
    files.append(docker_config_path())
    return files


def lookup(registry: str, repository: str = "", authfile: str | Path | None = None) -> \
        Credentials | None:
    """Credentials for `registry` (and repository path, for per-repository entries)."""
    files = [Path(authfile)] if authfile else default_files()
    keys = []
    if repository:
        parts = repository.split("/")
        keys += [f"{registry}/{'/'.join(parts[:n])}" for n in range(len(parts), 0, -1)]
    keys.append(_normalize_key(registry))
    for path in files:
        auths = _load_auths(path)
        for key in keys:
            if key in auths:
                found = decode_entry(auths[key], str(path))
                if found is not None:
                    return found
    return None


def store(registry: str, creds: Credentials, authfile: str | Path | None = None) -> Path:
    """Write credentials for `registry` into auth.json (0600, atomically)."""
    from pdman.config import auth_file_path

    path = Path(authfile) if authfile else auth_file_path()
    data: Any = {}
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        pass
    except (ValueError, RecursionError) as exc:
        raise AuthenticationError(f"cannot parse {path}: {exc}",
                                  hint="fix or remove the file") from None
    if not isinstance(data, dict) or not isinstance(data.setdefault("auths", {}), dict):
        raise AuthenticationError(f"{path} is not a credentials file (no `auths` object)",
                                  hint="fix or remove the file") from None
    entry = base64.b64encode(f"{creds.username}:{creds.password}".encode()).decode()
    data["auths"][registry] = {"auth": entry}
    _write_private(path, data)
    return path


def remove(registry: str, authfile: str | Path | None = None) -> bool:
    """Forget `registry`'s credentials; False when there were none."""
    from pdman.config import auth_file_path

    path = Path(authfile) if authfile else auth_file_path()
    try:
        data = json.loads(path.read_bytes())
    except (FileNotFoundError, ValueError, RecursionError):
        return False
    auths = data.get("auths") if isinstance(data, dict) else None
    if not isinstance(auths, dict):
        return False
    gone = [k for k in auths if _normalize_key(k) == _normalize_key(registry)]
    for k in gone:
        del auths[k]
    if gone:
        _write_private(path, data)
    return bool(gone)


def _write_private(path: Path, data: dict[str, Any]) -> None:
    import tempfile     # here: reading credentials (every pull) does not need it

    path.parent.mkdir(parents=True, mode=0o700, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".auth.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent="\t")
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


__all__ = ["Credentials", "decode_entry", "default_files", "lookup", "parse_creds_option",
           "remove", "store"]
