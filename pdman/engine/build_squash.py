"""`build --squash` / `--squash-all`: the final image's layers merged into one.

`--squash` merges the layers the final stage added on top of its base (the base's own
layers are kept, as podman does); `--squash-all` merges every layer, base included.
The merge applies each layer over the ones before it as overlay would: a later entry
replaces an earlier one (a file replacing a directory drops what was below it), a
whiteout `.wh.NAME` removes NAME and what is below it, an opaque marker removes what
earlier merged layers had in its directory. Whiteouts stay in a --squash layer (they
may hide base files) and are dropped from a --squash-all one (nothing lies below).
History keeps every entry, the merged ones marked empty, plus one for the new layer.
"""

from __future__ import annotations

import os
import posixpath
import tarfile

from pdman.engine.build_session import BuildSession, history, register
from pdman.build.plan import StageState

_OPAQUE = ".wh..wh..opq"


def _drop_below(entries: "dict[str, tuple[int, tarfile.TarInfo]]", path: str) -> None:
    prefix = path + "/"
    for name in [n for n in entries if n.startswith(prefix)]:
        del entries[name]


def merge(layer_paths: list[str], out_path: str, keep_whiteouts: bool) -> int:
    """Merge the layer tars (any compression tarfile reads) into one plain tar at
    out_path; returns the entries written."""
    entries: dict[str, tuple[int, tarfile.TarInfo]] = {}
    for i, path in enumerate(layer_paths):
        with tarfile.open(path, "r:*") as tar:
            for m in tar:
                name = posixpath.normpath(m.name.lstrip("/"))
                if name in (".", "") or name.startswith("../"):
                    continue
                m.name = name
                m.pax_headers = {k: v for k, v in m.pax_headers.items() if k != "path"}
                parent, base = posixpath.split(name)
                if base == _OPAQUE:
                    _drop_below(entries, parent)
                    if keep_whiteouts:
                        entries[name] = (i, m)
                    continue
                if base.startswith(".wh."):
                    target = posixpath.join(parent, base[4:])
                    entries.pop(target, None)
                    _drop_below(entries, target)
                    if keep_whiteouts:
                        entries[name] = (i, m)
                    continue
                entries.pop(posixpath.join(parent, ".wh." + base), None)
                if not m.isdir():
                    _drop_below(entries, name)
                    entries.pop(name, None)     # re-added: after its (new) parents
                entries[name] = (i, m)
    opened = [tarfile.open(p, "r:*") for p in layer_paths]
    try:
        with tarfile.open(out_path, "w", format=tarfile.PAX_FORMAT) as out:
            for i, m in entries.values():
                out.addfile(m, opened[i].extractfile(m) if m.isreg() else None)
    finally:
        for t in opened:
            t.close()
    return len(entries)


def squash(b: BuildSession, state: StageState, keep_layers: int, keep_history: int,
           all_layers: bool) -> str:
    """Replace the final image by its squashed form; returns the new image ID."""
    from pdman.engine.image_transfer import gzip_chunks

    diff_ids = list((state.config.get("rootfs") or {}).get("diff_ids") or [])
    if all_layers:
        keep_layers = keep_history = 0
    merged_ids = diff_ids[keep_layers:]
    paths = []
    for d in merged_ids:
        have = b.ingest.present(d)
        if have is None:
            from pdman.errors import StorageError

            raise StorageError(f"layer {d[:19]} has no stored blob to squash",
                               hint="build again with --no-cache")
        paths.append(b.ingest.blobs.path(have.digest))
    entries = list(state.config.get("history") or [])
    kept, merged = entries[:keep_history], entries[keep_history:]
    for e in merged:
        e["empty_layer"] = True
    state.config["history"] = kept + merged
    state.config["rootfs"] = {"type": "layers", "diff_ids": diff_ids[:keep_layers]}
    if not paths:
        state.dirty = True
        return register(b, state)
    out = os.path.join(b.ingest.area, "squashed.tar")
    try:
        merge(paths, out, keep_whiteouts=not all_layers)
        layer = b.ingest.add(gzip_chunks(out), what="the squashed layer")
    finally:
        if os.path.exists(out):
            os.unlink(out)
    flag = "--squash-all" if all_layers else "--squash"
    history(state, b.now(), f"/bin/sh -c #(nop) pdman build {flag}: "
            f"{len(merged_ids)} layers merged", empty=False)
    return register(b, state, layer)


__all__ = ["merge", "squash"]
