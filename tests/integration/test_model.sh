#!/usr/bin/env bash
# The learned model in `certcast controller` against a real kube-apiserver: it learns each
# CertificateRequest outcome once, publishes its calibration on /metrics, writes --state-file at
# a resync and at SIGTERM, and after a restart continues from the file (the outcome counters go
# on from where they were; nothing is learned twice). A damaged file is an error naming it, kept
# as FILE.bad, and the controller starts fresh and keeps running. `certcast explain --state-file`
# scores with a copy of the file and prints the model's calibration.
. "$(dirname "$0")/lib.sh"

bin=$(certcast_bin)
require "certcast binary is built" test -x "$bin"

mkdir -p "$TEST_TMP/state"
state=$TEST_TMP/state/model.state
ns=$(new_namespace model)
now=$(date -u +%s)
require "a certificate" add_certificate "$ns" web $((now - 86400)) $((now + 89 * 86400))
# A request of web; $2 issued or failed, finished at $3 seconds ago.
add_cr() { add_request "$ns" web "$1" "$2" $((now - $3)); }
require "request web-1 issued" add_cr web-1 issued 30
require "request web-2 failed" add_cr web-2 failed 20
require "request web-3 issued" add_cr web-3 issued 10

port=$(free_port)
url=http://127.0.0.1:$port
scrape() { curl -fsS "$url/metrics"; }
has_line() { scrape | grep -qxF "$1"; }
counter() { scrape | awk -v k="certcast_model_outcomes_total{outcome=\"$1\"}" 'index($0, k " ") == 1 { print $2 }'; }
run_ctl() {
	# its own namespace: requests other scripts made are not this test's outcomes
	start_bg "$1" env KUBECONFIG="$CERTCAST_KUBECONFIG" "$bin" controller --http-addr "127.0.0.1:$port" \
		--resync-period 10s --state-file "$state" --log-level debug --namespace "$ns"
	wait_for "$1: /readyz answers 200" 60 curl -fsS "$url/readyz"
}

# --- first run: learn, publish, write --------------------------------------------------------------
run_ctl ctl1
assert_contains "first start: no file yet is a fresh start" "$(cat "$(bg_log ctl1)")" "does not exist yet"
wait_for "two successes learned" 30 has_line 'certcast_model_outcomes_total{outcome="succeeded"} 2'
wait_for "one failure learned" 30 has_line 'certcast_model_outcomes_total{outcome="failed"} 1'
m=$(scrape)
assert_match "Brier score published" "$m" 'certcast_model_brier_score [0-9.e+-]+'
assert_match "baseline Brier score published" "$m" 'certcast_model_brier_score_baseline [0-9.e+-]+'
assert_match "reliability table published" "$m" 'certcast_model_reliability_observed\{bin="0\.[0-9]"\} [0-9.e+-]+'
printf '%s\n' "$m" >"$TEST_TMP/metrics.txt"
check "promtool check metrics accepts /metrics" bash -c "promtool check metrics <'$TEST_TMP/metrics.txt'"
wait_for "the state file is written at a resync" 40 test -s "$state"
check "no temporary file is left beside it" bash -c "[ \$(ls '$TEST_TMP/state' | wc -l) -eq 1 ]"
check "the file has the format's first line" bash -c "head -n 1 '$state' | grep -qx 'certcast-state 1'"
require "a fourth request fails" add_cr web-4 failed 5
wait_for "the new failure is learned" 30 has_line 'certcast_model_outcomes_total{outcome="failed"} 2'
rc=0
stop_bg ctl1 || rc=$?
assert_eq "SIGTERM: exit status 0" 0 "$rc"
check "the state file survives the stop" test -s "$state"
# explain with a copy of the state file: the learned factor and the calibration
cp "$state" "$TEST_TMP/copy.state"
rc=0
out=$(KUBECONFIG=$CERTCAST_KUBECONFIG "$bin" explain "$ns/web" --state-file "$TEST_TMP/copy.state" 2>&1) || rc=$?
assert_eq "explain --state-file exits 0" 0 "$rc"
assert_contains "explain shows the learned factor" "$out" "learned model puts the per-attempt failure at"
assert_contains "explain shows the calibration" "$out" "Learned model: 4 outcomes learned, 2 of them failures"
out=$(KUBECONFIG=$CERTCAST_KUBECONFIG "$bin" explain "$ns/web" 2>&1)
assert_not_contains "explain without it has no learned factor" "$out" "learned model puts the per-attempt failure at"
printf 'junk\n' >"$TEST_TMP/junk.state"
rc=0
out=$(KUBECONFIG=$CERTCAST_KUBECONFIG "$bin" explain "$ns/web" --state-file "$TEST_TMP/junk.state" 2>&1) || rc=$?
assert_eq "explain with an unusable state file exits 1" 1 "$rc"
assert_contains "and names it" "$out" "state file $TEST_TMP/junk.state: not a certcast state file"

# --- second run: continue from the file ----------------------------------------------------------
run_ctl ctl2
assert_contains "the model is restored" "$(cat "$(bg_log ctl2)")" "learned model restored (4 outcomes, 2 of them failures)"
# the certificate is reconciled once the controller is ready; give a resync time to relearn, if it would
sleep_until_resync() { grep -q 'resync:' "$(bg_log ctl2)"; }
wait_for "a resync has run" 30 sleep_until_resync
assert_eq "failures not counted twice" 2 "$(counter failed)"
assert_eq "successes not counted twice" 2 "$(counter succeeded)"
require "a fifth request is issued" add_cr web-5 issued 1
wait_for "the new success is learned on top" 30 has_line 'certcast_model_outcomes_total{outcome="succeeded"} 3'
rc=0
stop_bg ctl2 || rc=$?
assert_eq "SIGTERM: exit status 0" 0 "$rc"

# --- a damaged file: an error naming it, kept aside, a fresh start ---------------------------------
printf 'certcast-state 1\nmodel 12\ngarbage\n' >"$state"
run_ctl ctl3
log=$(cat "$(bg_log ctl3)")
assert_contains "the error names the file" "$log" "state file $state: truncated"
check "the damaged file is kept as .bad" test -s "$state.bad"
wait_for "a fresh model learns the store's history" 30 has_line 'certcast_model_outcomes_total{outcome="succeeded"} 3'
check "the controller keeps running" kill -0 "$(bg_pid ctl3)"
rc=0
stop_bg ctl3 || rc=$?
assert_eq "SIGTERM: exit status 0" 0 "$rc"
check "a good file replaces the damaged one at the stop" bash -c "head -n 1 '$state' | grep -qx 'certcast-state 1'"
