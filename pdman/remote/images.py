"""Remote handlers of the image verbs (Docker API /images/...)."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

import sys

from pdman.errors import ImageNotFound, PdmanError, RegistryError, RemoteError, UsageError
from pdman.remote.client import Client
from pdman.remote.common import each_name, filters_param, refuse_unsupported, short_id


def pull_stream(c: Client, image: str, quiet: bool, platform: str | None = None) -> str:
    """POST /images/create and follow docker's JSON progress; the image ID at the end.
    Progress lines go to stderr (as a local pull's), one per status change."""
    params = {"fromImage": image}
    if platform:
        params["platform"] = platform
    last = ""
    for msg in c.json_lines("POST", "/images/create", "image", params=params):
        if msg.get("error") or msg.get("errorDetail"):
            text = msg.get("error") or (msg.get("errorDetail") or {}).get("message", "")
            raise RegistryError(f"pulling {image}: {text}")
        if quiet:
            continue
        line = " ".join(str(msg[k]) for k in ("id", "status") if msg.get(k))
        if line and line != last and not msg.get("progressDetail", {}).get("current"):
            print(line, file=sys.stderr)
            last = line
    doc = c.json("GET", f"/images/{image}/json", "image")
    return str(doc["Id"]).removeprefix("sha256:")


def pull(c: Client, image: str, platform: str | None, arch: str | None, os: str | None,
         variant: str | None, tls_verify: str | None, quiet: bool, creds: str | None,
         authfile: str | None, **rest: Any) -> int:
    refuse_unsupported("pull", rest, set())
    for opt, value in (("--tls-verify", tls_verify), ("--creds", creds),
                       ("--authfile", authfile)):
        if value is not None:
            raise RemoteError(f"`pull {opt}` is not supported through a remote connection",
                              hint="the service's own registries.conf and logins apply")
    if not platform and (arch or os or variant):
        platform = "/".join(x for x in (os or "linux", arch or "amd64", variant) if x)
    print(pull_stream(c, image, quiet, platform))
    return 0


def _rows(c: Client, all: bool, filter: "list[str] | None") -> list[dict[str, Any]]:
    rows = []
    for img in c.json("GET", "/images/json", params={"all": "1" if all else "0",
                                                     **filters_param(filter)}):
        tags = [t for t in img.get("RepoTags") or [] if t != "<none>:<none>"] or ["<none>:<none>"]
        digest = next(iter(img.get("RepoDigests") or []), "")
        for t in tags:
            repo, _, tag = t.rpartition(":")
            if "/" in tag:  # a registry port, no tag
                repo, tag = t, "<none>"
            rows.append({"ID": img["Id"].removeprefix("sha256:"), "Repository": repo,
                         "Tag": tag, "Digest": digest.partition("@")[2],
                         "Created": int(img.get("Created") or 0), "Size": int(img.get("Size") or 0),
                         "Labels": img.get("Labels") or {},
                         "Containers": int(img.get("Containers") or 0)})
    return rows


_IMAGE_SORT = {"id": ("ID", False), "repository": ("Repository", False), "tag": ("Tag", False),
               "size": ("Size", False), "created": ("Created", True)}


def images(c: Client, all: bool, quiet: bool, no_trunc: bool, digests: bool,
           filter: "list[str] | None", format: str | None, name: str | None = None,
           noheading: bool = False, sort: str = "created", **rest: Any) -> int:
    from pdman.cli import output
    from pdman.cli.humanize import ago, size

    refuse_unsupported("images", rest, set())
    if sort not in _IMAGE_SORT:
        raise UsageError(f"invalid option for --sort, options are: created, id, repository, "
                         f"size, or tag: {sort!r}")
    if name:
        filter = [*(filter or []), f"reference={name}"]
    key, newest_first = _IMAGE_SORT[sort]
    rows = sorted(_rows(c, all, filter), key=lambda r: r[key], reverse=newest_first)

    def sid(i: str) -> str:
        return "sha256:" + i if no_trunc else i[:12]

    if quiet:
        for i in dict.fromkeys(r["ID"] for r in rows):
            print(sid(i))
        return 0
    if format == "json":
        output.print_json(rows)
        return 0
    if format:
        output.print_formatted(format, [{**r, "ID": sid(r["ID"]), "CreatedSince": ago(r["Created"]),
                                         "Size": size(r["Size"])} for r in rows],
                               header=not noheading,
                               headers={"ID": "IMAGE ID", "CreatedSince": "CREATED"})
        return 0
    header = ["REPOSITORY", "TAG"] + (["DIGEST"] if digests else []) + ["IMAGE ID", "CREATED", "SIZE"]
    output.print_table(header, [
        [r["Repository"], r["Tag"]] + ([r["Digest"]] if digests else [])
        + [sid(r["ID"]), ago(r["Created"]), size(r["Size"])] for r in rows],
        header=not noheading)
    return 0


def inspect(c: Client, images: "list[str]", format: str | None, **rest: Any) -> int:
    from pdman.cli import output

    docs: list[Any] = []
    code = each_name(images, lambda n: docs.append(c.json("GET", f"/images/{n}/json", "image")))
    if format and format != "json":
        output.print_formatted(format, docs)
    else:
        output.print_json(docs)
    return code


def exists(c: Client, image: str) -> int:
    try:
        c.json("GET", f"/images/{image}/json", "image")
    except ImageNotFound:
        return 1
    return 0


def tag(c: Client, image: str, targets: "list[str]") -> int:
    for t in targets:
        repo, _, tg = t.rpartition(":")
        if not repo or "/" in tg:
            repo, tg = t, "latest"
        c.request("POST", f"/images/{image}/tag", "image", params={"repo": repo, "tag": tg})
    return 0


def rmi(c: Client, images: "list[str] | None", all: bool, force: bool, ignore: bool,
        **rest: Any) -> int:
    refuse_unsupported("rmi", rest, set())
    if not images and not all:
        raise UsageError("image name or ID must be specified", hint="pdman rmi IMAGE, or --all")
    if images and all:
        raise UsageError("when using the --all switch, you may not pass any images names "
                         "or IDs", hint="drop either --all or the names")
    if all:
        images = list(dict.fromkeys(r["ID"] for r in _rows(c, True, None)))
    code = 0
    for name in images or []:
        try:
            for item in c.json("DELETE", f"/images/{name}", "image",
                               params={"force": "1" if force else "0"}) or []:
                if item.get("Untagged"):
                    print(f"Untagged: {item['Untagged']}")
                if item.get("Deleted"):
                    print(f"Deleted: {str(item['Deleted']).removeprefix('sha256:')}")
        except ImageNotFound as exc:
            if ignore:
                continue
            print(f"Error: {exc.message}", file=sys.stderr)
            code = code or 1  # podman's rmi: 1 when an image did not exist
        except PdmanError as exc:
            print(f"Error: {exc.message}", file=sys.stderr)
            code = code or (2 if exc.http_status == 409 or "in use" in exc.message else 125)
    return code
