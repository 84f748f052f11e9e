#!/usr/bin/env bash
# The evidence for the demo's default model (README "Which model the demo
# uses"): each candidate that knows neutral, on
#  1. FER2013 PublicTest (faces in the wild, like a webcam's),
#  2. CK+48-neutral (posed lab faces, 510 of them neutral; ck8 trained on
#     these, so its fair figure is its 10-fold cross-validation instead),
#  3. the neutral-to-anger clip, frame by frame (first 4 letters of the label).
# Output: docs/demo-model.txt.   usage: bash docs/demo-model.sh
set -eu
cd "$(dirname "$0")/.."
DATA=${FERC_DATASETS:-datasets}
CLIP=${FERC_VIDEO:-../shared/videos/face-neutral-to-anger.avi}
{
echo "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}, $(date -u +%F)"
for m in checkpoints/fer2013.h5 checkpoints/ck8.h5; do
    echo "== $m"
    for d in fer2013/test CK+48-neutral; do
        bin/eval "$m" --data "$DATA/$d" --quiet | awk -v d="$d" '
            /^  accuracy /          { acc = $2 }
            /^  balanced accuracy / { bal = $3 }
            /^  neutral / && NF == 6 { nr = $3 }   # the per-class row
            END { printf "  %-14s accuracy %s  balanced %s  neutral recall %s\n", d, acc, bal, nr }'
    done
    bin/demo --video "$CLIP" --model "$m" --headless 2>/dev/null | /usr/bin/python3 -c '
import sys, json
labels = [(f["faces"][0]["label"][:4] if f["faces"] else "-") for f in map(json.loads, sys.stdin)]
print("  clip (%d frames):" % len(labels), " ".join(labels))'
done
} | tee docs/demo-model.txt
