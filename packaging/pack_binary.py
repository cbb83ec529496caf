"""Write the single-file pdman: the C launcher, the onedir bundle as its payload, a trailer.

    python3 packaging/pack_binary.py --launcher L --bundle DIR --version V --out dist/pdman

The layout is defined once, in `packaging/launcher/launcher.h`; this reads its #defines
and writes what the launcher reads. Entries are sorted and modes normalised, so the
same bundle always gives the same payload (and the same cache directory name).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import struct
import sys
import zlib
from pathlib import Path
from typing import NamedTuple

HEADER = Path(__file__).resolve().parent / "launcher" / "launcher.h"


class Layout(NamedTuple):
    magic: bytes
    trailer_size: int
    entry_header_size: int


def layout(header: Path = HEADER) -> Layout:
    """The #defines of launcher.h: magic, trailer and entry-header sizes."""
    text = header.read_text()
    found = dict(re.findall(r"^#define (PDMAN_\w+) (.+)$", text, re.MULTILINE))
    magic = found["PDMAN_BUNDLE_MAGIC"].strip().strip('"')
    return Layout(magic.encode().decode("unicode_escape").encode(),
                  int(found["PDMAN_TRAILER_SIZE"]), int(found["PDMAN_ENTRY_HEADER_SIZE"]))


def _entries(bundle: Path) -> list[tuple[str, Path]]:
    """(relative path, path) of everything in the bundle, parents before children."""
    out: list[tuple[str, Path]] = []
    for dirpath, dirnames, filenames in os.walk(bundle):
        dirnames.sort()
        base = Path(dirpath)
        for name in dirnames + sorted(filenames):
            path = base / name
            out.append((path.relative_to(bundle).as_posix(), path))
    return out


def payload(bundle: Path, entry_header_size: int) -> bytes:
    chunks: list[bytes] = []
    for rel, path in _entries(bundle):
        st = path.lstat()
        if path.is_symlink():
            kind, method, mode = b"l", 0, 0o777
            data = raw = os.readlink(path).encode()
        elif path.is_dir():
            kind, method, mode, data, raw = b"d", 0, 0o755, b"", b""
        else:
            kind, mode = b"f", 0o755 if st.st_mode & 0o111 else 0o644
            raw = path.read_bytes()
            packed = zlib.compress(raw, 6)
            method, data = (1, packed) if len(packed) < len(raw) else (0, raw)
        name = rel.encode()
        header = struct.pack("<cBHIQQ", kind, method, mode, len(name), len(raw), len(data))
        assert len(header) == entry_header_size
        chunks += [header, name, data]
    return b"".join(chunks)


def write(launcher: Path, bundle: Path, version: str, out: Path) -> str:
    spec = layout()
    if not (bundle / "pdman").is_file():
        raise SystemExit(f"pack_binary: {bundle}/pdman missing: not a PyInstaller onedir bundle")
    if len(version.encode()) >= 32 or "/" in version:
        raise SystemExit(f"pack_binary: version {version!r} does not fit the trailer")
    head = launcher.read_bytes()
    body = payload(bundle, spec.entry_header_size)
    digest = hashlib.sha256(body).hexdigest()
    trailer = struct.pack("<16sQQ64s32s", spec.magic, len(head), len(body),
                          digest.encode(), version.encode())
    assert len(trailer) == spec.trailer_size
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(head)
        f.write(body)
        f.write(trailer)
    os.chmod(tmp, 0o755)
    os.replace(tmp, out)
    return digest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--launcher", type=Path, required=True)
    parser.add_argument("--bundle", type=Path, required=True, help="PyInstaller onedir output")
    parser.add_argument("--version", required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    digest = write(args.launcher, args.bundle, args.version, args.out)
    size = args.out.stat().st_size
    print(f"wrote {args.out} ({size / 1e6:.1f} MB, payload sha256 {digest[:16]})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
