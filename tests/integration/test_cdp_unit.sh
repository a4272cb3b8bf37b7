#!/usr/bin/env bash
# hack/cdp.py's WebSocket client and CDP call handling (what test_livepage.sh drives Chromium
# with), against a loopback server: Python unittest (tests/cdp/), each test reported as one check.
# Runs here so that `make test` (through the integration runner) runs it; it needs no API server
# and no browser.
. "$(dirname "$0")/lib.sh"

rc=0
out=$(cd "$CERTCAST_ROOT" && python3 -m unittest discover -s tests/cdp -p "test_*.py" -v 2>&1) || rc=$?
n=0
while IFS= read -r line; do
	case $line in
	*" ... ok") pass "cdp unit: ${line% ... ok}"; n=$((n + 1)) ;;
	*" ... FAIL" | *" ... ERROR") fail "cdp unit: ${line% ... *}"; n=$((n + 1)) ;;
	esac
done <<<"$out"
if [ "$rc" -eq 0 ] && [ "$n" -gt 0 ]; then pass "cdp unit tests: $n run, exit 0"; else fail "cdp unit tests: exit $rc, $n reported" "$out"; fi

lib_finish
