#!/usr/bin/env bash
# The cert-manager stand-in's pure logic (hack/cm-standin/cmlogic.py): renewal time, backoff
# schedule, trigger decisions, readiness, spec matching, the failure annotation. Python unittest
# (tests/standin/), each test reported as one check. Runs here so that `make test` (through the
# integration runner) runs it; it needs no API server.
. "$(dirname "$0")/lib.sh"

rc=0
out=$(cd "$CERTCAST_ROOT" && python3 -m unittest discover -s tests/standin -p "test_*.py" -v 2>&1) || rc=$?
n=0
while IFS= read -r line; do
	case $line in
	*" ... ok") pass "standin unit: ${line% ... ok}"; n=$((n + 1)) ;;
	*" ... FAIL" | *" ... ERROR") fail "standin unit: ${line% ... *}"; n=$((n + 1)) ;;
	esac
done <<<"$out"
if [ "$rc" -eq 0 ] && [ "$n" -gt 0 ]; then pass "standin unit tests: $n run, exit 0"; else fail "standin unit tests: exit $rc, $n reported" "$out"; fi
