#!/usr/bin/env bash
# Makes docs/demo-window.png, the README's screenshot of the demo window:
# bin/demo on ../shared/videos/face-neutral-to-anger.avi under SDL's offscreen
# driver, screenshot after 60 frames. The clip is research-only data, so the
# published picture keeps only what ferc drew: every pixel the overlay left
# unchanged is replaced by a coarse mosaic of the frame (the face is not
# recognisable; boxes, labels, bars and the latency panel are exact).
#   usage: bash docs/demo-window.sh [MODEL]      (needs /usr/bin/python3 with cv2)
set -eu
cd "$(dirname "$0")/.."
CLIP=${CLIP:-../shared/videos/face-neutral-to-anger.avi}
MODEL=${1:-checkpoints/fer2013.h5}   # the demo's default
T=$(mktemp -d /tmp/ferc-shot.XXXXXX)
trap 'rm -rf "$T"' EXIT
SDL_VIDEODRIVER=offscreen bin/demo --video "$CLIP" --model "$MODEL" --screenshot "$T/shot.png" \
    --screenshot-frame 60 --max-frames 60 --no-realtime --quiet
/usr/bin/python3 - "$T/shot.png" "$CLIP" docs/demo-window.png <<'PY'
import sys, cv2, numpy as np
shot = cv2.imread(sys.argv[1])
cap = cv2.VideoCapture(sys.argv[2])
for _ in range(60):
    ok, frame = cap.read()
drawn = np.abs(shot.astype(int) - frame.astype(int)).sum(axis=2) > 24
h, w = frame.shape[:2]
mosaic = cv2.resize(cv2.resize(frame, (w // 40, h // 40), interpolation=cv2.INTER_AREA), (w, h),
                    interpolation=cv2.INTER_NEAREST)
out = np.where(drawn[:, :, None], shot, mosaic)
cv2.imwrite(sys.argv[3], out)
print(f"wrote {sys.argv[3]}: {drawn.mean():.1%} of the pixels drawn by ferc kept, the rest mosaic")
PY
