#!/usr/bin/env bash
# Runs `certcast simulate` on every tests/scenarios/*.yaml and checks each scenario's own
# expectations (its "expect:" list, evaluated by the simulator into the JSON summary), then two
# suite-wide checks on the forecaster's alerts pooled over all scenarios: precision >= 0.95 and
# recall >= 0.90 at the 7-day horizon (sim/README.md defines both).
#
# Known shortfalls: tests/scenarios/SHORTFALLS lists, one per line, the checks ("scenario: expr")
# that the issue's bars demand and certcast does not meet yet. Such a check failing is reported as
# SHORT and does not fail the run, so the rest of the suite still guards against regressions; a
# listed check that now passes fails the run until it is removed from the list (the list can only
# shrink). SCENARIO_STRICT=1 (make test-bars) ignores the list: every bar must hold.
#
# One check = one assertion. Writes BUILD/results/scenarios.txt (every check, then the line
# "scenarios: N passed, M failed") and BUILD/results/scenarios/NAME.json, where BUILD is the
# folder holding the binary. Exits non-zero when any check failed or a scenario did not run.
#
#   tests/run-scenarios.sh BUILD/certcast [SCENARIO.yaml ...]
set -u
bin=${1:?usage: tests/run-scenarios.sh BUILD/certcast [SCENARIO.yaml ...]}
shift
here=$(cd "$(dirname "$0")" && pwd)
build=$(dirname "$bin")
outdir="$build/results/scenarios"
report="$build/results/scenarios.txt"
mkdir -p "$outdir"
command -v jq >/dev/null || { echo "run-scenarios: jq is required" >&2; exit 2; }
whole=0
if [ $# -eq 0 ]; then whole=1; set -- "$here"/scenarios/*.yaml; fi

passed=0 failed=0 short=0
shortfalls="$here/scenarios/SHORTFALLS"
known() { # "scenario: expr" -> 0 when listed as a known shortfall
	[ "${SCENARIO_STRICT:-0}" = 1 ] && return 1
	[ -f "$shortfalls" ] && grep -vE '^[[:space:]]*(#|$)' "$shortfalls" | grep -qxF -- "$1"
}
seen=$(mktemp)
trap 'rm -f "$seen"' EXIT
verdict() { # ok key detail
	printf '%s\n' "$2" >>"$seen"
	if [ "$1" = true ]; then
		if known "$2"; then
			failed=$((failed + 1)); say "FAIL $2  $3 (now passes: remove it from $shortfalls)"
		else
			passed=$((passed + 1)); say "PASS $2  $3"
		fi
	elif known "$2"; then
		short=$((short + 1)); say "SHORT $2  $3 (known shortfall, issue 3)"
	else
		failed=$((failed + 1)); say "FAIL $2  $3"
	fi
}
tp=0 fp=0 pos=0 rec=0
curve_all=()  # per scenario: "risk alerts tp recalled" lines of the precision-recall curve
cal_all=()    # per scenario: "from to n sum_risk expired" lines of the horizon calibration
: >"$report"
say() { printf '%s\n' "$*" | tee -a "$report"; }

for f in "$@"; do
	name=$(basename "$f" .yaml)
	json="$outdir/$name.json"
	rm -f "$json"
	start=$(date +%s)
	"$bin" simulate --compact -o "$json" "$f" 2>"$outdir/$name.err"
	rc=$?
	secs=$(($(date +%s) - start))
	if { [ "$rc" -ne 0 ] && [ "$rc" -ne 3 ]; } || ! jq -e '.checks' "$json" >/dev/null 2>&1; then
		say "FAIL $name: simulate exited $rc: $(head -c 400 "$outdir/$name.err")"
		failed=$((failed + 1))
		continue
	fi
	say "# $name (${secs}s)"
	while IFS=$'\t' read -r ok expr lhs rhs why; do
		verdict "$ok" "$name: $expr" "[$lhs vs $rhs] $why"
	done < <(jq -r '.checks[] | [(.ok|tostring), .expect, (.lhs|tostring), (.rhs|tostring),
		(.why // "")] | @tsv' "$json")
	read -r a b c d < <(jq -r '.alerts | "\(.tp // 0) \(.fp // 0) \(.positives // 0) \(.recalled // 0)"' "$json")
	tp=$((tp + a)); fp=$((fp + b)); pos=$((pos + c)); rec=$((rec + d))
	mapfile -t -O "${#curve_all[@]}" curve_all < <(jq -r '.alerts.curve[]? |
		"\(.risk_at_least) \(.alerts) \(.tp) \(.recalled)"' "$json")
	mapfile -t -O "${#cal_all[@]}" cal_all < <(jq -r '.alerts.horizon_calibration.bins[]? |
		"\(.risk_from) \(.risk_to) \(.n) \(.mean_risk * .n) \(.expired)"' "$json")
done

# Pooled alert quality over the whole suite.
suite_check() { # name value-expression bar
	local label=$1 num=$2 den=$3 bar=$4
	if [ "$den" -eq 0 ]; then
		failed=$((failed + 1)); say "FAIL suite: $label undefined (no cases)"; return
	fi
	local v
	v=$(awk -v n="$num" -v d="$den" 'BEGIN { printf "%.4f", n / d }')
	local ok=false
	awk -v v="$v" -v b="$bar" 'BEGIN { exit !(v >= b) }' && ok=true
	verdict "$ok" "suite: $label >= $bar" "[$v, $num/$den]"
}
say "# suite (alerts pooled over all scenarios)"
suite_check "alert precision" "$tp" "$((tp + fp))" 0.95
suite_check "alert recall (7 days ahead)" "$rec" "$pos" 0.90
# The pooled precision-recall curve (not a check): the alert judged at other risk thresholds,
# to show where the bars' trade-off lies on this suite (sim/README.md).
if [ "${#curve_all[@]}" -gt 0 ] && [ "$pos" -gt 0 ]; then
	printf '%s\n' "${curve_all[@]}" | awk -v pos="$pos" '
		{ a[$1] += $2; t[$1] += $3; r[$1] += $4; if (!($1 in seen)) { seen[$1] = 1; k[n++] = $1 } }
		END { for (i = 0; i < n; i++) { x = k[i]
			printf "curve: risk >= %-4s alerts %5d  precision %.4f  recall %.4f\n", x, a[x],
				a[x] ? t[x] / a[x] : 0, r[x] / pos } }' | while IFS= read -r l; do say "$l"; done
fi
# The pooled reliability of the forecast made the horizon ahead (not a check): per risk bin, how
# many judged certificates were forecast in it *H* before their notAfter and how many expired.
# A threshold alert can only be as good as this ranking allows (sim/README.md).
if [ "${#cal_all[@]}" -gt 0 ]; then
	printf '%s\n' "${cal_all[@]}" | awk '
		{ k = $1 "-" $2; n[k] += $3; s[k] += $4; x[k] += $5; if (!(k in seen)) { seen[k] = 1; key[m++] = k } }
		END { for (i = 0; i < m; i++) { k = key[i]
			printf "horizon forecast %-8s certificates %6d  mean risk %.3f  expired %.3f (%d)\n",
				k, n[k], s[k] / n[k], x[k] / n[k], x[k] } }' | sort -k3,3 -t' ' |
		while IFS= read -r l; do say "$l"; done
fi

# A listed shortfall that no check produced is stale (its expectation was changed or removed):
# only judged when the whole suite ran.
if [ "$whole" = 1 ] && [ "${SCENARIO_STRICT:-0}" != 1 ] && [ -f "$shortfalls" ]; then
	while IFS= read -r k; do
		grep -qxF -- "$k" "$seen" && continue
		failed=$((failed + 1)); say "FAIL stale entry in $shortfalls: $k (no such check ran)"
	done < <(grep -vE '^[[:space:]]*(#|$)' "$shortfalls")
fi

say "scenarios: $passed passed, $failed failed, $short known shortfalls"
[ "$failed" -eq 0 ]
