"""Image options and reports.

Plain classes rather than dataclasses: `run` imports this module on its hot path
(resolving its image), and importing `dataclasses` costs ~6 ms (entities/__init__).
Their fields are in `__dict__` (handlers render them for `--format`).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


class _Fields:
    """repr and equality from the instance's fields."""

    def __repr__(self) -> str:
        body = ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items() if k != "progress")
        return f"{type(self).__name__}({body})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self.__dict__ == other.__dict__

    def as_dict(self) -> "dict[str, Any]":
        return dict(self.__dict__)


class ListImagesOptions(_Fields):
    def __init__(self, all: bool = False, filters: tuple[str, ...] = ()) -> None:
        self.all = all
        self.filters = filters


class ImageSummary(_Fields):
    """One row of `images`; field names are podman's template fields."""

    def __init__(self, ID: str, Repository: str, Tag: str, Digest: str, Created: str,
                 Size: int, SharedSize: int = 0, Names: list[str] | None = None,
                 Containers: int = 0, Labels: dict[str, str] | None = None) -> None:
        self.ID = ID
        self.Repository = Repository
        self.Tag = Tag
        self.Digest = Digest
        self.Created = Created
        self.Size = Size
        self.SharedSize = SharedSize
        self.Names = Names if Names is not None else []
        self.Containers = Containers
        self.Labels = Labels if Labels is not None else {}
        #: podman's names history, the latest name first (`images --history`)
        self.History = list(reversed(self.Names))


class PullOptions(_Fields):
    """`pdman pull` (and `run`'s implicit pull). `tls_verify=None`: registries.conf
    decides; False: plain HTTP / no verification for this pull. `progress` is called
    with each PullEvent, from several threads; None: silent. `choose_registry` asks
    the user which search registry an ambiguous short name means (short name,
    candidate names) -> the name picked; None: nobody to ask (no terminal)."""

    def __init__(self, reference: str, platform: str = "", os: str = "", arch: str = "",
                 variant: str = "", tls_verify: bool | None = None, creds: str = "",
                 authfile: str = "", quiet: bool = False,
                 progress: "Callable[[PullEvent], None] | None" = None,
                 choose_registry: "Callable[[str, list[str]], str] | None" = None,
                 cert_dir: str = "") -> None:
        self.reference = reference
        self.platform = platform
        self.os = os
        self.arch = arch
        self.variant = variant
        self.tls_verify = tls_verify
        self.creds = creds                  # "user:password"
        self.authfile = authfile
        self.quiet = quiet
        self.progress = progress
        self.choose_registry = choose_registry
        self.cert_dir = cert_dir            # --cert-dir: replaces certs.d for the registry


class PullEvent(_Fields):
    """Progress of a pull. kind: trying | resolved | blob-start | blob-progress |
    blob-done | blob-skipped | config | manifest | warning."""

    def __init__(self, kind: str, text: str = "", size: int = 0) -> None:
        self.kind = kind
        self.text = text        # reference, digest or message
        self.size = size        # total bytes (blob-start), bytes added (blob-progress)

    def __repr__(self) -> str:
        return f"PullEvent({self.kind!r}, {self.text!r}, {self.size})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PullEvent) and \
            (self.kind, self.text, self.size) == (other.kind, other.text, other.size)


class PullReport(_Fields):
    def __init__(self, image_id: str, reference: str, digest: str,
                 names: list[str] | None = None, layers_fetched: int = 0,
                 layers_present: int = 0, warnings: list[str] | None = None) -> None:
        self.image_id = image_id            # config digest hex
        self.reference = reference          # the fully qualified reference pulled
        self.digest = digest                # manifest (or index) digest
        self.names = names if names is not None else []
        self.layers_fetched = layers_fetched
        self.layers_present = layers_present
        self.warnings = warnings if warnings is not None else []


class RemoveImagesOptions(_Fields):
    def __init__(self, names: tuple[str, ...] = (), all: bool = False, force: bool = False,
                 ignore: bool = False) -> None:
        self.names = names
        self.all = all
        self.force = force
        self.ignore = ignore


class RemoveImagesReport(_Fields):
    """podman's exit codes: 0 ok, 1 an image was not found, 2 an image is in use."""

    def __init__(self) -> None:
        self.untagged: list[str] = []
        self.deleted: list[str] = []
        self.errors: list[str] = []
        self.exit_code = 0


class PruneImagesOptions(_Fields):
    def __init__(self, all: bool = False, filters: tuple[str, ...] = ()) -> None:
        self.all = all
        self.filters = filters


class PruneImagesReport(_Fields):
    def __init__(self) -> None:
        self.deleted: list[str] = []
        self.reclaimed = 0


class HistoryEntry(_Fields):
    """One row of `history`; field names are podman's template fields."""

    def __init__(self, ID: str, Created: str, CreatedBy: str, Size: int, Comment: str,
                 Tags: list[str] | None = None) -> None:
        self.ID = ID                # image ID for the top layer, "<missing>" below
        self.Created = Created
        self.CreatedBy = CreatedBy
        self.Size = Size
        self.Comment = Comment
        self.Tags = Tags if Tags is not None else []


class DiskUsageRow(_Fields):
    """One row of `system df`."""

    def __init__(self, Type: str, Total: int, Active: int, Size: int,
                 Reclaimable: int) -> None:
        self.Type = Type
        self.Total = Total
        self.Active = Active
        self.Size = Size
        self.Reclaimable = Reclaimable


class LoginOptions(_Fields):
    """`pdman login`: store credentials after the registry accepted them."""

    def __init__(self, registry: str, username: str, password: str,
                 tls_verify: bool | None = None, authfile: str = "",
                 cert_dir: str = "") -> None:
        self.registry = registry
        self.username = username
        self.password = password
        self.tls_verify = tls_verify
        self.authfile = authfile
        self.cert_dir = cert_dir
