#!/usr/bin/env bash
# Build the single-file pdman for servers: `bash packaging/build-binary.sh [--out DIR] [--force]`
# (default DIR: dist/ of this checkout). Writes DIR/pdman, one executable that needs no
# Python, pip or source tree on the machine it runs on (Debian 12, x86-64, glibc).
#
# What it is (see packaging/launcher/launcher.c):
#   1. pdman is pip-installed into a build venv of Debian's Python (so the cffi helper
#      pdman._native and the C executables of pdman/libexec/ are built the usual way);
#   2. PyInstaller makes a one-directory bundle of it (packaging/pdman.spec);
#   3. a small C launcher carries that bundle as a payload (packaging/pack_binary.py):
#      the first run unpacks it, checked, into ~/.cache/pdman/<version>-<hash>/, and
#      every run execs the unpacked executable in place of the launcher. Warm runs cost
#      what a onedir bundle costs, not PyInstaller one-file's re-extraction per run.
#
# Needs (packaging/install-deps.sh installs them): python3 (with libpython3.11.so),
# python3-venv, python3-dev, gcc, zlib1g-dev, rsync; PyPI for PyInstaller.
# A build whose inputs (pdman/, native/, packaging/, pyproject.toml, setup.py, the
# Python version) are unchanged is not redone: the source hash is kept beside the binary.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=$REPO/dist
FORCE=0
while [ $# -gt 0 ]; do
  case $1 in
    --out) OUT=$2; shift 2 ;;
    --force) FORCE=1; shift ;;
    -h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-binary.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
done
PY=${PYTHON:-/usr/bin/python3}
BUILD=${PDMAN_BINARY_BUILD:-$REPO/build/binary}
mkdir -p "$OUT" "$BUILD"
OUT=$(cd "$OUT" && pwd)
step() { printf '== %s\n' "$*" >&2; }

"$PY" -c 'import sysconfig, sys; sys.exit(not sysconfig.get_config_var("Py_ENABLE_SHARED"))' 2>/dev/null || {
  echo "build-binary.sh: $PY has no shared libpython, which PyInstaller needs (Debian: python3-dev)" >&2
  exit 1
}

# the inputs, copied: the checkout stays untouched (pip and PyInstaller write build
# files next to what they build), and a dirty tree builds what it holds
rsync -a --delete --exclude .git --exclude .venv --exclude /build --exclude /dist \
  --exclude '*.egg-info' --exclude __pycache__ --exclude '*.so' --exclude '/pdman/libexec' \
  --exclude .mypy_cache --exclude .ruff_cache --exclude .benchmarks --exclude /bench/results \
  "$REPO/" "$BUILD/src/"

source_hash=$(
  cd "$BUILD/src"
  { "$PY" --version; find pdman native packaging pyproject.toml setup.py -type f -print0 \
      | LC_ALL=C sort -z | xargs -0 sha256sum; } | sha256sum | cut -c1-32
)
if [ "$FORCE" = 0 ] && [ -x "$OUT/pdman" ] && [ "$(cat "$OUT/pdman.source-hash" 2>/dev/null)" = "$source_hash" ]; then
  step "$OUT/pdman is up to date (source $source_hash)"
  exit 0
fi

step "build venv with pdman installed ($BUILD/venv)"
[ -x "$BUILD/venv/bin/python" ] || "$PY" -m venv "$BUILD/venv"
pip=("$BUILD/venv/bin/pip" install -q --disable-pip-version-check)
# (this machine's pip config may name local wheel dirs that are absent: mute that noise)
quiet() { "$@" 2>&1 | { grep -v '^WARNING: Location' || true; }; return "${PIPESTATUS[0]}"; }
quiet "${pip[@]}" "$BUILD/src[pack]"
quiet "${pip[@]}" --force-reinstall --no-deps "$BUILD/src"
# -P: the installed pdman, never a source tree in the current directory (a fresh
# checkout has no compiled pdman/libexec/)
site=$("$BUILD/venv/bin/python" -P -c 'import os, pdman; print(os.path.dirname(pdman.__file__))')
version=$("$BUILD/venv/bin/python" -P -c 'import pdman; print(pdman.__version__)')
# (pdman.spec bundles every executable of libexec/: the monitor, pdman-init, pdman-portfwd)
for exe in pdman-monitor pdman-init pdman-portfwd; do
  [ -x "$site/libexec/$exe" ] || { echo "build-binary.sh: $site/libexec has no $exe" >&2; exit 1; }
done

step "PyInstaller one-directory bundle"
rm -rf "$BUILD/onedir"
# run from $BUILD: the analysis must import the installed pdman, not a source tree
(cd "$BUILD" && PDMAN_PACKAGING="$BUILD/src/packaging" PDMAN_LIBEXEC="$site/libexec" \
  "$BUILD/venv/bin/pyinstaller" --noconfirm --clean --log-level WARN \
  --distpath "$BUILD/onedir" --workpath "$BUILD/work" "$BUILD/src/packaging/pdman.spec") \
  2>&1 | { grep -v -e 'Library user32 required via ctypes' -e 'pytest_asyncio' || true; }
[ -x "$BUILD/onedir/pdman/pdman" ] || { echo "build-binary.sh: PyInstaller made no bundle" >&2; exit 1; }

step "launcher"
zlib=(-lz)
# zlib linked in when its static library is there: one dependency less on the server
for a in /usr/lib/x86_64-linux-gnu/libz.a /usr/lib/libz.a; do
  [ -f "$a" ] && { zlib=("$a"); break; }
done
"${CC:-cc}" -O2 -Wall -Wextra -Werror -s -o "$BUILD/launcher" \
  "$BUILD/src/packaging/launcher/launcher.c" "$BUILD/src/packaging/launcher/sha256.c" "${zlib[@]}"

step "single file"
"$PY" "$BUILD/src/packaging/pack_binary.py" --launcher "$BUILD/launcher" \
  --bundle "$BUILD/onedir/pdman" --version "$version" --out "$OUT/pdman"
echo "$source_hash" > "$OUT/pdman.source-hash"

# the result runs: unpacked into a throw-away cache, asked for its version
check=$(mktemp -d)
trap 'rm -rf "$check"' EXIT
PDMAN_BUNDLE_CACHE="$check" "$OUT/pdman" --version >&2
step "built $OUT/pdman"
