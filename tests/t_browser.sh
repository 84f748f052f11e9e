#!/usr/bin/env bash
# Browser test of the page of bin/demo --serve (issue #6): Debian's chromium,
# headless, with a fake camera fed from a Y4M file made here out of one CK+48
# face (enlarged on a gray background). The page is opened at
# http://127.0.0.1:PORT/#autostart (web/app.js presses Start by itself), so
# the fake camera's frames go to /api/v1/analyze. Checks: the dumped DOM's
# #faces list has an <li> with the expected label (the label the server gives
# for that same frame posted as PNG with curl), and a screenshot
# ($FERC_ARTIFACTS/web-page.png, default test-artifacts/) shows pixels of the
# overlay colour of that label (web/app.js NAMED_COLOURS).
# Skips when chromium, curl or the CK+48 data is missing.
# Prints "t_browser: N passed, N failed, N skipped".
set -u
cd "$(dirname "$0")/.."
. tests/tlib.sh
BROWSER=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)} BROWSER_PKG=chromium
. tests/tweb.sh
serve

# The face: the first candidate that the server finds with its folder's label.
FACE= LABEL=
for f in surprise/S052_001_00000014.png surprise/S053_001_00000022.png happy/S056_004_00000019.png \
         $(cd "$CK" && ls surprise/*.png happy/*.png 2>/dev/null | head -20); do
    [[ -f $CK/$f ]] || continue
    $PY tests/face_frame.py "$CK/$f" "$T/face.png" "$T/face.y4m" || continue
    got=$(curl -s -H 'Content-Type: image/png' --data-binary @"$T/face.png" "$U/api/v1/analyze" |
          $PY -c 'import sys, json; f = json.load(sys.stdin)["faces"]; print(f[0]["label"] if len(f) == 1 and f[0]["score"] >= 0.6 else "")' 2>/dev/null)
    if [[ -n $got && $got == "${f%%/*}" ]]; then FACE=$f LABEL=$got; break; fi
done
if [[ -z $LABEL ]]; then bad expected_label "no CK+48 surprise/happy face gave its own label via /api/v1/analyze"; finish; fi
ok "expected_label ($FACE -> $LABEL)"
cp "$T/face.png" "$ART/web-camera-frame.png"

# cdp.py: runs headless chromium with the fake camera, driven over
# --remote-debugging-pipe (the DevTools protocol as NUL-separated JSON on
# fds 3/4: no websocket or driver needed, and real time, unlike
# --virtual-time-budget, in which getUserMedia never resolves); opens the
# page, polls #faces until it shows the label (25 s at most), then saves the
# DOM and a screenshot. Prints "SECONDS s faces: ...".
cat >"$T/cdp.py" <<'EOF'
import json, os, subprocess, sys, time, base64
chrome, url, label, y4m, shot, domout = sys.argv[1:7]
W, H, mobile = (int(sys.argv[7]), int(sys.argv[8]), sys.argv[9] == '1') if len(sys.argv) > 9 else (1000, 900, False)
r_in, w_in = os.pipe()    # we write, chrome reads fd 3
r_out, w_out = os.pipe()  # chrome writes fd 4
def child():
    os.dup2(r_in, 3); os.dup2(w_out, 4)
args = [chrome, '--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run',
        '--user-data-dir=' + os.path.dirname(y4m) + '/profile', '--remote-debugging-pipe',
        '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
        '--use-file-for-fake-video-capture=' + y4m, f'--window-size={W},{H}', 'about:blank']
p = subprocess.Popen(args, pass_fds=(3, 4), preexec_fn=child, stdout=subprocess.DEVNULL, stderr=open(domout + '.err', 'w'))
os.close(r_in); os.close(w_out)
buf = b''; nid = 0
def send(method, params=None, session=None):
    global nid, buf
    nid += 1
    msg = {'id': nid, 'method': method, 'params': params or {}}
    if session: msg['sessionId'] = session
    os.write(w_in, json.dumps(msg).encode() + b'\0')
    while True:
        while b'\0' not in buf:
            chunk = os.read(r_out, 1 << 20)
            if not chunk: raise SystemExit('chromium closed the pipe')
            buf += chunk
        line, buf = buf.split(b'\0', 1)
        m = json.loads(line)
        if m.get('id') == nid:
            if 'error' in m: raise SystemExit(f'{method}: {m["error"]}')
            return m['result']
try:
    tid = send('Target.createTarget', {'url': 'about:blank'})['targetId']
    s = send('Target.attachToTarget', {'targetId': tid, 'flatten': True})['sessionId']
    send('Page.enable', session=s)
    send('Emulation.setDeviceMetricsOverride', {'width': W, 'height': H, 'deviceScaleFactor': 1, 'mobile': mobile}, s)
    send('Page.navigate', {'url': url}, s)
    t0 = time.time(); faces = ''
    js = "(()=>{const f=document.getElementById('faces');return f?[...f.querySelectorAll('li')].map(l=>l.textContent).join(' | '):''})()"
    while time.time() - t0 < 25:
        faces = send('Runtime.evaluate', {'expression': js, 'returnByValue': True}, s)['result'].get('value', '')
        if label + ' ' in faces: break
        time.sleep(0.25)
    time.sleep(0.5)   # one more frame drawn
    faces = send('Runtime.evaluate', {'expression': js, 'returnByValue': True}, s)['result'].get('value', '')
    dom = send('Runtime.evaluate', {'expression': 'document.documentElement.outerHTML', 'returnByValue': True}, s)['result'].get('value', '')
    open(domout, 'w').write(dom)
    png = send('Page.captureScreenshot', {'format': 'png'}, s)['data']
    open(shot, 'wb').write(base64.b64decode(png))
    lay = send('Runtime.evaluate', {'expression': "JSON.stringify({sw: document.documentElement.scrollWidth, iw: innerWidth, vw: Math.round(document.getElementById('video').getBoundingClientRect().width)})", 'returnByValue': True}, s)['result'].get('value', '')
    print(f'layout {lay}')
    print(f'{time.time() - t0:.1f} s faces: {faces}')
finally:
    try: send('Browser.close')
    except BaseException: pass
    try: p.wait(5)
    except subprocess.TimeoutExpired: p.kill()
EOF

rm -f "$ART/web-page.png" "$ART/web-page.dom.html"
t0=$(date +%s%N)
res=$(timeout 45 $PY "$T/cdp.py" "$BROWSER" "$U/#autostart" "$LABEL" "$T/face.y4m" "$ART/web-page.png" "$T/dom.html" 2>&1)
rc=$?
t1=$(date +%s%N)
echo "  chromium: $(tr '\n' ' ' <<<"$res")(rc $rc, $(( (t1 - t0) / 1000000 )) ms in all)"
faces=$(sed -n 's/.* s faces: //p' <<<"$res")
if [[ $rc == 0 ]] && grep -qE "(^| )$LABEL [0-9]+%" <<<"$faces"; then
    ok "page_faces_label ($faces)"
else
    bad page_faces_label "#faces: '${faces}' (want '$LABEL NN%')" \
        "status: $(grep -o '<[^>]*id="status"[^>]*>[^<]*' "$T/dom.html" 2>/dev/null | head -1)" \
        "error: $(grep -o '<[^>]*id="error"[^>]*>[^<]*' "$T/dom.html" 2>/dev/null | head -1)" \
        "chromium stderr: $(grep -v dbus "$T/dom.html.err" 2>/dev/null | tail -3)"
    cp "$T/dom.html" "$ART/web-page.dom.html" 2>/dev/null
fi

# A phone-sized screen (390x844, mobile emulation): the label still shows and
# nothing is wider than the screen (no horizontal scrolling).
res=$(timeout 45 $PY "$T/cdp.py" "$BROWSER" "$U/#autostart" "$LABEL" "$T/face.y4m" "$ART/web-page-phone.png" "$T/dom2.html" 390 844 1 2>&1)
rc=$?
echo "  chromium (phone): $(tr '\n' ' ' <<<"$res")"
lay=$(sed -n 's/^layout //p' <<<"$res")
faces=$(sed -n 's/.* s faces: //p' <<<"$res")
if [[ $rc == 0 ]] && grep -qE "(^| )$LABEL [0-9]+%" <<<"$faces" &&
   $PY -c "import json,sys; d=json.loads(sys.argv[1]); sys.exit(not (d['sw'] <= d['iw'] == 390 and 0 < d['vw'] <= 390))" "$lay"; then
    ok "phone_layout ($lay; $ART/web-page-phone.png)"
else
    bad phone_layout "rc $rc, layout '$lay', faces '$faces'"
fi

# The overlay (box, tag, bars) is drawn on the picture, the left ~65% of the page.
if [[ -s $ART/web-page.png ]]; then
    res=$($PY tests/shot_colour.py "$ART/web-page.png" "$LABEL" web/app.js)
    n=$(sed -n 's/.*: \([0-9]*\)$/\1/p' <<<"$res")
    if [[ -n $n && $n -ge 300 ]]; then ok "screenshot_overlay_colour ($res; $ART/web-page.png)"; else bad screenshot_overlay_colour "$res ($ART/web-page.png)"; fi
else
    bad screenshot "no $ART/web-page.png"
fi
finish
