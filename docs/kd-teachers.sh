#!/usr/bin/env bash
# kd-teachers.sh: writes the teachers of configs/fer2013-kd.ini to runs/teachers/,
# the three FER2013 releases as committed (float16 exports):
#   fd81b56  weight-averaged model (configs/fer2013-swa.ini)
#   e2623ac  80 epochs with random erasing (configs/fer2013-long.ini)
#   15802d1  48 epochs (configs/fer2013.ini)
# With --score it also scores each on PublicTest (bin/eval --csv) and the mean
# of their probabilities, the teacher that distillation learns from.
# Needs a git clone of ferc (the files come from its history).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p runs/teachers
csvs=()
for c in fd81b56 e2623ac 15802d1; do
    out=runs/teachers/fer2013-$c.h5
    git show "$c:checkpoints/fer2013.h5" >"$out.tmp"
    mv "$out.tmp" "$out"
    echo "wrote $out ($(stat -c %s "$out") bytes)"
    if [[ ${1:-} == --score ]]; then
        echo "  $(bin/eval "$out" --data datasets/fer2013/test --csv "runs/teachers/$c.csv" --quiet | tail -1)"
        csvs+=("runs/teachers/$c.csv")
    fi
done
if [[ ${1:-} == --score ]]; then
    # columns: checkpoint,fold,file,true,predicted,correct,probability,p_<class>...
    awk -F, 'FNR == 1 { if (NR == 1) for (i = 8; i <= NF; i++) name[i] = substr($i, 3); next }
             { n[$3]++; truth[$3] = $4; for (i = 8; i <= NF; i++) p[$3, i] += $i; last = NF }
             END { for (f in n) { best = 8; for (i = 9; i <= last; i++) if (p[f, i] > p[f, best]) best = i
                                  right += name[best] == truth[f]; total++ }
                   printf "mean of the %d teachers: accuracy %.4f (%d of %d)\n", ARGC - 1, right / total, right, total }' "${csvs[@]}"
fi
