#!/usr/bin/env bash
# check.sh --dry from a copy of the tree as the device tool sends it (tracked and
# untracked-not-ignored files plus the carried .devpack, no .venv, no .git), with this
# checkout's venv as `python3`: the paths, the unpacking and the $OUT files are exercised as on
# the device, every step on the CPU at tiny sizes (about 3 minutes on 2 shared cores).
#
#     bash benchmarks/gpu/pack.sh && bash benchmarks/gpu/dry_run.sh [/tmp/gpucheck]
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
DEST=${1:-/tmp/gpucheck}
VENV=${VENV:-$PWD/.venv}
[ -f .devpack/data.tar.xz ] || { echo "no .devpack: run benchmarks/gpu/pack.sh first" >&2; exit 2; }
rm -rf "$DEST"
mkdir -p "$DEST/repo" "$DEST/out"
git ls-files -co --exclude-standard -z | while IFS= read -r -d '' f; do
  [ -e "$f" ] && printf '%s\0' "$f"      # a tracked file deleted here does not travel
done | tar --null -T - -cf - | tar -xf - -C "$DEST/repo"
cp -a .devpack "$DEST/repo/"
echo "copied $(du -sb "$DEST/repo" | cut -f1) bytes to $DEST/repo"
cd "$DEST/repo"
set +e
OUT="$DEST/out" PATH="$VENV/bin:$PATH" bash benchmarks/gpu/check.sh --dry
rc=$?
echo "check.sh --dry: rc $rc; results in $DEST/out:"
ls -l "$DEST/out"
exit $rc
