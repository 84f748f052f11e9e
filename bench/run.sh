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
ITERS=${ITERS:-10}
PY=/usr/bin/python3
have_torch=1
$PY -c 'import torch' 2>/dev/null || { have_torch=0; echo "bench: /usr/bin/python3 cannot import torch (apt-get install python3-torch); ferc figures only"; }
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), threads used: $THREADS, batch $BATCH"
declare -A R
kv() { sed -nE "s/.*\b$2=([^ ]+).*/\1/p" <<<"$1"; }
settings=("${OPENBLAS_CORETYPE:-unset}")
[[ ${OPENBLAS_CORETYPE:-unset} != unset ]] && settings+=(unset)
for ct in "${settings[@]}"; do
    if [[ $ct == unset ]]; then envp=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE); else envp=(env OPENBLAS_CORETYPE=$ct); fi
    echo
    echo "== OPENBLAS_CORETYPE=$ct (applies to both engines; PyTorch's convolutions run in oneDNN)"
    printf '%-10s %-8s %14s %10s %14s %12s\n' engine width "train img/s" "GFLOP/s" "infer1 ms" "blas core"
    for w in 64 32; do
        f=$("${envp[@]}" OMP_NUM_THREADS=$THREADS "$BUILD/bench_ferc" --width $w --batch $BATCH --threads $THREADS --iters $ITERS)
        printf '%-10s %-8s %14s %10s %14s %12s\n' ferc $w "$(kv "$f" train_img_s)" "$(kv "$f" train_gflops)" "$(kv "$f" infer1_ms)" "$(kv "$f" blas_core)"
        R[ferc_${ct}_$w]=$(kv "$f" train_img_s); R[ferc_lat_${ct}_$w]=$(kv "$f" infer1_ms)
        if (( have_torch )); then
            p=$("${envp[@]}" OMP_NUM_THREADS=$THREADS $PY bench/torch_vgg.py --width $w --batch $BATCH --threads $THREADS --iters $ITERS)
            gf=$(awk -v ips="$(kv "$p" train_img_s)" -v f="$(kv "$f" train_gflops)" -v fi="$(kv "$f" train_img_s)" 'BEGIN{printf "%.1f", f/fi*ips}')
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
