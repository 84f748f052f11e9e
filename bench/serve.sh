#!/usr/bin/env bash
# Web API benchmark (issue #6): wrk against POST /api/v1/analyze of
# bin/demo --serve on loopback. Requests per second, p50 and p99 latency at
# 1, 4 and 16 connections (DURATION seconds each), and the server's resident
# memory (VmRSS) before and after 10,000 further requests (no growth wanted).
#
# The request: a 640x480 JPEG with one face (a CK+48 face enlarged to 200 px
# on a gray background; a face-free gray image when the data set is missing,
# which the output says), made in a temporary folder with /usr/bin/python3 +
# cv2, sent by a wrk Lua script with Content-Type image/jpeg.
#
# Memory: VmRSS is read once the server has answered one request (idle), then
# after the throughput runs (warm: every worker has analysed), then after at
# least RSS_REQUESTS more requests at the fastest of the three connection
# counts (at most RSS_MAX_S seconds; a shortfall is stated); growth is
# warm -> after.
#
# Skips (exit 0) when wrk (Debian package "wrk") or bin/demo is missing.
# Environment: BUILD (build), BIN (bin), MODEL (checkpoints/fer2013.h5, the
# demo's default), DURATION
# (10 s per connection count), RSS_REQUESTS (10000), RSS_MAX_S (150),
# FERC_DATASETS
# (../shared/datasets).
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
BIN=${BIN:-bin}
MODEL=${MODEL:-checkpoints/fer2013.h5}
DURATION=${DURATION:-10}
RSS_REQUESTS=${RSS_REQUESTS:-10000}
RSS_MAX_S=${RSS_MAX_S:-150}
DATA=${FERC_DATASETS:-../shared/datasets}
PY=/usr/bin/python3
DEMO="$BIN/demo"

command -v wrk >/dev/null || { echo "SKIP bench/serve.sh: wrk not installed (apt-get install wrk)"; exit 0; }
[[ -x $DEMO ]] || { echo "SKIP bench/serve.sh: $DEMO not built (make)"; exit 0; }
[[ -f $MODEL ]] || { echo "SKIP bench/serve.sh: model $MODEL missing"; exit 0; }

T=$(mktemp -d /tmp/ferc-bench-serve.XXXXXX)
SPID=
trap '[[ -n $SPID ]] && kill "$SPID" 2>/dev/null && wait "$SPID" 2>/dev/null; rm -rf "$T"' EXIT

# ---- the request image ----------------------------------------------------------
note=$($PY - "$DATA/CK+48" "$T/face.jpg" <<'PY'
import sys, os, glob, cv2, numpy as np
src, out = sys.argv[1], sys.argv[2]
img = np.full((480, 640, 3), 128, np.uint8)
files = sorted(glob.glob(os.path.join(src, "happy", "*.png"))) or sorted(glob.glob(os.path.join(src, "*", "*.png")))
if files:
    f = cv2.imread(files[len(files) // 2], cv2.IMREAD_GRAYSCALE)
    f = cv2.resize(f, (200, 200), interpolation=cv2.INTER_CUBIC)
    y, x = (480 - 200) // 2, (640 - 200) // 2
    img[y:y + 200, x:x + 200] = cv2.cvtColor(f, cv2.COLOR_GRAY2BGR)
    print("one CK+48 face (%s/%s, 48 -> 200 px) on gray" % (os.path.basename(os.path.dirname(files[len(files) // 2])), os.path.basename(files[len(files) // 2])))
else:
    print("NO FACE: %s missing, a face-free gray image (detection only, no classification)" % src)
cv2.imwrite(out, img, [cv2.IMWRITE_JPEG_QUALITY, 90])
PY
) || { echo "bench/serve.sh: could not make the image (python3 + cv2)"; exit 1; }

# ---- the server ------------------------------------------------------------------
PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
U=http://127.0.0.1:$PORT
# not --quiet: its banner states the worker count
"$DEMO" --serve "127.0.0.1:$PORT" --model "$MODEL" 2>"$T/server.err" &
SPID=$!
up=0
for _ in $(seq 100); do
    kill -0 "$SPID" 2>/dev/null || break
    if $PY -c 'import sys,urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' "$U/api/v1/health" 2>/dev/null; then up=1; break; fi
    sleep 0.1
done
[[ $up == 1 ]] || { echo "bench/serve.sh: server did not start: $(cat "$T/server.err")"; exit 1; }
workers=$(sed -n 's/.*; \([0-9]* HTTP threads, [0-9]* analysers\);.*/\1/p' "$T/server.err" | head -1)

# one request by hand: its status and face count
faces=$($PY - "$U/api/v1/analyze" "$T/face.jpg" <<'PY'
import sys, json, urllib.request
r = urllib.request.urlopen(urllib.request.Request(sys.argv[1], data=open(sys.argv[2], "rb").read(),
                                                  headers={"Content-Type": "image/jpeg"}), timeout=30)
j = json.loads(r.read())
fs = j.get("faces", []) if isinstance(j, dict) else j
print("HTTP %d, %d face(s)%s" % (r.status, len(fs), (": " + str(fs[0].get("expression", fs[0].get("label", "")))) if fs and isinstance(fs[0], dict) else ""))
PY
) || { echo "bench/serve.sh: POST /api/v1/analyze failed"; exit 1; }

rss() { awk '/^VmRSS:/ {print $2}' "/proc/$SPID/status"; }

# ---- wrk -------------------------------------------------------------------------------
cat >"$T/post.lua" <<LUA
local f = assert(io.open("$T/face.jpg", "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "image/jpeg"

local threads = {}
function setup(thread) table.insert(threads, thread) end
non2xx = 0
function response(status, headers, body)
    if status < 200 or status > 299 then non2xx = non2xx + 1 end
end
function done(summary, latency, requests)
    local n = 0
    for _, t in ipairs(threads) do n = n + t:get("non2xx") end
    local e = summary.errors
    io.write(string.format("BENCH requests=%d duration_us=%d non2xx=%d sockerr=%d p50_us=%d p99_us=%d\n",
        summary.requests, summary.duration, n, e.connect + e.read + e.write + e.timeout,
        latency:percentile(50), latency:percentile(99)))
end
LUA

# run_wrk CONNS SECONDS: runs wrk, sets R_REQ R_RPS R_P50 R_P99 R_NON2XX R_SOCKERR
run_wrk() {
    local c=$1 d=$2 t=2 line
    ((c == 1)) && t=1
    wrk -t"$t" -c"$c" -d"${d}s" --timeout 10s --latency -s "$T/post.lua" "$U/api/v1/analyze" >"$T/wrk.out" 2>&1
    line=$(grep '^BENCH ' "$T/wrk.out")
    [[ -n $line ]] || { echo "bench/serve.sh: wrk failed:"; cat "$T/wrk.out"; exit 1; }
    eval "$(sed 's/^BENCH //; s/\([a-z0-9_]*\)=/local_\1=/g' <<<"$line")"
    R_REQ=$local_requests R_NON2XX=$local_non2xx R_SOCKERR=$local_sockerr
    R_RPS=$(awk -v n="$local_requests" -v us="$local_duration_us" 'BEGIN {printf "%.1f", n / (us / 1e6)}')
    R_P50=$(awk -v v="$local_p50_us" 'BEGIN {printf "%.1f", v / 1000}')
    R_P99=$(awk -v v="$local_p99_us" 'BEGIN {printf "%.1f", v / 1000}')
}

cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
echo "== bench/serve.sh: POST /api/v1/analyze, wrk $(wrk --version 2>&1 | awk 'NR==1 {print $2}') on loopback"
echo "machine: $(nproc) CPUs, ${cpu:-unknown CPU}; OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}"
echo "server: $DEMO --serve 127.0.0.1:$PORT --model $MODEL; ${workers:-? workers}"
echo "request: 640x480 JPEG ($(stat -c %s "$T/face.jpg") bytes), $note; first response: $faces"
rss0=$(rss)
echo
printf '%-11s %9s %9s %9s %8s %8s %8s\n' connections requests req/s p50_ms p99_ms non2xx sockerr
total=0 best_rps=0 best_c=16
for c in 1 4 16; do
    run_wrk "$c" "$DURATION"
    total=$((total + R_REQ))
    printf '%-11s %9s %9s %9s %8s %8s %8s\n' "$c" "$R_REQ" "$R_RPS" "$R_P50" "$R_P99" "$R_NON2XX" "$R_SOCKERR"
    if awk -v a="$R_RPS" -v b="${best_rps:-0}" 'BEGIN {exit !(a > b)}'; then best_rps=$R_RPS best_c=$c; fi
done

# ---- memory: RSS_REQUESTS further requests at the fastest connection count ----------------
rss1=$(rss)
sent=0 bad=0 spent=0
while ((sent < RSS_REQUESTS && spent < RSS_MAX_S)); do
    left=$((RSS_REQUESTS - sent))
    d=$(awk -v n="$left" -v r="$best_rps" -v m=$((RSS_MAX_S - spent)) 'BEGIN {d = int(n / (r > 1 ? r : 1)) + 1; print (d > m ? m : d)}')
    run_wrk "$best_c" "$d"
    sent=$((sent + R_REQ)) bad=$((bad + R_NON2XX + R_SOCKERR)) spent=$((spent + d))
done
rss2=$(rss)
echo
echo "memory (VmRSS of the server, pid $SPID):"
echo "  idle, after 1 request:            $rss0 kB"
echo "  warm, after $((total + 1)) requests:        $rss1 kB"
echo "  after $sent more requests ($best_c conn, ${spent} s, $bad non-2xx or socket errors): $rss2 kB"
echo "  growth warm -> after: $((rss2 - rss1)) kB ($(awk -v a="$rss1" -v b="$rss2" 'BEGIN {printf "%+.2f", (b - a) * 100 / a}')%)"
if ((sent < RSS_REQUESTS)); then
    echo "  NOTE: only $sent of $RSS_REQUESTS requests sent within RSS_MAX_S=$RSS_MAX_S s"
fi
