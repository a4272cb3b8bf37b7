#!/usr/bin/env bash
# Runs each libFuzzer harness given: its seeds (tests/fuzz/corpus/NAME/, which also keeps every
# input that once crashed it) first, then RUNS mutations from a fixed seed, so that the same
# inputs are tried each time and a failure reproduces with the command printed. Each harness is
# one test; one that crashes, leaks, trips a sanitizer or does not finish its runs fails. The
# total goes to BUILD/results/fuzz.txt for tests/summary.sh. A harness slower per input than
# the rest may name its own count in tests/fuzz/NAME.runs (one number), which replaces RUNS.
#
#   tests/run-fuzz.sh BUILD RUNS BIN...
set -u
build=$1 runs=$2; shift 2
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
mkdir -p "$build/results" "$build/crashes"
work=$(mktemp -d "${TMPDIR:-/tmp}/certcast-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
passed=0 failed=0
for bin in "$@"; do
	name=$(basename "$bin"); target=${name#fuzz_}
	seeds=$root/tests/fuzz/corpus/$target
	if [ ! -x "$bin" ] || [ ! -d "$seeds" ]; then
		echo "FAIL $name: missing binary or seed folder $seeds"
		failed=$((failed + 1)); continue
	fi
	n=$runs
	if [ -f "$root/tests/fuzz/$target.runs" ]; then
		n=$(tr -d ' \n' <"$root/tests/fuzz/$target.runs")
		case $n in '' | *[!0-9]*) echo "FAIL $name: $target.runs is not a number"; failed=$((failed + 1)); continue ;; esac
	fi
	dict=()
	[ -f "$root/tests/fuzz/$target.dict" ] && dict=(-dict="$root/tests/fuzz/$target.dict")
	# New inputs go to a scratch folder; the seed folder is only read.
	mkdir -p "$work/$target"
	args=(-runs="$n" -seed=1 -max_len=65536 -timeout=20 -rss_limit_mb=2048
		-artifact_prefix="$build/crashes/$target-" -print_final_stats=1 "${dict[@]}"
		"$work/$target" "$seeds")
	out=$("$bin" "${args[@]}" 2>&1); rc=$?
	done_line=$(printf '%s\n' "$out" | grep -a '^Done [0-9]* runs' | tail -n 1)
	san=$(printf '%s\n' "$out" | grep -acE 'ERROR: (Leak|Address)Sanitizer|runtime error:|ERROR: libFuzzer' || true)
	if [ "$rc" -ne 0 ] || [ -z "$done_line" ] || [ "$san" -ne 0 ]; then
		printf '%s\n' "$out" | grep -av '^#[0-9]' | tail -n 60
		echo "FAIL $name (rc=$rc); reproduce: $bin ${args[*]}"
		failed=$((failed + 1))
	else
		cov=$(printf '%s\n' "$out" | grep -a 'cov: ' | tail -n 1 | sed -nE 's/.*cov: ([0-9]+).*/\1/p')
		echo "ok   $name: $done_line, coverage ${cov:-?} edges"
		passed=$((passed + 1))
	fi
done
echo "fuzz: $passed passed, $failed failed" | tee "$build/results/fuzz.txt"
[ "$failed" -eq 0 ]
