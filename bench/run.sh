#!/usr/bin/env bash
# make bench: ferc against PyTorch (Debian python3-torch, oneDNN) on the same
# VGG16 layout (48x48 grayscale, blocks 2,2,3,3,3, BN+ReLU, FC head), same batch,
# same threads, same OPENBLAS_CORETYPE setting, in one run. Prints each pair
# side by side, then the peak RSS of a CK+ training run, then one summary line
# per comparison: "ratio NAME X.XX" (ferc / peer; higher is better for ferc).
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
THREADS=${THREADS:-2}
BATCH=${BATCH:-64}
ITERS=${ITERS:-8}
REPS=${REPS:-3}   # each figure is the best of REPS runs (ferc and PyTorch alternate)
PY=/usr/bin/python3
have_torch=1
$PY -c 'import torch' 2>/dev/null || { have_torch=0; echo "bench: /usr/bin/python3 cannot import torch (apt-get install python3-torch); ferc figures only"; }
echo "best of $REPS runs of $ITERS timed batches each (after 3 warm-up batches)"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), threads used: $THREADS, batch $BATCH"
declare -A R
kv() { sed -nE "s/.*\b$2=([^ ]+).*/\1/p" <<<"$1"; }
# best of several key=value lines: highest train_img_s, lowest infer1_ms
best() {
    local lines=$1 ips lat
    ips=$(grep -o 'train_img_s=[0-9.]*' <<<"$lines" | cut -d= -f2 | sort -g | tail -1)
    lat=$(grep -o 'infer1_ms=[0-9.]*' <<<"$lines" | cut -d= -f2 | sort -g | head -1)
    head -1 <<<"$lines" | sed -E "s/train_img_s=[0-9.]+/train_img_s=$ips/; s/infer1_ms=[0-9.]+/infer1_ms=$lat/"
}
settings=("${OPENBLAS_CORETYPE:-unset}")
[[ ${OPENBLAS_CORETYPE:-unset} != unset ]] && settings+=(unset)
for ct in "${settings[@]}"; do
    if [[ $ct == unset ]]; then envp=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE); else envp=(env OPENBLAS_CORETYPE=$ct); fi
    echo
    echo "== OPENBLAS_CORETYPE=$ct (applies to both engines; PyTorch's convolutions run in oneDNN)"
    printf '%-10s %-8s %14s %10s %14s %12s\n' engine width "train img/s" "GFLOP/s" "infer1 ms" "blas core"
    for w in 64 32; do
        fl= pl=
        for ((r = 0; r < REPS; r++)); do
            fl+=$("${envp[@]}" OMP_NUM_THREADS=$THREADS "$BUILD/bench_ferc" --width $w --batch $BATCH --threads $THREADS --iters $ITERS)$'\n'
            (( have_torch )) && pl+=$("${envp[@]}" OMP_NUM_THREADS=$THREADS $PY bench/torch_vgg.py --width $w --batch $BATCH --threads $THREADS --iters $ITERS)$'\n'
        done
        f=$(best "$fl")
        gpi=$(kv "$f" gflop_per_img)   # training GFLOP per image (3x forward), same network for both
        printf '%-10s %-8s %14s %10s %14s %12s\n' ferc $w "$(kv "$f" train_img_s)" "$(awk -v a="$(kv "$f" train_img_s)" -v g="$gpi" 'BEGIN{printf "%.1f", a*g}')" "$(kv "$f" infer1_ms)" "$(kv "$f" blas_core)"
        R[ferc_${ct}_$w]=$(kv "$f" train_img_s); R[ferc_lat_${ct}_$w]=$(kv "$f" infer1_ms)
        if (( have_torch )); then
            p=$(best "$pl")
            gf=$(awk -v a="$(kv "$p" train_img_s)" -v g="$gpi" 'BEGIN{printf "%.1f", a*g}')
            printf '%-10s %-8s %14s %10s %14s %12s\n' pytorch $w "$(kv "$p" train_img_s)" "$gf" "$(kv "$p" infer1_ms)" oneDNN
            R[torch_${ct}_$w]=$(kv "$p" train_img_s); R[torch_lat_${ct}_$w]=$(kv "$p" infer1_ms)
        fi
    done
done
echo
echo "== peak memory of a CK+ training run (bin/train configs/ck.ini --fold 0 --epochs 1)"
if [[ -d datasets/CK+48 || -d ${FERC_DATASETS:-../shared/datasets}/CK+48 ]]; then
    [[ -e datasets/CK+48 ]] || make -s datasets >/dev/null
    out=$(mktemp -d)
    $PY - "$out" <<'PYEOF'
import resource, subprocess, sys, time
t = time.time()
r = subprocess.run(["bin/train", "configs/ck.ini", "--fold", "0", "--epochs", "1", "--quiet", "--out", sys.argv[1]],
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
speed = [l for l in r.stderr.splitlines() if l.startswith("epoch")]
print(f"exit {r.returncode}, peak RSS {rss:.0f} MB, {time.time() - t:.1f} s; {speed[-1] if speed else r.stderr[-300:]}")
PYEOF
    rm -rf "$out"
else
    echo "skipped: CK+48 not found (make datasets)"
fi
echo
echo "== summary (ferc / PyTorch, same run, same threads and OPENBLAS_CORETYPE)"
for ct in "${settings[@]}"; do
    for w in 64 32; do
        [[ -n ${R[torch_${ct}_$w]:-} ]] || continue
        name=$([[ $w == 64 ]] && echo full || echo half)
        awk -v a="${R[ferc_${ct}_$w]}" -v b="${R[torch_${ct}_$w]}" -v n="train_${name}_width_coretype_$ct" 'BEGIN{printf "ratio %s %.2f\n", n, a/b}'
        awk -v a="${R[ferc_lat_${ct}_$w]}" -v b="${R[torch_lat_${ct}_$w]}" -v n="infer_batch1_${name}_width_coretype_$ct" 'BEGIN{printf "ratio %s %.2f\n", n, b/a}'
    done
done
