#!/usr/bin/python3
"""End-to-end peer of `bin/demo --headless --stats` for bench/e2e.sh: the same
recognition pipeline in Python, per frame

  detect    cv2.cvtColor(BGR2GRAY) + CascadeClassifier.detectMultiScale
            (scaleFactor 1.1, minNeighbors 3, minSize 40x40) on the whole
            frame, every frame: OpenCV has no ROI search near the previous
            faces (ferc scans fully every 10 frames, near the tracked faces in
            between)
  classify  square crop of the detector box scaled by --crop about its centre
            (border replicated where it leaves the frame), cv2.resize
            INTER_AREA to the model's input, (x/255 - mean)/std with the
            model's mean/std attributes, the network in PyTorch (eval mode,
            torch.no_grad(), float32), softmax
  track     greedy IoU matching of detections to tracks (min IoU 0.3, a track
            unseen for more than 5 frames ends) and exponential smoothing
            p <- a p_new + (1 - a) p, a = 0.3 (src/track.c, in numpy)

with torch.set_num_threads(N) and cv2.setNumThreads(N). Run with Debian's
/usr/bin/python3 (python3-torch, python3-opencv, python3-h5py).

  e2e_torch.py --video FILE --model CKPT [--threads N] [--json OUT] ...
      prints one JSON line per frame to OUT (default: none; '-' = stdout), in
      bin/demo's format ({"frame":..,"time":..,"faces":[{"box":[x,y,w,h],
      "track":..,"label":..,"score":..,"probs":{..},"raw":{..}}]}), and at exit
      to stderr the line bin/demo --stats prints:
        stats: frames F faces N ms/frame total T detect D classify C track K full_scans S (...)
      means over the frames after the first 5, wall-clock ms of the analysis
      only (decoding the video and writing JSON excluded).
  e2e_torch.py --compare PEER.jsonl FERC.jsonl
      per-frame agreement of the two pipelines' outputs: face counts, boxes
      (IoU), argmax labels of the smoothed and of the raw probabilities.

The video: YUV4MPEG2 is read here (Cmono, or the Y plane of 4:2:0/4:2:2/4:4:4,
full range when the header says XCOLORRANGE=FULL, otherwise BT.601 limited
range scaled to 0..255 as ferc does), and given to the pipeline as a BGR frame
with B = G = R = that gray (so cvtColor yields exactly the luma ferc's
headless demo analyses); other files go through cv2.VideoCapture."""
import argparse
import json
import re
import sys
import time

try:
    import cv2
    import h5py
    import numpy as np
    import torch
except ImportError as ex:
    sys.exit(f"e2e_torch.py: {ex} (apt-get install python3-opencv python3-torch python3-h5py; "
             "run with /usr/bin/python3)")

DEFAULT_CASCADE = "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml"
SKIP = 5  # warm-up frames not counted, as bin/demo --stats


# ---------------------------------------------------------------- the model

class Net(torch.nn.Module):
    """The VGG-style network of a ferc checkpoint, built from its tensor table
    (conv<b>_<i>/kernel [out,in,3,3] + bn<b>_<i> per conv, 2x2 max-pool per
    block, fc<j>/kernel [out,in] with ReLU between FC layers), as in
    tests/xcheck_torch.py but float32 and without touching torch's global
    defaults (so that module is not imported here)."""

    def __init__(self, params):
        super().__init__()
        convs = sorted((int(m.group(1)), int(m.group(2)))
                       for m in (re.fullmatch(r"conv(\d+)_(\d+)", n) for n in params) if m)
        fcs = sorted(int(m.group(1)) for m in (re.fullmatch(r"fc(\d+)", n) for n in params) if m)
        if not convs or not fcs:
            raise ValueError(f"no conv or fc layers among {sorted(params)}")
        self.named = []
        seq = []
        for b in sorted({b for b, _ in convs}):
            for i in sorted(i for bb, i in convs if bb == b):
                out_c, in_c, kh, kw = params[f"conv{b}_{i}"]["kernel"].shape
                conv = torch.nn.Conv2d(in_c, out_c, (kh, kw), padding=(kh // 2, kw // 2))
                bn = torch.nn.BatchNorm2d(out_c)  # eps 1e-5, as ferc (tests/xcheck_torch.py)
                self.named += [(f"conv{b}_{i}", conv), (f"bn{b}_{i}", bn)]
                seq += [conv, bn, torch.nn.ReLU(inplace=True)]
            seq.append(torch.nn.MaxPool2d(2))
        seq.append(torch.nn.Flatten())
        for j in fcs:
            out_f, in_f = params[f"fc{j}"]["kernel"].shape
            fc = torch.nn.Linear(in_f, out_f)
            self.named.append((f"fc{j}", fc))
            seq.append(fc)
            if j != fcs[-1]:
                seq.append(torch.nn.ReLU(inplace=True))  # dropout: identity in eval mode
        self.net = torch.nn.Sequential(*seq)

    def forward(self, x):
        return self.net(x)


def load_model(path):
    """(model in eval mode, class names, input size, channels, mean, std)."""
    with h5py.File(path, "r") as f:
        def group(g):
            return {l: {w: np.asarray(g[l][w][()], dtype=np.float32) for w in g[l]} for l in g}
        params, buffers = group(f["params"]), group(f["buffers"])
        a = f.attrs
        classes = [c.decode() if isinstance(c, bytes) else str(c) for c in a["classes"]]
        size, ch = int(a["input_size"]), int(a.get("channels", 1))
        mean, std = float(a["mean"]), float(a["std"])
    m = Net(params)
    used = set()
    with torch.no_grad():
        for name, mod in m.named:
            if isinstance(mod, torch.nn.BatchNorm2d):
                pairs = [(mod.weight, params, "gamma"), (mod.bias, params, "beta"),
                         (mod.running_mean, buffers, "running_mean"), (mod.running_var, buffers, "running_var")]
            else:
                pairs = [(mod.weight, params, "kernel"), (mod.bias, params, "bias")]
            for t, src, what in pairs:
                v = src[name][what]
                if tuple(v.shape) != tuple(t.shape):
                    raise ValueError(f"{path}: {name}/{what} has shape {v.shape}, expected {tuple(t.shape)}")
                t.copy_(torch.from_numpy(v))
                used.add((id(src), name, what))
    left = [f"{l}/{w}" for src in (params, buffers) for l in src for w in src[l] if (id(src), l, w) not in used]
    if left:
        raise ValueError(f"{path}: tensors the model does not use: {left}")
    if ch != 1:
        raise ValueError(f"{path}: {ch} input channels; this peer feeds gray crops")
    m.eval()
    return m, classes, size, mean, std


# ---------------------------------------------------------------- frames

def y4m_frames(path):
    """BGR frames (gray replicated) of a YUV4MPEG2 file: its luma, mapped to
    full range unless the header says XCOLORRANGE=FULL."""
    with open(path, "rb") as f:
        head = f.readline().split()
        if not head or head[0] != b"YUV4MPEG2":
            raise ValueError(f"{path}: not a YUV4MPEG2 file")
        w = h = 0
        cs, full = "420jpeg", False
        for t in head[1:]:
            t = t.decode()
            if t[0] == "W": w = int(t[1:])
            elif t[0] == "H": h = int(t[1:])
            elif t[0] == "C": cs = t[1:]
            elif t == "XCOLORRANGE=FULL": full = True
        if cs == "mono":
            csize = 0
        elif cs.startswith("420"):
            csize = 2 * ((w + 1) // 2) * ((h + 1) // 2)
        elif cs.startswith("422"):
            csize = 2 * ((w + 1) // 2) * h
        elif cs == "411":
            csize = 2 * ((w + 3) // 4) * h
        elif cs == "444":
            csize = 2 * w * h
        elif cs == "444alpha":
            csize = 3 * w * h
        else:
            raise ValueError(f"{path}: Y4M colour space C{cs} not handled here")
        lut = None if full else np.clip(np.round((np.arange(256) - 16) * 255.0 / 219.0), 0, 255).astype(np.uint8)
        while True:
            line = f.readline()
            if not line:
                return
            if not line.startswith(b"FRAME"):
                raise ValueError(f"{path}: bad frame header {line[:20]!r}")
            y = f.read(w * h)
            rest = f.read(csize)
            if len(y) != w * h or len(rest) != csize:
                raise ValueError(f"{path}: truncated frame")
            g = np.frombuffer(y, np.uint8).reshape(h, w)
            if lut is not None:
                g = lut[g]
            yield cv2.merge([g, g, g])


def cv_frames(path):
    cap = cv2.VideoCapture(path)
    if not cap.isOpened():
        raise ValueError(f"{path}: cv2.VideoCapture cannot open it")
    while True:
        ok, fr = cap.read()
        if not ok:
            return
        yield fr


def frames(path):
    with open(path, "rb") as f:
        sig = f.read(9)
    return y4m_frames(path) if sig == b"YUV4MPEG2" else cv_frames(path)


# ---------------------------------------------------------------- the pipeline

def iou(a, b):
    """ferc_haar_iou: integer boxes [x, y, w, h]."""
    if a[2] <= 0 or a[3] <= 0 or b[2] <= 0 or b[3] <= 0:
        return 0.0
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    if x1 <= x0 or y1 <= y0:
        return 0.0
    i = float(x1 - x0) * (y1 - y0)
    return i / (float(a[2]) * a[3] + float(b[2]) * b[3] - i)


class Tracker:
    """src/track.c in Python/numpy: greedy IoU matching, highest first."""

    def __init__(self, alpha=0.3, min_iou=0.3, max_missed=5):
        self.alpha, self.min_iou, self.max_missed = alpha, min_iou, max_missed
        self.tracks = []  # dicts: id, box, prob (np.float32[K]), missed
        self.next_id = 1

    def update(self, boxes, probs):
        """Returns, per detection, its track (dict)."""
        self.tracks = [t for t in self.tracks if t["missed"] <= self.max_missed]
        nt = len(self.tracks)
        slot = [-1] * len(boxes)
        used = [False] * nt
        while True:
            best, bi, bj = self.min_iou, -1, -1
            for i, b in enumerate(boxes):
                if slot[i] >= 0:
                    continue
                for j in range(nt):
                    if used[j]:
                        continue
                    v = iou(b, self.tracks[j]["box"])
                    if v >= best and (bi < 0 or v > best):
                        best, bi, bj = v, i, j
            if bi < 0:
                break
            slot[bi], used[bj] = bj, True
            t = self.tracks[bj]
            t["box"] = boxes[bi]
            t["prob"] = np.float32(self.alpha) * probs[bi] + np.float32(1.0 - self.alpha) * t["prob"]
            t["missed"] = 0
        for j in range(nt):
            if not used[j]:
                self.tracks[j]["missed"] += 1
        out = []
        for i, b in enumerate(boxes):
            if slot[i] < 0:
                self.tracks.append({"id": self.next_id, "box": b, "prob": probs[i].copy(), "missed": 0})
                self.next_id += 1
                slot[i] = len(self.tracks) - 1
            out.append(self.tracks[slot[i]])
        return out


def crop(gray, box, factor, S):
    """Square crop of side max(w, h) * factor about the box centre, border
    replicated outside the frame, resized to S x S with INTER_AREA."""
    x, y, w, h = box
    side = max(w, h) * factor
    x0 = int(np.floor(x + w * 0.5 - side * 0.5))
    y0 = int(np.floor(y + h * 0.5 - side * 0.5))
    n = max(int(round(side)), 1)
    H, W = gray.shape
    if x0 >= 0 and y0 >= 0 and x0 + n <= W and y0 + n <= H:
        patch = gray[y0:y0 + n, x0:x0 + n]
    else:
        pad = max(-x0, -y0, x0 + n - W, y0 + n - H, 0)
        big = cv2.copyMakeBorder(gray, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        patch = big[y0 + pad:y0 + pad + n, x0 + pad:x0 + pad + n]
    return cv2.resize(patch, (S, S), interpolation=cv2.INTER_AREA)


def run(a):
    torch.set_num_threads(a.threads)
    cv2.setNumThreads(a.threads)
    model, classes, S, mean, std = load_model(a.model)
    K = len(classes)
    cc = cv2.CascadeClassifier()
    if not cc.load(a.cascade):
        sys.exit(f"e2e_torch.py: {a.cascade}: cannot load the cascade")
    tracker = Tracker(alpha=a.smooth)
    out = None if not a.json else (sys.stdout if a.json == "-" else open(a.json, "w"))
    kw = dict(scaleFactor=a.scale_factor, minNeighbors=a.neighbors, minSize=(a.min_face, a.min_face))
    inv255, mean32, istd = np.float32(1 / 255), np.float32(mean), np.float32(1 / std)
    sums = dict(frames=0, faces=0, detect=0.0, gray=0.0, classify=0.0, track=0.0)
    fps = 30.0
    with torch.no_grad():
        for fr, bgr in enumerate(frames(a.video)):
            if a.max_frames and fr >= a.max_frames:
                break
            t0 = time.perf_counter()
            gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
            tg = time.perf_counter()
            det = cc.detectMultiScale(gray, **kw)
            boxes = [tuple(int(v) for v in b) for b in det]
            t1 = time.perf_counter()
            probs = np.zeros((0, K), np.float32)
            if boxes:
                x = np.empty((len(boxes), 1, S, S), np.float32)
                for i, b in enumerate(boxes):
                    x[i, 0] = (crop(gray, b, a.crop, S).astype(np.float32) * inv255 - mean32) * istd
                logits = model(torch.from_numpy(x))
                probs = torch.softmax(logits, dim=1).numpy()
            t2 = time.perf_counter()
            tracks = tracker.update(boxes, probs)
            faces = sorted(zip(boxes, tracks, list(probs)), key=lambda f: (f[0][0], f[0][1]))
            labels = [int(np.argmax(t["prob"])) for _, t, _ in faces]
            t3 = time.perf_counter()
            if fr >= SKIP:
                sums["frames"] += 1
                sums["faces"] += len(boxes)
                sums["gray"] += (tg - t0) * 1e3
                sums["detect"] += (t1 - t0) * 1e3
                sums["classify"] += (t2 - t1) * 1e3
                sums["track"] += (t3 - t2) * 1e3
            if out:
                fl = []
                for (b, t, raw), lab in zip(faces, labels):
                    fl.append({"box": list(b), "track": t["id"], "label": classes[lab],
                               "score": round(float(t["prob"][lab]), 4),
                               "probs": {c: round(float(p), 4) for c, p in zip(classes, t["prob"])},
                               "raw": {c: round(float(p), 4) for c, p in zip(classes, raw)}})
                out.write(json.dumps({"frame": fr, "time": round(fr / fps, 3), "faces": fl,
                                      "ms": {"detect": round((t1 - t0) * 1e3, 2),
                                             "classify": round((t2 - t1) * 1e3, 2),
                                             "track": round((t3 - t2) * 1e3, 3)}},
                                     separators=(",", ":")) + "\n")
    if out and out is not sys.stdout:
        out.close()
    n = max(sums["frames"], 1)
    tot = (sums["detect"] + sums["classify"] + sums["track"]) / n
    print(f"stats: frames {sums['frames']} faces {sums['faces']} ms/frame total {tot:.3f} "
          f"detect {sums['detect'] / n:.3f} classify {sums['classify'] / n:.3f} track {sums['track'] / n:.3f} "
          f"full_scans {sums['frames']} (cvtColor {sums['gray'] / n:.3f}, included in detect; "
          f"first {SKIP} frames not counted; OpenCV scans the whole frame every frame; "
          f"torch {torch.__version__} threads {torch.get_num_threads()}, opencv {cv2.__version__} "
          f"threads {cv2.getNumThreads()})", file=sys.stderr)


# ---------------------------------------------------------------- cross-check

def compare(peer_path, ferc_path):
    def load(p):
        d = {}
        for line in open(p):
            line = line.strip()
            if line.startswith("{"):
                o = json.loads(line)
                if "frame" in o:
                    d[int(o["frame"])] = o["faces"]
        return d

    P, F = load(peer_path), load(ferc_path)
    frames_ = sorted(set(P) & set(F))
    if not frames_:
        print("compare: no frames in common")
        return 1
    same_n = both1 = lab = raw = 0
    ious = []
    only_p = only_f = 0
    for fr in frames_:
        p, f = P[fr], F[fr]
        same_n += len(p) == len(f)
        only_p += len(p) > 0 and not f
        only_f += len(f) > 0 and not p
        if len(p) == 1 and len(f) == 1:
            both1 += 1
            ious.append(iou(p[0]["box"], f[0]["box"]))
            lab += p[0]["label"] == f[0]["label"]
            if "raw" in p[0] and "raw" in f[0]:
                rp, rf = p[0]["raw"], f[0]["raw"]
                raw += max(rp, key=rp.get) == max(rf, key=rf.get)
    n = len(frames_)
    pct = lambda a, b: 100.0 * a / b if b else 0.0
    print(f"frames compared: {n}; same number of faces in {same_n} ({pct(same_n, n):.1f}%); "
          f"a face only in the peer's output: {only_p}, only in ferc's: {only_f}")
    if both1:
        ious_ = np.array(ious)
        print(f"frames with one face in both: {both1}; box IoU mean {ious_.mean():.3f}, min {ious_.min():.3f}, "
              f"identical boxes in {int((ious_ == 1.0).sum())}")
        print(f"label agreement (argmax of the smoothed probabilities): {lab}/{both1} = {pct(lab, both1):.1f}%")
        print(f"label agreement (argmax of the frame's own probabilities): {raw}/{both1} = {pct(raw, both1):.1f}%")
    labs = lambda D: {}.fromkeys(x["label"] for fr in frames_ for x in D[fr])
    cnt = lambda D: {k: sum(x["label"] == k for fr in frames_ for x in D[fr]) for k in labs(D)}
    print(f"labels, peer: {cnt(P)}; ferc: {cnt(F)}")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--video")
    ap.add_argument("--model", default="checkpoints/ck.h5")
    ap.add_argument("--cascade", default=DEFAULT_CASCADE)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", help="per-frame JSON lines to this file ('-': stdout)")
    ap.add_argument("--max-frames", type=int, default=0)
    ap.add_argument("--min-face", type=int, default=40)
    ap.add_argument("--scale-factor", type=float, default=1.1)
    ap.add_argument("--neighbors", type=int, default=3)
    ap.add_argument("--crop", type=float, default=1.0)
    ap.add_argument("--smooth", type=float, default=0.3)
    ap.add_argument("--compare", nargs=2, metavar=("PEER_JSONL", "FERC_JSONL"))
    a = ap.parse_args()
    if a.compare:
        return compare(*a.compare)
    if not a.video:
        ap.error("--video FILE (or --compare PEER FERC) is required")
    try:
        run(a)
    except (OSError, ValueError) as ex:
        sys.exit(f"e2e_torch.py: {ex}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
