"""Handlers of the image commands."""

from __future__ import annotations

from pdman.cli.globalopts import GlobalOptions
from pdman.cli.handlers.common import each

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _created_ago(created: str) -> str:
    from pdman.cli.humanize import ago, iso_timestamp

    try:
        ts = iso_timestamp(created)
    except ValueError:
        return "unknown"
    return ago(ts)


_IMAGE_SORT = {"id": (lambda r: r.ID, False), "repository": (lambda r: r.Repository, False),
               "tag": (lambda r: r.Tag, False), "size": (lambda r: r.Size, False),
               "created": (lambda r: r.Created, True)}


def images(g: GlobalOptions, all: bool, quiet: bool, no_trunc: bool, digests: bool,
           filter: list[str] | None, format: str | None, name: str | None = None,
           noheading: bool = False, sort: str = "created", history: bool = False) -> int:
    from pdman.cli import output
    from pdman.cli.humanize import size
    from pdman.engine.images import list_images
    from pdman.entities.images import ListImagesOptions

    from pdman.errors import UsageError

    if sort not in _IMAGE_SORT:
        raise UsageError(f"invalid option for --sort, options are: created, id, repository, "
                         f"size, or tag: {sort!r}")
    if name:  # `images NAME` is podman's short for --filter reference=NAME
        filter = [*(filter or []), f"reference={name}"]
    ctx = g.context()
    rows = list_images(ctx, ListImagesOptions(all=all, filters=tuple(filter or ())))
    if filter:
        from pdman.engine.images import filter_images

        rows = filter_images(ctx, rows, tuple(filter))

    key, newest_first = _IMAGE_SORT[sort]
    rows = sorted(rows, key=key, reverse=newest_first)

    def short(image_id: str) -> str:
        return "sha256:" + image_id if no_trunc else image_id[:12]

    if quiet:
        for image_id in dict.fromkeys(r.ID for r in rows):
            print(short(image_id))
        return 0
    if format == "json":
        seen: dict[str, dict[str, object]] = {}
        for r in rows:
            seen.setdefault(r.ID, {"Id": r.ID, "Names": r.Names, "Digest": r.Digest,
                                   "History": r.History,
                                   "Created": r.Created, "Size": r.Size,
                                   "SharedSize": r.SharedSize, "Containers": r.Containers,
                                   "Labels": r.Labels})
        output.print_json(list(seen.values()))
        return 0
    if format:
        output.print_formatted(format, [{**r.__dict__, "ID": short(r.ID),
                                         "CreatedSince": _created_ago(r.Created),
                                         "History": ", ".join(r.History),
                                         "Size": size(r.Size)} for r in rows],
                              header=not noheading,
                              headers={"ID": "IMAGE ID", "CreatedSince": "CREATED"})
        return 0
    header = ["REPOSITORY", "TAG"] + (["DIGEST"] if digests else []) + ["IMAGE ID", "CREATED", "SIZE"]
    output.print_table(header + (["HISTORY"] if history else []), [
        [r.Repository, r.Tag] + ([r.Digest] if digests else [])
        + [short(r.ID), _created_ago(r.Created), size(r.Size)]
        + ([", ".join(r.History)] if history else []) for r in rows],
        header=not noheading)
    return 0



def pull(g: GlobalOptions, image: str, platform: str | None, arch: str | None,
         os: str | None, variant: str | None, tls_verify: str | None, quiet: bool,
         creds: str | None, authfile: str | None, cert_dir: str | None = None,
         all_tags: bool = False) -> int:
    from pdman.cli.handlers.containers import _tls

    import sys

    from pdman.cli.pull_progress import pull_progress
    from pdman.cli.shortname_prompt import terminal_chooser
    from pdman.engine.images import pull as engine_pull
    from pdman.entities.images import PullOptions

    ctx = g.context()

    def options(ref: str) -> PullOptions:
        return PullOptions(
            reference=ref, platform=platform or "", os=os or "", arch=arch or "",
            variant=variant or "", tls_verify=_tls(tls_verify), creds=creds or "",
            authfile=authfile or "", quiet=quiet, choose_registry=terminal_chooser(),
            cert_dir=cert_dir or "")

    refs = [image]
    if all_tags:
        from pdman.image.pull import repository_tags

        refs = repository_tags(ctx, options(image))
    for ref in refs:
        with pull_progress(quiet) as sink:
            o = options(ref)
            o.progress = sink
            report = engine_pull(ctx, o)
        if quiet:
            for w in report.warnings:
                print(f"WARNING: {w}", file=sys.stderr)
        print(report.image_id)
    return 0


def inspect(g: GlobalOptions, images: list[str], format: str | None) -> int:
    from pdman.cli import output
    from pdman.engine.images import inspect_image

    ctx = g.context()
    docs: list[dict[str, object]] = []
    code = each(images, lambda name: docs.append(inspect_image(ctx, name)))
    if format and format != "json":
        output.print_formatted(format, docs)
    else:
        output.print_json(docs)
    return code


def tag(g: GlobalOptions, image: str, targets: list[str]) -> int:
    from pdman.engine.images import tag_image

    tag_image(g.context(), image, targets)
    return 0


def untag(g: GlobalOptions, image: str, names: list[str] | None) -> int:
    from pdman.engine.images import untag_image

    untag_image(g.context(), image, list(names or []))
    return 0


def rmi(g: GlobalOptions, images: list[str] | None, all: bool, force: bool,
        ignore: bool, no_prune: bool = False) -> int:
    import sys

    from pdman.engine.image_removal import remove_images
    from pdman.entities.images import RemoveImagesOptions
    from pdman.errors import UsageError

    if not images and not all:
        raise UsageError("image name or ID must be specified", hint="pdman rmi IMAGE, or --all")
    if images and all:
        raise UsageError("when using the --all switch, you may not pass any images names "
                         "or IDs", hint="drop either --all or the names")
    report = remove_images(g.context(), RemoveImagesOptions(tuple(images or ()), all, force, ignore))
    for name in report.untagged:
        print(f"Untagged: {name}")
    for image_id in report.deleted:
        print(f"Deleted: {image_id}")
    for err in report.errors:
        print(f"Error: {err}", file=sys.stderr)
    return report.exit_code


def history(g: GlobalOptions, image: str, no_trunc: bool, quiet: bool, human: bool,
            format: str | None) -> int:
    from pdman.cli import output
    from pdman.cli.humanize import size
    from pdman.engine.images import history as engine_history

    rows = engine_history(g.context(), image)

    def ident(i: str) -> str:
        return i if i == "<missing>" or no_trunc else i[:12]

    if quiet:
        for r in rows:
            print(ident(r.ID))
        return 0
    if format == "json":
        output.print_json([r.__dict__ for r in rows])
        return 0

    def created(r: "Any") -> str:
        return _created_ago(r.Created) if human else r.Created

    if format:
        output.print_formatted(format, [
            {**r.__dict__, "ID": ident(r.ID), "CreatedSince": created(r),
             "CreatedAt": r.Created, "Size": size(r.Size) if human else str(r.Size)}
            for r in rows])
        return 0

    def by(text: str) -> str:
        text = " ".join(text.split())
        if no_trunc or len(text) <= 45:
            return text
        return text[:42] + "..."

    output.print_table(["ID", "CREATED", "CREATED BY", "SIZE", "COMMENT"], [
        [ident(r.ID), created(r), by(r.CreatedBy), size(r.Size) if human else str(r.Size),
         r.Comment] for r in rows])
    return 0


def tree(g: GlobalOptions, image: str, format: str | None, whatrequires: bool = False) -> int:
    from pdman.cli import output
    from pdman.cli.humanize import size
    from pdman.engine.images import image_tree

    doc = image_tree(g.context(), image, whatrequires=whatrequires)
    if format == "json":
        output.print_json(doc)
        return 0
    if format:
        output.print_formatted(format, [doc])
        return 0
    lines = [f"Image ID: {doc['ID'][:12]}",
             f"Tags:     [{' '.join(doc['Names'])}]",
             f"Size:     {size(doc['Size'])}",
             "Image Layers"]
    layers = doc["Layers"]
    if whatrequires:
        print("\n".join(lines + _required_by(doc)))
        return 0
    for i, layer in enumerate(layers):
        branch = "└── " if i == len(layers) - 1 else "├── "
        shared = ""
        if layer["SharedWith"]:
            who = ", ".join((u["Names"] or [u["ID"][:12]])[0] for u in layer["SharedWith"])
            shared = f"  shared with: {who}"
        lines.append(f"{branch}ID: {layer['DiffID'].partition(':')[2][:12]} "
                     f"Size: {size(layer['Size'])}{shared}")
    print("\n".join(lines))
    return 0


def _required_by(doc: "dict[str, Any]") -> list[str]:
    """`image tree --whatrequires`: the image's top layer, and under it each image built
    on it with the layers it adds (podman's layout)."""
    from pdman.cli.humanize import size

    def layer_line(layer: "dict[str, Any]") -> str:
        return f"ID: {layer['DiffID'].partition(':')[2][:12]} Size: {size(layer['Size'])}"

    if not doc["Layers"]:
        return []
    top = doc["Layers"][-1]
    lines = [f"└── {layer_line(top)} Top Layer of: [{' '.join(doc['Names'])}]"]
    children = doc["RequiredBy"]
    for i, child in enumerate(children):
        last_child = i == len(children) - 1
        lead = "    " + ("└── " if last_child else "├── ")
        more = "    " + ("    " if last_child else "│   ")
        tag = " ".join(child["Names"]) or child["ID"][:12]
        added = child["Layers"]
        for j, layer in enumerate(added):
            mark = f" Top Layer of: [{tag}]" if j == len(added) - 1 else ""
            lines.append((lead if j == 0 else more) + layer_line(layer) + mark)
    return lines


def prune(g: GlobalOptions, all: bool, force: bool, filter: list[str] | None,
          external: bool = False) -> int:
    import sys

    from pdman.cli.humanize import size
    from pdman.engine.image_removal import prune_images
    from pdman.entities.images import PruneImagesOptions

    if not force:
        what = ("all images not used by any container" if all else "all dangling images")
        sys.stderr.write(f"WARNING! This command removes {what}.\n"
                         "Are you sure you want to continue? [y/N] ")
        sys.stderr.flush()
        answer = sys.stdin.readline().strip().lower()
        if answer not in ("y", "yes"):
            return 0
    report = prune_images(g.context(), PruneImagesOptions(all, tuple(filter or ())))
    for image_id in report.deleted:
        print(image_id)
    if report.deleted:
        print(f"Total reclaimed space: {size(report.reclaimed)}", file=sys.stderr)
    return 0


def system_df(g: GlobalOptions, format: str | None, verbose: bool = False) -> int:
    from pdman.cli import output
    from pdman.cli.humanize import size
    from pdman.engine.image_removal import disk_usage

    if verbose:
        return _system_df_verbose(g)
    rows = disk_usage(g.context())
    if format == "json":
        output.print_json([r.__dict__ for r in rows])
        return 0

    def reclaim(r: "Any") -> str:
        pct = round(100 * r.Reclaimable / r.Size) if r.Size else 0
        return f"{size(r.Reclaimable)} ({pct}%)"

    if format:
        output.print_formatted(format, [{**r.__dict__, "Size": size(r.Size),
                                         "Reclaimable": reclaim(r)} for r in rows])
        return 0
    output.print_table(["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"], [
        [r.Type, str(r.Total), str(r.Active), size(r.Size), reclaim(r)] for r in rows])
    return 0


def _df_size(n: float) -> str:
    """`system df -v`'s sizes: 4 significant digits, no space (`2.142MB`, `12B`)."""
    units = ["B", "kB", "MB", "GB", "TB"]
    i = 0
    while n >= 1000 and i < len(units) - 1:
        n, i = n / 1000.0, i + 1
    return f"{n:.4g}{units[i]}"


def _system_df_verbose(g: GlobalOptions) -> int:
    """podman's three tables, in its words; like podman's, they ignore --format."""
    import time

    from pdman.cli import output
    from pdman.cli.humanize import duration
    from pdman.engine.disk_usage import verbose

    doc = verbose(g.context())

    def since(created: "str | float") -> str:
        if isinstance(created, str):
            try:
                from pdman.cli.humanize import iso_timestamp

                created = iso_timestamp(created)
            except ValueError:
                return "unknown"
        return duration(time.time() - created)

    def command(argv: "list[str]") -> str:
        text = " ".join(argv)
        return text if len(text) <= 20 else text[:17] + "..."

    print("Images space usage:\n")
    output.print_table(
        ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE", "SHARED SIZE", "UNIQUE SIZE",
         "CONTAINERS"],
        [[i["Repository"], i["Tag"], i["ImageID"][:12], since(i["Created"]), _df_size(i["Size"]),
          _df_size(i["SharedSize"]), _df_size(i["UniqueSize"]), str(i["Containers"])]
         for i in doc["Images"]])
    print("\nContainers space usage:\n")
    output.print_table(
        ["CONTAINER ID", "IMAGE", "COMMAND", "LOCAL VOLUMES", "SIZE", "CREATED", "STATUS",
         "NAMES"],
        [[c["ContainerID"][:12], c["Image"][:12], command(c["Command"]), str(c["LocalVolumes"]),
          _df_size(c["Size"]), since(c["Created"]), c["Status"], c["Names"]]
         for c in doc["Containers"]])
    print("\nLocal Volumes space usage:\n")
    output.print_table(["VOLUME NAME", "LINKS", "SIZE"],
                       [[v["VolumeName"], str(v["Links"]), _df_size(v["Size"])]
                        for v in doc["Volumes"]])
    return 0


def login(g: GlobalOptions, registry: str, username: str | None, password: str | None,
          password_stdin: bool, get_login: bool, tls_verify: str | None,
          authfile: str | None, cert_dir: str | None = None, verbose: bool = False) -> int:
    from pdman.cli.handlers.containers import _tls

    import sys

    from pdman.engine import logins
    from pdman.entities.images import LoginOptions
    from pdman.errors import UsageError

    if get_login:
        print(logins.get_login(registry, authfile or ""))
        return 0
    if password_stdin:
        if password:
            raise UsageError("--password and --password-stdin are mutually exclusive",
                             hint="give the password one way")
        password = sys.stdin.readline().rstrip("\n")
    if not username:
        if not sys.stdin.isatty():
            raise UsageError("no --username given and no terminal to ask on",
                             hint="pass --username USER --password-stdin")
        username = input("Username: ")
    if password is None:
        import getpass

        password = getpass.getpass("Password: ")
    path = logins.login(LoginOptions(registry, username, password, _tls(tls_verify),
                                     authfile or "", cert_dir or ""))
    if verbose:
        print(f"Used: {path}")
    print("Login Succeeded!")
    return 0


def logout(g: GlobalOptions, registry: str | None, all: bool, authfile: str | None) -> int:
    from pdman.engine import logins
    from pdman.errors import UsageError

    if not registry and not all:
        raise UsageError("registry must be given", hint="pdman logout REGISTRY, or --all")
    names = logins.logout(registry or "", all, authfile or "")
    if all:
        print("Removed login credentials for all registries")
    else:
        print(f"Removed login credentials for {names[0]}")
    return 0


def exists(g: GlobalOptions, image: str) -> int:
    from pdman.engine.images import resolve_image
    from pdman.errors import ImageNotFound

    try:
        resolve_image(g.context(), image)
    except ImageNotFound:
        return 1
    return 0


def search(g: GlobalOptions, term: str, limit: int, filter: list[str] | None,
           format: str | None, list_tags: bool, no_trunc: bool, compatible: bool,
           tls_verify: str | None, authfile: str | None) -> int:
    from pdman.cli import output
    from pdman.cli.handlers.containers import _tls
    from pdman.engine import search as engine

    rows = engine.search(engine.SearchOptions(
        term=term, limit=limit, filters=tuple(filter or ()), list_tags=list_tags,
        tls_verify=_tls(tls_verify), authfile=authfile or ""))
    if format == "json":
        output.print_json([dict(vars(r)) for r in rows])
        return 0
    if format:
        output.print_formatted(format, [dict(vars(r)) for r in rows])
        return 0
    if list_tags:
        output.print_table(["NAME", "TAG"], [[r.Name, r.Tag] for r in rows])
        return 0
    desc = (lambda d: d) if no_trunc else (lambda d: d if len(d) <= 44 else d[:41] + "...")
    if compatible:
        output.print_table(["NAME", "DESCRIPTION", "STARS", "OFFICIAL", "AUTOMATED"],
                           [[r.Name, desc(r.Description), str(r.Stars), r.Official,
                             r.Automated] for r in rows])
    else:
        output.print_table(["NAME", "DESCRIPTION"], [[r.Name, desc(r.Description)]
                                                     for r in rows])
    return 0
