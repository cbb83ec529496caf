"""Declaration: `build` (also `image build` and `buildx build`)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from pdman.cli import groups
from pdman.cli.decl import handled_by


@handled_by("build.build")
def build(
    context: Annotated[Optional[str], typer.Argument(
        help="The build context: a directory, - for a tar archive on stdin, an http(s) URL "
             "of a tar archive (or of a lone Containerfile), or a git repository "
             "(git://..., https://....git, github.com/...; URL#REF:SUBDIR picks a branch or "
             "tag and a directory) (default: the current directory).")] = None,
    file: Annotated[Optional[str], typer.Option(
        "--file", "-f", help="The Containerfile (default: Containerfile, else Dockerfile, in "
                             "the context); - reads it from stdin.")] = None,
    tag: Annotated[Optional[list[str]], typer.Option(
        "--tag", "-t", help="Name the image NAME[:TAG] (repeatable).")] = None,
    build_arg: Annotated[Optional[list[str]], typer.Option(
        "--build-arg", metavar="KEY=VALUE",
        help="Set a build argument (an ARG of the Containerfile); KEY alone takes the "
             "value of the environment variable KEY.")] = None,
    target: Annotated[Optional[str], typer.Option(
        "--target", help="Build up to this stage (FROM ... AS NAME); stages it does not "
                         "need are not built.")] = None,
    no_cache: Annotated[bool, typer.Option(
        "--no-cache", help="Do not reuse cached steps (the results are still cached).")] = False,
    layers: Annotated[bool, typer.Option(
        "--layers/--no-layers",
        help="Use and keep the layer cache (default); --no-layers disables it.")] = True,
    pull: Annotated[Optional[str], typer.Option(
        "--pull", metavar="POLICY",
        help="Pull the base images: missing (default), always, never, or newer.")] = None,
    pull_always: Annotated[bool, typer.Option(
        "--pull-always", help="Always pull the base images, even when present.")] = False,
    pull_never: Annotated[bool, typer.Option(
        "--pull-never", help="Never pull: base images must be present locally.")] = False,
    quiet: Annotated[bool, typer.Option(
        "--quiet", "-q", help="Print only the image ID (no steps, no RUN output).")] = False,
    iidfile: Annotated[Optional[str], typer.Option(
        "--iidfile", help="Write the image ID (sha256:...) to this file.")] = None,
    label: Annotated[Optional[list[str]], typer.Option(
        "--label", metavar="KEY=VALUE", help="Add a label to the image (repeatable).")] = None,
    timestamp: Annotated[Optional[int], typer.Option(
        "--timestamp", metavar="SECONDS",
        help="Set created times and file mtimes of new layers to this Unix time: the same "
             "inputs give the same image ID.")] = None,
    network: Annotated[Optional[str], typer.Option(
        "--network", help="The network of RUN steps: the default backend, none or host.")] = None,
    squash: Annotated[bool, typer.Option(
        "--squash", help="Merge the layers the final stage adds into one (its base's "
                         "layers are kept).")] = False,
    squash_all: Annotated[bool, typer.Option(
        "--squash-all", help="Merge every layer of the image, its base's too, into one.")] = False,
    secret: Annotated[Optional[list[str]], typer.Option(
        "--secret", metavar="id=ID,src=FILE",
        help="Give RUN --mount=type=secret,id=ID this file (src=FILE) or environment "
             "variable (env=NAME); it is mounted at /run/secrets/ID for that step only, "
             "never stored in the image or its cache key.")] = None,
    rm: Annotated[bool, typer.Option(
        "--rm/--no-rm", help="Remove the containers of RUN steps (always done; accepted "
                             "for compatibility).")] = True,
) -> None:
    """Build an image from a Containerfile (or Dockerfile) and a context directory:
    multi-stage, with a layer cache. Prints the new image ID."""


groups.register(build, (groups.top, "build"), (groups.image, "build"), (groups.buildx, "build"))
