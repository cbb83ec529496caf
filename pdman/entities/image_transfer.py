"""Options and reports of the image transfer verbs: push, save, load, commit, import."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class PushOptions:
    """`pdman push IMAGE [DEST]`; `format`: "" keeps the stored manifest (identical
    digests), "oci" or "v2s2" converts. `progress(line)` is told each step."""

    image: str
    destination: str = ""
    tls_verify: bool | None = None
    creds: str = ""
    authfile: str = ""
    format: str = ""
    progress: Callable[[str], None] | None = None
    cert_dir: str = ""


@dataclass
class PushReport:
    destination: str
    digest: str                              # manifest digest as the registry has it
    pushed: list[str] = field(default_factory=list)    # blob digests uploaded
    skipped: list[str] = field(default_factory=list)   # already in the registry


@dataclass
class SaveOptions:
    images: list[str]
    output: str                               # a file path; "-" for stdout
    format: str = "docker-archive"            # or "oci-archive"
    uncompressed: bool = False                # oci-archive: plain tar layers


@dataclass
class LoadOptions:
    input: str                                # a file path; "-" for stdin


@dataclass
class LoadReport:
    names: list[str]                          # "Loaded image: ..." lines (names or IDs)
    image_ids: list[str]


@dataclass
class CommitOptions:
    container: str
    image: str = ""
    message: str = ""
    author: str = ""
    changes: list[str] = field(default_factory=list)
    pause: bool = True
    format: str = "oci"                      # oci or docker: the manifest's media types
    include_volumes: bool = False            # the container's volume paths become VOLUMEs
    squash: bool = False                     # one layer: the image's and the container's
    iidfile: str = ""                        # write sha256:ID there


@dataclass
class ImportOptions:
    source: str                               # a tarball path; "-" for stdin
    image: str = ""
    message: str = ""
    changes: list[str] = field(default_factory=list)
    arch: str = ""                            # the config's fields; "": the host's
    os: str = ""
    variant: str = ""


@dataclass
class NewImageReport:
    image_id: str
    names: list[str]


__all__ = ["CommitOptions", "ImportOptions", "LoadOptions", "LoadReport", "NewImageReport",
           "PushOptions", "PushReport", "SaveOptions"]
