"""Declarations: image commands (`images`, `pull`, `rmi`, `tag`, `history`, `image ...`,
`system df`)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from pdman.cli import groups
from pdman.cli.decl import handled_by
from pdman.cli.options import Filter, Format, NoTrunc, Quiet


@handled_by("images.images")
def images(
    all: Annotated[bool, typer.Option("--all", "-a", help="Show all images (default hides intermediate images).")] = False,
    quiet: Quiet = False,
    no_trunc: NoTrunc = False,
    digests: Annotated[bool, typer.Option("--digests", help="Show the manifest digests.")] = False,
    filter: Filter = None,
    format: Format = None,
    name: Annotated[Optional[str], typer.Argument(
        help="Only images of this name (REPOSITORY[:TAG]), as `--filter reference=NAME`.")] = None,
    noheading: Annotated[bool, typer.Option("--noheading", "-n", help="Print no header row.")] = False,
    sort: Annotated[str, typer.Option(
        "--sort", help="Sort by: created (default, newest first), id, repository, size, tag.")] = "created",
    history: Annotated[bool, typer.Option(
        "--history", help="Add the HISTORY column: the image's names, the latest first "
                          "(podman's names history; pdman keeps no record of names an "
                          "image lost).")] = False,
) -> None:
    """List images in local storage. Columns: REPOSITORY, TAG, IMAGE ID, CREATED, SIZE."""


groups.register(images, (groups.top, "images"), (groups.image, "ls"), (groups.image, "list"))


# podman's boolean (`--tls-verify=false` rewritten by cli/fast.bool_values); None when
# not given, so that registries.conf decides
TlsVerify = Annotated[Optional[bool], typer.Option(
    "--tls-verify/--no-tls-verify", show_default=False,
    help="Require HTTPS and verify certificates (default: true unless registries.conf marks "
         "the registry insecure). `--tls-verify=false` allows plain HTTP.")]
Authfile = Annotated[Optional[str], typer.Option(
    "--authfile", help="Path of the credentials file (default: REGISTRY_AUTH_FILE, else "
                       "$XDG_RUNTIME_DIR/containers/auth.json).")]
Creds = Annotated[Optional[str], typer.Option(
    "--creds", metavar="USER[:PASSWORD]", help="Credentials for the registry.")]
CertDir = Annotated[Optional[str], typer.Option(
    "--cert-dir", help="Use the certificates (*.crt CA files) in this directory for the "
                       "registry, instead of its certs.d directories.")]


@handled_by("images.pull")
def pull(
    image: Annotated[str, typer.Argument(help="Image reference, e.g. nginx or registry:5000/app:1.0.")],
    platform: Annotated[Optional[str], typer.Option(
        "--platform", help="Pick this platform from a multi-platform image: OS/ARCH[/VARIANT].")] = None,
    arch: Annotated[Optional[str], typer.Option("--arch", help="Architecture to pull (default: the host's).")] = None,
    os: Annotated[Optional[str], typer.Option("--os", help="Operating system to pull (default: linux).")] = None,
    variant: Annotated[Optional[str], typer.Option("--variant", help="Architecture variant, e.g. v7 or v8.")] = None,
    tls_verify: TlsVerify = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print no progress, only the image ID.")] = False,
    creds: Creds = None,
    authfile: Authfile = None,
    cert_dir: CertDir = None,
    all_tags: Annotated[bool, typer.Option(
        "--all-tags", "-a", help="Pull every tag of the repository (name it without a "
                                 "tag).")] = False,
) -> None:
    """Pull an image from a registry: manifest, config and layers, each verified against
    its digest; layers already stored are reused. Prints the image ID.

    A short name (nginx) resolves through registries.conf: an alias, else the only
    search registry; with several, short-name-mode decides -- enforcing (the default)
    asks on a terminal and records the answer in
    ~/.config/containers/short-name-aliases.conf, and fails without one; permissive
    then tries them in order; disabled always does."""


groups.register(pull, (groups.top, "pull"), (groups.image, "pull"))


@handled_by("images.inspect")
def inspect(
    images: Annotated[list[str], typer.Argument(help="Images to inspect (names or IDs).")],
    format: Format = None,
) -> None:
    """Show the low-level description of images as JSON (podman's fields: Id, Digest,
    RepoTags, RepoDigests, Created, Config, Architecture, Os, Size, RootFS, History)."""


groups.register(inspect, (groups.image, "inspect"))


@handled_by("images.exists")
def exists(image: Annotated[str, typer.Argument(help="Image name or ID.")]) -> None:
    """Exit 0 if the image is in local storage, 1 if not."""


groups.register(exists, (groups.image, "exists"))


@handled_by("images.tag")
def tag(
    image: Annotated[str, typer.Argument(help="The image to name (name or ID).")],
    targets: Annotated[list[str], typer.Argument(help="New names, NAME[:TAG]; short names go to localhost/.")],
) -> None:
    """Add one or more names to a local image."""


groups.register(tag, (groups.top, "tag"), (groups.image, "tag"))


@handled_by("images.untag")
def untag(
    image: Annotated[str, typer.Argument(help="The image (name or ID).")],
    names: Annotated[Optional[list[str]], typer.Argument(help="Names to remove (default: all).")] = None,
) -> None:
    """Remove names from a local image (the image itself stays)."""


groups.register(untag, (groups.top, "untag"), (groups.image, "untag"))


@handled_by("images.rmi")
def rmi(
    images: Annotated[Optional[list[str]], typer.Argument(help="Images to remove (names or IDs).")] = None,
    all: Annotated[bool, typer.Option("--all", "-a", help="Remove all images.")] = False,
    force: Annotated[bool, typer.Option(
        "--force", "-f", help="Also remove images used by containers (and those containers), "
                              "and images named by ID that have several tags.")] = False,
    ignore: Annotated[bool, typer.Option("--ignore", "-i", help="Ignore images that do not exist.")] = False,
    no_prune: Annotated[bool, typer.Option(
        "--no-prune", help="Keep the image's dangling parent images: pdman's rmi always "
                           "does (remove them with `image prune`).")] = False,
) -> None:
    """Remove images. A name that is one of several tags of an image is only untagged;
    layers shared with other images stay. Exit code 1: an image was not found; 2: an
    image is in use by a container."""


groups.register(rmi, (groups.top, "rmi"), (groups.image, "rm"))


@handled_by("images.history")
def history(
    image: Annotated[str, typer.Argument(help="The image (name or ID).")],
    no_trunc: NoTrunc = False,
    quiet: Quiet = False,
    human: Annotated[bool, typer.Option("--human/--no-human", "-H", help="Sizes and dates in human-readable form.")] = True,
    format: Format = None,
) -> None:
    """Show how an image was built: one row per history entry, newest first. Columns:
    ID, CREATED, CREATED BY, SIZE, COMMENT."""


groups.register(history, (groups.top, "history"), (groups.image, "history"))


@handled_by("images.tree")
def tree(
    image: Annotated[str, typer.Argument(help="The image (name or ID).")],
    format: Format = None,
    whatrequires: Annotated[bool, typer.Option(
        "--whatrequires", help="Show the images built on it instead: under its top layer, "
                               "each image whose layers start with all of its own, with the "
                               "layers it adds (JSON: RequiredBy).")] = False,
) -> None:
    """Show an image's layers, bottom first, and which other images share each one."""


groups.register(tree, (groups.image, "tree"))


@handled_by("images.prune")
def prune(
    all: Annotated[bool, typer.Option("--all", "-a", help="Remove every image no container uses, not only dangling ones.")] = False,
    force: Annotated[bool, typer.Option("--force", "-f", help="Do not ask for confirmation.")] = False,
    filter: Filter = None,
    external: Annotated[bool, typer.Option(
        "--external", help="Also images used only by other tools' containers: pdman's store "
                           "holds only its own containers, so this changes nothing.")] = False,
) -> None:
    """Remove dangling images (those without a name), or with --all every image no
    container uses. Prints the IDs removed."""


groups.register(prune, (groups.image, "prune"))


@handled_by("images.system_df")
def df(
    format: Format = None,
    verbose: Annotated[bool, typer.Option(
        "--verbose", "-v", help="Show podman's three tables instead: each image (size, "
                                "shared and unique sizes, containers), each container "
                                "(local volumes, writable layer size, status) and each "
                                "local volume (links, size); --format does not apply.")] = False,
) -> None:
    """Show disk use: images (shared layers counted once), containers and volumes.
    Columns: TYPE, TOTAL, ACTIVE, SIZE, RECLAIMABLE."""


groups.register(df, (groups.system, "df"))


@handled_by("images.login")
def login(
    registry: Annotated[str, typer.Argument(help="The registry, e.g. quay.io or 127.0.0.1:5000.")],
    username: Annotated[Optional[str], typer.Option("--username", "-u", help="User name (asked for when omitted).")] = None,
    password: Annotated[Optional[str], typer.Option("--password", "-p", help="Password (prefer --password-stdin).")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from standard input.")] = False,
    get_login: Annotated[bool, typer.Option("--get-login", help="Print the user name stored for the registry.")] = False,
    tls_verify: TlsVerify = None,
    authfile: Authfile = None,
    cert_dir: CertDir = None,
    verbose: Annotated[bool, typer.Option(
        "--verbose", "-v", help="Also print the credentials file used.")] = False,
) -> None:
    """Log in to a registry: the credentials are checked with it, then stored (0600) in the
    containers auth.json that pull uses."""


groups.register(login, (groups.top, "login"))


@handled_by("images.logout")
def logout(
    registry: Annotated[Optional[str], typer.Argument(help="The registry to forget.")] = None,
    all: Annotated[bool, typer.Option("--all", "-a", help="Forget every stored login.")] = False,
    authfile: Authfile = None,
) -> None:
    """Remove the stored credentials of a registry (or all of them)."""


groups.register(logout, (groups.top, "logout"))


@handled_by("images.search")
def search(
    term: Annotated[str, typer.Argument(
        help="REGISTRY/TERM (REGISTRY/: every repository it lists), or a bare TERM (the "
             "unqualified-search registries of registries.conf).")],
    limit: Annotated[int, typer.Option("--limit", help="At most this many results per "
                                                       "registry (default 25).")] = 0,
    filter: Annotated[Optional[list[str]], typer.Option(
        "--filter", "-f", help="stars=N, is-official, is-automated (a v2 registry's "
                               "repositories have no stars and are neither).")] = None,
    format: Annotated[Optional[str], typer.Option(
        "--format", help="json, or a Go template ({{.Index}}, {{.Name}}, {{.Description}}, "
                         "{{.Stars}}, {{.Official}}, {{.Automated}}, {{.Tag}}).")] = None,
    list_tags: Annotated[bool, typer.Option(
        "--list-tags", help="List the tags of the image REGISTRY/NAME.")] = False,
    no_trunc: Annotated[bool, typer.Option("--no-trunc", help="Do not truncate the "
                                                              "description.")] = False,
    compatible: Annotated[bool, typer.Option(
        "--compatible", help="Add docker's STARS, OFFICIAL and AUTOMATED columns.")] = False,
    tls_verify: TlsVerify = None,
    authfile: Authfile = None,
) -> None:
    """Search a registry for images: the repositories its /v2/_catalog lists whose name
    contains TERM. Columns: NAME, DESCRIPTION (--list-tags: NAME, TAG)."""


groups.register(search, (groups.top, "search"), (groups.image, "search"))
