#!/usr/bin/env bash
# Does dnibench work the ordinary way, installed from a wheel with no checkout
# around? Builds a wheel from the checkout's package files, installs it into a
# fresh virtual environment that also sees the site-packages of the python that
# runs this script (so the torch already installed is used, whether it lives in
# the system's site-packages or in a venv's), and, from an empty folder outside
# the checkout, runs
# `dnibench list` (quick must be listed, from the package) and `dnibench run`
# (the default quick suite; its report must be written).
# Usage: tools/wheel_check.sh [--list-only] [WORK_DIR]
# WORK_DIR (default: a temporary folder, removed at the end) keeps the wheel,
# the venv and the run; --list-only stops after `dnibench list`.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
list_only=0
if [ "${1:-}" = "--list-only" ]; then list_only=1; shift; fi
if [ -n "${1:-}" ]; then
    work="$1"
    mkdir -p "$work"
else
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
fi
work="$(cd "$work" && pwd)"
unset PYTHONPATH
step() { printf '[wheel_check %3ds] %s\n' "$SECONDS" "$*"; }

# Build from a copy of what the package is made of, so nothing is written into
# the checkout and no stale build/ folder leaks old modules into the wheel.
step "copying the package sources"
rm -rf "$work/src" "$work/wheel" "$work/venv" "$work/outside"
mkdir -p "$work/src"
cp -r "$repo"/{pyproject.toml,setup.py,MANIFEST.in,README.md,dnibench,suites} "$work/src/"
find "$work/src" -name __pycache__ -prune -exec rm -rf {} +
step "building the wheel"
python -m pip wheel -q --no-deps --no-build-isolation "$work/src" -w "$work/wheel"
wheel=("$work"/wheel/dnibench-*.whl)
step "built ${wheel[0]##*/}"

step "installing it into a fresh venv"
# Not --system-site-packages: from inside a venv that would give the base
# interpreter's packages, not this venv's torch. A .pth file lists this python's
# own import path instead (its site-packages and what their .pth files add); it
# comes after the new venv's site-packages, so the wheel's dnibench wins (checked
# below).
python -m venv --without-pip "$work/venv"
venv_site="$("$work/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
python -c 'import os, sys; print("\n".join(p for p in sys.path if p and os.path.isdir(p)))' \
    >"$venv_site/outer-python-path.pth"
"$work/venv/bin/python" -m pip install -q --no-deps --ignore-installed --no-index "${wheel[0]}"
export PATH="$work/venv/bin:$PATH"
mkdir -p "$work/outside"
cd "$work/outside"
where="$(python -c 'import dnibench; print(dnibench.__file__)')"
case "$where" in
    "$work/venv/"*) step "dnibench imports from the venv" ;;
    *) echo "wheel_check: dnibench imports from $where, not from the venv" >&2; exit 1 ;;
esac

step "dnibench list"
listing="$(dnibench list)"
echo "$listing"
if ! grep -Eq '^quick +.* package ' <<<"$listing"; then
    echo "wheel_check: 'dnibench list' does not list quick from the package" >&2
    exit 1
fi
if [ "$list_only" = 1 ]; then step "ok (list only)"; exit 0; fi

step "dnibench run (the quick suite)"
dnibench run | tee "$work/run.log"
report="$(sed -n 's/^report: //p' "$work/run.log" | tail -1)"
run_dir="$(dirname "$report")"
for file in report.html report.md results.csv; do
    if [ ! -s "$run_dir/$file" ]; then
        echo "wheel_check: the quick run wrote no $file in $run_dir" >&2
        exit 1
    fi
done
step "ok: report written in $run_dir"
