"""`system check`: find what a crash (a killed pdman, a lost machine) left inconsistent
between the catalog and the store, and with `--repair` put it right — so that `system
reset` is never the answer to a crash (DESIGN §3).

What it looks for:
  tmp garbage          unpacks and downloads of processes that died (tmp/)
  retiring layers      rows marked `removing` whose removal was interrupted
  orphan layer dirs    layers/<hex> with no complete row (an unpack killed after its rename)
  dangling links       l/<ID> pointing nowhere
  broken images        images with a layer whose row or directory is missing
  orphan containers    containers/<id> with no row, rows with no writable layer
  lost processes       containers recorded running whose process is gone
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from pdman.engine.context import EngineContext


@dataclass
class Finding:
    kind: str
    subject: str
    detail: str
    repaired: bool = False


@dataclass
class CheckReport:
    findings: list[Finding] = field(default_factory=list)

    @property
    def unrepaired(self) -> list[Finding]:
        return [f for f in self.findings if not f.repaired]


def _remove_trees(paths: list[str]) -> None:
    if paths:
        from pdman.storage.extractor import remove_trees

        remove_trees(paths)


def check(ctx: EngineContext, repair: bool = False) -> CheckReport:
    from pdman.storage import container_records, image_records
    from pdman.storage.layers import LayerStore, hex_of

    report = CheckReport()
    cat = ctx.catalog
    store = LayerStore(ctx.paths, cat)

    # tmp garbage: only when no other pdman works in tmp/ (tmp_area takes the lock)
    with store.tmp_area("check") as (_area, garbage):
        for g in garbage:
            report.findings.append(Finding("tmp-garbage", g, "left by a process that died"))
        if repair:
            _remove_trees(garbage)
            for f in report.findings:
                f.repaired = True

    # layers: rows marked removing, dirs without rows, rows without dirs
    rows = {r["diff_id"]: r for r in cat.query("SELECT diff_id, state, link FROM layers")}
    retiring = [r for r in rows.values() if r["state"] == "removing"]
    for r in retiring:
        report.findings.append(Finding("retiring-layer", r["diff_id"], "removal was interrupted"))
    if repair and retiring:
        recs = [image_records.LayerRecord(r["diff_id"], "", "", 0, 0, r["link"]) for r in retiring]
        done = set(store.retire(recs, _remove_trees))
        for f in report.findings:
            if f.kind == "retiring-layer" and f.subject in done:
                f.repaired = True
    complete = {hex_of(d) for d, r in rows.items() if r["state"] == "complete"}
    if os.path.isdir(ctx.paths.layers):
        orphans = []
        for name in sorted(os.listdir(ctx.paths.layers)):
            if name not in complete and not any(hex_of(d) == name for d in rows):
                orphans.append(os.path.join(ctx.paths.layers, name))
                report.findings.append(Finding("orphan-layer", name, "a layer directory no row names"))
        if repair and orphans:
            with store.lock():
                _remove_trees(orphans)
            for f in report.findings:
                if f.kind == "orphan-layer":
                    f.repaired = True
    missing_dirs = [d for d, r in rows.items() if r["state"] == "complete"
                    and not os.path.isdir(store.diff_dir(d))]
    if os.path.isdir(ctx.paths.links):
        for link in sorted(os.listdir(ctx.paths.links)):
            p = os.path.join(ctx.paths.links, link)
            if not os.path.exists(p):
                f = Finding("dangling-link", link, "points at a layer that is gone")
                if repair:
                    os.unlink(p)
                    f.repaired = True
                report.findings.append(f)

    # images with a missing layer: not usable; repair forgets the image (pull it again)
    for img in image_records.list_images(cat):
        lost = [d for d in img.layers if d not in rows or d in missing_dirs]
        if not lost:
            continue
        f = Finding("broken-image", img.id[:12], f"{len(lost)} layer(s) missing: pull it again")
        if repair and not image_records.containers_using(cat, img.id):
            store.retire(image_records.delete_image(cat, img.id), _remove_trees)
            f.repaired = True
        report.findings.append(f)

    # containers: directories without rows, rows without their writable layer
    ids = {r["id"] for r in cat.query("SELECT id FROM containers")}
    if os.path.isdir(ctx.paths.containers):
        from pdman.storage import container_fs

        for name in sorted(os.listdir(ctx.paths.containers)):
            if name not in ids:
                f = Finding("orphan-container-dir", name, "a writable layer no container owns")
                if repair:
                    container_fs.remove(ctx.paths, name)
                    f.repaired = True
                report.findings.append(f)
    for cid in sorted(ids):
        if not os.path.isdir(os.path.join(ctx.paths.containers, cid, "upper")):
            report.findings.append(Finding("container-without-layer", cid[:12],
                                           "its writable layer is gone: remove it with `pdman rm`"))

    # running containers whose process is gone: reconcile records their exit
    from pdman.engine import containers

    for rec in container_records.list_all(cat):
        if rec.status in ("running", "paused"):
            after = containers.reconcile(ctx, rec)
            if after.status not in ("running", "paused"):
                report.findings.append(Finding("lost-process", rec.id[:12],
                                               "recorded running, process gone: now exited", True))
    return report


def reset(ctx: EngineContext) -> None:
    """`system reset`: every container (running ones killed), image, layer and volume
    gone, both directories removed. For starting over on purpose, never for a crash."""
    import shutil

    from pdman.engine import containers
    from pdman.runtime.idmap import run_in_userns
    from pdman.storage import container_records

    if os.path.exists(ctx.paths.catalog):
        for rec in container_records.list_all(ctx.catalog):
            containers.remove(ctx, containers.RemoveOptions(name=rec.id, force=True, volumes=True))
        ctx.close()
    for path in (ctx.paths.root, ctx.paths.runroot):
        if os.path.lexists(path):
            run_in_userns(shutil.rmtree, path, True)
