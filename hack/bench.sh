#!/usr/bin/env bash
# make bench: runs every benchmark binary built from hack/bench/bench_*.c and the initial-sync
# benchmark against a local kube-apiserver. A report, never a pass/fail on timing: the machines
# are shared, so compare ratios printed within one run.
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."
report="$build/bench-report.txt"
: >"$report"
for b in "$build"/bench/bench_*; do
	[ -x "$b" ] || continue
	echo "== $(basename "$b")" | tee -a "$report"
	"$b" 2>&1 | tee -a "$report"
done
# The controller's /status endpoint: every certificate scored on demand with the controller's
# inputs, then written as JSON (a measurement inside the reconcile unit test's fixture).
if make -s BUILD="$build" "$build/tests/test_reconcile" >/dev/null 2>&1; then
	echo "== controller /status at 10000 certificates" | tee -a "$report"
	CERTCAST_STATUS_BENCH=10000 "$build/tests/test_reconcile" --filter 'reconcile/status_at*' 2>&1 |
		grep '^recon_status:' | tee -a "$report"
fi
if [ -x hack/bench/scan.sh ]; then
	echo "== scan of a saved cluster" | tee -a "$report"
	hack/bench/scan.sh "$build" 2>&1 | tee -a "$report"
fi
if [ -x hack/bench/sync.sh ]; then
	echo "== initial sync" | tee -a "$report"
	hack/bench/sync.sh "$build" 2>&1 | tee -a "$report"
fi
echo "report written to $report"
