#!/usr/bin/env bash
# Rebuilds everything that depends on the FER2013 model, from a finished
# FER2013 run: the export checkpoints/fer2013.h5 and its reports, both CK+
# fine-tunes (10-fold cross-validation, then the release export on all data)
# with their logs, reports and confusion matrices, the demo's model evidence
# and the per-face speed of each export. It is what a new fer2013.h5 needs
# before it is committed; the README tables and checkpoints/README.md's model
# cards are then updated by hand from the files it writes (it prints where).
#
# usage: bash docs/release-models.sh RUN_MODEL      (e.g. runs/fer2013/all/model.h5)
#
# About 50 minutes on 2 cores (ck-finetune 10 folds ~15 min, ck8 ~27 min,
# exports ~4 min, evaluations ~2 min). Training runs with OPENBLAS_CORETYPE
# unset (as every shipped model); the speed lines use the README's setting,
# OPENBLAS_CORETYPE=Haswell, 1 thread, batch 1.
#
# Environment (for a trial run that leaves the repository alone):
#   DOCS    where the reports go (docs)
#   CKPTS   where the exports go (checkpoints)
#   RUNS    where the fine-tune runs go (runs)
#   DATA    the datasets folder (datasets)
#   TRAIN_ARGS  extra bin/train options for every fine-tune, e.g. "--epochs 1"
#   DTYPE   the exports' weights: float16 (default; half the size, the
#           10-fold models are float16 too, so what is measured is what ships)
#           or float32
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=${1:-}
if [ -z "$SRC" ] || [ "$SRC" = -h ] || [ "$SRC" = --help ]; then
    sed -n '2,/^set /{/^#/p}' "$0" | sed 's/^# \{0,1\}//'
    [ -n "$SRC" ] && exit 0 || exit 2
fi
DOCS=${DOCS:-docs}
CKPTS=${CKPTS:-checkpoints}
RUNS=${RUNS:-runs}
DATA=${DATA:-datasets}
TRAIN_ARGS=${TRAIN_ARGS:-}
DTYPE=${DTYPE:-float16}
case $DTYPE in float16|float32) ;; *) echo "release-models: DTYPE must be float16 or float32" >&2; exit 2;; esac
[ -f "$SRC" ] || { echo "release-models: $SRC: no such file" >&2; exit 1; }
for d in fer2013/test CK+48 CK+48-neutral; do
    [ -d "$DATA/$d" ] || { echo "release-models: $DATA/$d: missing (make datasets)" >&2; exit 1; }
done
mkdir -p "$DOCS" "$CKPTS" "$RUNS"
step() { echo "== $(date -u +%H:%M:%S) $*" >&2; }

# 1. the FER2013 export and its reports
FER=$CKPTS/fer2013.h5
if [ "$DTYPE" = float16 ]; then
    step "bin/train --half $SRC $FER"
    bin/train --half "$SRC" "$FER.new.h5" >&2 && mv "$FER.new.h5" "$FER"
elif [ "$(realpath "$SRC")" != "$(realpath -m "$FER")" ]; then
    cp "$SRC" "$FER.tmp" && mv "$FER.tmp" "$FER"
fi
step "eval $FER on FER2013 PublicTest and CK+48-neutral"
bin/eval "$FER" --data "$DATA/fer2013/test" --png "$DOCS/fer2013-test-confusion.png" \
    --json "$DOCS/fer2013-test.json" > "$DOCS/fer2013-test.txt"
bin/eval "$FER" --data "$DATA/CK+48-neutral" --json "$DOCS/fer2013-on-ck-neutral.json" \
    > "$DOCS/fer2013-on-ck-neutral.txt"

# 2. the fine-tunes: 10 folds, their report, then the release export
for c in ck-finetune ck8; do
    out=$RUNS/$c
    cmd="env -u OPENBLAS_CORETYPE bin/train configs/$c.ini --init $FER --folds all --quiet --out $out --set output.export_dtype=$DTYPE $TRAIN_ARGS"
    step "$cmd"
    log=$(mktemp)
    $cmd > "$log"
    {
        echo "\$ ${cmd% }"
        grep -E '^fold [0-9]+:' "$log"
        sed -n '/^[0-9]*-fold subject/,/^wall-clock/p' "$log"
    } > "$DOCS/$c-train.txt"
    rm -f "$log"
    step "eval $out/fold*/model.h5"
    bin/eval "$out"/fold*/model.h5 --png "$DOCS/$c-confusion.png" --json "$DOCS/$c-eval.json" \
        --quiet > "$DOCS/$c-eval.txt"
    cmd="env -u OPENBLAS_CORETYPE bin/train configs/$c.ini --init $FER --all --quiet --out $out-all --export $CKPTS/$c.h5 --set output.export_dtype=$DTYPE $TRAIN_ARGS"
    step "$cmd"
    $cmd >&2   # prints "trained on all N images in M:SS", the card's wall-clock
done

# 3. the demo's model evidence (it reads checkpoints/, so only for the real thing)
if [ "$CKPTS" = checkpoints ]; then
    step "bash docs/demo-model.sh"
    FERC_DATASETS=$DATA bash docs/demo-model.sh > /dev/null
fi

# 4. what the model cards quote
step "summary"
for m in fer2013 ck-finetune ck8; do
    f=$CKPTS/$m.h5
    speed=$(OPENBLAS_CORETYPE=Haswell bin/eval "$f" --data "$DATA/CK+48" --batch 1 --threads 1 --quiet |
        grep -oE '\([0-9.]+ img/s\)' | head -1)
    printf '%-12s %s bytes, batch-1 1-thread Haswell speed %s\n' "$m" "$(stat -c %s "$f")" "$speed"
done
grep -E '^  accuracy ' "$DOCS/fer2013-test.txt" | sed 's/^/fer2013 PublicTest /'
for c in ck-finetune ck8; do grep -E '^mean accuracy' "$DOCS/$c-train.txt" | sed "s/^/$c /"; done
echo "now update README.md and checkpoints/README.md from $DOCS/ (git diff --stat $DOCS)"
