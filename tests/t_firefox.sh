#!/usr/bin/env bash
# The page of bin/demo --serve in Firefox (issue #6; tests/t_browser.sh does
# Chromium). Headless Firefox ESR is driven over WebDriver BiDi by
# tests/firefox_bidi.py (standard library only, no geckodriver).
#  - server camera: bin/demo --serve --video FACE.y4m (one CK+48 face on a
#    gray 640x480 frame, looping); the page, at desktop and at phone size,
#    switches to "Server camera", shows the MJPEG stream and lists the label
#    that bin/demo --headless gives for the same video; the screenshot shows
#    that label's overlay colour (drawn by the server into the stream) and the
#    page's own overlay canvas stays empty (no second overlay).
#  - this device's camera: Firefox's synthetic camera (no face) goes through
#    getUserMedia, the JPEG posts and the answers: "no face in view" and a rate.
# Skips when firefox, curl or the CK+48 data is missing.
# Prints "t_firefox: N passed, N failed, N skipped".
set -u
cd "$(dirname "$0")/.."
. tests/tlib.sh
BROWSER=${FIREFOX:-$(command -v firefox-esr || command -v firefox || true)} BROWSER_PKG=firefox-esr
. tests/tweb.sh

# The video, and the label bin/demo gives it (the page must show the same).
$PY tests/face_frame.py "$CK/surprise/S052_001_00000014.png" "$T/face.png" "$T/face.y4m"
LABEL=$("$DEMO" --video "$T/face.y4m" --model "$MODEL" --headless 2>/dev/null | tail -1 |
        $PY -c 'import sys, json; f = json.load(sys.stdin)["faces"]; print(f[0]["label"] if len(f) == 1 else "")')
if [[ -z $LABEL ]]; then bad video_label "bin/demo --headless found no single face in the test video"; finish; fi
ok "video_label ($LABEL)"

serve --video "$T/face.y4m"

# JS run once the page has loaded: wait for "Server camera" to appear (the page
# shows it once /api/v1/model says camera: true), pick it, press Start.
SERVER_JS="(async () => {
  const el = (id) => document.getElementById(id);
  for (let i = 0; i < 100 && el('src-server-label').hidden; i++) await new Promise((r) => setTimeout(r, 100));
  el('src-server').click(); el('start').click(); })()"
# What is polled: a JSON string of what the page shows.
POLL_JS="(() => {
  const el = (id) => document.getElementById(id);
  const c = el('overlay'), px = c.width && c.height ? c.getContext('2d').getImageData(0, 0, c.width, c.height).data : [];
  let inked = 0; for (let i = 3; i < px.length; i += 4) if (px[i]) inked++;
  return JSON.stringify({ faces: [...el('faces').querySelectorAll('li')].map((l) => l.textContent).join(' | '),
    status: el('status').textContent, error: el('error').hidden ? '' : el('error').textContent,
    stream: el('stream').hidden ? 0 : el('stream').naturalWidth, overlay_px: inked, fps: el('fps').textContent,
    sw: document.documentElement.scrollWidth, iw: innerWidth }); })()"

# run NAME W H SETUP WANT: Firefox on the page; sets $out to the last poll (JSON)
run() {
    local name=$1 w=$2 h=$3 setup=$4 want=$5 res rc
    res=$(timeout 60 $PY tests/firefox_bidi.py "$BROWSER" "$T/profile-$name" "$U/" "$ART/firefox-$name.png" \
          "$w" "$h" "$setup" "$POLL_JS" "$want" 25 2>&1)
    rc=$?
    echo "  firefox $name: rc $rc, $res"
    out=$(sed -n 's/^[0-9.]* s: //p' <<<"$res")
    [[ -n $out ]] || out='{}'
}
field() { $PY -c 'import sys, json; print(json.loads(sys.argv[1]).get(sys.argv[2], ""))' "$out" "$1"; }

# server camera, desktop size
run server 1000 900 "$SERVER_JS" "\"faces\":\"$LABEL "
faces=$(field faces) stream=$(field stream) ink=$(field overlay_px) status=$(field status)
if grep -qE "^$LABEL [0-9]+%$" <<<"$faces" && [[ $status == "Server camera: 1 face." ]]; then
    ok "server_camera_label ($faces; $status)"
else
    bad server_camera_label "faces '$faces', status '$status', error '$(field error)'"
fi
if [[ $stream == 640 && $ink == 0 ]]; then
    ok "server_camera_stream (MJPEG ${stream} px wide, page overlay empty)"
else
    bad server_camera_stream "stream width '$stream' (want 640), page overlay pixels '$ink' (want 0)"
fi
res=$($PY tests/shot_colour.py "$ART/firefox-server.png" "$LABEL" web/app.js)
n=$(sed -n 's/.*: \([0-9]*\)$/\1/p' <<<"$res")
if [[ -n $n && $n -ge 300 ]]; then ok "server_camera_screenshot ($res; $ART/firefox-server.png)"
else bad server_camera_screenshot "$res ($ART/firefox-server.png)"; fi

# server camera, phone size: label shown, nothing wider than the screen
run phone 390 844 "$SERVER_JS" "\"faces\":\"$LABEL "
faces=$(field faces) sw=$(field sw) iw=$(field iw)
if grep -qE "^$LABEL [0-9]+%$" <<<"$faces" && [[ -n $sw && $iw == 390 && $sw -le $iw ]]; then
    ok "phone_layout ($faces; scroll width $sw of $iw; $ART/firefox-phone.png)"
else
    bad phone_layout "faces '$faces', scroll width '$sw', inner width '$iw'"
fi

# this device's camera: Firefox's synthetic video, posted frame by frame
run device 1000 900 "document.getElementById('start').click()" '"status":"Running: no face in view."'
status=$(field status) fps=$(field fps)
if [[ $status == "Running: no face in view." ]] && $PY -c 'import sys; sys.exit(not float(sys.argv[1]) > 0)' "$fps" 2>/dev/null; then
    ok "device_camera (status '$status', $fps answers/s)"
else
    bad device_camera "status '$status', answers/s '$fps', error '$(field error)'"
fi
finish
