#!/usr/bin/env bash
# kd-teachers.sh: writes the teachers of configs/fer2013-kd.ini to runs/teachers/,
# the three FER2013 releases as committed (float16 exports):
#   fd81b56  weight-averaged model (configs/fer2013-swa.ini)
#   e2623ac  80 epochs with random erasing (configs/fer2013-long.ini)
#   15802d1  48 epochs (configs/fer2013.ini)
# With --score it also scores each on PublicTest (bin/eval --csv) and the mean
# of their probabilities: on the plain images, and on each image with its
# mirror (--tta flip), which is how bin/train scores the training images for
# their soft labels (src/distill.h).
# Needs a git clone of ferc (the files come from its history) and bin/eval.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p runs/teachers
score=0
[[ ${1:-} == --score ]] && score=1
for c in fd81b56 e2623ac 15802d1; do
    out=runs/teachers/fer2013-$c.h5
    git show "$c:checkpoints/fer2013.h5" >"$out.tmp"
    mv "$out.tmp" "$out"
    echo "wrote $out ($(stat -c %s "$out") bytes)"
    if (( score )); then
        for tta in none flip; do
            echo "  --tta $tta: $(bin/eval "$out" --data datasets/fer2013/test --tta $tta \
                --csv "runs/teachers/$c-$tta.csv" --quiet | tail -1)"
        done
    fi
done
(( score )) || exit 0
# mean of the teachers' probabilities per image (the p_<class> columns)
for tta in none flip; do
    awk -F, -v tta=$tta '
        FNR == 1 { nc = 0; for (i = 1; i <= NF; i++) if ($i ~ /^p_/) { col[++nc] = i; name[nc] = substr($i, 3) }
                   for (i = 1; i <= NF; i++) if ($i == "file") fc = i; else if ($i == "true") tc = i; next }
        { n[$fc]++; truth[$fc] = $tc; for (k = 1; k <= nc; k++) p[$fc, k] += $(col[k]) }
        END { for (f in n) { best = 1; for (k = 2; k <= nc; k++) if (p[f, k] > p[f, best]) best = k
                             right += name[best] == truth[f]; total++ }
              printf "mean of the %d teachers, --tta %s: accuracy %.4f (%d of %d)\n", ARGC - 1, tta, right / total, right, total }' \
        runs/teachers/{fd81b56,e2623ac,15802d1}-$tta.csv
done
