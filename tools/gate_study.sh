#!/usr/bin/env bash
# How often does `dnibench check` cry wolf, and how often does it catch a real
# 20% straggler? Runs the `gate` suite N+1 times as it is and N times with
# stage 1 slowed 1.2x (the runtime's real delay knob),
# then checks N A/A pairs (run i against run i+1) and N slowed pairs (run i
# against slowed run i). Usage: tools/gate_study.sh OUT_DIR [N] [LAUNCHES]
# (LAUNCHES defaults to the suite's repeats). gate.toml's figures come from two
# studies run as `tools/gate_study.sh DIR 10 6`, merged by
# `python tools/gate_rates.py DIR_A DIR_B` into 12 launches a side.
set -euo pipefail
out=${1:?usage: tools/gate_study.sh OUT_DIR [N] [LAUNCHES]}
n=${2:-10}
launches=()
if [ -n "${3:-}" ]; then launches=(--repeats "$3"); fi
mkdir -p "$out"
# A derived report, not a benchmark run: the marker dnibench.rundir.reader recognises.
echo '{"derived": "gate-study", "format_version": 1}' > "$out/config.json"
for i in $(seq 0 "$n"); do
    dnibench run gate "${launches[@]}" --out "$out/plain-$i" > "$out/plain-$i.log"
    if [ "$i" -lt "$n" ]; then
        dnibench run gate "${launches[@]}" --slow-stage 1 --slow-factor 1.2 \
            --out "$out/slow-$i" > "$out/slow-$i.log"
    fi
done
summary="$out/summary.csv"
echo "pair,kind,gate,exit" > "$summary"
for i in $(seq 0 $((n - 1))); do
    for gate in absolute ratios; do
        flag=$([ "$gate" = ratios ] && echo --ratios-only || true)
        set +e
        dnibench check --baseline "$out/plain-$i" --current "$out/plain-$((i + 1))" $flag \
            > "$out/check-aa-$i-$gate.txt" 2>&1
        aa=$?
        dnibench check --baseline "$out/plain-$i" --current "$out/slow-$i" $flag \
            > "$out/check-slow-$i-$gate.txt" 2>&1
        slow=$?
        set -e
        echo "$i,aa,$gate,$aa" >> "$summary"
        echo "$i,slowed,$gate,$slow" >> "$summary"
    done
done
echo "exit 1 = regression found (false positive for aa pairs, detection for slowed pairs)"
python - "$summary" <<'PY'
import sys
import pandas as pd
frame = pd.read_csv(sys.argv[1])
table = frame.assign(flagged=frame["exit"] == 1).groupby(["kind", "gate"]).flagged.agg(["sum", "count"])
print(table.to_string())
PY
