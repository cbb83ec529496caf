"""The Typer apps: `pdman` and its command groups, laid out like podman's.

Command modules declare a function once and `register` it under every name podman
users type (`pdman ps`, `pdman container ps`, `pdman container ls`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer

_SETTINGS: dict[str, Any] = {"help_option_names": ["-h", "--help"]}

top = typer.Typer(
    name="pdman",
    help="Rootless, daemonless container engine (podman-style).",
    context_settings=_SETTINGS,
    no_args_is_help=True,
    add_completion=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
container = typer.Typer(help="Manage containers.", context_settings=_SETTINGS, no_args_is_help=True)
image = typer.Typer(help="Manage images.", context_settings=_SETTINGS, no_args_is_help=True)
volume = typer.Typer(help="Manage volumes.", context_settings=_SETTINGS, no_args_is_help=True)
network = typer.Typer(help="Manage networks.", context_settings=_SETTINGS, no_args_is_help=True)
secret = typer.Typer(help="Manage secrets.", context_settings=_SETTINGS, no_args_is_help=True)
manifest = typer.Typer(help="Manage manifest lists (multi-platform images) and image indexes.",
                       context_settings=_SETTINGS, no_args_is_help=True)
pod = typer.Typer(help="Manage pods: containers that share namespaces and published ports.",
                  context_settings=_SETTINGS, no_args_is_help=True)
system = typer.Typer(help="Manage pdman itself: info, disk use, checks.",
                     context_settings=_SETTINGS, no_args_is_help=True)

healthcheck = typer.Typer(help="Manage healthchecks of containers.", context_settings=_SETTINGS,
                          no_args_is_help=True)
systemd = typer.Typer(help="systemd units from Quadlet files: the generator and its install.",
                      context_settings=_SETTINGS, no_args_is_help=True)
generate = typer.Typer(help="Generate structured data for containers and pods (systemd units, "
                            "Kubernetes YAML).",
                       context_settings=_SETTINGS, no_args_is_help=True)
kube = typer.Typer(help="Play Kubernetes YAML as pods, and write pods and containers as "
                        "Kubernetes YAML.", context_settings=_SETTINGS, no_args_is_help=True)
play = typer.Typer(help="Play structured data (Kubernetes YAML): `play kube` is `kube play`.",
                   context_settings=_SETTINGS, no_args_is_help=True)

buildx = typer.Typer(help="docker buildx compatibility: `buildx build` is `build`.",
                     context_settings=_SETTINGS, no_args_is_help=True)

top.add_typer(container, name="container")
top.add_typer(image, name="image")
top.add_typer(volume, name="volume")
top.add_typer(network, name="network")
top.add_typer(secret, name="secret")
top.add_typer(manifest, name="manifest")
top.add_typer(pod, name="pod")
top.add_typer(system, name="system")
top.add_typer(buildx, name="buildx")
top.add_typer(healthcheck, name="healthcheck")
top.add_typer(systemd, name="systemd")
top.add_typer(generate, name="generate")
top.add_typer(kube, name="kube")
top.add_typer(play, name="play")

#: (group app, name) pairs; `top` for top-level commands
Place = tuple[typer.Typer, str]

#: click context settings for commands whose trailing arguments belong to the
#: container (`run IMAGE CMD --flag`): option parsing stops at the first argument
STOP_AT_ARGS: dict[str, Any] = {"allow_interspersed_args": False}


def register(declaration: Callable[..., Any], *places: Place, stop_at_args: bool = False,
             h_is_option: bool = False) -> None:
    """Register under every name; `stop_at_args`: options end at the first argument (the
    image; what follows belongs to the container); `h_is_option`: `-h` is a command
    option (`run -h HOSTNAME`, as in podman), so only `--help` asks for help."""
    for app, name in places:
        settings = dict(_SETTINGS)
        if stop_at_args:
            settings.update(STOP_AT_ARGS)
        if h_is_option:
            settings["help_option_names"] = ["--help"]
        app.command(name, context_settings=settings)(declaration)
