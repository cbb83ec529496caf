"""`auto-update`: containers that run in a systemd unit follow their image.

A container takes part when it runs and carries the label `io.containers.autoupdate`
(`registry`, or its old name `image`: a newer image in the registry, by manifest
digest; `local`: a newer image under the same name in the local store) and the label
`PODMAN_SYSTEMD_UNIT` (recorded at create from the environment the unit gives it,
`Environment=PODMAN_SYSTEMD_UNIT=%n`). For each such unit:

1. check: the registry's digest for the container's image name against the local
   image's digests (registry), or the image the name points to now against the
   container's (local); with --dry-run, stop here (UPDATED `pending` or `false`);
2. pull the new image (registry);
3. restart the unit (`systemctl [--user] restart UNIT`), which replaces the container
   with one of the new image (units run `pdman run --replace` or `--rm`);
4. check that it came up: the unit active and a container of the unit running the new
   image; if not, and --rollback (the default): point the name at the previous image
   again and restart the unit once more. UPDATED says `failed` then, and why.

Columns as podman's: UNIT, CONTAINER ("ID (name)"), IMAGE, POLICY, UPDATED.
"""

from __future__ import annotations

import os
import subprocess
import time
from typing import Any

from pdman.engine.context import EngineContext
from pdman.errors import HostSupportError, PdmanError, UsageError
from pdman.storage import container_records as records

LABEL = "io.containers.autoupdate"
AUTHFILE_LABEL = "io.containers.autoupdate.authfile"
UNIT_LABEL = "PODMAN_SYSTEMD_UNIT"

#: how long a restarted unit has to run its container on the new image
START_TIMEOUT = 60.0
#: how long it must then stay up to count as started (a container that exits at once
#: on a bad image is not a successful update)
SETTLE = 2.0


class AutoUpdateOptions:
    __slots__ = ("dry_run", "rollback", "authfile")

    def __init__(self, dry_run: bool = False, rollback: bool = True,
                 authfile: "str | None" = None) -> None:
        self.dry_run = dry_run
        self.rollback = rollback
        self.authfile = authfile


class AutoUpdateReport:
    """One container's line (podman's template fields)."""

    __slots__ = ("Unit", "ContainerID", "ContainerName", "Image", "Policy", "Updated",
                 "Error")

    def __init__(self, unit: str, container_id: str, container_name: str, image: str,
                 policy: str, updated: str, error: str = "") -> None:
        self.Unit = unit
        self.ContainerID = container_id
        self.ContainerName = container_name
        self.Image = image
        self.Policy = policy
        self.Updated = updated
        self.Error = error

    @property
    def Container(self) -> str:
        return f"{self.ContainerID[:12]} ({self.ContainerName})"

    def as_dict(self) -> "dict[str, str]":
        return {"Unit": self.Unit, "Container": self.Container,
                "ContainerName": self.ContainerName, "ContainerID": self.ContainerID,
                "Image": self.Image, "Policy": self.Policy, "Updated": self.Updated}


def policy_of(labels: "dict[str, str]") -> str:
    value = labels.get(LABEL, "")
    return "registry" if value == "image" else value


def candidates(ctx: EngineContext) -> "list[records.ContainerRecord]":
    """Running containers with an update policy, one per unit (the newest)."""
    from pdman.engine.containers import reconcile

    by_unit: dict[str, records.ContainerRecord] = {}
    for rec in records.list_all(ctx.catalog):
        labels = rec.config.get("labels") or {}
        if policy_of(labels) not in ("registry", "local"):
            continue
        rec = reconcile(ctx, rec)
        if rec.status != "running":
            continue
        unit = labels.get(UNIT_LABEL, "")
        old = by_unit.get(unit or rec.id)
        if old is None or old.created < rec.created:
            by_unit[unit or rec.id] = rec
    return sorted(by_unit.values(), key=lambda r: (r.config["labels"].get(UNIT_LABEL, ""), r.name))


def auto_update(ctx: EngineContext, options: AutoUpdateOptions) -> list[AutoUpdateReport]:
    return [_one(ctx, rec, options) for rec in candidates(ctx)]


def _one(ctx: EngineContext, rec: records.ContainerRecord,
         options: AutoUpdateOptions) -> AutoUpdateReport:
    labels = rec.config.get("labels") or {}
    policy = policy_of(labels)
    unit = labels.get(UNIT_LABEL, "")
    image = image_name(rec)
    report = AutoUpdateReport(unit, rec.id, rec.name, image, policy, "false")
    try:
        if not unit:
            raise UsageError(f"auto-updating container {rec.id[:12]}: no {UNIT_LABEL} label "
                             "found", hint="run it from a systemd unit that sets "
                             f"Environment={UNIT_LABEL}=%n")
        if policy == "registry":
            newer = _registry_newer(ctx, rec, options, labels)
        else:
            newer = _local_newer(ctx, rec)
        if not newer:
            return report
        if options.dry_run:
            report.Updated = "pending"
            return report
        new_id = _pull(ctx, rec, options, labels) if policy == "registry" else _local_id(ctx, rec)
        if new_id == rec.image_id:
            return report               # another manifest of the same image
        _restart(unit)
        if _came_up(ctx, unit, new_id):
            report.Updated = "true"
            return report
        report.Updated = "failed"
        if not options.rollback:
            report.Error = f"restarting unit {unit} on the new image of {image} failed"
            return report
        from pdman.storage import image_records

        image_records.add_name(ctx.catalog, rec.image_id, image)
        from pdman.engine import events

        events.emit(ctx.paths, "image", "tag", id=rec.image_id, name=image)
        _restart(unit)
        back = _came_up(ctx, unit, rec.image_id)
        report.Error = (f"restarting unit {unit} on the new image of {image} failed: "
                        + ("rolled back to the previous image " + rec.image_id[:12] if back
                           else "and it did not come back on the previous image either"))
    except PdmanError as exc:
        report.Updated = "failed"
        report.Error = exc.message
    return report


def image_name(rec: records.ContainerRecord) -> str:
    """The image name the container was created with, as podman keeps it (its raw
    name): a fully qualified name with its tag, or the short name as given."""
    from pdman.errors import ReferenceFormatError
    from pdman.image import reference

    given = rec.config.get("image_ref") or rec.image_name
    try:
        ref = reference.parse(given)
    except ReferenceFormatError:
        return given
    return given if ref.is_short else str(ref.tagged_or_latest())


def _local_id(ctx: EngineContext, rec: records.ContainerRecord) -> str:
    from pdman.engine.images import resolve_image

    return resolve_image(ctx, image_name(rec)).id


def _local_newer(ctx: EngineContext, rec: records.ContainerRecord) -> bool:
    return _local_id(ctx, rec) != rec.image_id


def _pull_options(rec: records.ContainerRecord, options: AutoUpdateOptions,
                  labels: "dict[str, str]") -> Any:
    from pdman.entities.images import PullOptions

    return PullOptions(reference=image_name(rec), quiet=True,
                       authfile=options.authfile or labels.get(AUTHFILE_LABEL, ""))


def _registry_newer(ctx: EngineContext, rec: records.ContainerRecord,
                    options: AutoUpdateOptions, labels: "dict[str, str]") -> bool:
    from pdman.image import reference
    from pdman.image.pull import remote_digest
    from pdman.storage import image_records

    ref = reference.parse(image_name(rec))
    if ref.is_short:
        raise UsageError(f"auto-updating container {rec.id[:12]}: image {image_name(rec)} is not "
                         "a fully qualified name: the registry policy needs one",
                         hint="create the container with registry/repository:tag")
    digest = remote_digest(ctx, _pull_options(rec, options, labels))
    local = image_records.get(ctx.catalog, rec.image_id)
    have = {local.digest, *(d.partition("@")[2] for d in local.repo_digests)}
    return digest not in have


def _pull(ctx: EngineContext, rec: records.ContainerRecord, options: AutoUpdateOptions,
          labels: "dict[str, str]") -> str:
    from pdman.engine.images import pull

    return pull(ctx, _pull_options(rec, options, labels)).image_id


def _systemctl(*args: str) -> "subprocess.CompletedProcess[str]":
    cmd = ["systemctl"] + ([] if os.geteuid() == 0 else ["--user"]) + list(args)
    env = dict(os.environ)
    env.pop("LD_LIBRARY_PATH", None)       # a PyInstaller bundle's, not systemctl's
    try:
        return subprocess.run(cmd, capture_output=True, text=True, env=env, check=False,
                              timeout=START_TIMEOUT + 30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise HostSupportError(f"running {' '.join(cmd)}: {exc}",
                         hint="auto-update restarts containers through systemd") from exc


def _restart(unit: str) -> None:
    """`systemctl restart UNIT`: it returns once the start job is over (for a notify
    unit, at READY=1). A failed job needs no handling here: `_came_up` sees the unit
    down."""
    _systemctl("restart", unit)


def _unit_state(unit: str) -> str:
    return _systemctl("show", "-p", "ActiveState", "--value", unit).stdout.strip()


def _came_up(ctx: EngineContext, unit: str, image_id: str) -> bool:
    """Whether the unit runs a container of `image_id` and keeps it running for SETTLE
    seconds, within START_TIMEOUT: a container that exits at once on a bad image makes
    the unit fail a moment after its start job succeeded."""
    deadline = time.monotonic() + START_TIMEOUT
    up_since = 0.0
    while time.monotonic() < deadline:
        state = _unit_state(unit)
        if state in ("failed", "inactive"):
            return False
        if state == "active" and _unit_runs(ctx, unit, image_id):
            up_since = up_since or time.monotonic()
            if time.monotonic() - up_since >= SETTLE:
                return True
        else:
            up_since = 0.0
        time.sleep(0.25)
    return False


def _unit_runs(ctx: EngineContext, unit: str, image_id: str) -> bool:
    from pdman.engine.containers import reconcile

    for rec in records.list_all(ctx.catalog):
        if (rec.config.get("labels") or {}).get(UNIT_LABEL) == unit and rec.image_id == image_id:
            if reconcile(ctx, rec).status == "running":
                return True
    return False
