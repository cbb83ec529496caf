"""`system df --verbose`: podman's three tables -- each image, each container, each
local volume -- with the sizes `system df` sums up (engine/image_removal.py)."""

from __future__ import annotations

import os

from pdman.engine.context import EngineContext

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def verbose(ctx: EngineContext) -> "dict[str, list[dict[str, Any]]]":
    """{"Images": [...], "Containers": [...], "Volumes": [...]}, podman's fields."""
    from pdman.engine.containers import list_containers
    from pdman.engine.container_size import files_size
    from pdman.engine.images import list_images
    from pdman.engine.volumes import list_volumes
    from pdman.entities.containers import ListContainersOptions
    from pdman.entities.images import ListImagesOptions
    from pdman.storage import container_records, volume_records

    images = [{
        "Repository": r.Repository, "Tag": r.Tag, "ImageID": r.ID, "Created": r.Created,
        "Size": r.Size, "SharedSize": r.SharedSize, "UniqueSize": r.Size - r.SharedSize,
        "Containers": r.Containers,
    } for r in list_images(ctx, ListImagesOptions())]
    containers = []
    for s in list_containers(ctx, ListContainersOptions(all=True, size=True)):
        rec = container_records.find(ctx.catalog, s.ID)
        mounts = rec.config.get("mounts", [])
        containers.append({
            "ContainerID": s.ID, "Image": s.ImageID, "Command": s.Command,
            "LocalVolumes": sum(1 for m in mounts if m.get("type") == "volume"),
            "Size": s.Size[0] if s.Size else 0, "RWSize": s.Size[0] if s.Size else 0,
            "Created": s.Created, "Status": s.State, "Names": s.Name,
        })
    users = volume_records.users(ctx.catalog)
    volumes = [{"VolumeName": v.name, "Links": len(users.get(v.name, [])),
                "Size": files_size(v.mountpoint or os.path.join(ctx.paths.volumes, v.name))}
               for v in list_volumes(ctx)]
    return {"Images": images, "Containers": containers, "Volumes": volumes}
