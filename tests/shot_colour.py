"""shot_colour.py SHOT.png LABEL web/app.js: counts the pixels of LABEL's
overlay colour (web/app.js NAMED_COLOURS) on the picture, the left 65% of a
screenshot of the page. Prints "WxH, #RRGGBB pixels on the picture: N".
Used by tests/t_browser.sh and tests/t_firefox.sh."""
import sys, re, cv2, numpy as np
shot, label, app = sys.argv[1:4]
img = cv2.imread(shot)
if img is None: print('not a PNG'); sys.exit()
m = re.search(r"\b%s: '#([0-9a-f]{6})'" % label, open(app).read())
r, g, b = (int(m.group(1)[i:i + 2], 16) for i in (0, 2, 4))
left = img[:, :img.shape[1] * 65 // 100].astype(int)
near = np.abs(left - (b, g, r)).max(axis=2) <= 24
print(f'{img.shape[1]}x{img.shape[0]}, #{m.group(1)} pixels on the picture: {int(near.sum())}')
