#!/usr/bin/env bash
# The GPU check in one device call: install, facts, CUDA tests, gpu-quick, pack.
#
#   bash tools/gpu_check.sh               # on the device machine, $OUT set by the device tool
#   bash tools/gpu_check.sh --rehearse    # here: the same steps on the CPU stand-in
#   bash tools/gpu_check.sh --rehearse --force-fail   # one benchmark raises: partial pack, exit 1
#
# Runs from the repository root; it first checks that the tracked tree is
# under 56 MiB (tools/tree_size.py). The whole script keeps to GPU_CHECK_LIMIT_S
# (330 s): every step gets what is left minus what the steps after it need,
# so however a step ends (failure, time-out) the run directory is reported,
# packed into one archive under $OUT (the device tool brings back at most 8
# files of 16 MiB, two folders deep: tools/out_limits.py checks) and the
# script exits non-zero. Exit 0 only when the install (or its fallback), the
# tests and every benchmark ended ok and every GPU report section rendered.
#
# No registry is reached: the checkout is installed with --no-deps
# --no-build-isolation --no-index, and dnibench is run as `python -m dnibench`
# with the checkout on PYTHONPATH, so a failed install still runs. The
# rehearsal leaves this machine's environment alone (no install) and hides
# mnist1d, which the device lacks, to prove the path does not need it.
#
# For tests and short rehearsals: GPU_CHECK_ONLY (dnibench run --only),
# GPU_CHECK_REPEATS (--repeats), GPU_CHECK_SKIP_TESTS=1, PYTHON (python3).

set -u -o pipefail
cd "$(dirname "$0")/.." || exit 2
ROOT=$(pwd)

REHEARSE=0
FORCE_FAIL=0
for arg in "$@"; do
    case "$arg" in
        --rehearse) REHEARSE=1 ;;
        --force-fail) FORCE_FAIL=1 ;;
        -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
        *) echo "gpu_check: unknown option '$arg' (use --rehearse, --force-fail)" >&2; exit 2 ;;
    esac
done

LIMIT_S=${GPU_CHECK_LIMIT_S:-330}
PY=${PYTHON:-python3}
START=$(date +%s)
if [ -z "${OUT:-}" ]; then
    if [ "$REHEARSE" = 1 ]; then
        OUT=$(mktemp -d "${TMPDIR:-/tmp}/gpu-check-out.XXXXXX")
    else
        echo "gpu_check: \$OUT is not set (the device tool sets it; use --rehearse here)" >&2
        exit 2
    fi
fi
mkdir -p "$OUT"
LOG="$OUT/gpu-check.log"
: >"$LOG"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gpu-check.XXXXXX")
FAILED=0
TIMED_OUT=0

say() { echo "[gpu_check $(( $(date +%s) - START )) s] $*" | tee -a "$LOG"; }
left() { echo $(( LIMIT_S - ($(date +%s) - START) )); }
fail() { say "FAILED: $*"; FAILED=1; }

# run_step RESERVE_S NAME CMD...: CMD under what is left minus RESERVE_S seconds.
run_step() {
    local reserve=$1 name=$2
    shift 2
    local budget=$(( $(left) - reserve ))
    if [ "$budget" -lt 5 ]; then
        fail "$name: no time left (${budget} s)"
        TIMED_OUT=1
        return 124
    fi
    say "$name (up to ${budget} s)"
    PYTHONUNBUFFERED=1 timeout --signal=INT --kill-after=10 "$budget" "$@" 2>&1 | tee -a "$LOG"
    local rc=${PIPESTATUS[0]}
    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
        TIMED_OUT=1
    fi
    [ "$rc" = 0 ] || fail "$name ended with status $rc"
    return "$rc"
}

# First of all: the tree must be small enough to travel (the device tool carries 64 MiB).
"$PY" tools/tree_size.py 2>&1 | tee -a "$LOG"
[ "${PIPESTATUS[0]}" = 0 ] || fail "the tracked tree is too big to send to the device"

export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
if [ "$REHEARSE" = 1 ]; then
    mkdir -p "$WORK/hide/mnist1d"
    echo 'raise ImportError("mnist1d is hidden: the device machine does not have it")' \
        >"$WORK/hide/mnist1d/__init__.py"
    export PYTHONPATH="$WORK/hide:$PYTHONPATH"
    say "rehearsal on the CPU stand-in; install skipped (this environment is shared); mnist1d hidden"
else
    run_step 300 "install (no registry)" \
        "$PY" -m pip install -q --no-deps --no-build-isolation --no-index -e . \
        || { say "install failed: running from the checkout on PYTHONPATH instead"; FAILED=0; }
fi

TAG=$("$PY" tools/gpu_facts.py --tag 2>>"$LOG") || TAG=unknown
[ "$REHEARSE" = 1 ] && TAG="cpu-rehearsal"
NAME="gpu-quick-$TAG-$(date +%F)"
RUN="$WORK/reports/$NAME"
mkdir -p "$RUN"
say "run directory: reports/$NAME"

run_step 280 "facts and idle power" "$PY" tools/gpu_facts.py --out "$RUN/gpu_facts.json" \
    --idle-s "$([ "$REHEARSE" = 1 ] && echo 0.5 || echo 3)"

if [ "${GPU_CHECK_SKIP_TESTS:-0}" != 1 ]; then
    run_step 250 "CUDA tests" "$PY" -m pytest -q -p no:cacheprovider \
        tests/runtimes/streams/test_streams_cuda.py tests/instrument
    cp "$LOG" "$RUN/gpu-check-tests.log" 2>/dev/null
fi

SUITE_ARGS=(gpu-quick --out "$RUN")
[ "$REHEARSE" = 1 ] && SUITE_ARGS+=(--profile cpu)
[ "$FORCE_FAIL" = 1 ] && SUITE_ARGS+=(--fault "streams-dni-m8=raise:1:2")
[ -n "${GPU_CHECK_ONLY:-}" ] && SUITE_ARGS+=(--only "$GPU_CHECK_ONLY")
[ -n "${GPU_CHECK_REPEATS:-}" ] && SUITE_ARGS+=(--repeats "$GPU_CHECK_REPEATS")
[ "$FORCE_FAIL" = 1 ] && say "forced failure: streams-dni-m8 raises at step 2 of stage 1"
run_step 30 "gpu-quick suite" "$PY" -m dnibench run "${SUITE_ARGS[@]}"

if [ -f "$RUN/results.csv" ] && [ ! -f "$RUN/report.md" ]; then
    run_step 12 "report of the partial run" "$PY" -m dnibench report "$RUN"
fi

if [ -f "$RUN/status.csv" ]; then
    BAD=$(awk -F, 'NR > 1 && $2 != "ok"' "$RUN/status.csv" | wc -l)
    OK=$(awk -F, 'NR > 1 && $2 == "ok"' "$RUN/status.csv" | wc -l)
    say "benchmark runs: $OK ok, $BAD not ok"
    [ "$BAD" = 0 ] || fail "$BAD benchmark run(s) did not end ok (status.csv)"
else
    fail "no status.csv: the suite did not start"
fi
if [ -f "$RUN/report.md" ]; then
    for heading in "## GPU: streams, nccl and NVML" "### Overlap of the stage streams" \
        "### Span idle against NVML" "### Energy per sample" "### Streams pipeline efficiency" \
        "### Same-run ratios"; do
        grep -qF "$heading" "$RUN/report.md" || fail "report section missing: $heading"
    done
    cp "$RUN/report.md" "$OUT/report.md"
else
    fail "no report.md"
fi

# Pack: one archive that unpacks to reports/NAME/, traces of later repeats dropped if too big.
ARCHIVE="$OUT/$NAME.tar.gz"
say "packing $NAME.tar.gz"
cp "$LOG" "$RUN/gpu-check.log"
tar -czf "$ARCHIVE" -C "$WORK" "reports/$NAME"
if [ "$(stat -c %s "$ARCHIVE")" -gt $(( 15 * 1024 * 1024 )) ]; then
    say "archive over 15 MiB: keeping only the first repeat's traces"
    find "$RUN/traces" -name '*-r[1-9]*.json*' -delete  # .json.gz, or .json of older runs
    tar -czf "$ARCHIVE" -C "$WORK" "reports/$NAME"
fi
"$PY" tools/out_limits.py "$OUT" 2>&1 | tee -a "$LOG"
[ "${PIPESTATUS[0]}" = 0 ] || fail "\$OUT breaks the device tool's limits"
rm -rf "$WORK"

say "done in $(( $(date +%s) - START )) s: $([ "$FAILED" = 0 ] && echo ok || echo FAILED), archive $ARCHIVE"
if [ "$FAILED" != 0 ]; then
    [ "$TIMED_OUT" = 1 ] && exit 124
    exit 1
fi
exit 0
