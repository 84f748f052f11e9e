#!/usr/bin/env bash
# End-to-end tests of bin/train: options, errors, exact resume (mid-epoch and
# at an epoch boundary), reproducibility, Ctrl-C, refusal of mismatched or
# truncated checkpoints, de-duplication against a validation folder, and a
# short real CK+ run that must learn.
# Prints "t_train: N passed, N failed, N skipped".
set -u
cd "$(dirname "$0")/.."
. tests/tlib.sh
T=$(mktemp -d /tmp/ferc-t_train.XXXXXX)
trap 'rm -rf "$T"' EXIT

# identical params, buffers and optimiser state in two checkpoints
same_ckpt() {
    $PY - "$1" "$2" <<'PYEOF'
import sys, h5py, numpy as np
a, b = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
names = []
a.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
diff = [n for n in names if n != "history" and not np.array_equal(a[n][()], b[n][()])]
for k in ("epoch", "step", "global_step"):
    if a.attrs[k] != b.attrs[k]: diff.append("attr " + k)
if diff: print("differ:", diff[:5]); sys.exit(1)
print(f"{len(names)} datasets identical")
PYEOF
}

"$BUILD/tests/mk_synth" "$T/synth" 3 12 4 24 || { echo "mk_synth failed"; exit 1; }
cat > "$T/synth.ini" <<EOF2
[data]
path = $T/synth
classes = anger, happy, surprise
input_size = 24
folds = 4
[model]
blocks = 1,1
widths = 8,16
fc = 16
dropout = 0.25
[train]
epochs = 3
batch = 8
lr = 0.02
seed = 5
threads = 2
[augment]
rotate = 5
[output]
dir = $T/runs
EOF2
TR() { "$BIN/train" "$@" --quiet; }

# --help
if out=$("$BIN/train" --help) && grep -q -- "--resume" <<<"$out"; then ok help; else bad help "$out"; fi

# malformed config: error names file:line, non-zero exit
printf '[data]\npath = x\nclasses = a, b\n[train]\nlerning_rate = 0.1\n' >"$T/bad.ini"
out=$("$BIN/train" "$T/bad.ini" 2>&1); rc=$?
if (( rc != 0 )) && grep -q "bad.ini:5" <<<"$out"; then ok bad_config; else bad bad_config "rc=$rc" "$out"; fi

# missing dataset folder: names it
printf '[data]\npath = %s/nowhere\nclasses = a, b\n' "$T" >"$T/nodata.ini"
out=$("$BIN/train" "$T/nodata.ini" 2>&1); rc=$?
if (( rc != 0 )) && grep -q "$T/nowhere" <<<"$out"; then ok missing_data; else bad missing_data "rc=$rc" "$out"; fi

# bad option values
out=$("$BIN/train" "$T/synth.ini" --fold 9 2>&1); rc=$?
if (( rc != 0 )) && grep -q "out of range" <<<"$out"; then ok fold_range; else bad fold_range "rc=$rc" "$out"; fi

# --resume writes in the checkpoint's folder: --out with it is refused, not ignored
out=$("$BIN/train" "$T/synth.ini" --resume "$T/any.h5" --out "$T/elsewhere" 2>&1); rc=$?
if (( rc == 2 )) && grep -q -- "--out" <<<"$out" && [[ ! -e $T/elsewhere ]]; then ok resume_out_refused; else bad resume_out_refused "rc=$rc" "$out"; fi

# uninterrupted reference run
TR "$T/synth.ini" --fold 1 --out "$T/a" >/dev/null 2>"$T/a.log" || bad run_a "$(tail -5 "$T/a.log")"
# the same run again: bit-identical (fixed seed and threads)
TR "$T/synth.ini" --fold 1 --out "$T/a2" >/dev/null 2>"$T/a2.log"
if r=$(same_ckpt "$T/a/fold1/last.h5" "$T/a2/fold1/last.h5"); then ok reproducible; else bad reproducible "$r"; fi

# stop in the middle of epoch 2 (--max-steps), resume: identical to uninterrupted
TR "$T/synth.ini" --fold 1 --out "$T/b" --max-steps 7 >/dev/null 2>"$T/b.log"
grep -q "batch" "$T/b.log" || bad midepoch_stop "$(tail -3 "$T/b.log")"
TR "$T/synth.ini" --resume "$T/b/fold1/last.h5" >/dev/null 2>"$T/b2.log"
if r=$(same_ckpt "$T/a/fold1/last.h5" "$T/b/fold1/last.h5"); then ok resume_mid_epoch; else bad resume_mid_epoch "$r" "$(tail -3 "$T/b2.log")"; fi
# ... and its history logs the whole of epoch 2 (training loss and accuracy
# over all its batches, as uninterrupted; the stopped part's time included)
if r=$($PY - "$T/a/fold1/last.h5" "$T/b/fold1/last.h5" <<'PYEOF'
import sys, h5py, numpy as np
a, b = (h5py.File(f, "r")["history"][()] for f in sys.argv[1:3])
if a.shape != b.shape or not np.array_equal(a[:, :8], b[:, :8], equal_nan=True): print("history differs:", a[:, :8], b[:, :8]); sys.exit(1)
if not b[1, 8] > 0: print("epoch 2 time", b[1, 8]); sys.exit(1)
print("history identical")
PYEOF
) && grep -q "^epoch   2/3 .* train loss $(sed -n 's/^epoch   2\/3 .* train loss \([0-9.]* acc [0-9.]*\) .*/\1/p' "$T/a.log") " "$T/b2.log"
then ok resume_mid_epoch_history; else bad resume_mid_epoch_history "$r" "$(grep "^epoch   2" "$T/a.log" "$T/b2.log")"; fi
# a mid-epoch checkpoint whose running figures are impossible is refused, naming the attribute
TR "$T/synth.ini" --fold 1 --out "$T/bx" --max-steps 7 >/dev/null 2>&1
$PY - "$T/bx/fold1/last.h5" <<'PYEOF'
import h5py, os, sys, zlib
p = sys.argv[1]
with h5py.File(p, "r+") as f:
    f.attrs["epoch_correct"] = f.attrs["epoch_seen"] + 1
size = os.path.getsize(p)
with open(p, "rb") as f:
    f.seek(512)
    crc = zlib.crc32(f.read())
with open(p, "r+b") as f:   # re-seal, as ferc_ckpt_seal would, so only the attribute is wrong
    f.write(("ferc-checkpoint\nsize %d\ncrc32 %08x\n" % (size, crc)).encode().ljust(512, b"\0"))
PYEOF
out=$(TR "$T/synth.ini" --resume "$T/bx/fold1/last.h5" 2>&1); rc=$?
if (( rc != 0 )) && grep -q "last.h5.*epoch_correct .* is more than epoch_seen" <<<"$out"; then ok resume_bad_epoch_figures
else bad resume_bad_epoch_figures "rc=$rc" "$(tail -3 <<<"$out")"; fi

# mixup and random erasing: they change training, and replay exactly on resume
MX=(--set train.mixup=0.4 --set augment.erase=0.5)
TR "$T/synth.ini" --fold 1 --out "$T/m" "${MX[@]}" >/dev/null 2>"$T/m.log" || bad run_mixup "$(tail -5 "$T/m.log")"
TR "$T/synth.ini" --fold 1 --out "$T/m2" "${MX[@]}" --max-steps 7 >/dev/null 2>"$T/m2.log"
cp "$T/m2/fold1/last.h5" "$T/m2-stopped.h5"
# the stop message's own "continue with" command, --set options included
cont=$(sed -n 's/^ *continue with: bin\/train //p' "$T/m2.log")
read -r -a cont_args <<<"$cont"
TR "${cont_args[@]}" >/dev/null 2>"$T/m2b.log"
# (the log shows each --set after the config's "default:" lines)
if grep -q -- "--set train.mixup=0.4 --set augment.erase=0.5" <<<"$cont" && ! grep -q "note:" "$T/m2b.log" &&
   [[ $(grep -n -e "default: train.mixup = 0$" -e "train: --set train.mixup = 0.4" "$T/m2.log" | cut -d: -f2- | tr '\n' '|') == "  default: train.mixup = 0|train: --set train.mixup = 0.4|" ]] &&
   r=$(same_ckpt "$T/m/fold1/last.h5" "$T/m2/fold1/last.h5"); then ok resume_mixup_erase
else bad resume_mixup_erase "continue with: $cont" "$r" "$(tail -3 "$T/m2b.log")"; fi
# resuming without the run's --set options is not silent: it names both keys
out=$(TR "$T/synth.ini" --resume "$T/m2-stopped.h5" --max-steps 8 2>&1 >/dev/null)
if grep -q "train.mixup is now '0'; the run in .* had '0.4'" <<<"$out" &&
   grep -q "augment.erase is now '0'; the run in .* had '0.5'" <<<"$out" &&
   ! grep -q "train.lr" <<<"$out"; then ok resume_names_changed_keys; else bad resume_names_changed_keys "$out"; fi
if ! same_ckpt "$T/a/fold1/last.h5" "$T/m/fold1/last.h5" >/dev/null; then ok mixup_erase_change_training; else bad mixup_erase_change_training "same weights as without them"; fi

# stop at an epoch boundary (as after a kill between epochs: 14 batches an
# epoch, so step 28 ends epoch 2), resume
TR "$T/synth.ini" --fold 1 --out "$T/c" --epochs 3 --max-steps 28 >/dev/null 2>"$T/c.log"
cp "$T/c/fold1/last.h5" "$T/c-epoch2.h5"
TR "$T/synth.ini" --resume "$T/c/fold1/last.h5" >/dev/null 2>>"$T/c.log"
if grep -q "stopped (--max-steps) after epoch 2" "$T/c.log" && r=$(same_ckpt "$T/a/fold1/last.h5" "$T/c/fold1/last.h5"); then
    ok resume_epoch_boundary
else bad resume_epoch_boundary "$r" "$(grep stopped "$T/c.log")"; fi

# weight averaging (train.swa_epochs): the exported weights are the mean of
# the last epochs' weights, those epochs run at swa_lr, the batch-norm
# statistics are recomputed (not the last epoch's), and a run stopped between
# the averaged epochs resumes to the same average
SW=(--set train.swa_epochs=2 --set train.swa_lr=0.005)
TR "$T/synth.ini" --fold 1 --out "$T/s" "${SW[@]}" >/dev/null 2>"$T/s.log" || bad run_swa "$(tail -5 "$T/s.log")"
TR "$T/synth.ini" --fold 1 --out "$T/s2" "${SW[@]}" --max-steps 28 >/dev/null 2>"$T/s2.log"   # 14 batches an epoch
cp "$T/s2/fold1/last.h5" "$T/s2-epoch2.h5"
TR "$T/synth.ini" --resume "$T/s2/fold1/last.h5" "${SW[@]}" >/dev/null 2>>"$T/s2.log"
if r=$($PY - "$T/s2-epoch2.h5" "$T/s/fold1/last.h5" "$T/s/fold1/model.h5" "$T/s/fold1/history.csv" <<'PYEOF'
import sys, h5py, numpy as np
e2, e3, m = (h5py.File(f, "r") for f in sys.argv[1:4])
bad = []
for n in e3["params"]:
    for t in e3["params"][n]:
        k = f"params/{n}/{t}"
        want = (e2[k][()].astype(np.float64) + e3[k][()]) / 2
        if not np.allclose(m[k][()], want, rtol=1e-5, atol=1e-7): bad.append(k)
        if not np.array_equal(e3[f"optim/avg/{n}/{t}"][()], m[k][()]): bad.append("optim/avg " + k)
if e2["optim"].attrs["avg_n"] != 1 or e3["optim"].attrs["avg_n"] != 2: bad.append("avg_n")
rm = "buffers/bn1_1/running_mean"
if np.array_equal(m[rm][()], e3[rm][()]) or not np.all(np.isfinite(m[rm][()])): bad.append("bn not recomputed")
lrs = [l.split(",")[1] for l in open(sys.argv[4]).read().split("\n")[1:] if l]
if [float(x) for x in lrs[1:]] != [0.005, 0.005] or float(lrs[0]) == 0.005: bad.append("lr column " + str(lrs))
if bad: print("wrong:", bad[:5]); sys.exit(1)
print("average of epochs 2-3")
PYEOF
) && grep -q "weight average of epochs 2-3" "$T/s.log" && grep -q "avg 2$" "$T/s.log" &&
   grep -q "stopped (--max-steps) after epoch 2" "$T/s2.log" &&
   same_ckpt "$T/s/fold1/last.h5" "$T/s2/fold1/last.h5" >/dev/null &&
   same_ckpt "$T/s/fold1/model.h5" "$T/s2/fold1/model.h5" >/dev/null; then ok swa_average
else bad swa_average "$r" "$(grep -e avg -e average "$T/s.log" "$T/s2.log")"; fi
# resuming with weight averaging switched on after averaged epochs have
# passed (here from a run without it, stopped after epoch 2) is refused at
# once, not after the last epoch
out=$(TR "$T/synth.ini" --resume "$T/c-epoch2.h5" "${SW[@]}" 2>&1 >/dev/null); rc=$?
if (( rc != 0 )) && grep -q "its weight average holds 0 epochs, but with train.swa_epochs = 2 it should hold 1 after epoch 2" <<<"$out" &&
   ! grep -q "^epoch" <<<"$out"; then ok swa_resume_mismatch
else bad swa_resume_mismatch "rc=$rc" "$out"; fi
# more averaged epochs than epochs: refused, naming the key
out=$("$BIN/train" "$T/synth.ini" --set train.swa_epochs=4 2>&1); rc=$?
if (( rc != 0 )) && grep -q "train.swa_epochs (4) is more than train.epochs (3)" <<<"$out"; then ok swa_epochs_range
else bad swa_epochs_range "rc=$rc" "$out"; fi

# knowledge distillation (train.distill): run a's model as the teacher; the
# log names it with its accuracy on the training images, training changes,
# a stop in mid-epoch resumes to the same weights, and mixup is refused
KD=(--set "train.distill=$T/a/fold1/model.h5" --set train.distill_weight=0.7 --set train.distill_temp=3)
TR "$T/synth.ini" --fold 1 --out "$T/kd" "${KD[@]}" >/dev/null 2>"$T/kd.log" || bad run_distill "$(tail -5 "$T/kd.log")"
TR "$T/synth.ini" --fold 1 --out "$T/kd2" "${KD[@]}" --max-steps 7 >/dev/null 2>"$T/kd2.log"
cp "$T/kd2/fold1/last.h5" "$T/kd2-stopped.h5"
TR "$T/synth.ini" --resume "$T/kd2/fold1/last.h5" "${KD[@]}" >/dev/null 2>"$T/kd2b.log"
if grep -qE "^train: distilling from 1 teacher\(s\) .*/a/fold1/model.h5: accuracy on the training images [01]\.[0-9]{4}, of their mean [01]\.[0-9]{4}; temperature 3, weight 0.7" "$T/kd.log" &&
   (( $(grep -c "^epoch" "$T/kd.log") == 3 )) && ! same_ckpt "$T/a/fold1/last.h5" "$T/kd/fold1/last.h5" >/dev/null &&
   r=$(same_ckpt "$T/kd/fold1/last.h5" "$T/kd2/fold1/last.h5"); then ok distill_runs_and_resumes
else bad distill_runs_and_resumes "$r" "$(grep -e distill -e "^epoch" -e "train:.*[Ee]rror" "$T/kd.log" "$T/kd2.log" | head -8)"; fi
# the soft labels travel in training checkpoints (not in exports), so the
# resume above read them instead of scoring the teacher again; a resume with
# another temperature scores it again
out=$(TR "$T/synth.ini" --resume "$T/kd2-stopped.h5" "${KD[@]}" --set train.distill_temp=1.5 --max-steps 8 2>&1 >/dev/null)
if grep -q "^train: distilling from .*/a/fold1/model.h5: soft labels (temperature 3) read from .*kd2/fold1/last.h5; weight 0.7$" "$T/kd2b.log" &&
   ! grep -q "teacher(s)" "$T/kd2b.log" && grep -q "^train: distilling from 1 teacher(s) .*temperature 1.5, weight 0.7" <<<"$out" &&
   r=$($PY - "$T/kd/fold1/last.h5" "$T/kd/fold1/model.h5" "$T/a/fold1/model.h5" <<'PYEOF'
import sys, h5py, numpy as np
last, model = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
t = last["distill/targets"]
assert "distill" not in model, "an export carries the soft labels"
assert t.attrs["teachers"] == sys.argv[3], t.attrs["teachers"]
assert t.attrs["temperature"] == np.float32(3), t.attrs["temperature"]
rows = t[()][t[()].sum(1) > 0]
assert len(rows) > 0 and np.allclose(rows.sum(1), 1, atol=1e-5), rows.sum(1)
print(f"{len(rows)} of {t.shape[0]} rows")
PYEOF
); then ok distill_labels_in_checkpoint
else bad distill_labels_in_checkpoint "$r" "$(grep distill "$T/kd2b.log")" "$(grep distill <<<"$out")"; fi
# a run started with --init from a distilling run's training checkpoint (the
# weight-averaging step) takes its soft labels when they cover its training
# images; another fold's training images are scored again
TR "$T/synth.ini" --fold 1 --out "$T/kd4" --init "$T/kd/fold1/last.h5" "${KD[@]}" --max-steps 2 >/dev/null 2>"$T/kd4.log"
TR "$T/synth.ini" --fold 2 --out "$T/kd5" --init "$T/kd/fold1/last.h5" "${KD[@]}" --max-steps 2 >/dev/null 2>"$T/kd5.log"
if grep -q "^train: distilling from .*/a/fold1/model.h5: soft labels (temperature 3) read from .*/kd/fold1/last.h5; weight 0.7$" "$T/kd4.log" &&
   ! grep -q "teacher(s)" "$T/kd4.log" && grep -q "^train: distilling from 1 teacher(s) .*temperature 3, weight 0.7" "$T/kd5.log" &&
   ! grep -q "read from" "$T/kd5.log"; then ok distill_labels_from_init
else bad distill_labels_from_init "$(grep -e distill -e "train:.*[Ee]rror" "$T/kd4.log" "$T/kd5.log")"; fi
out=$(TR "$T/synth.ini" "${KD[@]}" --set train.mixup=0.2 2>&1); rc=$?
if (( rc != 0 )) && grep -q "train.distill cannot be combined with train.mixup" <<<"$out"; then ok distill_mixup_refused
else bad distill_mixup_refused "rc=$rc" "$out"; fi
out=$(TR "$T/synth.ini" --fold 1 --out "$T/kd3" --set "train.distill=$T/nope.h5" 2>&1); rc=$?
if (( rc != 0 )) && grep -q "nope.h5" <<<"$out" && ! grep -q "^epoch" <<<"$out"; then ok distill_missing_teacher
else bad distill_missing_teacher "rc=$rc" "$out"; fi

# a resumed --all run's closing line says its time is this process's, and adds
# the whole run's from the history (a log that spans sessions would otherwise
# show only the last session's wall-clock as the training time)
TR "$T/synth.ini" --all --out "$T/al" --max-steps 1 >/dev/null 2>"$T/al.log"
out=$(TR "$T/synth.ini" --resume "$T/al/all/last.h5" 2>/dev/null)
n_hist=$(grep -c . "$T/al/all/history.csv")
if grep -qE "^trained on all [0-9]+ images in [0-9]+:[0-9]{2} \(epochs 1-3, resumed; all 3 epochs: [0-9]+:[0-9]{2}, the sum of the history's epoch times\)$" <<<"$out" &&
   (( n_hist == 4 )) &&
   TR "$T/synth.ini" --all --out "$T/al2" 2>/dev/null | grep -qE "^trained on all [0-9]+ images in [0-9]+:[0-9]{2}$"; then ok resume_all_time
else bad resume_all_time "$out" "history lines: $n_hist"; fi

# Ctrl-C: exits 130, leaves a resumable checkpoint, resume completes
sed 's/^epochs = 3/epochs = 400/' "$T/synth.ini" >"$T/long.ini"
"$BIN/train" "$T/long.ini" --fold 0 --out "$T/d" --quiet >/dev/null 2>"$T/d.log" &
pid=$!
wait_for grep -q "^epoch" "$T/d.log" 2>/dev/null
kill -INT $pid; wait $pid; rc=$?
if (( rc == 130 )) && grep -q "interrupted" "$T/d.log" &&
   TR "$T/long.ini" --resume "$T/d/fold0/last.h5" --max-steps 400 >/dev/null 2>"$T/d2.log"; then
    ok ctrl_c_resumable
else
    bad ctrl_c_resumable "rc=$rc" "$(tail -3 "$T/d.log")" "$(tail -3 "$T/d2.log" 2>/dev/null)"
fi

# a checkpoint from another architecture is refused, naming the tensor
sed 's/^widths = 8,16/widths = 8,32/' "$T/synth.ini" >"$T/wide.ini"
out=$(TR "$T/wide.ini" --resume "$T/a/fold1/last.h5" 2>&1); rc=$?
if (( rc != 0 )) && grep -q "conv2_1/kernel" <<<"$out"; then ok mismatch_refused; else bad mismatch_refused "rc=$rc" "$out"; fi

# a truncated checkpoint is refused, naming the file
cp "$T/a/fold1/last.h5" "$T/trunc.h5"
truncate -s $(( $(stat -c %s "$T/trunc.h5") / 2 )) "$T/trunc.h5"
out=$(TR "$T/synth.ini" --resume "$T/trunc.h5" 2>&1); rc=$?
if (( rc != 0 )) && grep -q "trunc.h5" <<<"$out"; then ok truncated_refused; else bad truncated_refused "rc=$rc" "$out"; fi

# outputs: history.csv has one row per epoch; model.h5 is an export
if [[ $(wc -l <"$T/a/fold1/history.csv") == 4 ]] &&
   $PY -c "import h5py,sys; f=h5py.File(sys.argv[1]); sys.exit(0 if f.attrs['kind']=='export' and 'optim' not in f else 1)" "$T/a/fold1/model.h5"; then
    ok outputs
else
    bad outputs "$(cat "$T/a/fold1/history.csv")"
fi

# float16 exports: output.export_dtype = float16 writes model.h5 and --export
# as float16, numpy's rounding of the float32 run's model (same seed: the
# training is the same); ./train --half turns that float32 export into the
# same file; bin/eval reads it; a missing input is named
TR "$T/synth.ini" --fold 1 --out "$T/h" --set output.export_dtype=float16 --export "$T/h.h5" >/dev/null 2>"$T/h.log"
"$BIN/train" --half "$T/a/fold1/model.h5" "$T/conv.h5" >"$T/conv.log" 2>&1; rc=$?
if (( rc == 0 )) && grep -q "float16 weights" "$T/conv.log" &&
   $PY tests/ckpt_h5py.py "$T/h/fold1/model.h5" export "$T/a/fold1/model.h5" >/dev/null &&
   r=$(same_ckpt "$T/h/fold1/model.h5" "$T/conv.h5") && r=$(same_ckpt "$T/h.h5" "$T/conv.h5") &&
   "$BIN/eval" "$T/conv.h5" --data "$T/synth" --quiet >/dev/null 2>&1; then
    ok export_float16
else
    bad export_float16 "rc=$rc" "$(cat "$T/conv.log")" "${r:-}" "$(tail -3 "$T/h.log")"
fi
out=$("$BIN/train" --half "$T/nothing.h5" "$T/x.h5" 2>&1); rc=$?
if (( rc != 0 )) && grep -q "$T/nothing.h5" <<<"$out" && [[ ! -e $T/x.h5 ]]; then ok half_missing_input; else bad half_missing_input "rc=$rc" "$out"; fi

# fine-tuning: --init loads the tensors that match by name and shape, the
# classifier (2 classes instead of 3) keeps the rows of the classes both have
# (the log names the mapping), and the frozen first conv layer (model.freeze = 1)
# and its BN do not change during training
sed 's/^classes = anger, happy, surprise/classes = anger, happy\naliases = surprise=happy/; s/^\[model\]/[model]\nfreeze = 1/' "$T/synth.ini" >"$T/ft.ini"
TR "$T/ft.ini" --init "$T/a/fold1/model.h5" --fold 1 --out "$T/ft" >/dev/null 2>"$T/ft.log"; rc=$?
if (( rc == 0 )) && grep -q "initialised .* tensors from" "$T/ft.log" &&
   grep -q "classifier fc2 mapped by class name: anger happy, surprise dropped" "$T/ft.log" &&
   $PY - "$T/a/fold1/model.h5" "$T/ft/fold1/last.h5" <<'PYEOF'
import sys, h5py, numpy as np
a, b = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
frozen = ["params/conv1_1/kernel", "params/conv1_1/bias", "params/bn1_1/gamma", "params/bn1_1/beta",
          "buffers/bn1_1/running_mean", "buffers/bn1_1/running_var"]
for n in frozen:
    assert np.array_equal(a[n][()], b[n][()]), n + " changed although frozen"
assert not np.array_equal(a["params/conv2_1/kernel"][()], b["params/conv2_1/kernel"][()]), "conv2_1 did not train"
assert b["params/fc2/kernel"].shape[0] == 2, "new head has the wrong shape"
print("frozen layers unchanged, others trained, head mapped by class")
PYEOF
then ok finetune_init_freeze; else bad finetune_init_freeze "rc=$rc" "$(tail -8 "$T/ft.log")"; fi

# --init from another architecture is refused, naming the tensor
out=$(TR "$T/wide.ini" --init "$T/a/fold1/model.h5" --fold 1 --out "$T/ft2" 2>&1); rc=$?
if (( rc != 0 )) && grep -q "tensor conv2_1/kernel" <<<"$out" && grep -q "another architecture" <<<"$out"; then
    ok init_other_arch_refused
else
    bad init_other_arch_refused "rc=$rc" "$(tail -3 <<<"$out")"
fi

# model.freeze without --init is refused (the frozen layers would stay random)
out=$(TR "$T/ft.ini" --fold 1 --out "$T/ft3" 2>&1); rc=$?
if (( rc == 2 )) && grep -q "model.freeze = 1" <<<"$out" && grep -q -- "--set model.freeze=0" <<<"$out" && [[ ! -e $T/ft3 ]]; then
    ok freeze_without_init_refused
else
    bad freeze_without_init_refused "rc=$rc" "$(tail -3 <<<"$out")"
fi

# de-duplication in training: images identical to validation images are
# dropped, repeated copies inside the training folders too, and validation is
# reported without the images training contains ("val*")
cp -r "$T/synth" "$T/dd"
mkdir -p "$T/ddval/anger" "$T/ddval/happy"
a=( "$T"/dd/anger/*.png ); h=( "$T"/dd/happy/*.png )
cp "${a[0]}" "$T/ddval/anger/v1.png"; cp "${a[1]}" "$T/ddval/anger/v2.png"; cp "${h[0]}" "$T/ddval/happy/v3.png"
cp "${h[1]}" "$T/ddval/happy/v4.png"; cp "${h[5]}" "$T/dd/happy/copy_of_5.png"
# one validation image training has not seen: a training image mirrored
$PY -c "import cv2, sys; cv2.imwrite(sys.argv[2], cv2.flip(cv2.imread(sys.argv[1], 0), 1))" "${a[2]}" "$T/ddval/anger/v5.png"
sed "s|^path = .*|path = $T/dd\nval_path = $T/ddval\nsubject = none\ndedup = 1|; s|^folds = 4|folds = 0|; s|^epochs = 3|epochs = 1|" \
    "$T/synth.ini" > "$T/dd.ini"
TR "$T/dd.ini" --out "$T/ddrun" >/dev/null 2>"$T/dd.log"; rc=$?
if (( rc == 0 )) && grep -q "dropped 4 also in validation, 1 repeated copies, 0 with conflicting labels" "$T/dd.log" &&
    grep -q "4 of 5 validation images also occur in the training folders" "$T/dd.log" && grep -q " val\* " "$T/dd.log"; then
    ok dedup_train_val
else
    bad dedup_train_val "rc=$rc" "$(grep -E "kept|validation|error" "$T/dd.log")"
fi

# real data: a short run on CK+48 (about 690 training images, 5 subject folds)
# must learn: held-out-subject accuracy far above chance (1/7; majority class 25%)
if [[ -d $DATA/CK+48 ]]; then
    out=$(TR configs/tiny.ini --set "data.path=$DATA/CK+48" --fold 0 --out "$T/ck" 2>"$T/ck.log")
    acc=$(sed -nE 's/^fold 0: test accuracy ([0-9.]+).*/\1/p' <<<"$out")
    grep "^epoch" "$T/ck.log" | tail -3
    if [[ -n $acc ]] && awk -v a="$acc" 'BEGIN{exit !(a >= 0.6)}'; then ok "ck_learns (test accuracy $acc on held-out subjects)"
    else bad ck_learns "accuracy '$acc'" "$(tail -5 "$T/ck.log")"; fi
else
    skip ck_learns "no CK+48 under $DATA (set FERC_DATASETS)"
fi
finish
