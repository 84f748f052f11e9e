# tlib.sh: what every tests/t_*.sh shares; source it from the project root.
#   ok NAME            a check passed
#   bad NAME DETAIL... a check failed, with lines that say why
#   skip NAME WHY      a check could not run here
#   finish             prints "t_NAME: N passed, N failed, N skipped" (the line
#                      tests/run.sh reads) and exits non-zero on any failure
#   wait_for CMD...    runs CMD every 0.1 s, for up to 10 s, until it succeeds
#   wait_http CURL_ARGS... URL   polls for 10 s until the URL answers
# and the paths they use, each overridable from the environment:
BUILD=${BUILD:-build}                        # test programs: $BUILD/tests/
BIN=${BIN:-bin}                              # bin/train, bin/eval, bin/demo
DEMO="$BIN/demo"
DATA=${FERC_DATASETS:-../shared/datasets}    # the research data (tests skip without it)
ART=${FERC_ARTIFACTS:-test-artifacts}        # screenshots kept for people to look at
PY=/usr/bin/python3                          # Debian's Python (numpy, h5py, torch, cv2)

pass=0 fail=0 skip=0
ok()   { echo "ok   $1"; pass=$((pass + 1)); }
bad()  { echo "FAIL $1"; shift; printf '  %s\n' "$@"; fail=$((fail + 1)); }
skip() { echo "SKIP $1: $2"; skip=$((skip + 1)); }
finish() { echo "$(basename "$0" .sh): $pass passed, $fail failed, $skip skipped"; [[ $fail == 0 ]]; exit; }
wait_for() {
    for _ in $(seq 100); do
        "$@" && return 0
        sleep 0.1
    done
    return 1
}
wait_http() { wait_for curl -s -o /dev/null "$@"; }
