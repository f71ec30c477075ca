#!/usr/bin/env bash
# The one-call GPU check (issue 17, target 7): the GPU paths timed against the CPU kernels on
# the data a machine without network has (see benchmarks/README.md, "The one-call GPU check").
#
#   on the device machine, from the repo root, .devpack carried:  bash benchmarks/gpu/check.sh
#   here, every step on the CPU at tiny sizes:   OUT=/tmp/o bash benchmarks/gpu/check.sh --dry
#   (benchmarks/gpu/dry_run.sh runs --dry from a copy of the tree, as the device tool sends it)
#
# Steps, in this order, each under `timeout` and cut to what is left of BUDGET seconds (a step
# that would get under 20 s is skipped): env (versions, GPU, a bf16 matmul); (d) fine-tuning
# images/s and accuracy (vision_offline.py); (a) word2vec: the numba kernel on every core, then
# bench_word2vec.py --torch-path per method; (b) SOM torch vs numba (som_torch.py); (c) LM: the
# ptb-medium preset on DEVICE, the lstm and ptb-medium presets on the CPU
# (`dlcourse lm train wordnet`); ptb-medium with --amp; (e) the tests that mention CUDA.
#
# Environment: OUT (required), DEVICE (cuda; --dry: cpu), SMALL (0; --dry: 1), BUDGET (seconds
# for the steps, 450), PYTHON (python3), PACK (.devpack), KEEP (1: keep the work folder),
# ONLY (comma-separated step names or their beginnings, e.g. ONLY=w2v,vision: a rerun of those).
# Writes $OUT/gpu.log (everything printed), $OUT/gpu.json (the figures, rewritten after every
# step so that a run cut short returns what it measured: benchmarks/gpu/report.py) and
# $OUT/steps.tar.gz (each step's output, JSON, history and curves; no weights).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
if [ "${1:-}" = "--dry" ]; then DEVICE=${DEVICE:-cpu}; SMALL=${SMALL:-1}; fi
: "${OUT:?set OUT to the folder the results go to}"
DEVICE=${DEVICE:-cuda}
SMALL=${SMALL:-0}
BUDGET=${BUDGET:-450}
PY=${PYTHON:-python3}
PACK=${PACK:-.devpack}
mkdir -p "$OUT"
W=$(mktemp -d /tmp/gpucheck.XXXXXX)
mkdir -p "$W/out"
T0=$SECONDS

if [ "$SMALL" = 1 ]; then        # every step, seconds each, on a shared 2-core machine
  W2V_EPOCHS=1 W2V_BATCHES=16384 W2V_METHODS=skipgram W2V_CORES="--workers 1 --glosses 20000"
  SOM_CASES=fashion:1000:8,fashion:1000:12,blobs:5000:8 SOM_EPOCHS=3 SOM_THREADS="--threads 1"
  LM_LINES=300 LM_EPOCHS=1 LM_CPU_LINES=300 LM_CPU_MEDIUM_LINES=200 LM_THREADS="--threads 1"
  VISION="--runs efficientnet_lite0:imagenet:1,resnet18:none:1 --train 200 --test 100 --size 32
          --batch 32"
  TESTS="tests/engine/test_loop.py -k resolve_device"
  export OMP_NUM_THREADS=1
else                             # sized for about 7 minutes on one H200 (16 cores)
  W2V_EPOCHS=5 W2V_BATCHES=16384,1024 W2V_METHODS=skipgram,cbow W2V_CORES=""
  SOM_CASES=fashion:10000:20,fashion:10000:50,blobs:200000:40 SOM_EPOCHS=10 SOM_THREADS=""
  # 60,000 gloss lines: about 925k training tokens, PTB's size (929k)
  LM_LINES=60000 LM_EPOCHS=2 LM_CPU_LINES=8000 LM_CPU_MEDIUM_LINES=1000 LM_THREADS=""
  VISION="--runs efficientnet_lite0:imagenet:3,resnet18:none:2 --train 8000 --test 2000
          --size 224 --batch 128"
  TESTS="tests/engine/test_loop.py tests/engine/test_estimator.py tests/som/test_som.py
         tests/report/test_tour.py::test_tour_refuses_a_device_before_any_work"
fi

report() {  # gpu.json from what the steps left so far
  "$PY" benchmarks/gpu/report.py summary "$W" "$OUT/gpu.json" "$@" \
    || echo "report.py failed (rc $?); gpu.json may be stale"
}

selected() {  # NAME begins with one of ONLY's comma-separated names
  local want
  for want in ${ONLY//,/ }; do [[ $1 == "$want"* ]] && return 0; done
  return 1
}

step() {  # step NAME LIMIT CMD...: CMD under timeout, within the budget; logged in steps.tsv
  local name=$1 limit=$2 left rc t
  shift 2
  if [ -n "${ONLY:-}" ] && ! selected "$name"; then return; fi
  left=$(( BUDGET - (SECONDS - T0) ))
  if (( left < 20 )); then
    echo "=== [$name] skipped: ${left} s of the ${BUDGET} s budget left"
    printf '%s\tskip\t0\t%s\n' "$name" "$left" >> "$W/steps.tsv"
    return
  fi
  (( limit > left )) && limit=$left
  echo
  echo "=== [$name] $(date -u +%T), limit ${limit} s: $*"
  t=$SECONDS
  timeout -k 5 "$limit" "$@" 2>&1 | tee "$W/out/$name.out"
  rc=${PIPESTATUS[0]}
  echo "=== [$name] rc $rc after $(( SECONDS - t )) s"
  printf '%s\t%s\t%s\t%s\n' "$name" "$rc" "$(( SECONDS - t ))" "$limit" >> "$W/steps.tsv"
  report
}

main() {
  echo "=== GPU check: DEVICE=$DEVICE SMALL=$SMALL BUDGET=$BUDGET s, work folder $W, $(date -u)"
  head -1 "$PACK/MANIFEST.txt" 2>/dev/null   # the commit pack.sh saw (the tree may differ)
  git log -1 --format='commit %h %s' 2>/dev/null || echo "(no git here)"
  nvidia-smi 2>&1 | head -20 || echo "no nvidia-smi"

  # the pack: data into a DLCOURSE_HOME of this run, wheels into a folder on PYTHONPATH
  if [ ! -f "$PACK/data.tar.xz" ]; then
    echo "no $PACK/data.tar.xz: run benchmarks/gpu/pack.sh here and name $PACK in carry"
    return 2
  fi
  "$PY" -c "import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2], filter='data')" \
    "$PACK/data.tar.xz" "$W" || return 2
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$W/site" \
    "$PACK"/wheels/*.whl || echo "wheels not installed: the SOM tests that compare with MiniSom skip"
  export PYTHONPATH="$PWD/src:$W/site" DLCOURSE_HOME="$W/home" DLCOURSE_OFFLINE=1 \
    DLCOURSE_PROGRESS=0 PYTHONUNBUFFERED=1 MPLBACKEND=Agg
  printf '{"device": "%s", "small": %s, "budget_s": %s, "only": "%s", "started": "%s"}\n' \
    "$DEVICE" "$SMALL" "$BUDGET" "${ONLY:-}" "$(date -u +%FT%TZ)" > "$W/meta.json"
  echo "unpacked in $(( SECONDS - T0 )) s; DLCOURSE_HOME=$DLCOURSE_HOME"
  T0=$SECONDS   # the budget counts the steps

  step env 60 "$PY" benchmarks/gpu/report.py env --device "$DEVICE" --json "$W/out/env.json"

  # (d) first, the issue's first target: fine-tuning with the CIFAR-10 recipe's settings,
  # EfficientNet-Lite0 from ImageNet weights, ResNet18's images/s
  step vision 130 "$PY" benchmarks/gpu/vision_offline.py --fashion "$W/fashion-t10k" \
    --device "$DEVICE" $VISION --json "$W/out/vision.json"

  # (a) word2vec. The all-cores run first: it compiles both numba kernels (on-disk cache),
  # which bench_word2vec.py's numba rows would otherwise time
  step w2v-cores 60 "$PY" benchmarks/gpu/w2v_cores.py --epochs "$W2V_EPOCHS" \
    --methods "$W2V_METHODS" $W2V_CORES --json "$W/out/w2v_cores.json"
  for method in ${W2V_METHODS//,/ }; do   # one process each: a slow batch size cuts one only
    step "w2v-$method" 100 env OMP_NUM_THREADS=1 "$PY" benchmarks/bench_word2vec.py \
      --torch-path "$W2V_BATCHES" --device "$DEVICE" --epochs "$W2V_EPOCHS" --methods "$method"
  done

  # (b) SOM
  step som 90 "$PY" benchmarks/gpu/som_torch.py --fashion "$W/fashion-t10k" --device "$DEVICE" \
    --cases "$SOM_CASES" --epochs "$SOM_EPOCHS" $SOM_THREADS --json "$W/out/som.json"

  # (c) language models on the WordNet glosses (PTB is online only)
  step lm-device-ptb-medium 120 "$PY" -m dlcourse $LM_THREADS lm train wordnet \
    --model ptb-medium --device "$DEVICE" --epochs "$LM_EPOCHS" --max-lines "$LM_LINES" \
    --out "$W/out/lm-device-ptb-medium"
  step lm-cpu-lstm 60 "$PY" -m dlcourse $LM_THREADS lm train wordnet --model lstm \
    --device cpu --epochs 1 --max-lines "$LM_CPU_LINES" --out "$W/out/lm-cpu-lstm"
  step lm-cpu-ptb-medium 45 "$PY" -m dlcourse $LM_THREADS lm train wordnet --model ptb-medium \
    --device cpu --epochs 1 --max-lines "$LM_CPU_MEDIUM_LINES" --out "$W/out/lm-cpu-ptb-medium"

  # the lowest priority last: what the budget leaves
  if [ "$DEVICE" != cpu ] || [ "$SMALL" = 1 ]; then   # --amp does nothing on the CPU
    step lm-device-ptb-medium-amp 60 "$PY" -m dlcourse $LM_THREADS lm train wordnet \
      --model ptb-medium --amp --device "$DEVICE" --epochs 1 --max-lines "$LM_LINES" \
      --out "$W/out/lm-device-ptb-medium-amp"
  fi
  # (e) no test is marked for a GPU; these are the ones that mention CUDA (on a GPU the
  # "not available" cases skip and device="auto" resolves to it)
  local xdist=""
  "$PY" -c "import xdist" 2>/dev/null && [ "$SMALL" != 1 ] && xdist="-n 8"
  # shellcheck disable=SC2086
  step tests 90 "$PY" -m pytest -q $xdist --junitxml="$W/out/tests.xml" $TESTS

  echo
  echo "=== summary ($(( SECONDS - T0 )) s of steps)"
  report --print
  "$PY" - "$W/out" "$OUT/steps.tar.gz" <<'PY'
import sys, tarfile
from pathlib import Path
root = Path(sys.argv[1])
with tarfile.open(sys.argv[2], "w:gz") as tar:   # no weights or checkpoints: hundreds of MB
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix in (".json", ".out", ".xml", ".png"):
            tar.add(path, str(path.relative_to(root)))
PY
  ls -l "$OUT"
  [ "${KEEP:-0}" = 1 ] || rm -rf "$W"   # models and checkpoints: hundreds of MB
}

main "$@" 2>&1 | tee "$OUT/gpu.log"
exit "${PIPESTATUS[0]}"
