#!/usr/bin/env bash
# Build .devpack/ (git-ignored) for the one-call GPU check (benchmarks/gpu/check.sh): the wheels
# the device machine lacks and the part of the dlcourse data cache the check reads, in one
# xz tarball that check.sh unpacks into a DLCOURSE_HOME of its own. Run here, with network:
#
#     bash benchmarks/gpu/pack.sh        # PYTHON (default .venv/bin/python), DLCOURSE_HOME
#
# The device tool carries at most 64 MiB (this tree included), so the pack takes only what the
# check uses: WordNet (word2vec, LM), Lee (word2vec's op count), the word2vec evaluation sets,
# the EfficientNet-Lite0 weights and Fashion-MNIST's 10,000 test images (SOM, vision) as raw
# IDX files outside the cache: the 26 MB training file does not fit, and a cut copy would fail
# its checksum. About 28 MB in all.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
PY=${PYTHON:-.venv/bin/python}
HOME_SRC=${DLCOURSE_HOME:-$HOME/.cache/dlcourse}
PACK=.devpack
DATASETS="wordnet lee questions-words wordsim353 efficientnet-lite0"
WHEELS="platformdirs==4.14.9"   # dlcourse's one missing dependency (unused under DLCOURSE_HOME)
SDIST_WHEELS="minisom==2.3.5"   # sdist only on PyPI: built here (pure Python); tests import it

for ds in $DATASETS fashion-mnist; do   # complete and verified, or say how to get it
  PYTHONPATH=src "$PY" -c "import sys; from dlcourse.data.cache import is_available
sys.exit(0 if is_available('$ds') else 1)" \
    || { echo "pack.sh: $ds is not in $HOME_SRC; run: dlcourse data fetch $ds" >&2; exit 1; }
done

rm -rf "$PACK"
mkdir -p "$PACK/wheels"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/home/datasets" "$stage/fashion-t10k"
for ds in $DATASETS; do
  cp -a "$HOME_SRC/datasets/$ds" "$stage/home/datasets/"  # .verified.json too: unpublished hashes
done
cp -a "$HOME_SRC"/datasets/fashion-mnist/t10k-*-idx*-ubyte.gz "$stage/fashion-t10k/"

"$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 -d "$PACK/wheels" $WHEELS
"$PY" -m pip wheel -q --no-deps -w "$PACK/wheels" $SDIST_WHEELS
rm -f "$PACK"/wheels/*.tar.gz

XZ_OPT="-6 -T2" tar -C "$stage" -cJf "$PACK/data.tar.xz" home fashion-t10k
{
  echo "# .devpack for benchmarks/gpu/check.sh, built $(date -u +%FT%TZ) at $(git rev-parse --short HEAD)"
  echo "# data.tar.xz holds (bytes before compression):"
  (cd "$stage" && find home fashion-t10k -type f -printf '%s\t%p\n' | sort -k2)
  echo "# sha256:"
  (cd "$PACK" && sha256sum data.tar.xz wheels/*.whl)
} > "$PACK/MANIFEST.txt"

pack=$(du -cb "$PACK" | tail -1 | cut -f1)
tree=$(git ls-files -co --exclude-standard -z | xargs -0 du -cb 2>/dev/null \
       | awk '$2 == "total" {s += $1} END {print s}')
echo "$PACK: $pack bytes ($(( pack / 1048576 )) MiB); the tree that travels (tracked and"
echo "untracked-not-ignored): $tree bytes; together $(( (pack + tree) / 1048576 )) MiB of the 64 MiB"
ls -l "$PACK" "$PACK/wheels"
