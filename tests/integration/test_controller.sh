#!/usr/bin/env bash
# `certcast controller` against a real kube-apiserver, as the user certcast (the chart's RBAC):
# /healthz and /readyz, the per-certificate gauges following creates, changes, issuer moves and
# deletes, Prometheus' own linter on /metrics, a kube-apiserver restart mid-watch after which the
# state converges, and a clean exit 0 on SIGTERM.
. "$(dirname "$0")/lib.sh"

bin=$(certcast_bin)
require "certcast binary is built" test -x "$bin"

# --- refusals that need no cluster (leader election's: test_leader.sh) ---------------------------
printf 'mode: enforce\nworkerz: 3\n' >"$TEST_TMP/bad.yaml"
rc=0
out=$("$bin" controller --config "$TEST_TMP/bad.yaml" 2>&1) || rc=$?
assert_eq "bad config file exits 2" 2 "$rc"
assert_contains "bad config names key and position" "$out" "bad.yaml:2:1: unknown key \"workerz\""

# --- start ---------------------------------------------------------------------------------------
port=$(free_port)
url=http://127.0.0.1:$port
printf 'logFormat: json\nresyncPeriod: 30s\nworkers: 2\n' >"$TEST_TMP/config.yaml"
start_bg ctl env KUBECONFIG="$CERTCAST_KUBECONFIG" "$bin" controller --config "$TEST_TMP/config.yaml" \
	--http-addr "127.0.0.1:$port" --log-level debug
wait_for "/healthz answers 200" 30 curl -fsS "$url/healthz"
wait_for "/readyz answers 200 once every reflector synced" 60 curl -fsS "$url/readyz"
check "the controller is still running" kill -0 "$(bg_pid ctl)"

scrape() { curl -fsS "$url/metrics"; }
ctype=$(curl -fsS -o /dev/null -w '%{content_type}' "$url/metrics")
assert_contains "/metrics content type" "$ctype" "text/plain; version=0.0.4"
m=$(scrape)
assert_contains "build_info" "$m" "certcast_build_info{version=\"$(cat "$CERTCAST_ROOT/VERSION")\"} 1"
assert_contains "leader gauge" "$m" "certcast_leader 1"
assert_match "watch events counted for certificates" "$m" 'certcast_watch_events_total\{resource="certificates",type="[A-Za-z]+"\} [0-9]+'
assert_match "API requests counted" "$m" 'certcast_api_requests_total\{verb="GET",code="200"\} [1-9][0-9]*'
assert_contains "reconcile histogram" "$m" "certcast_reconcile_duration_seconds_bucket{le=\"+Inf\"}"
assert_contains "workqueue depth" "$m" "certcast_workqueue_depth "
printf '%s\n' "$m" >"$TEST_TMP/metrics.txt"
check "promtool check metrics accepts /metrics" bash -c "promtool check metrics <'$TEST_TMP/metrics.txt'"
code=$(curl -s -o /dev/null -w '%{http_code}' "$url/nothing-here")
assert_eq "unknown path is 404" 404 "$code"
check "/ serves a page" bash -c "curl -fsS '$url/' | grep -q '<html'"
check "log lines are JSON" bash -c "head -n 1 '$(bg_log ctl)' | jq -e .msg"

# --- gauges follow the certificates -------------------------------------------------------------
ns=$(new_namespace ctl)
epoch() { date -u -d "$1" +%s; }
na1=2031-01-02T03:04:05Z
na2=2032-02-03T04:05:06Z
series() { printf 'certcast_certificate_%s{namespace="%s",name="%s",issuer_kind="%s",issuer_name="%s"}' "$1" "$ns" "$2" "$3" "$4"; }
has_line() { scrape | grep -qxF "$1"; }
lacks() { ! scrape | grep -qF "$1"; }

require "create two certificates" kubectl_admin apply -f - <<EOF
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: c1, namespace: $ns}
spec: {secretName: c1, issuerRef: {name: ca, kind: Issuer}, renewBefore: 240h}
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: c2, namespace: $ns}
spec: {secretName: c2, issuerRef: {name: ca, kind: Issuer}}
EOF
require "c1 gets a notAfter" kubectl_admin -n "$ns" patch certificate c1 --subresource=status --type=merge \
	-p "{\"status\":{\"notBefore\":\"2030-01-02T03:04:05Z\",\"notAfter\":\"$na1\"}}"
wait_for "expiry gauge appears for c1" 30 has_line "$(series expiry_timestamp_seconds c1 Issuer ca) $(epoch $na1)"
wait_for "renew_before gauge for c1 (spec.renewBefore)" 30 has_line "$(series renew_before_seconds c1 Issuer ca) 864000"
# c2 has no notAfter: no expiry series, but cert-manager's default renewBefore (90d / 3).
wait_for "renew_before gauge for c2 (default)" 30 has_line "$(series renew_before_seconds c2 Issuer ca) 2592000"
check "no expiry series for c2 without notAfter" lacks "$(series expiry_timestamp_seconds c2 Issuer ca)"
# Scoring: every certificate has a risk and a level; the issuer has an estimated failure rate.
gauge_of() { scrape | awk -v k="$1" 'index($0, k " ") == 1 { print $2 }'; }
wait_for "risk gauge for c1" 30 has_line "$(series risk_level c1 Issuer ca) 0"
c1_risk=$(gauge_of "$(series risk c1 Issuer ca)")
check "c1's risk is a probability, low for a certificate valid until 2031" \
	awk -v r="$c1_risk" 'BEGIN { exit !(r != "" && r >= 0 && r < 0.01) }'
check "no predicted failure for c1" lacks "$(series predicted_failure_timestamp_seconds c1 Issuer ca)"
ifail=$(gauge_of 'certcast_issuer_failure_probability{issuer_kind="Issuer",issuer_name="ca"}')
check "the issuer's failure probability is a probability" \
	awk -v r="$ifail" 'BEGIN { exit !(r != "" && r > 0 && r < 1) }'
# A certificate two hours from expiry whose renewal time passed 29 days ago with no attempt at
# all: cert-manager is not renewing it. Critical, with a predicted failure.
now=$(date -u +%s)
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
require "create stuck" kubectl_admin apply -f - <<EOF
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: stuck, namespace: $ns}
spec: {secretName: stuck, issuerRef: {name: ca, kind: Issuer}}
EOF
require "stuck's status: renewal time long past, no attempt" kubectl_admin -n "$ns" patch certificate stuck \
	--subresource=status --type=merge -p "{\"status\":{\"notBefore\":\"$(iso $((now - 89 * 86400)))\",
	\"notAfter\":\"$(iso $((now + 7200)))\",\"renewalTime\":\"$(iso $((now - 29 * 86400)))\"}}"
wait_for "stuck is critical" 30 has_line "$(series risk_level stuck Issuer ca) 3"
pf=$(gauge_of "$(series predicted_failure_timestamp_seconds stuck Issuer ca)")
check "stuck has a predicted failure before its notAfter" \
	awk -v p="$pf" -v na="$((now + 7200))" 'BEGIN { exit !(p != "" && p + 0 <= na) }'
require "delete stuck" kubectl_admin -n "$ns" delete certificate stuck
wait_for "stuck's series vanish" 30 lacks "name=\"stuck\""

require "c1's notAfter changes" kubectl_admin -n "$ns" patch certificate c1 --subresource=status --type=merge \
	-p "{\"status\":{\"notAfter\":\"$na2\"}}"
wait_for "expiry gauge changes for c1" 30 has_line "$(series expiry_timestamp_seconds c1 Issuer ca) $(epoch $na2)"
check "the old value is gone" lacks "$(series expiry_timestamp_seconds c1 Issuer ca) $(epoch $na1)"

require "c1 moves to a ClusterIssuer" kubectl_admin -n "$ns" patch certificate c1 --type=merge \
	-p '{"spec":{"issuerRef":{"name":"le","kind":"ClusterIssuer"}}}'
wait_for "c1's series carry the new issuer" 30 has_line "$(series expiry_timestamp_seconds c1 ClusterIssuer le) $(epoch $na2)"
wait_for "c1's series under the old issuer are gone" 30 lacks "$(series expiry_timestamp_seconds c1 Issuer ca)"

require "delete c2" kubectl_admin -n "$ns" delete certificate c2
wait_for "c2's series vanish" 30 lacks "name=\"c2\""

# --- kube-apiserver restart mid-watch -------------------------------------------------------------
restarts_before=$(scrape | awk '/^certcast_watch_restarts_total\{resource="certificates"/ {s += $2} END {print s + 0}')
require "restart kube-apiserver" testenv_restart_apiserver
require "create c3 after the restart" kubectl_admin apply -f - <<EOF
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: c3, namespace: $ns}
spec: {secretName: c3, issuerRef: {name: ca, kind: Issuer}, renewBefore: 1h}
EOF
require "delete c1 after the restart" kubectl_admin -n "$ns" delete certificate c1
wait_for "c3 appears after the restart" 90 has_line "$(series renew_before_seconds c3 Issuer ca) 3600"
wait_for "c1 vanishes after the restart" 90 lacks "name=\"c1\""
restarts_after=$(scrape | awk '/^certcast_watch_restarts_total\{resource="certificates"/ {s += $2} END {print s + 0}')
if [ "$restarts_after" -gt "$restarts_before" ]; then pass "the certificates watch was restarted ($restarts_before -> $restarts_after)"; else fail "the certificates watch restart was not counted" "before $restarts_before, after $restarts_after"; fi
check "still ready after the restart" curl -fsS "$url/readyz"

# A forced 410 with a deletion the watch never sees: c4 is removed from etcd while the API server
# is down and the history is compacted, so only a relist can notice that it is gone.
require "create c4" kubectl_admin apply -f - <<EOF
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: c4, namespace: $ns}
spec: {secretName: c4, issuerRef: {name: ca, kind: Issuer}, renewBefore: 2h}
EOF
wait_for "c4 appears" 30 has_line "$(series renew_before_seconds c4 Issuer ca) 7200"
require "stop kube-apiserver" testenv_stop_apiserver
require "delete c4 behind the API server's back" \
	etcdctl --endpoints "$TESTENV_ETCD_ENDPOINT" del "/registry/cert-manager.io/certificates/$ns/c4"
require "compact etcd past every resourceVersion handed out" testenv_force_410 --no-restart
require "start kube-apiserver" testenv_start_apiserver
wait_for "c4 vanishes after the relist" 90 lacks "name=\"c4\""
wait_for "c3 is still there after the relist" 30 has_line "$(series renew_before_seconds c3 Issuer ca) 3600"
check "promtool still accepts /metrics" bash -c "curl -fsS '$url/metrics' | promtool check metrics"

# --- clean stop ----------------------------------------------------------------------------------
rc=0
stop_bg ctl || rc=$?
assert_eq "SIGTERM: exit status 0" 0 "$rc"
log=$(cat "$(bg_log ctl)" 2>/dev/null || true)
assert_contains "stop was logged" "$log" "stop requested"
assert_contains "stopped cleanly" "$log" "stopped cleanly"
check_fails "the port is closed after exit" curl -fsS --max-time 2 "$url/healthz"
