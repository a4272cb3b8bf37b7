#!/usr/bin/env bash
# tests/integration/run.sh BUILD_DIR [TEST_SCRIPT...]
#
# Runs the integration scripts (default: every tests/integration/test_*.sh) against a real etcd
# and kube-apiserver. If $TESTENV_DIR names an environment that is already up, it is reused and
# left running; otherwise one is started in $TESTENV_DIR (default BUILD_DIR/testenv, so that
# engineers with their own build folders do not share one) and torn down at the end.
#
# Each script's output goes to BUILD_DIR/results/integration/NAME.log and is echoed; a failing
# script prints its own log tail. The per-check counts are added up into
# BUILD_DIR/results/integration.txt, whose last line is "integration: N passed, M failed".
# The exit status is non-zero when any check or script failed.
#
# INTEGRATION_TIMEOUT (seconds, default 900) bounds each script, so that a hung test cannot eat
# CI's time. INTEGRATION_SUITE (default "integration") names the suite in that last line.
set -uo pipefail

[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR [TEST_SCRIPT...]" >&2; exit 2; }
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
suite=${INTEGRATION_SUITE:-integration}
mkdir -p "$1"
build=$(cd "$1" && pwd)
shift
results=$build/results
logs=$results/integration
mkdir -p "$logs"
summary=$results/integration.txt
: >"$summary"

shopt -s nullglob
if [ $# -gt 0 ]; then
	scripts=("$@")
else
	scripts=("$root"/tests/integration/test_*.sh)
fi

own_env=0
export TESTENV_DIR=${TESTENV_DIR:-$build/testenv}
teardown() {
	if [ $own_env -eq 1 ]; then
		"$root/hack/testenv.sh" down >/dev/null 2>&1 || echo "run.sh: could not tear down $TESTENV_DIR" >&2
	fi
}
trap teardown EXIT
trap 'exit 130' INT TERM

if "$root/hack/testenv.sh" status >/dev/null 2>&1; then
	echo "== reusing the test environment in $TESTENV_DIR"
	env_out=$("$root/hack/testenv.sh" env)
else
	echo "== starting a test environment in $TESTENV_DIR"
	own_env=1
	t0=$SECONDS
	if ! env_out=$("$root/hack/testenv.sh" up 2>"$logs/testenv-up.log"); then
		tail -n 40 "$logs/testenv-up.log"
		echo "$suite: 0 passed, 1 failed" | tee -a "$summary"
		exit 1
	fi
	echo "   up in $((SECONDS - t0))s"
fi
eval "$env_out"
export CERTCAST_ROOT=$root CERTCAST_BUILD=$build

passed=0 failed=0
for s in "${scripts[@]}"; do
	name=$(basename "${s%.sh}")
	log=$logs/$name.log
	counts=$logs/$name.counts
	rm -f "$counts"
	echo "== $name"
	t0=$SECONDS
	LIB_COUNTS_FILE=$counts timeout --kill-after=30 "${INTEGRATION_TIMEOUT:-900}" bash "$s" >"$log" 2>&1
	rc=$?
	p=0 f=0
	if [ -f "$counts" ]; then read -r p f <"$counts"; fi
	# A script that died without reporting, or exited non-zero with no failed check, still failed.
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then echo "   timed out after ${INTEGRATION_TIMEOUT:-900}s" >>"$log"; fi
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$f" -gt 0 ]; then
		grep -E '^(ok|FAIL) ' "$log" | grep '^FAIL' | sed 's/^/   /'
		echo "   --- last lines of $log:"
		tail -n 60 "$log" | sed 's/^/   /'
		echo "   $name: $p passed, $f failed ($((SECONDS - t0))s)"
	else
		echo "   $name: $p passed, 0 failed ($((SECONDS - t0))s)"
	fi
	echo "$name: $p passed, $f failed" >>"$summary"
done

if [ ${#scripts[@]} -eq 0 ] || [ $((passed + failed)) -eq 0 ]; then
	echo "run.sh: no integration check ran" >&2
	failed=$((failed + 1))
fi
echo "$suite: $passed passed, $failed failed" | tee -a "$summary"
[ "$failed" -eq 0 ]
