#!/usr/bin/env bash
# End-to-end tests of bin/eval on a synthetic dataset (tiny models trained in
# seconds): the report and its last line, --json / --csv / --png / --curves,
# agreement with scikit-learn and with the accuracies ./train recorded,
# several checkpoints (pooled confusion = sum of the folds'), --data with
# synonyms, unknown folders and partial overlap, --tta, and refusal of bad
# input (not ferc's file, truncated, other version, empty or unreadable
# dataset, no overlapping classes). With the research data present, also a
# CK+ model on the FER2013 test folder (mapping and throughput).
# Prints "t_eval: N passed, N failed, N skipped".
set -u
cd "$(dirname "$0")/.."
. tests/tlib.sh
EV="$BIN/eval"
T=$(mktemp -d /tmp/ferc-t_eval.XXXXXX)
trap 'rm -rf "$T"' EXIT
have_h5py() { $PY -c "import h5py, numpy" 2>/dev/null; }
# runs a Python check given on stdin with the arguments; prints its output on failure
pycheck() {
    local name=$1; shift
    local out
    if out=$($PY - "$@" 2>&1); then ok "$name"; else bad "$name" "$out"; fi
}

# 5 classes x 12 subjects x 4 images; 2 epochs leave a model about 60% right (mistakes to report)
"$BUILD/tests/mk_synth" "$T/synth" 5 12 4 24 || { echo "mk_synth failed"; exit 1; }
cat > "$T/synth.ini" <<EOF2
[data]
path = $T/synth
classes = anger, happy, surprise, sadness, fear
input_size = 24
folds = 4
[model]
blocks = 1,1
widths = 8,16
fc = 16
[train]
epochs = 2
batch = 8
lr = 0.02
seed = 5
threads = 2
[output]
dir = $T/runs
EOF2
"$BIN/train" "$T/synth.ini" --folds all --out "$T/cv" --quiet >"$T/cv.out" 2>"$T/cv.log" ||
    { echo "training the synthetic model failed"; tail -5 "$T/cv.log"; exit 1; }
EVQ() { "$EV" "$@" --quiet --threads 2; }
last_acc() { tail -1 "$1" | sed -nE 's/^accuracy: ([01]\.[0-9]{4})$/\1/p'; }

# --help and command-line errors (exit 2)
if out=$("$EV" --help) && grep -q -- "--tta" <<<"$out" && grep -q -- "--data DIR" <<<"$out"; then ok help; else bad help "$out"; fi
r1=$("$EV" 2>&1); c1=$?
r2=$("$EV" "$T/cv/fold0/model.h5" --frobnicate 2>&1); c2=$?
r3=$("$EV" "$T/cv/fold0/model.h5" --tta sideways 2>&1); c3=$?
r4=$("$EV" "$T/cv/fold0/model.h5" --batch 0 2>&1); c4=$?
if (( c1 == 2 && c2 == 2 && c3 == 2 && c4 == 2 )) && grep -q "no checkpoint" <<<"$r1" && grep -q "frobnicate" <<<"$r2" &&
   grep -q "flip" <<<"$r3"; then ok usage_errors; else bad usage_errors "$c1 $c2 $c3 $c4" "$r1" "$r2" "$r3" "$r4"; fi

# one checkpoint on its own test fold, every output
EVQ "$T/cv/fold1/model.h5" --json "$T/one.json" --csv "$T/one.csv" --png "$T/one.png" --curves "$T/curves.png" \
    >"$T/one.txt" 2>"$T/one.err"; rc=$?
acc=$(last_acc "$T/one.txt")
trained=$(sed -nE 's/^fold 1: test accuracy ([0-9.]+).*/\1/p' "$T/cv.out")
if (( rc == 0 )) && [[ -n $acc && $acc == "$trained" ]] && grep -q "per class" "$T/one.txt" &&
   grep -q "confusion matrix" "$T/one.txt" && grep -q "95% CI" "$T/one.txt" && grep -q "top-2" "$T/one.txt" &&
   grep -q "matches the test accuracy recorded during training" "$T/one.txt"; then
    ok "single_checkpoint (last line 'accuracy: $acc' = ./train's fold 1 test accuracy)"
else
    bad single_checkpoint "rc=$rc acc='$acc' trained='$trained'" "$(tail -5 "$T/one.txt")" "$(cat "$T/one.err")"
fi

pycheck json_schema "$T/one.json" "$T/one.csv" "$acc" <<'PYEOF'
import csv, json, sys
j = json.load(open(sys.argv[1]))
for k in ("accuracy", "balanced_accuracy", "macro_f1", "classes", "confusion", "per_class", "n", "folds",
          "accuracy_ci95", "top2_accuracy", "mistakes", "tta", "data"):
    assert k in j, f"missing key {k}"
assert j["classes"] == ["anger", "happy", "surprise", "sadness", "fear"], j["classes"]
assert j["data"] == "test-fold" and j["tta"] == "none"
cm = j["confusion"]
assert len(cm) == 5 and all(len(r) == 5 for r in cm)
assert sum(map(sum, cm)) == j["n"], "confusion does not sum to n"
assert sum(cm[i][i] for i in range(5)) == j["correct"]
assert f"{j['accuracy']:.4f}" == sys.argv[3], (j["accuracy"], sys.argv[3])
assert set(j["per_class"]) == set(j["classes"])
assert all(j["per_class"][c]["support"] == sum(cm[i]) for i, c in enumerate(j["classes"]))
lo, hi = j["accuracy_ci95"]
assert lo <= j["accuracy"] <= hi
assert len(j["folds"]) == 1 and j["folds"][0]["fold"] == 1 and j["folds"][0]["folds"] == 4
rows = list(csv.DictReader(open(sys.argv[2])))
assert len(rows) == j["n"], (len(rows), j["n"])
for r in rows:
    s = sum(float(r["p_" + c]) for c in j["classes"])
    assert abs(s - 1) < 1e-5, s
    assert r["correct"] == str(int(r["true"] == r["predicted"]))
print("ok")
PYEOF

pycheck png_outputs "$T/one.png" "$T/curves.png" <<'PYEOF'
import struct, sys, zlib
def png(path):
    b = open(path, "rb").read()
    assert b[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    w, h, depth, ctype = struct.unpack(">IIBB", b[16:26])
    # walk the chunks: CRCs valid, IDAT inflates to h rows of 1 + 3w bytes
    pos, idat = 8, b""
    while pos < len(b):
        n, = struct.unpack(">I", b[pos:pos + 4]); typ = b[pos + 4:pos + 8]; data = b[pos + 8:pos + 8 + n]
        assert struct.unpack(">I", b[pos + 8 + n:pos + 12 + n])[0] == zlib.crc32(typ + data), "bad CRC"
        if typ == b"IDAT": idat += data
        pos += 12 + n
    assert depth == 8 and ctype == 2, (depth, ctype)
    assert len(zlib.decompress(idat)) == h * (1 + 3 * w)
    return w, h
w, h = png(sys.argv[1])
assert 300 < w < 1200 and 300 < h < 1200, (w, h)
assert png(sys.argv[2]) == (1200, 480)
print("ok")
PYEOF

# scikit-learn agrees on the same predictions (eval's CSV vs its JSON, and the scorer's edge cases)
for mode in eval scorer; do
    if [[ $mode == eval ]]; then out=$($PY tests/sk_metrics.py --csv "$T/one.csv" --json "$T/one.json" 2>&1); rc=$?
    else out=$($PY tests/sk_metrics.py --scorer "$BUILD/tests/test_metrics" 2>&1); rc=$?; fi
    if (( rc == 0 )); then ok "sklearn_$mode"; sed 's/^/  /' <<<"$out"
    elif (( rc == 77 )); then skip "sklearn_$mode" "$out"
    else bad "sklearn_$mode" "$out"; fi
done

# training checkpoints (last.h5, best.h5) evaluate like the export (train.select = last: same weights)
EVQ "$T/cv/fold1/last.h5" >"$T/last.txt" 2>&1; r1=$?
EVQ "$T/cv/fold1/best.h5" >"$T/best.txt" 2>&1; r2=$?
if (( r1 == 0 && r2 == 0 )) && [[ $(last_acc "$T/last.txt") == "$acc" && $(last_acc "$T/best.txt") == "$acc" ]]; then
    ok training_checkpoints
else
    bad training_checkpoints "$r1 $r2" "$(tail -2 "$T/last.txt")" "$(tail -2 "$T/best.txt")"
fi

# a float16 export (bin/train --half) says so in the report and the JSON; the
# float32 one does not; its accuracy is within a few images of the float32 model's
"$BIN/train" --half "$T/cv/fold1/model.h5" "$T/half.h5" >/dev/null 2>&1
EVQ "$T/half.h5" --json "$T/half.json" >"$T/half.txt" 2>&1; r1=$?
EVQ "$T/cv/fold1/model.h5" --json "$T/full.json" >"$T/full.txt" 2>&1; r2=$?
ha=$(last_acc "$T/half.txt")
if (( r1 == 0 && r2 == 0 )) && grep -q "^checkpoint $T/half.h5: .*, float16 weights$" "$T/half.txt" &&
   ! grep -q "float16" "$T/full.txt" && grep -q '"weight_bits": 16,' "$T/half.json" &&
   grep -q '"weight_bits": 32,' "$T/full.json" && [[ -n $ha ]] &&
   awk -v a="$ha" -v b="$acc" 'BEGIN { d = a - b; exit !(d < 0.05 && d > -0.05) }'; then
    ok float16_export
else
    bad float16_export "$r1 $r2 $ha vs $acc" "$(grep checkpoint "$T/half.txt")"
fi

# all folds: per-fold table, mean +- std, pooled confusion = sum of the folds'
EVQ "$T"/cv/fold{0,1,2,3}/model.h5 --json "$T/all.json" --png "$T/all.png" --curves "$T/all_curves.png" \
    >"$T/all.txt" 2>"$T/all.err"; rc=$?
pooled=$(sed -nE 's/.*pooled ([0-9.]+) over.*/\1/p' "$T/cv.out")
if (( rc == 0 )) && grep -q "mean +- std over 4 checkpoints" "$T/all.txt" && [[ $(last_acc "$T/all.txt") == "$pooled" ]]; then
    ok "several_checkpoints (pooled $pooled as ./train --folds all said)"
else
    bad several_checkpoints "rc=$rc pooled=$pooled" "$(tail -3 "$T/all.txt")" "$(cat "$T/all.err")"
fi
pycheck aggregation_sums "$T/all.json" <<'PYEOF'
import json, statistics, sys
j = json.load(open(sys.argv[1]))
f = j["folds"]
assert len(f) == 4 and sorted(x["fold"] for x in f) == [0, 1, 2, 3]
s = [[sum(x["confusion"][r][c] for x in f) for c in range(5)] for r in range(5)]
assert s == j["confusion"], (s, j["confusion"])
assert j["n"] == sum(x["n"] for x in f) == 240, j["n"]   # the folds partition the 240 images
assert j["overlap"] is False and j["accuracy_ci95"] is not None
accs = [x["accuracy"] for x in f]
assert abs(j["fold_mean"]["accuracy"] - statistics.mean(accs)) < 1e-12
assert abs(j["fold_mean"]["accuracy_std"] - statistics.stdev(accs)) < 1e-12
assert abs(j["accuracy"] - sum(x["correct"] for x in f) / j["n"]) < 1e-15
print("ok")
PYEOF

# --data: synonyms (angry, happiness, sad, fearful), an unknown folder (cats) reported and excluded
mkdir -p "$T/syn"
cp -r "$T/synth/anger" "$T/syn/angry"; cp -r "$T/synth/happy" "$T/syn/happiness"; cp -r "$T/synth/sadness" "$T/syn/sad"
cp -r "$T/synth/fear" "$T/syn/fearful"; cp -r "$T/synth/surprise" "$T/syn/surprise"; cp -r "$T/synth/surprise" "$T/syn/cats"
EVQ "$T/cv/fold0/model.h5" --data "$T/syn" --json "$T/syn.json" --csv "$T/syn.csv" >"$T/syn.txt" 2>&1; rc=$?
if (( rc == 0 )) && grep -qE "cats +-> \(no class of this model: excluded, 48 images\)" "$T/syn.txt" &&
   grep -qE "angry +-> anger" "$T/syn.txt" && grep -qE "happiness +-> happy" "$T/syn.txt" &&
   grep -qE "fearful +-> fear" "$T/syn.txt" && grep -qE "sad +-> sadness" "$T/syn.txt"; then
    ok data_synonyms_unknown
else
    bad data_synonyms_unknown "rc=$rc" "$(head -12 "$T/syn.txt")"
fi
pycheck data_json "$T/syn.json" <<'PYEOF'
import json, sys
j = json.load(open(sys.argv[1]))
assert j["mapping"] == {"angry": "anger", "cats": None, "fearful": "fear", "happiness": "happy", "sad": "sadness",
                        "surprise": "surprise"}, j["mapping"]
assert j["excluded"] == {"cats": 48}, j["excluded"]
assert j["n"] == 240 and [sum(r) for r in j["confusion"]] == [48] * 5
print("ok")
PYEOF
# partial overlap: one class folder and an unknown one; the missing classes are named
mkdir -p "$T/part"; cp -r "$T/synth/anger" "$T/part/mad"; cp -r "$T/synth/happy" "$T/part/neutral"
EVQ "$T/cv/fold0/model.h5" --data "$T/part" --json "$T/part.json" >"$T/part.txt" 2>&1; rc=$?
if (( rc == 0 )) && grep -q "model classes with no folder: happy, surprise, sadness, fear" "$T/part.txt" &&
   $PY -c "import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if j['n']==48 and j['excluded']=={'neutral':48} else 1)" "$T/part.json"; then
    ok data_partial_overlap
else
    bad data_partial_overlap "rc=$rc" "$(head -12 "$T/part.txt")"
fi
# several checkpoints on the same images: flagged, no interval for the pooled figure
EVQ "$T"/cv/fold{0,1}/model.h5 --data "$T/syn" --json "$T/syn2.json" >"$T/syn2.txt" 2>&1; rc=$?
if (( rc == 0 )) && grep -q "evaluated by more than one checkpoint" "$T/syn2.txt" &&
   $PY -c "import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if j['overlap'] and j['accuracy_ci95'] is None and j['n']==480 else 1)" "$T/syn2.json"; then
    ok data_shared_images
else
    bad data_shared_images "rc=$rc" "$(tail -5 "$T/syn2.txt")"
fi

# test-time augmentation: plain figure beside it, identical to the run without TTA
for mode in flip tencrop; do
    EVQ "$T/cv/fold1/model.h5" --tta $mode --json "$T/tta_$mode.json" >"$T/tta_$mode.txt" 2>&1; rc=$?
    if (( rc == 0 )) && grep -q "against the plain prediction" "$T/tta_$mode.txt" &&
       $PY - "$T/tta_$mode.json" "$T/one.json" $mode <<'PYEOF'
import json, sys
t, p = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert t["tta"] == sys.argv[3]
assert t["plain"]["accuracy"] == p["accuracy"] and t["plain"]["confusion"] == p["confusion"]
g = t["tta_gain"]
assert abs(g["accuracy"] - (t["accuracy"] - p["accuracy"])) < 1e-12
assert (g["wrong_to_right"] - g["right_to_wrong"]) == t["correct"] - p["correct"]
PYEOF
    then ok "tta_$mode (plain, $mode, gain:$(grep -E '^  accuracy +[0-9.]+ +[0-9.]+ +[-+]' "$T/tta_$mode.txt" | tr -s ' ' | cut -d' ' -f3-))"
    else bad "tta_$mode" "rc=$rc" "$(tail -5 "$T/tta_$mode.txt")"; fi
done

# ---- bad input: a clear message and a non-zero exit
expect_fail() { # name, message pattern, eval arguments...
    local name=$1 pat=$2; shift 2
    local out rc
    out=$("$EV" "$@" --quiet --threads 2 2>&1); rc=$?
    # exit 1 (not 2, a usage error); under ASan/UBSan also no report of a leak or UB on the error path
    if (( rc == 1 )) && grep -qE -- "$pat" <<<"$out" && ! grep -q "^accuracy:" <<<"$out" &&
       ! grep -qE "Sanitizer|runtime error" <<<"$out"; then ok "$name"
    else bad "$name" "rc=$rc" "$out"; fi
}
M="$T/cv/fold0/model.h5"
echo "not a checkpoint" >"$T/text.h5"
expect_fail bad_not_hdf5 "text.h5: not a ferc checkpoint" "$T/text.h5"
cp "$T/synth/anger/$(ls "$T/synth/anger" | head -1)" "$T/image.h5"
expect_fail bad_image_as_checkpoint "image.h5: not a ferc checkpoint" "$T/image.h5"
expect_fail bad_missing_checkpoint "nothing.h5: No such file" "$T/nothing.h5"
cp "$M" "$T/trunc.h5"; truncate -s $(( $(stat -c %s "$M") * 2 / 3 )) "$T/trunc.h5"
expect_fail bad_truncated "trunc.h5: truncated or corrupt" "$T/trunc.h5"
if have_h5py; then
    $PY -c "import h5py; f = h5py.File('$T/foreign.h5', 'w'); f['weights'] = [1.0, 2.0]"
    expect_fail bad_foreign_hdf5 "foreign.h5: not a ferc checkpoint" "$T/foreign.h5"
    cp "$M" "$T/v2.h5"
    $PY - "$T/v2.h5" <<'PYEOF'
import h5py, os, sys, zlib
p = sys.argv[1]
with h5py.File(p, "r+") as f:
    f.attrs["version"] = 2
size = os.path.getsize(p)
with open(p, "rb") as f:
    f.seek(512)
    crc = zlib.crc32(f.read())
with open(p, "r+b") as f:   # re-seal, as ferc_ckpt_seal would: only the version differs
    f.write(("ferc-checkpoint\nsize %d\ncrc32 %08x\n" % (size, crc)).encode().ljust(512, b"\0"))
PYEOF
    expect_fail bad_other_version "v2.h5: checkpoint format version 2, this ferc reads 1" "$T/v2.h5"
else
    skip bad_foreign_hdf5 "no h5py"; skip bad_other_version "no h5py"
fi
mkdir -p "$T/empty" "$T/noimg/happy" "$T/pets/cats" "$T/pets/dogs" "$T/corrupt/happy"
touch "$T/pets/cats/a.png"; echo "junk" >"$T/corrupt/happy/x.png"; echo "notes" >"$T/noimg/happy/readme.txt"
expect_fail bad_empty_dataset "empty: no sub-folders" "$M" --data "$T/empty"
expect_fail bad_no_images "noimg: no images" "$M" --data "$T/noimg"
expect_fail bad_missing_dataset "nowhere: dataset folder not found" "$M" --data "$T/nowhere"
expect_fail bad_unreadable_image "x.png: not a PNG or JPEG" "$M" --data "$T/corrupt"
expect_fail bad_no_overlap "no folder matches a class of the model: the folders are \{cats, dogs\}" "$M" --data "$T/pets"
expect_fail bad_output_folder "--json $T/nowhere/x.json: cannot write" "$M" --json "$T/nowhere/x.json"
# a model trained on everything has no test fold: the error says to use --data
"$BIN/train" "$T/synth.ini" --all --out "$T/allrun" --quiet >/dev/null 2>&1
expect_fail bad_no_test_fold "trained on all its data.*--data DIR" "$T/allrun/all/model.h5"
# checkpoints with different classes cannot be pooled
"$BUILD/tests/mk_synth" "$T/synth2" 2 8 3 24 >/dev/null
sed -e "s|^path = .*|path = $T/synth2|" -e "s|^classes = .*|classes = anger, happy|" "$T/synth.ini" >"$T/two.ini"
"$BIN/train" "$T/two.ini" --fold 0 --out "$T/two" --quiet >/dev/null 2>&1
expect_fail bad_mixed_classes "different classes" "$M" "$T/two/fold0/model.h5"

# ---- real data: a small CK+ model on the FER2013 test folder (mapping, throughput)
if [[ -d $DATA/CK+48 && -d $DATA/fer2013/test ]]; then
    "$BIN/train" configs/tiny.ini --set "data.path=$DATA/CK+48" --fold 0 --epochs 2 --out "$T/ck" --quiet >/dev/null 2>&1
    s0=$(date +%s%N)
    EVQ "$T/ck/fold0/model.h5" --data "$DATA/fer2013/test" --json "$T/fer.json" >"$T/fer.txt" 2>&1; rc=$?
    dt=$(( ($(date +%s%N) - s0) / 1000000 ))
    if (( rc == 0 )) && grep -qE "neutral +-> \(no class of this model: excluded, [0-9]+ images\)" "$T/fer.txt" &&
       $PY - "$T/fer.json" <<'PYEOF'
import json, sys
j = json.load(open(sys.argv[1]))
m = j["mapping"]
assert m["angry"] == "anger" and m["sad"] == "sadness" and m["happy"] == "happy" and m["neutral"] is None, m
assert j["n"] + j["excluded"]["neutral"] == 3589, (j["n"], j["excluded"])
PYEOF
    then ok "fer2013_test (3589 images, neutral excluded; ${dt} ms with 2 threads, tiny model)"
    else bad fer2013_test "rc=$rc" "$(head -14 "$T/fer.txt")"; fi
else
    skip fer2013_test "no CK+48 and fer2013/test under $DATA (set FERC_DATASETS)"
fi

# under ASan/UBSan (make asan) nothing above may have reported an error, even with exit 0
if reports=$(grep -lE "ERROR: [A-Za-z]*Sanitizer|runtime error:" "$T"/*.txt "$T"/*.err 2>/dev/null); then
    bad sanitizer_reports $reports
else
    ok no_sanitizer_reports
fi

finish
