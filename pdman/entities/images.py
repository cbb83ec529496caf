"""Image options and reports."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ListImagesOptions:
    all: bool = False
    filters: tuple[str, ...] = ()


@dataclass
class ImageSummary:
    """One row of `images`; field names are podman's template fields."""

    ID: str
    Repository: str
    Tag: str
    Digest: str
    Created: str
    Size: int
    SharedSize: int = 0
    Names: list[str] = field(default_factory=list)
    Containers: int = 0
    Labels: dict[str, str] = field(default_factory=dict)
