#!/usr/bin/env bash
# The GPU check in one device call: install, facts, CUDA tests, four priority groups, pack.
#
#   bash tools/gpu_check.sh               # on the device machine, $OUT set by the device tool
#   bash tools/gpu_check.sh --rehearse    # here: the same steps on the CPU stand-in
#   bash tools/gpu_check.sh --rehearse --force-fail   # one benchmark raises: partial pack, exit 1
#
# Runs from the repository root; it first checks that the tracked tree is
# under 56 MiB (tools/tree_size.py). The whole script keeps to GPU_CHECK_LIMIT_S
# (330 s): every step gets what is left minus what the steps after it need,
# so however a step ends (failure, time-out) the run directories are reported,
# packed into one archive under $OUT (the device tool brings back at most 8
# files of 16 MiB, two folders down: tools/out_limits.py checks) and the
# script exits non-zero. Exit 0 only when the install (or its fallback), the
# tests and every benchmark that ran ended ok and every GPU report section rendered.
#
# Priorities (issue 25), each a `dnibench run` into its own run directory;
# a group's budget is held back while earlier steps run, unused seconds pass on,
# and repeats are cut before regimes (what was cut is written to gpu-check.md):
#   1  120 s  gpu-quick: the streams rows, 1 repeat (the suite says 3)   its dtype (bf16; the cpu profile fp32)
#   2   60 s  gpu-gpt: transformer tokens/s, MFU, HFU at 2 and 4 stages   bf16
#             (skipped, and said so, if suites/gpu-gpt.toml is ever removed)
#   3   60 s  gpu-rnn: rnn characters per second, alone, then side by side  fp32 (cuDNN LSTM)
#             (side by side, --jobs 3, only when the time the alone pass took is left; the clock
#             may cut it, which is named, not a failure)
#   4   rest  ttq --profile gpu, when the ttq suite has that profile and 30 s are left
#             (its repeats cut to 1 when less than 120 s are left)
#
# No registry is reached: the checkout is installed with --no-deps
# --no-build-isolation --no-index, and dnibench is run as `python -m dnibench`
# with the checkout on PYTHONPATH, so a failed install still runs. The
# rehearsal leaves this machine's environment alone (no install), hides
# mnist1d, which the device lacks, to prove the path does not need it, points
# the rnn group at a small text (--text-path) and skips priority 4.
#
# For tests and short rehearsals: GPU_CHECK_ONLY (dnibench run --only, priority 1),
# GPU_CHECK_REPEATS (--repeats of priority 1), GPU_CHECK_SKIP_TESTS=1,
# GPU_CHECK_GROUPS (the priorities to run, e.g. "1,3"; default all), PYTHON (python3).

set -u -o pipefail
cd "$(dirname "$0")/.." || exit 2
ROOT=$(pwd)

REHEARSE=0
FORCE_FAIL=0
for arg in "$@"; do
    case "$arg" in
        --rehearse) REHEARSE=1 ;;
        --force-fail) FORCE_FAIL=1 ;;
        -h|--help) sed -n '2,38p' "$0"; exit 0 ;;
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

# Priority budgets (seconds) and the time kept for packing at the end.
P1_S=120
P2_S=60
P3_S=60
PACK_S=20
GROUPS_WANTED=",${GPU_CHECK_GROUPS:-1,2,3,4},"
wanted() { [[ "$GROUPS_WANTED" == *",$1,"* ]]; }
GPT_ENABLED=0
[ -f suites/gpu-gpt.toml ] && GPT_ENABLED=1
# later_budgets PRIORITY: the budgets of the wanted, enabled groups after PRIORITY.
later_budgets() {
    local sum=0
    [ "$1" -lt 2 ] && wanted 2 && [ "$GPT_ENABLED" = 1 ] && sum=$(( sum + P2_S ))
    [ "$1" -lt 3 ] && wanted 3 && sum=$(( sum + P3_S ))
    echo "$sum"
}
RESERVED_S=$(( PACK_S + $(later_budgets 0) ))
wanted 1 && RESERVED_S=$(( RESERVED_S + P1_S ))
GROUP_LINES="$WORK/groups.tsv"
: >"$GROUP_LINES"

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
    FAILED_BEFORE=$FAILED
    run_step $(( RESERVED_S + 40 )) "install (no registry)" \
        "$PY" -m pip install -q --no-deps --no-build-isolation --no-index -e . \
        || { say "install failed: running from the checkout on PYTHONPATH instead"
             FAILED=$FAILED_BEFORE; }
fi

TAG=$("$PY" tools/gpu_facts.py --tag 2>>"$LOG") || TAG=unknown
[ "$REHEARSE" = 1 ] && TAG="cpu-rehearsal"
DAY=$(date +%F)
NAME="gpu-quick-$TAG-$DAY"
REPORTS="$WORK/reports"
RUN="$REPORTS/$NAME"
mkdir -p "$RUN"
say "run directory: reports/$NAME"

run_step $(( RESERVED_S + 25 )) "facts, versions and idle power" "$PY" tools/gpu_facts.py \
    --out "$RUN/gpu_facts.json" --idle-s "$([ "$REHEARSE" = 1 ] && echo 0.5 || echo 3)"

# The CUDA tests: every test file that skips itself without a GPU (a module-level
# `pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), ...)`), and NVML's.
if [ "${GPU_CHECK_SKIP_TESTS:-0}" != 1 ]; then
    mapfile -t CUDA_TESTS < <(grep -rlE '^pytestmark = pytest\.mark\.skipif\(\s*not torch\.cuda\.is_available\(\)' \
        tests --include='test_*.py' | sort)
    say "CUDA test files: ${CUDA_TESTS[*]} tests/instrument"
    run_step "$RESERVED_S" "CUDA tests" "$PY" -m pytest -q -p no:cacheprovider \
        "${CUDA_TESTS[@]}" tests/instrument
    cp "$LOG" "$RUN/gpu-check-tests.log" 2>/dev/null
fi

# run_group PRIORITY WHAT DTYPE BUDGET_S CUTS RUNS CMD...: one priority group, recorded in
# $GROUP_LINES. It runs under what is left minus the budgets of the groups after it; a pass
# whose time-out is only a cut (the side-by-side rnn pass, priority 4) sets GROUP_CUT_ONLY=1.
run_group() {
    local priority=$1 what=$2 dtype=$3 budget=$4 cuts=$5 runs=$6
    shift 6
    local after=$(( PACK_S + $(later_budgets "$priority") ))
    local given=$(( $(left) - after ))
    local started rc
    started=$(date +%s)
    if [ "${GROUP_CUT_ONLY:-0}" = 1 ] && [ "$given" -lt 5 ]; then
        say "priority $priority: $what cut, no time left (${given} s)"
        rc=124
    elif [ "${GROUP_CUT_ONLY:-0}" = 1 ]; then
        say "priority $priority: $what (up to ${given} s; a time-out only cuts it)"
        PYTHONUNBUFFERED=1 timeout --signal=INT --kill-after=10 "$given" "$@" 2>&1 | tee -a "$LOG"
        rc=${PIPESTATUS[0]}
        if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
            say "priority $priority cut by the clock after ${given} s (not a failure)"
        elif [ "$rc" != 0 ]; then
            fail "priority $priority ($what) ended with status $rc"
        fi
    else
        run_step "$after" "priority $priority: $what" "$@"
        rc=$?
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$priority" "$what" "$dtype" "$budget" \
        "$([ "$given" -gt 0 ] && echo "$given" || echo 0)" "$(( $(date +%s) - started ))" \
        "$([ "$rc" = 0 ] && echo ok || echo "exit $rc")" "$runs" "$cuts" >>"$GROUP_LINES"
    return "$rc"
}

skip_group() {  # PRIORITY WHAT DTYPE BUDGET_S WHY
    say "priority $1 skipped: $5"
    printf '%s\t%s\t%s\t%s\t0\t0\tskipped\t\t%s\n' "$1" "$2" "$3" "$4" "$5" >>"$GROUP_LINES"
}

# report_partial RUN_DIR: a report for a run that stopped before writing its own.
report_partial() {
    if [ -f "$1/results.csv" ] && [ ! -f "$1/report.md" ]; then
        "$PY" -m dnibench report "$1" >>"$LOG" 2>&1 || say "no report for the partial run $1"
    fi
}

# count_bad RUN_DIR [cut]: benchmark runs in its status.csv that did not end ok (fails the
# check); with "cut", runs the clock interrupted are a cut, named on the page, not a failure.
count_bad() {
    if [ ! -f "$1/status.csv" ]; then
        fail "no status.csv in $(basename "$1"): its suite did not start"
        return
    fi
    local bad ok spared="not_applicable"
    [ "${2:-}" = cut ] && spared="interrupted"
    bad=$(awk -F, -v spared="$spared" 'NR > 1 && $2 != "ok" && $2 != "not_applicable" && $2 != spared' \
        "$1/status.csv" | wc -l)
    ok=$(awk -F, 'NR > 1 && $2 == "ok"' "$1/status.csv" | wc -l)
    say "$(basename "$1"): $ok benchmark runs ok, $bad not ok"
    [ "$bad" = 0 ] || fail "$bad benchmark run(s) did not end ok ($(basename "$1")/status.csv)"
}

# --- Priority 1: the streams rows of gpu-quick, 1 repeat.
if wanted 1; then
    P1_REPEATS=${GPU_CHECK_REPEATS:-1}
    SUITE_ARGS=(gpu-quick --out "$RUN" --repeats "$P1_REPEATS")
    [ "$REHEARSE" = 1 ] && SUITE_ARGS+=(--profile cpu)
    [ "$FORCE_FAIL" = 1 ] && SUITE_ARGS+=(--fault "streams-dni-m8=raise:1:2")
    [ -n "${GPU_CHECK_ONLY:-}" ] && SUITE_ARGS+=(--only "$GPU_CHECK_ONLY")
    [ "$FORCE_FAIL" = 1 ] && say "forced failure: streams-dni-m8 raises at step 2 of stage 1"
    CUTS="repeats 3 -> $P1_REPEATS"
    [ -n "${GPU_CHECK_ONLY:-}" ] && CUTS="$CUTS; only $GPU_CHECK_ONLY"
    run_group 1 "streams rows (gpu-quick)" "the suite's (bf16 on a GPU)" "$P1_S" "$CUTS" "$NAME" \
        "$PY" -m dnibench run "${SUITE_ARGS[@]}"
    report_partial "$RUN"
    count_bad "$RUN"
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
else
    skip_group 1 "streams rows (gpu-quick)" "the suite's (bf16 on a GPU)" "$P1_S" "not among GPU_CHECK_GROUPS"
fi

# --- Priority 2: the transformer at 2 and 4 stages, bf16 (enabled by suites/gpu-gpt.toml).
GPT="gpu-gpt-$TAG-$DAY"
if ! wanted 2; then
    skip_group 2 "transformer tokens/s, MFU, HFU" "bf16" "$P2_S" "not among GPU_CHECK_GROUPS"
elif [ "$GPT_ENABLED" != 1 ]; then
    skip_group 2 "transformer tokens/s, MFU, HFU" "bf16" "$P2_S" \
        "not enabled: suites/gpu-gpt.toml is absent"
else
    GPT_ARGS=(gpu-gpt --out "$REPORTS/$GPT" --repeats 1)
    [ "$REHEARSE" = 1 ] && GPT_ARGS+=(--profile cpu)
    run_group 2 "transformer tokens/s, MFU, HFU" "bf16" "$P2_S" "repeats -> 1" "$GPT" \
        "$PY" -m dnibench run "${GPT_ARGS[@]}"
    report_partial "$REPORTS/$GPT"
    count_bad "$REPORTS/$GPT"
fi

# --- Priority 3: rnn characters per second, alone, then the three side by side.
RNN="gpu-rnn-$TAG-$DAY"
RNN_DTYPE="fp32 (cuDNN LSTM: TF32 as cudnn_tf32 in the facts)"
if wanted 3; then
    RNN_ARGS=(gpu-rnn --repeats 1)
    if [ "$REHEARSE" = 1 ]; then
        cat dnibench/studies/recurrent/*.py >"$WORK/rnn-text.txt"
        RNN_ARGS+=(--profile cpu --text-path "$WORK/rnn-text.txt")
    fi
    # Side by side: the three at once on the GPU; two at a time in the rehearsal, which
    # proves the same path (spawned workers) on a CPU whose two cores are shared.
    SIDE_JOBS=$([ "$REHEARSE" = 1 ] && echo 2 || echo 3)
    SIDE_ARGS=("${RNN_ARGS[@]}" --jobs "$SIDE_JOBS" --out "$REPORTS/$RNN-side")
    RNN_ARGS+=(--out "$REPORTS/$RNN")
    # Time for the side-by-side pass: what the alone pass took, plus start-up.
    RNN_STARTED=$(date +%s)
    RUNS="$RNN"
    if ! run_group 3 "rnn chars/s, alone" "$RNN_DTYPE" "$P3_S" "" "$RNN" \
        "$PY" -m dnibench run "${RNN_ARGS[@]}"; then :; fi
    report_partial "$REPORTS/$RNN"
    count_bad "$REPORTS/$RNN"
    ALONE_S=$(( $(date +%s) - RNN_STARTED ))
    SIDE_GIVEN=$(( $(left) - PACK_S - $(later_budgets 3) ))
    if [ "$SIDE_GIVEN" -ge $(( ALONE_S + 10 )) ]; then
        GROUP_CUT_ONLY=1 run_group 3 "rnn chars/s, side by side (--jobs $SIDE_JOBS)" "fp32, as alone" 0 \
            "" "$RNN-side" "$PY" -m dnibench run "${SIDE_ARGS[@]}"
        report_partial "$REPORTS/$RNN-side"
        count_bad "$REPORTS/$RNN-side" cut
        RUNS="$RNN;$RNN-side"
    else
        skip_group 3 "rnn chars/s, side by side (--jobs $SIDE_JOBS)" "fp32, as alone" 0 \
            "cut: ${SIDE_GIVEN} s left, the alone pass took ${ALONE_S} s"
    fi
else
    skip_group 3 "rnn chars/s" "$RNN_DTYPE" "$P3_S" "not among GPU_CHECK_GROUPS"
fi

# --- Priority 4: the time-to-quality suite's GPU profile, only with time left.
TTQ="ttq-gpu-$TAG-$DAY"
TTQ_LEFT=$(( $(left) - PACK_S ))
if ! wanted 4; then
    skip_group 4 "ttq GPU profile" "its profile's" 0 "not among GPU_CHECK_GROUPS"
elif [ "$REHEARSE" = 1 ]; then
    skip_group 4 "ttq GPU profile" "its profile's" 0 "rehearsal: the GPU profile needs CUDA"
elif ! "$PY" -c "import sys; from dnibench.suites.rewrites import profile_names; \
sys.exit(0 if 'gpu' in profile_names('ttq') else 1)" >>"$LOG" 2>&1; then
    skip_group 4 "ttq GPU profile" "its profile's" 0 "no ttq suite with a [profile.gpu]"
elif [ "$TTQ_LEFT" -lt 30 ]; then
    skip_group 4 "ttq GPU profile" "its profile's" 0 "cut: ${TTQ_LEFT} s left (< 30)"
else
    # The profile sizes the LM workload for the GPU; the other workloads need data sets the
    # device does not have (mnist1d), and a profile cannot leave benchmarks out: --only does.
    TTQ_ARGS=(ttq --profile gpu --only 'lm-gpt-*,tput-lm-gpt-*' --out "$REPORTS/$TTQ")
    CUTS=""
    if [ "$TTQ_LEFT" -lt 120 ]; then
        TTQ_ARGS+=(--repeats 1)
        CUTS="repeats -> 1 (${TTQ_LEFT} s left)"
    fi
    GROUP_CUT_ONLY=1 run_group 4 "ttq GPU profile" "its profile's" 0 "$CUTS" "$TTQ" \
        "$PY" -m dnibench run "${TTQ_ARGS[@]}"
    report_partial "$REPORTS/$TTQ"
    count_bad "$REPORTS/$TTQ" cut
fi

# The priorities page: what ran, in how many seconds, and what was cut.
"$PY" tools/gpu_summary.py --groups "$GROUP_LINES" --reports "$REPORTS" --limit-s "$LIMIT_S" \
    --elapsed-s "$(( $(date +%s) - START ))" --out "$RUN/gpu-check.md" --out "$OUT/gpu-check.md" \
    2>&1 | tee -a "$LOG"
[ "${PIPESTATUS[0]}" = 0 ] || fail "the priorities page (gpu-check.md) was not written"

# Pack: one archive that unpacks to reports/NAME*/, traces of later repeats dropped if too big.
ARCHIVE="$OUT/$NAME.tar.gz"
say "packing $NAME.tar.gz ($(cd "$REPORTS" && echo *))"
cp "$LOG" "$RUN/gpu-check.log"
tar -czf "$ARCHIVE" -C "$WORK" reports
if [ "$(stat -c %s "$ARCHIVE")" -gt $(( 15 * 1024 * 1024 )) ]; then
    say "archive over 15 MiB: keeping only the first repeat's traces"
    find "$REPORTS" -path '*/traces/*' -name '*-r[1-9]*.json*' -delete  # .json.gz, or .json
    tar -czf "$ARCHIVE" -C "$WORK" reports
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
