"""`login` and `logout`: credentials in the containers auth.json (0600), checked with the
registry before they are stored, as podman does."""

from __future__ import annotations

from pdman.entities.images import LoginOptions
from pdman.errors import AuthenticationError, UsageError


def normalize_registry(text: str) -> str:
    """`https://r.io/v2/` -> `r.io`; Docker Hub's aliases -> `docker.io`."""
    from pdman.image.auth import DOCKER_HUB_KEYS

    for scheme in ("https://", "http://"):
        if text.startswith(scheme):
            text = text[len(scheme):]
    text = text.split("/", 1)[0]
    if not text:
        raise UsageError("no registry given", hint="pdman login REGISTRY")
    return "docker.io" if text in DOCKER_HUB_KEYS else text


def login(options: LoginOptions, transport: object = None) -> str:
    """Check the credentials with the registry, then store them; the auth file's path."""
    from pdman.image import auth, registries_conf
    from pdman.image.registry import RegistryClient

    registry = normalize_registry(options.registry)
    if not options.username:
        raise UsageError("a user name is needed", hint="pass --username USER")
    conf = registries_conf.load()
    insecure = conf.is_insecure(registry) or options.tls_verify is False
    creds = auth.Credentials(options.username, options.password)
    with RegistryClient(registry, insecure=insecure, credentials=creds,
                        transport=transport,  # type: ignore[arg-type]
                        cert_dir=options.cert_dir) as client:
        client.check_login()
    return str(auth.store(registry, creds, options.authfile or None))


def logout(registry: str, all: bool = False, authfile: str = "") -> list[str]:
    """Forget stored credentials; the registries forgotten."""
    import json

    from pdman.config import auth_file_path
    from pdman.image import auth

    path = authfile or str(auth_file_path())
    if all:
        try:
            with open(path, "rb") as f:
                data = json.load(f)
        except (OSError, ValueError, RecursionError):
            data = {}
        auths = data.get("auths") if isinstance(data, dict) else None
        names = [str(k) for k in auths] if isinstance(auths, dict) else []
        for name in names:
            auth.remove(name, path)
        return names
    name = normalize_registry(registry)
    if not auth.remove(name, path):
        raise AuthenticationError(f"not logged into {name}",
                                  hint=f"see the credentials in {path}")
    return [name]


def get_login(registry: str, authfile: str = "") -> str:
    """The user name stored for a registry (`login --get-login`)."""
    from pdman.image import auth

    name = normalize_registry(registry)
    found = auth.lookup(name, authfile=authfile or None)
    if found is None:
        raise AuthenticationError(f"not logged into {name}", hint=f"pdman login {name}")
    return found.username


__all__ = ["get_login", "login", "logout", "normalize_registry"]
