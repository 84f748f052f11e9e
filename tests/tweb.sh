# tweb.sh: what the browser tests (t_browser.sh, t_firefox.sh) share; source it
# after tlib.sh with BROWSER (the browser's path, empty when not found) and
# BROWSER_PKG (its Debian package) set.
# Skips the test (and exits) unless the browser, curl, the CK+48 data,
# python3 cv2/numpy, bin/demo and $MODEL are all there; then makes $T (a
# temporary folder, removed at exit together with the server) and $ART.
#   serve ARGS...   bin/demo --serve on a free-ish loopback port with ARGS,
#                   sets SERVER (its pid) and U (its address); a failed start
#                   is a failure (server_start) and ends the test
MODEL=checkpoints/ck.h5
CK="$DATA/CK+48"
if [[ -z $BROWSER ]]; then skip "$(basename "$0" .sh)" "$BROWSER_PKG not installed (apt-get install $BROWSER_PKG)"; finish; fi
if ! command -v curl >/dev/null; then skip "$(basename "$0" .sh)" "curl not installed"; finish; fi
if [[ ! -d $CK ]]; then skip "$(basename "$0" .sh)" "no CK+48 data at $CK (set FERC_DATASETS)"; finish; fi
if ! $PY -c 'import cv2, numpy' 2>/dev/null; then skip "$(basename "$0" .sh)" "python3 cv2/numpy not installed"; finish; fi
if [[ ! -x $DEMO || ! -f $MODEL ]]; then skip "$(basename "$0" .sh)" "$DEMO or $MODEL missing"; finish; fi

T=$(mktemp -d "/tmp/ferc-$(basename "$0" .sh).XXXXXX")
SERVER=
trap '[[ -n $SERVER ]] && kill "$SERVER" 2>/dev/null; rm -rf "$T"' EXIT
mkdir -p "$ART"

serve() {
    local port=$((20000 + ($$ + RANDOM) % 20000))
    U=http://127.0.0.1:$port
    "$DEMO" --serve "127.0.0.1:$port" --model "$MODEL" --quiet "$@" 2>"$T/server.err" &
    SERVER=$!
    if ! wait_http "$U/api/v1/health"; then bad server_start "$(cat "$T/server.err")"; finish; fi
}
