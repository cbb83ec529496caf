"""Container options and reports (hot path: plain classes, no dataclasses)."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class ListContainersOptions:
    __slots__ = ("all", "filters", "last", "size")

    def __init__(self, all: bool = False, filters: tuple[str, ...] = (), last: int = -1,
                 size: bool = False) -> None:
        self.all = all
        self.filters = filters
        self.last = last
        #: `ps --size`: each row's Size, walked from its layer (slow: only when asked)
        self.size = size


class ContainerSummary:
    """One row of `ps`; attribute names are podman's template fields."""

    _fields = ("ID", "Names", "Image", "ImageID", "Command", "Created", "State", "Status",
               "ExitCode", "Pid", "Ports", "Labels", "StartedAt", "ExitedAt", "Pod", "PodName")
    # for filters, not in the JSON of `ps` (podman has neither there)
    __slots__ = (*_fields, "Health", "RestartPolicy", "Size")

    def __init__(self, ID: str, Names: list[str], Image: str, ImageID: str,  # noqa: N803
                 Command: list[str], Created: float, State: str, Status: str,  # noqa: N803
                 ExitCode: int | None, Pid: int, Ports: list[dict[str, Any]],  # noqa: N803
                 Labels: dict[str, str], StartedAt: float, ExitedAt: float,  # noqa: N803
                 Health: str = "", RestartPolicy: str = "", Pod: str = "",  # noqa: N803
                 PodName: str = "") -> None:  # noqa: N803
        self.ID = ID
        self.Names = Names
        self.Image = Image
        self.ImageID = ImageID
        self.Command = Command
        self.Created = Created
        self.State = State
        self.Status = Status
        self.ExitCode = ExitCode
        self.Pid = Pid
        self.Ports = Ports
        self.Labels = Labels
        self.StartedAt = StartedAt
        self.ExitedAt = ExitedAt
        self.Health = Health
        self.RestartPolicy = RestartPolicy
        self.Pod = Pod
        self.PodName = PodName
        #: `ps --size`: (SizeRw, SizeRootFs); None when not asked for (podman's null)
        self.Size: "tuple[int, int] | None" = None

    @property
    def Name(self) -> str:  # noqa: N802 - template field
        return self.Names[0] if self.Names else ""

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self._fields}
