#!/usr/bin/python3
"""OpenCV's Haar cascade detector on a list of PNG/JPEG files: the reference
that ferc's detector (src/haar.c) is compared with, in tests/test_haar.c and in
bench/detect.sh. Run it with Debian's /usr/bin/python3 (python3-opencv).

  detect_opencv.py [options] IMAGE...
      one JSON line per image: {"file": F, "boxes": [[x, y, w, h], ...],
      "ms": mean milliseconds per detectMultiScale call (after one warm-up)}
      then a last line {"summary": {"images": N, "ms_per_image": M,
      "threads": T, "opencv": version}}
  detect_opencv.py --resize W H OUT IMAGE
      writes IMAGE resized to W x H with cv2.INTER_LINEAR_EXACT (gray) to OUT

Options: --cascade FILE, --scale 1.1, --neighbors 3 (0: the raw windows),
--min-size W H, --max-size W H, --threads N (cv2.setNumThreads; 0 = OpenCV's
default), --repeat R (timed calls per image)."""
import argparse
import json
import sys
import time

try:
    import cv2
except ImportError:
    sys.exit("detect_opencv.py: cannot import cv2 (apt-get install python3-opencv; run with /usr/bin/python3)")

DEFAULT_CASCADE = "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("images", nargs="*")
    ap.add_argument("--cascade", default=DEFAULT_CASCADE)
    ap.add_argument("--scale", type=float, default=1.1)
    ap.add_argument("--neighbors", type=int, default=3)
    ap.add_argument("--min-size", type=int, nargs=2, default=(0, 0))
    ap.add_argument("--max-size", type=int, nargs=2, default=(0, 0))
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--resize", nargs=3, metavar=("W", "H", "OUT"))
    a = ap.parse_args()

    if a.resize:
        if len(a.images) != 1:
            sys.exit("detect_opencv.py --resize W H OUT IMAGE: one image")
        img = cv2.imread(a.images[0], cv2.IMREAD_GRAYSCALE)
        if img is None:
            sys.exit(f"detect_opencv.py: cannot read {a.images[0]}")
        out = cv2.resize(img, (int(a.resize[0]), int(a.resize[1])), interpolation=cv2.INTER_LINEAR_EXACT)
        if not cv2.imwrite(a.resize[2], out):
            sys.exit(f"detect_opencv.py: cannot write {a.resize[2]}")
        return

    if a.threads > 0:
        cv2.setNumThreads(a.threads)
    cc = cv2.CascadeClassifier()
    if not cc.load(a.cascade):
        sys.exit(f"detect_opencv.py: {a.cascade}: cannot load the cascade")
    total, n = 0.0, 0
    for f in a.images:
        img = cv2.imread(f, cv2.IMREAD_GRAYSCALE)
        if img is None:
            sys.exit(f"detect_opencv.py: cannot read {f}")
        kw = dict(scaleFactor=a.scale, minNeighbors=a.neighbors, minSize=tuple(a.min_size),
                  maxSize=tuple(a.max_size))
        boxes = cc.detectMultiScale(img, **kw)  # warm-up (and the result)
        t0 = time.perf_counter()
        for _ in range(a.repeat):
            cc.detectMultiScale(img, **kw)
        ms = (time.perf_counter() - t0) * 1000 / max(a.repeat, 1)
        total += ms
        n += 1
        print(json.dumps({"file": f, "boxes": [[int(v) for v in b] for b in boxes], "ms": round(ms, 4)}))
    print(json.dumps({"summary": {"images": n, "ms_per_image": round(total / max(n, 1), 4),
                                  "threads": cv2.getNumThreads(), "opencv": cv2.__version__}}))


if __name__ == "__main__":
    main()
