#!/usr/bin/env bash
# Face detection, ferc (src/haar*.c) against OpenCV's own CascadeClassifier
# (Debian python3-opencv, run by /usr/bin/python3), side by side in one run:
# the same synthetic 640x480 frames (made by bench_detect --make-frames: flat,
# gradient, noise and checkerboard backgrounds with 1-3 CK+48 faces of 48-160
# px pasted at known places), the same cascade file, scale factor, minimum
# neighbours and minimum size; 1 and 2 threads (OpenMP num_threads for ferc,
# cv2.setNumThreads for OpenCV). Each engine runs RUNS times per thread count,
# alternating with the other, and its fastest run counts (the machine may be
# shared).
#
# Prints how many of OpenCV's detections ferc finds (IoU >= 0.5), false
# positives of each against the pasted faces, the time per frame, and ends with
#   ratio detect_1thread X.XX
#   ratio detect_2threads X.XX
# (OpenCV ms / ferc ms: higher is better for ferc).
#
# Environment: BUILD (build), N (frames, 30), REPEAT (timed calls per frame, 3),
# RUNS (3), SCALE (1.1), NEIGHBORS (3), MIN (minimum size, 30), CASCADE,
# FERC_DATASETS.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
N=${N:-30}
REPEAT=${REPEAT:-3}
RUNS=${RUNS:-3}
SCALE=${SCALE:-1.1}
NEIGHBORS=${NEIGHBORS:-3}
MIN=${MIN:-30}
CASCADE=${CASCADE:-/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml}
DATA=${FERC_DATASETS:-../shared/datasets}
PY=/usr/bin/python3
BD=$BUILD/bench_detect

if [[ ! -x $BD ]]; then
    echo "detect: $BD not built; build it with 'make $BD', or by hand:"
    echo "  make $BUILD/libferc.a && cc -O3 -march=native -std=c11 -D_GNU_SOURCE -fopenmp -Isrc bench/bench_detect.c $BUILD/libferc.a \$(pkg-config --libs libpng libjpeg) -lm -o $BD"
    exit 1
fi
[[ -r $CASCADE ]] || { echo "detect: no cascade at $CASCADE (apt-get install opencv-data)"; exit 1; }
[[ -d $DATA/CK+48 ]] || { echo "detect: no CK+48 under $DATA (set FERC_DATASETS)"; exit 1; }
have_cv=1
$PY -c 'import cv2' 2>/dev/null || { have_cv=0; echo "detect: /usr/bin/python3 cannot import cv2 (apt-get install python3-opencv); ferc figures only"; }

T=$(mktemp -d /tmp/ferc-bench-detect.XXXXXX)
trap 'rm -rf "$T"' EXIT
"$BD" --make-frames "$T/frames" --n "$N" --seed 1 --data "$DATA/CK+48" || exit 1
frames=("$T"/frames/frame_*.png)
opts=(--cascade "$CASCADE" --scale "$SCALE" --neighbors "$NEIGHBORS" --min-size "$MIN" "$MIN" --repeat "$REPEAT")

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset} (BLAS is not used by either detector)"
[[ $have_cv == 1 ]] && echo "opencv: $($PY -c 'import cv2; print(cv2.__version__)'), cascade: $CASCADE"
echo "frames: $N x 640x480 (flat, gradient, noise, checker backgrounds; 1-3 CK+48 faces of 48-160 px)"
echo "parameters: scale factor $SCALE, min neighbours $NEIGHBORS, min size ${MIN}x$MIN; $REPEAT timed calls per frame after one warm-up, fastest of $RUNS alternating runs"

# fastest ms_per_image among the given JSON-lines files
best() { sed -nE 's/.*"ms_per_image": ([0-9.]+).*/\1/p' "$@" | sort -g | head -1; }
declare -A R
for t in 1 2; do
    for run in $(seq "$RUNS"); do
        OMP_NUM_THREADS=$t "$BD" "${opts[@]}" --threads "$t" "${frames[@]}" >"$T/ferc_${t}_$run.jsonl" || exit 1
        if [[ $have_cv == 1 ]]; then
            $PY bench/detect_opencv.py "${opts[@]}" --threads "$t" "${frames[@]}" >"$T/ocv_${t}_$run.jsonl" || exit 1
        fi
    done
    R[ferc_$t]=$(best "$T"/ferc_"${t}"_*.jsonl)
    [[ $have_cv == 1 ]] && R[ocv_$t]=$(best "$T"/ocv_"${t}"_*.jsonl)
done
simd=$(sed -nE 's/.*"simd": "([a-z0-9]+)".*/\1/p' "$T/ferc_1_1.jsonl")

# agreement, false positives and recall, from the 1-thread runs (the 2-thread
# results are checked to be the same boxes)
$PY - "$T/frames/truth.jsonl" "$T/ferc_1_1.jsonl" "$T/ferc_2_1.jsonl" \
    "$([[ $have_cv == 1 ]] && echo "$T/ocv_1_1.jsonl" || echo none)" <<'PYEOF'
import json, sys

def load(p):
    return {d["file"]: d for d in map(json.loads, open(p)) if "file" in d}

def iou(a, b):
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    if x1 <= x0 or y1 <= y0:
        return 0.0
    i = (x1 - x0) * (y1 - y0)
    return i / (a[2] * a[3] + b[2] * b[3] - i)

truth, f1, f2 = load(sys.argv[1]), load(sys.argv[2]), load(sys.argv[3])
ocv = load(sys.argv[4]) if sys.argv[4] != "none" else None
faces = sum(len(t["faces"]) for t in truth.values())

def score(res):
    found = fp = 0
    for f, t in truth.items():
        boxes = res[f]["boxes"]
        found += sum(any(iou(g, b) >= 0.5 for b in boxes) for g in t["faces"])
        fp += sum(not any(iou(g, b) >= 0.5 for g in t["faces"]) for b in boxes)
    return found, fp

ff, fpf = score(f1)
same_threads = all(sorted(f1[f]["boxes"]) == sorted(f2[f]["boxes"]) for f in truth)
print(f"ferc:   {ff}/{faces} pasted faces found, {fpf} false positives; 1 and 2 threads give "
      f"{'the same boxes' if same_threads else 'DIFFERENT boxes'}")
if ocv:
    fo, fpo = score(ocv)
    print(f"opencv: {fo}/{faces} pasted faces found, {fpo} false positives")
    n_ocv = sum(len(ocv[f]["boxes"]) for f in truth)
    matched = sum(any(iou(o, b) >= 0.5 for b in f1[f]["boxes"]) for f in truth for o in ocv[f]["boxes"])
    identical = sum(sorted(ocv[f]["boxes"]) == sorted(f1[f]["boxes"]) for f in truth)
    pct = 100.0 * matched / n_ocv if n_ocv else 100.0
    extra = sum(not any(iou(b, o) >= 0.5 for o in ocv[f]["boxes"]) for f in truth for b in f1[f]["boxes"])
    print(f"agreement: ferc finds {matched}/{n_ocv} of OpenCV's detections with IoU >= 0.5 ({pct:.1f}%, goal >= 95%), "
          f"{extra} boxes OpenCV does not have; identical box lists in {identical}/{len(truth)} frames")
PYEOF

echo
printf '%-10s %-8s %12s %10s\n' engine threads "ms/frame" simd
for t in 1 2; do
    [[ $have_cv == 1 ]] && printf '%-10s %-8s %12s %10s\n' opencv "$t" "${R[ocv_$t]}" "-"
    printf '%-10s %-8s %12s %10s\n' ferc "$t" "${R[ferc_$t]}" "$simd"
done
if [[ $have_cv == 1 ]]; then
    echo
    awk -v a="${R[ocv_1]}" -v b="${R[ferc_1]}" 'BEGIN{printf "ratio detect_1thread %.2f\n", a / b}'
    awk -v a="${R[ocv_2]}" -v b="${R[ferc_2]}" 'BEGIN{printf "ratio detect_2threads %.2f\n", a / b}'
fi
