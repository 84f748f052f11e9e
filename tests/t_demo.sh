#!/usr/bin/env bash
# End-to-end tests of bin/demo: --help and usage errors; --images on dataset
# faces pasted on larger canvases (labels = the model's prediction on the
# original faces); the face clip in --headless mode (one track, neutral in the
# first 5 frames, one expression with anger in the top 2 of the last 10 frames'
# mean probabilities; ck8.h5:
# anger); --output (the annotated video reads back with
# every frame); the SDL window under the offscreen driver (a screenshot PNG
# whose box outline differs from the video and whose face does not); the 's'
# key sent by xdotool to the window on Xvfb (the snapshot PNG is what the
# window shows); error
# paths (missing device, malformed and missing video, missing cascade, missing
# model, unreadable image). Screenshots are kept in $FERC_ARTIFACTS (default
# test-artifacts/) for CI logs. Prints "t_demo: N passed, N failed, N skipped".
set -u
cd "$(dirname "$0")/.."
. tests/tlib.sh
CLIP=${FERC_VIDEOS:-$(dirname "$DATA")/videos}/face-neutral-to-anger.avi
MODEL=checkpoints/ck.h5
T=$(mktemp -d /tmp/ferc-t_demo.XXXXXX)
trap 'rm -rf "$T"' EXIT
pycheck() {
    local name=$1; shift
    local out
    if out=$($PY - "$@" 2>&1); then ok "$name"; [[ -n $out ]] && printf '  %s\n' "$out"; else bad "$name" "$out"; fi
}
# expect NAME STATUS PATTERN CMD...: exit status and a stderr line matching PATTERN
expect() {
    local name=$1 want=$2 pat=$3; shift 3
    local err rc
    err=$("$@" 2>&1 >/dev/null); rc=$?
    if [[ $rc == "$want" ]] && grep -qE -- "$pat" <<<"$err"; then ok "$name"; else bad "$name" "exit $rc (want $want)" "$err"; fi
}

out=$("$DEMO" --help); rc=$?
if [[ $rc == 0 ]] && grep -q -- "--camera N" <<<"$out" && grep -q -- "--headless" <<<"$out"; then ok help; else bad help "exit $rc"; fi
expect usage_unknown 2 "unknown option '--bogus'" "$DEMO" --bogus
expect usage_size 2 "--size expects WxH" "$DEMO" --size big
expect usage_two_sources 2 "one source" "$DEMO" --video a.avi --camera 0
expect usage_images_empty 2 "at least one" "$DEMO" --images --headless
out=$("$DEMO" --list-cameras 2>&1); rc=$?
if [[ $rc == 0 ]] && [[ -n $out ]]; then ok list_cameras; else bad list_cameras "exit $rc" "$out"; fi

# ---- error paths (need no data)
expect missing_device 1 "/dev/video93" "$DEMO" --camera 93 --headless --model "$MODEL"
printf 'this is not a video' > "$T/bad.avi"
expect malformed_video 1 "$T/bad.avi: " "$DEMO" --video "$T/bad.avi" --headless --model "$MODEL"
"$BUILD/tests/mk_demo" corrupt "$T/corrupt.avi"
expect corrupt_avi 1 "$T/corrupt.avi" "$DEMO" --video "$T/corrupt.avi" --headless --model "$MODEL"
expect missing_video 1 "$T/none.avi: cannot open" "$DEMO" --video "$T/none.avi" --headless --model "$MODEL"
expect missing_cascade 1 "$T/none.xml: cannot open" "$DEMO" --video "$T/bad.avi" --cascade "$T/none.xml" --headless --model "$MODEL"
expect missing_model 1 "$T/none.h5" "$DEMO" --video "$T/bad.avi" --headless --model "$T/none.h5"
head -c 300 "$MODEL" > "$T/trunc.h5"
expect truncated_model 1 "$T/trunc.h5" "$DEMO" --video "$T/bad.avi" --headless --model "$T/trunc.h5"

# ---- stills
if [[ -d $DATA/CK+48 ]]; then
    mkdir -p "$T/canvas"
    mapfile -t faces < <(ls "$DATA"/CK+48/*/*.png | awk 'NR % 29 == 1')
    "$BUILD/tests/mk_demo" canvases "$T/canvas" "$MODEL" "${faces[@]}" > "$T/expected.txt"
    printf 'not an image' > "$T/canvas/broken.png"
    "$DEMO" --images "$T/canvas" --headless --model "$MODEL" > "$T/images.jsonl" 2> "$T/images.err"; rc=$?
    pycheck images_labels "$T/images.jsonl" "$T/expected.txt" "$rc" "$T/images.err" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
exp = dict(l.split() for l in open(sys.argv[2]))
rc, err = int(sys.argv[3]), open(sys.argv[4]).read()
assert rc == 1, f"exit {rc}: the broken image must make the run fail"
assert "broken.png" in err and "demo: 1 of" in err, err
got = {l["file"]: l for l in lines}
assert len(exp) >= 20, f"only {len(exp)} canvases were made (is build/tests/mk_demo built?)"
assert set(got) == set(exp), (len(got), len(exp))
one = sum(len(l["faces"]) == 1 for l in lines)
agree = sum(len(got[f]["faces"]) == 1 and got[f]["faces"][0]["label"] == exp[f] for f in exp)
for l in lines:
    for fc in l["faces"]:
        assert abs(sum(fc["probs"].values()) - 1) < 2e-3 and fc["label"] == max(fc["probs"], key=fc["probs"].get)
print(f"{len(exp)} canvases: {one} with exactly one face, {agree} labelled as the model labels the original face")
assert one == len(exp) and agree >= 0.9 * len(exp)
PY
else
    skip images_labels "$DATA/CK+48 not found"
fi

# ---- the window's 's' key, pressed on a real X server (Xvfb) with xdotool:
# the snapshot must be the annotated frame, pixel for pixel what the window
# shows outside the timing panel (compared with a --screenshot of the same image)
snap_face=$(ls "$DATA"/CK+48/happy/*.png 2>/dev/null | head -1)
if [[ -z $snap_face ]]; then
    skip window_snapshot_key "$DATA/CK+48 not found"
elif ! command -v Xvfb > /dev/null || ! command -v xdotool > /dev/null; then
    skip window_snapshot_key "needs Xvfb and xdotool (Debian: xvfb xdotool)"
elif ! $PY -c "import cv2" 2>/dev/null; then
    skip window_snapshot_key "no cv2 under $PY"
else
    mkdir -p "$T/snap"
    $PY tests/face_frame.py "$snap_face" "$T/face.png" "$T/face.y4m"
    SDL_VIDEODRIVER=offscreen "$DEMO" --images "$T/face.png" --screenshot "$T/shown.png" --screenshot-frame 1 \
        --quiet > /dev/null 2>&1
    # Xvfb picks a free display and writes its number to fd 3 once it is ready
    Xvfb -displayfd 3 -screen 0 1024x768x24 -nolisten tcp 3> "$T/xdisplay" > /dev/null 2>&1 & xpid=$!
    wait_for test -s "$T/xdisplay"; d=$(< "$T/xdisplay")
    # under `make asan` LeakSanitizer is off for this one run: SDL's X11 driver
    # opens D-Bus, and libdbus keeps buffers to exit (not ferc's memory; every
    # other demo run here keeps leak checking on)
    ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
        DISPLAY=":$d" SDL_VIDEODRIVER=x11 "$DEMO" --images "$T/face.png" --snapshot-dir "$T/snap" \
        > /dev/null 2> "$T/snap.err" & dpid=$!
    wid=$(DISPLAY=":$d" timeout 20 xdotool search --sync --name "ferc demo" 2>/dev/null | head -1)
    if [[ -n $wid ]]; then
        DISPLAY=":$d" xdotool windowfocus --sync "$wid" key s
        wait_for compgen -G "$T/snap/ferc-snapshot-*.png" > /dev/null
        DISPLAY=":$d" xdotool key q
    fi
    exited() { ! kill -0 "$1" 2>/dev/null; }
    wait_for exited $dpid
    kill $dpid 2>/dev/null; wait $dpid; rc=$?
    kill $xpid 2>/dev/null; wait $xpid 2>/dev/null
    snaps=("$T"/snap/ferc-snapshot-*.png)
    if [[ -z $wid ]]; then
        bad window_snapshot_key "no window named 'ferc demo' on Xvfb :$d" "$(cat "$T/snap.err")"
    elif [[ $rc != 0 || ${#snaps[@]} != 1 || ! -f ${snaps[0]} ]]; then
        bad window_snapshot_key "exit $rc after s and q, snapshots: ${snaps[*]}" "$(cat "$T/snap.err")"
    else
        pycheck window_snapshot_key "${snaps[0]}" "$T/shown.png" "$T/face.png" "$T/snap.err" <<'PY'
import sys, cv2, numpy as np
snap, shown, src = (cv2.imread(p).astype(int) for p in sys.argv[1:4])
assert "saved " + sys.argv[1] in open(sys.argv[4]).read(), "no 'saved PATH' line"
assert snap.shape == src.shape, (snap.shape, src.shape)
drawn = np.mean(np.abs(snap - src).sum(axis=2) > 30)
# the stats panel (top left) shows this run's timings; the rest must match
diff = np.abs(snap - shown).sum(axis=2) > 0
diff[:90, :200] = False
print(f"snapshot {snap.shape[1]}x{snap.shape[0]}: {drawn:.1%} of pixels carry the overlay, "
      f"{diff.sum()} pixels differ from the window outside the stats panel")
assert drawn > 0.002 and not diff.any()
PY
    fi
fi

# ---- the face clip
if [[ -f $CLIP ]]; then
    # no --model: the demo's default model (checkpoints/fer2013.h5, which knows neutral)
    "$DEMO" --video "$CLIP" --headless --stats > "$T/clip.jsonl" 2> "$T/clip.err"; rc=$?
    pycheck clip_neutral_to_anger "$T/clip.jsonl" "$rc" "$T/clip.err" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert int(sys.argv[2]) == 0, open(sys.argv[3]).read()
assert len(rows) == 67, len(rows)
assert [r["frame"] for r in rows] == list(range(67))
faces = [r["faces"] for r in rows]
with_face = sum(len(f) == 1 for f in faces)
tracks = {x["track"] for f in faces for x in f}
labels = [f[0]["label"] if f else "-" for f in faces]
print("labels:", " ".join(labels))
assert with_face >= 64, f"one face in only {with_face} of 67 frames"
assert tracks == {1}, f"track ids {tracks}"
# the face starts neutral and frowns from about frame 9 (of 67): neutral first,
# then one steady expression. The default model (fer2013.h5 since its 80-epoch
# release) names the frown fear, anger second (README, "Which model the demo
# uses"). Over the last 10 frames anger must be among the two most probable
# classes on average (frame by frame it is second in 9 and third, 0.003 behind
# surprise, in one with the weight-averaged release), and its probability there
# must be at least twice what it was in the 5 neutral frames; ck8.h5 below must
# name it anger outright.
assert all(l == "neutral" for l in labels[:5]), labels[:5]
last = labels[-10:]
assert len(set(last)) == 1 and last[0] != "neutral", last
mean = lambda fs, k: sum(f[0]["probs"][k] for f in fs) / len(fs)
classes = list(faces[-1][0]["probs"])
top2 = sorted(classes, key=lambda k: mean(faces[-10:], k), reverse=True)[:2]
assert "anger" in top2, {k: round(mean(faces[-10:], k), 3) for k in classes}
assert mean(faces[-10:], "anger") >= 2 * mean(faces[:5], "anger"), (mean(faces[:5], "anger"), mean(faces[-10:], "anger"))
PY
    "$DEMO" --video "$CLIP" --headless --model checkpoints/ck8.h5 > "$T/clip8.jsonl" 2> "$T/clip8.err"; rc=$?
    pycheck clip_ck8_anger "$T/clip8.jsonl" "$rc" "$T/clip8.err" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert int(sys.argv[2]) == 0, open(sys.argv[3]).read()
labels = [r["faces"][0]["label"] if r["faces"] else "-" for r in rows]
print("labels:", " ".join(labels))
assert all(l == "neutral" for l in labels[:5]), labels[:5]
assert all(l == "anger" for l in labels[-10:]), labels[-10:]
PY
    if grep -q "^stats: frames 62 " "$T/clip.err"; then ok clip_stats; else bad clip_stats "$(cat "$T/clip.err")"; fi

    # --output: the annotated video, read back by ferc itself
    "$DEMO" --video "$CLIP" --headless --model "$MODEL" --output "$T/out.avi" > /dev/null 2> "$T/out.err"; rc=$?
    n=$("$DEMO" --video "$T/out.avi" --headless --model "$MODEL" 2>/dev/null | wc -l)
    if [[ $rc == 0 && $n == 67 && ! -e $T/out.avi.tmp ]]; then ok output_avi; else bad output_avi "exit $rc, $n frames read back" "$(cat "$T/out.err")"; fi
    "$DEMO" --video "$CLIP" --headless --model "$MODEL" --output "$T/out.y4m" --max-frames 5 > /dev/null 2>&1; rc=$?
    n=$("$DEMO" --video "$T/out.y4m" --headless --model "$MODEL" 2>/dev/null | wc -l)
    if [[ $rc == 0 && $n == 5 ]]; then ok output_y4m; else bad output_y4m "exit $rc, $n frames"; fi
    expect output_bad_ext 1 "out.mp4" "$DEMO" --video "$CLIP" --headless --model "$MODEL" --output "$T/out.mp4"

    # the window, under SDL's offscreen driver (no display needed)
    mkdir -p "$ART"
    SDL_VIDEODRIVER=offscreen "$DEMO" --video "$CLIP" --model "$MODEL" --screenshot "$ART/demo-window.png" \
        --screenshot-frame 60 --max-frames 60 --no-realtime > /dev/null 2> "$T/win.err"; rc=$?
    if [[ $rc == 0 && -s $ART/demo-window.png ]]; then
        if $PY -c "import cv2" 2>/dev/null; then
            pycheck window_screenshot "$ART/demo-window.png" "$CLIP" "$T/clip.jsonl" <<'PY'
import json, sys, cv2, numpy as np
shot = cv2.imread(sys.argv[1]).astype(int)
cap = cv2.VideoCapture(sys.argv[2])
for _ in range(60):
    ok, frame = cap.read()
frame = frame.astype(int)
assert shot.shape == frame.shape, (shot.shape, frame.shape)
rows = [json.loads(l) for l in open(sys.argv[3])]
x, y, w, h = rows[59]["faces"][0]["box"]
d = np.abs(shot - frame).sum(axis=2)
edge = np.concatenate([d[y + h // 4:y + 3 * h // 4, x], d[y + h // 4:y + 3 * h // 4, x + w - 1]])
inner = d[y + h // 4:y + 3 * h // 4, x + w // 4:x + 3 * w // 4]
print(f"box edge: {np.mean(edge > 60):.0%} of pixels changed; face inside: mean diff {inner.mean():.1f}")
assert np.mean(edge > 60) > 0.9 and inner.mean() < 12
PY
        else
            skip window_screenshot "no cv2 under $PY to compare pixels (screenshot written)"
        fi
    else
        bad window_screenshot "exit $rc" "$(cat "$T/win.err")"
    fi
    expect window_no_display 1 "headless|display|Xvfb" env -u DISPLAY -u WAYLAND_DISPLAY SDL_VIDEODRIVER=x11 \
        "$DEMO" --video "$CLIP" --model "$MODEL" --max-frames 2
else
    for t in clip_neutral_to_anger clip_ck8_anger clip_stats output_avi output_y4m output_bad_ext window_screenshot window_no_display; do
        skip $t "$CLIP not found"
    done
fi

finish
