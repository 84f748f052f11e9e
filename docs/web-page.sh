#!/usr/bin/env bash
# Makes docs/web-page.png, the README's picture of the web page, from the
# screenshot tests/t_browser.sh leaves in test-artifacts/web-page.png
# (headless Chromium, fake camera showing a CK+ face). CK+ is research-only
# data, so the inside of the face box is replaced by a coarse mosaic; the
# page, box, tag, bars and panels are as the browser drew them.
#   usage: bash tests/t_browser.sh && bash docs/web-page.sh
set -eu
cd "$(dirname "$0")/.."
/usr/bin/python3 - <<'PY'
import cv2, numpy as np
img = cv2.imread("test-artifacts/web-page.png")
m = np.abs(img.astype(int) - np.array([0xe1, 0xd7, 0x28])).sum(axis=2) < 30   # surprise, #28d7e1
rows = [y for y in range(img.shape[0]) if m[y, :650].sum() > 150]
cols = [x for x in range(650) if m[:560, x].sum() > 150]
y0, y1, x0, x1 = min(rows), max(rows), min(cols), max(cols)
inner = img[y0 + 3:y1 - 2, x0 + 3:x1 - 2]
h, w = inner.shape[:2]
small = cv2.resize(inner, (max(1, w // 30), max(1, h // 30)), interpolation=cv2.INTER_AREA)
img[y0 + 3:y1 - 2, x0 + 3:x1 - 2] = cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)
cv2.imwrite("docs/web-page.png", img)
print(f"wrote docs/web-page.png (face box {x1 - x0}x{y1 - y0} mosaicked)")
PY
