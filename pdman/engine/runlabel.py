"""`container runlabel LABEL IMAGE [ARG...]`: run the command line an image keeps in a
label (`LABEL RUN="podman run --rm --name NAME IMAGE ..."`), as podman 4.3 does: the
image pulled when missing; IMAGE and NAME (words, and $IMAGE/$NAME in words) replaced
by the image's name and the container name (default: the image's base name); a
leading `podman` or `docker` is this pdman; ARGs appended."""

from __future__ import annotations

import os

from pdman.engine.context import EngineContext
from pdman.errors import UsageError
from pdman.record import Record


class RunlabelOptions(Record):
    _required = ("label", "image")
    _lists = ("args",)

    label: str
    image: str
    args: "list[str]"
    name: str = ""
    display: bool = False
    quiet: bool = False
    replace: bool = False
    tls_verify: "bool | None" = None
    authfile: str = ""
    creds: str = ""
    cert_dir: str = ""


def _pdman() -> str:
    import shutil
    import sys

    exe = os.path.abspath(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    if exe and os.path.basename(exe) == "pdman" and os.access(exe, os.X_OK):
        return exe
    return shutil.which("pdman") or "pdman"


def command(ctx: EngineContext, options: RunlabelOptions) -> "tuple[list[str], dict[str, str]]":
    """The label's command line, with its words replaced; and the values of IMAGE and
    NAME (also given to the command as environment variables)."""
    import shlex

    from pdman.engine import images
    from pdman.entities.images import PullOptions

    image = images.ensure_image(ctx, options.image, "missing", PullOptions(
        reference=options.image, tls_verify=options.tls_verify, quiet=options.quiet,
        authfile=options.authfile, creds=options.creds, cert_dir=options.cert_dir))
    labels = (image.config.get("config") or {}).get("Labels") or {}
    text = labels.get(options.label)
    if not text:
        raise UsageError(f"cannot find the value of label: {options.label} in image: "
                         f"{options.image}", hint="`pdman image inspect` shows its labels")
    image_name = image.names[0] if image.names else image.id
    name = options.name or image_name.rsplit("/", 1)[-1].split("@")[0].split(":")[0]
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise UsageError(f"the {options.label} label of {options.image} is not a command "
                         f"line: {exc}") from None
    values = {"IMAGE": image_name, "NAME": name}
    out = []
    for word in words:
        if word in values:
            out.append(values[word])
            continue
        for key, value in values.items():
            word = word.replace("${" + key + "}", value).replace("$" + key, value)
        out.append(word)
    if out and out[0] in ("podman", "docker"):
        out[0] = _pdman()
    return out + list(options.args), values


def runlabel(ctx: EngineContext, options: RunlabelOptions) -> int:
    """Run the label's command; its exit status (--display: print it, run nothing)."""
    import subprocess
    import sys

    argv, values = command(ctx, options)
    if options.display:
        shown = ["podman" if a == _pdman() and i == 0 else a for i, a in enumerate(argv)]
        print("command: " + " ".join(shown))
        return 0
    if options.replace:
        from pdman.engine import containers
        from pdman.errors import ContainerNotFound

        try:
            containers.remove(ctx, containers.RemoveOptions(name=values["NAME"], force=True))
        except ContainerNotFound:
            pass
    sys.stdout.flush()
    env = {**os.environ, **values}
    try:
        code = subprocess.call(argv, env=env)
    except OSError as exc:
        raise UsageError(f"`{' '.join(argv)}` failed: {exc.strerror}") from None
    if code != 0:
        print(f"Error: `{' '.join(argv)}` failed: exit status {code}", file=sys.stderr)
        return 125
    return 0


__all__ = ["RunlabelOptions", "command", "runlabel"]
