#!/usr/bin/env bash
# Runs every Criterion unit-test binary given, adds up Criterion's synthesis lines, and records
# the total in BUILD/results/unit.txt for tests/summary.sh. Exits non-zero if any test failed,
# crashed, or a binary did not report at all.
set -u
build=$1; shift
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
mkdir -p "$build/results"
passed=0 failed=0 bad=0
for bin in "$@"; do
	name=$(basename "$bin")
	out=$("$bin" --jobs=2 2>&1); rc=$?
	syn=$(printf '%s\n' "$out" | grep -a 'Synthesis:' | tail -n 1)
	if [ -z "$syn" ]; then
		printf '%s\n' "$out" | tail -n 40
		echo "FAIL $name: no Criterion synthesis line (rc=$rc)"
		bad=$((bad + 1)); continue
	fi
	t=$(sed -E 's/.*Tested: *([0-9]+).*/\1/' <<<"$syn")
	p=$(sed -E 's/.*Passing: *([0-9]+).*/\1/' <<<"$syn")
	f=$(sed -E 's/.*Failing: *([0-9]+).*/\1/' <<<"$syn")
	c=$(sed -E 's/.*Crashing: *([0-9]+).*/\1/' <<<"$syn")
	passed=$((passed + p)); failed=$((failed + f + c))
	# Criterion does not fail a test on a LeakSanitizer report at the test's exit, so the
	# sanitizer's own words are looked for as well.
	san=$(printf '%s\n' "$out" | grep -acE 'ERROR: (Leak|Address|Thread)Sanitizer|runtime error:' || true)
	if [ "$san" -ne 0 ]; then
		printf '%s\n' "$out" | grep -aE -A 25 'ERROR: (Leak|Address|Thread)Sanitizer|runtime error:' | head -n 80
		failed=$((failed + 1))
	fi
	if [ "$rc" -ne 0 ] || [ "$f" -ne 0 ] || [ "$c" -ne 0 ] || [ "$t" -eq 0 ] || [ "$san" -ne 0 ]; then
		printf '%s\n' "$out" | grep -avE '^\[----\] *$' | tail -n 60
		echo "FAIL $name: $syn (rc=$rc)"
		bad=$((bad + 1))
	else
		echo "ok   $name: $p tests"
	fi
done
suite=unit
case "$build" in *tsan*) suite=unit-tsan ;; *san*) suite=unit-sanitized ;; esac
echo "$suite: $passed passed, $((failed + bad)) failed" | tee "$build/results/$suite.txt"
[ "$failed" -eq 0 ] && [ "$bad" -eq 0 ]
