#!/usr/bin/env bash
# Runs every test binary in $BUILD/tests (built by `make test`) and the
# end-to-end checks in tests/*.sh; prints one closing line
# "tests: N passed, N failed, N skipped" and exits non-zero on any failure.
# Tests that need the research datasets look in $FERC_DATASETS (default
# ../shared/datasets) and say plainly when they skip.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export FERC_DATASETS=${FERC_DATASETS:-../shared/datasets}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
pass=0 fail=0 skip=0 failed=()
run_one() {
    local name=$1; shift
    echo "== $name"
    local out rc
    out=$("$@" 2>&1); rc=$?
    printf '%s\n' "$out"
    # each binary ends with "<name>: N passed, N failed, N skipped"
    local line
    line=$(printf '%s\n' "$out" | grep -E ': [0-9]+ passed, [0-9]+ failed' | tail -1)
    if [[ -n $line ]]; then
        local p f s
        p=$(sed -E 's/.*: ([0-9]+) passed.*/\1/' <<<"$line")
        f=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")
        s=$(sed -nE 's/.* ([0-9]+) skipped.*/\1/p' <<<"$line")
        pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + ${s:-0}))
        if (( f > 0 || rc != 0 )); then failed+=("$name"); (( f == 0 )) && fail=$((fail + 1)); fi
    else
        # no summary line: the binary crashed or is a plain script
        if (( rc == 0 )); then pass=$((pass + 1)); else fail=$((fail + 1)); failed+=("$name (exit $rc)"); fi
    fi
}
for t in "$BUILD"/tests/test_*; do
    [[ -x $t ]] || continue
    run_one "$(basename "$t")" "$t"
done
for t in tests/t_*.sh; do
    [[ -f $t ]] || continue
    run_one "$(basename "$t")" bash "$t"
done
if (( ${#failed[@]} )); then echo "failed: ${failed[*]}"; fi
echo "tests: $pass passed, $fail failed, $skip skipped"
(( fail == 0 ))
