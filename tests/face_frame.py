"""face_frame.py SRC_PNG OUT_PNG OUT_Y4M: one face (e.g. a CK+48 image)
enlarged to 240 px on a 640x480 gray frame, written as PNG and as a 30-frame
4:2:0 YUV4MPEG2 video (what Chromium's fake camera and bin/demo --video read).
Used by tests/t_browser.sh and tests/t_firefox.sh."""
import sys, cv2, numpy as np
src, png, y4m = sys.argv[1:4]
W, H, S = 640, 480, 240
face = cv2.imread(src, cv2.IMREAD_GRAYSCALE)
face = cv2.resize(face, (S, S), interpolation=cv2.INTER_CUBIC)
img = np.full((H, W), 128, np.uint8)
y, x = (H - S) // 2, (W - S) // 2
img[y:y + S, x:x + S] = face
cv2.imwrite(png, img)
with open(y4m, 'wb') as f:
    f.write(b'YUV4MPEG2 W%d H%d F30:1 Ip A1:1 C420jpeg\n' % (W, H))
    chroma = np.full((H // 2, W // 2), 128, np.uint8).tobytes()
    for _ in range(30):
        f.write(b'FRAME\n' + img.tobytes() + chroma + chroma)
