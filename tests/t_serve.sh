#!/usr/bin/env bash
# End-to-end tests of bin/demo --serve (the web API): health, model, the page
# and its security headers; /api/v1/analyze on PNG and JPEG gives what
# bin/demo --images gives; every bad input gets its 4xx and the server keeps
# serving (wrong content type, garbage, truncated image, body and pixel
# limits, unknown paths and methods, path traversal, a stalled client);
# concurrent requests equal sequential ones; token enforcement; binding rules
# (a non-loopback host needs --token); the server's own video as MJPEG and
# server-sent events; Ctrl-C stops it cleanly.
# Prints "t_serve: N passed, N failed, N skipped".
set -u
cd "$(dirname "$0")/.."
. tests/tlib.sh
MODEL=checkpoints/ck.h5
T=$(mktemp -d /tmp/ferc-t_serve.XXXXXX)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$T"' EXIT
command -v curl >/dev/null || { echo "SKIP t_serve: curl not installed"; echo "t_serve: 0 passed, 0 failed, 1 skipped"; exit 0; }

# start_server NAME PORT ARGS...: starts bin/demo --serve in the background, waits for /api/v1/health
start_server() {
    local name=$1 port=$2; shift 2
    "$DEMO" --serve "127.0.0.1:$port" --model "$MODEL" --quiet "$@" 2>"$T/$name.err" &
    PIDS+=($!)
    wait_http "${TOKEN_HDR[@]}" "http://127.0.0.1:$port/api/v1/health" && return 0
    echo "server $name did not start: $(cat "$T/$name.err")"; return 1
}
TOKEN_HDR=()
# req NAME WANT_STATUS PATTERN CURL_ARGS...: status and a body matching PATTERN
req() {
    local name=$1 want=$2 pat=$3; shift 3
    local code
    code=$(curl -s -o "$T/body" -w '%{http_code}' "$@")
    if [[ $code == "$want" ]] && grep -qE -- "$pat" "$T/body"; then ok "$name"; else bad "$name" "status $code (want $want)" "$(head -c 300 "$T/body")"; fi
}

out=$("$DEMO" --help)
if grep -q -- "--serve \[HOST:\]PORT" <<<"$out" && grep -q -- "--token" <<<"$out"; then ok help; else bad help; fi
err=$("$DEMO" --serve 0.0.0.0:18181 --model "$MODEL" 2>&1); rc=$?
if [[ $rc == 2 ]] && grep -q "needs\|give --token" <<<"$err"; then ok bind_public_needs_token; else bad bind_public_needs_token "exit $rc" "$err"; fi
err=$("$DEMO" --serve localhost:99999 --model "$MODEL" 2>&1); rc=$?
if [[ $rc == 2 ]] && grep -q "PORT 1..65535" <<<"$err"; then ok bind_bad_port; else bad bind_bad_port "exit $rc" "$err"; fi

P=$((20000 + $$ % 20000))
U=http://127.0.0.1:$P
start_server main $P || { echo "t_serve: $pass passed, $((fail + 1)) failed, $skip skipped"; exit 1; }
curl -s -D "$T/h" -o /dev/null "$U/api/v1/health"
if grep -qi "^Content-Security-Policy: default-src 'self'" "$T/h" && grep -qi "^X-Content-Type-Options: nosniff" "$T/h" &&
   grep -qi "^Referrer-Policy: no-referrer" "$T/h" && grep -qi "^Cache-Control: no-store" "$T/h"; then
    ok security_headers
else
    bad security_headers "$(cat "$T/h")"
fi
req health 200 '"status":"ok"' "$U/api/v1/health"
req model 200 '"classes":\["anger","contempt","disgust","fear","happy","sadness","surprise"\],"input_size":48' "$U/api/v1/model"
if [[ -f web/index.html ]]; then
    req page 200 "<html|<!DOCTYPE|<!doctype" "$U/"
else
    skip page "web/index.html not present"
fi
req not_found 404 '"error"' "$U/nothing"
req traversal 404 '"error"' --path-as-is "$U/../../etc/passwd"
req traversal_encoded 404 '"error"' "$U/%2e%2e/%2e%2e/etc/passwd"
req api_unknown 404 '"error"' "$U/api/v1/secret"
req analyze_get 405 'use POST' "$U/api/v1/analyze"
req no_server_camera 404 'no server camera' "$U/api/v1/stream"
req wrong_type 415 'Content-Type must be' -X POST -H 'Content-Type: text/plain' --data-binary 'hello' "$U/api/v1/analyze"
req no_type 415 'Content-Type must be' -X POST --data-binary @"$MODEL" -H 'Content-Type:' "$U/api/v1/analyze"
req garbage 400 'not a PNG or JPEG' -X POST -H 'Content-Type: image/jpeg' --data-binary 'garbage bytes' "$U/api/v1/analyze"
req empty 400 'empty body' -X POST -H 'Content-Type: image/png' --data-binary '' "$U/api/v1/analyze"

if [[ -d $DATA/CK+48 ]]; then
    mkdir -p "$T/canvas"
    mapfile -t faces < <(ls "$DATA"/CK+48/*/*.png | awk 'NR % 97 == 5')
    "$BUILD/tests/mk_demo" canvases "$T/canvas" "$MODEL" "${faces[@]}" > /dev/null
    "$DEMO" --images "$T/canvas" --headless --model "$MODEL" --quiet > "$T/images.jsonl"
    : > "$T/api.jsonl"
    for f in "$T"/canvas/*; do
        ct=image/png; [[ $f == *.jpg ]] && ct=image/jpeg
        printf '{"file":"%s","r":' "$f" >> "$T/api.jsonl"
        curl -s -X POST -H "Content-Type: $ct" --data-binary @"$f" "$U/api/v1/analyze" | tr -d '\n' >> "$T/api.jsonl"
        echo '}' >> "$T/api.jsonl"
    done
    out=$($PY - "$T/images.jsonl" "$T/api.jsonl" <<'PY' 2>&1
import json, sys
cli = {j["file"]: j for j in map(json.loads, open(sys.argv[1]))}
api = {j["file"]: j["r"] for j in map(json.loads, open(sys.argv[2]))}
assert set(cli) == set(api) and len(api) >= 8, (len(cli), len(api))
for f, a in api.items():
    c = cli[f]
    assert a["width"] == 480 and a["height"] == 360, a
    assert [(x["box"], x["label"], x["probs"]) for x in a["faces"]] == \
           [(x["box"], x["label"], x["probs"]) for x in c["faces"]], f
print(f"{len(api)} images (PNG and JPEG): same boxes, labels and probabilities as bin/demo --images")
PY
)
    if [[ $? == 0 ]]; then ok "analyze_equals_images ($out)"; else bad analyze_equals_images "$out"; fi
    one=$(ls "$T"/canvas/*.jpg | head -1)
    head -c $(( $(wc -c < "$one") / 2 )) "$one" > "$T/trunc.jpg"
    req truncated_jpeg 400 'request body' -X POST -H 'Content-Type: image/jpeg' --data-binary @"$T/trunc.jpg" "$U/api/v1/analyze"
    # concurrent requests give the same answers as sequential ones
    for f in "$T"/canvas/*.png; do curl -s -X POST -H 'Content-Type: image/png' --data-binary @"$f" "$U/api/v1/analyze" > "$f.seq"; done
    cp=()
    for f in "$T"/canvas/*.png; do curl -s -X POST -H 'Content-Type: image/png' --data-binary @"$f" "$U/api/v1/analyze" > "$f.par" & cp+=($!); done
    wait "${cp[@]}"
    d=0; for f in "$T"/canvas/*.png; do cmp -s <(sed 's/"ms".*//' "$f.seq") <(sed 's/"ms".*//' "$f.par") || d=$((d + 1)); done
    if [[ $d == 0 ]]; then ok concurrent_equals_sequential; else bad concurrent_equals_sequential "$d differ"; fi
else
    for t in analyze_equals_images truncated_jpeg concurrent_equals_sequential; do skip $t "$DATA/CK+48 not found"; done
fi

# a client that sends half a request and stalls does not block others
exec 3<>"/dev/tcp/127.0.0.1/$P"
printf 'POST /api/v1/analyze HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: 100000\r\n\r\n\x89PNG' >&3
req stalled_client_others_served 200 '"status":"ok"' -m 5 "$U/api/v1/health"
exec 3>&-

# limits: body size and pixel count
P2=$((P + 1))
start_server limits $P2 --max-body 4096 --max-pixels 10000
head -c 20000 /dev/urandom > "$T/big.bin"
req body_limit 413 'body over 4096 bytes' -X POST -H 'Content-Type: image/png' --data-binary @"$T/big.bin" "http://127.0.0.1:$P2/api/v1/analyze"
# a valid 200x200 PNG header (IHDR) is refused before decoding
printf '\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x00\xc8\x00\x00\x00\xc8\x08\x00\x00\x00\x00' > "$T/hdr.png"
req pixel_limit 413 'limit is 10000 pixels' -X POST -H 'Content-Type: image/png' --data-binary @"$T/hdr.png" "http://127.0.0.1:$P2/api/v1/analyze"
req still_serving 200 '"status":"ok"' "http://127.0.0.1:$P2/api/v1/health"

# token
P3=$((P + 2))
TOKEN_HDR=(-H 'X-Ferc-Token: s3cret-token')
start_server token $P3 --token s3cret-token
req token_missing 401 'X-Ferc-Token' "http://127.0.0.1:$P3/api/v1/model"
req token_wrong 401 'X-Ferc-Token' -H 'X-Ferc-Token: s3cret-tokeN' "http://127.0.0.1:$P3/api/v1/model"
req token_prefix 401 'X-Ferc-Token' -H 'X-Ferc-Token: s3cret' "http://127.0.0.1:$P3/api/v1/model"
req token_right 200 '"classes"' -H 'X-Ferc-Token: s3cret-token' "http://127.0.0.1:$P3/api/v1/model"
TOKEN_HDR=()

# the server's own source (--video; a camera works the same way): MJPEG and events
CLIP=${FERC_VIDEOS:-$(dirname "$DATA")/videos}/face-neutral-to-anger.avi
if [[ -f $CLIP ]]; then
    P4=$((P + 3))
    TOKEN_HDR=(-H 'X-Ferc-Token: tok')
    start_server live $P4 --video "$CLIP" --token tok
    L=http://127.0.0.1:$P4
    req live_model 200 '"camera":true' -H 'X-Ferc-Token: tok' "$L/api/v1/model"
    curl -s -m 3 -H 'X-Ferc-Token: tok' "$L/api/v1/events" > "$T/events.txt"
    out=$($PY - "$T/events.txt" <<'PY' 2>&1
import json, sys
ev = [json.loads(l[6:]) for l in open(sys.argv[1]) if l.startswith("data: ")]
assert len(ev) >= 10, f"{len(ev)} events in 3 s"
assert all(e["width"] == 720 and e["height"] == 480 for e in ev)
frames = [e["frame"] for e in ev]
assert all(b != a for a, b in zip(frames, frames[1:])), frames
withface = sum(len(e["faces"]) == 1 for e in ev)
assert withface >= 0.9 * len(ev), withface
print(f"{len(ev)} events in 3 s, {withface} with one face")
PY
)
    if [[ $? == 0 ]]; then ok "live_events ($out)"; else bad live_events "$out"; fi
    curl -s -m 2 "$L/api/v1/stream?token=tok" -o "$T/stream.bin"
    parts=$(grep -ac -- '^--ferc' "$T/stream.bin")
    if (( parts >= 5 )) && grep -aq 'Content-Type: image/jpeg' "$T/stream.bin"; then ok "live_mjpeg ($parts frames in 2 s)"
    else bad live_mjpeg "$parts parts"; fi
    req live_stream_token 401 'X-Ferc-Token' "$L/api/v1/stream"
    curl -s -m 4 "$L/api/v1/stream?token=tok" -o /dev/null & sp=$!
    sleep 0.5
    req live_health_while_streaming 200 '"status":"ok"' -m 2 -H 'X-Ferc-Token: tok' "$L/api/v1/health"
    wait $sp
    TOKEN_HDR=()
else
    for t in live_model live_events live_mjpeg live_stream_token live_health_while_streaming; do skip $t "$CLIP not found"; done
fi

# Ctrl-C stops the server cleanly
kill -INT "${PIDS[0]}"; wait "${PIDS[0]}"; rc=$?
if [[ $rc == 0 ]]; then ok sigint_exit; else bad sigint_exit "exit $rc" "$(cat "$T/main.err")"; fi
if curl -s -m 2 -o /dev/null "$U/api/v1/health"; then bad sigint_closed "still answering"; else ok sigint_closed; fi

finish
