#!/usr/bin/env bash
# The controller's explanation against a real kube-apiserver: GET /explain/NS/NAME prints what
# `certcast explain` prints, scored with the controller's own inputs (here its learned model),
# so the risk it shows is the certcast_certificate_risk the controller publishes, where the
# local explain (without those inputs) shows another number and says so. `certcast explain
# --controller URL` prints the same; unknown certificates are 404, malformed paths 400, and a
# controller that has not synced answers 503. Local explain honours --config.
. "$(dirname "$0")/lib.sh"

bin=$(certcast_bin)
require "certcast binary is built" test -x "$bin"

# --- refusals that need no cluster -----------------------------------------------------------------
rc=0
out=$("$bin" explain a/b --controller ftp://127.0.0.1:1 2>&1) || rc=$?
assert_eq "--controller with another scheme exits 2" 2 "$rc"
assert_contains "and says what a URL must be" "$out" "must start with http:// or https://"
rc=0
out=$("$bin" explain a/b --controller http://127.0.0.1:1 --state-file x 2>&1) || rc=$?
assert_eq "--controller with --state-file exits 2" 2 "$rc"
assert_contains "and says why" "$out" "cannot be combined with --state-file"
dead=$(free_port)
rc=0
out=$("$bin" explain a/b --controller "http://127.0.0.1:$dead" 2>&1) || rc=$?
assert_eq "an unreachable controller exits 1" 1 "$rc"
assert_contains "the message names the URL" "$out" "cannot get http://127.0.0.1:$dead/explain/a/b"

# --- a certificate whose risk the learned model moves -------------------------------------------------
ns=$(new_namespace explain)
now=$(date -u +%s)
# ten days left of ninety, past its renewal time: the forecast depends on the issuer's record
require "a certificate" add_certificate "$ns" web $((now - 80 * 86400)) $((now + 10 * 86400))
add_cr() { add_request "$ns" web "$1" "$2" $((now - $3)); }
require "request web-1 issued" add_cr web-1 issued 3000
require "request web-2 failed" add_cr web-2 failed 2000
require "request web-3 failed" add_cr web-3 failed 1000

# --- before the first sync: 503 --------------------------------------------------------------------
# a controller whose API server never answers: its HTTP port is up, its lists never complete
sed -E "s#server: .*#server: https://127.0.0.1:$dead#" "$CERTCAST_KUBECONFIG" >"$TEST_TMP/dead.kubeconfig"
port0=$(free_port)
start_bg unsynced env KUBECONFIG="$TEST_TMP/dead.kubeconfig" "$bin" controller --http-addr "127.0.0.1:$port0" \
	--namespace "$ns"
wait_for "unsynced: /healthz answers" 30 curl -fsS "http://127.0.0.1:$port0/healthz"
code=$(curl -s -o "$TEST_TMP/unsynced.txt" -w '%{http_code}' "http://127.0.0.1:$port0/explain/$ns/web")
assert_eq "before the first sync /explain is 503" 503 "$code"
assert_contains "and says why" "$(cat "$TEST_TMP/unsynced.txt")" "not ready"
rc=0
out=$("$bin" explain "$ns/web" --controller "http://127.0.0.1:$port0" 2>&1) || rc=$?
assert_eq "explain --controller on an unsynced controller exits 1" 1 "$rc"
assert_contains "and says it is not ready" "$out" "the controller is not ready yet"
stop_bg unsynced || true

# --- the controller -----------------------------------------------------------------------------------
port=$(free_port)
url=http://127.0.0.1:$port
start_bg ctl env KUBECONFIG="$CERTCAST_KUBECONFIG" "$bin" controller --http-addr "127.0.0.1:$port" \
	--resync-period 10s --namespace "$ns"
wait_for "/readyz answers 200" 60 curl -fsS "$url/readyz"
series="certcast_certificate_risk{namespace=\"$ns\",name=\"web\",issuer_kind=\"Issuer\",issuer_name=\"ca\"}"
metric() { curl -fsS "$url/metrics" | awk -v k="$series" 'index($0, k " ") == 1 { print $2 }'; }
wait_for "the risk is published" 30 test -n "$(metric)"
wait_for "the model has learned the three outcomes" 30 \
	bash -c "curl -fsS '$url/metrics' | grep -qxF 'certcast_model_outcomes_total{outcome=\"failed\"} 2'"

text=$(curl -fsS "$url/explain/$ns/web")
ctype=$(curl -fsS -o /dev/null -w '%{content_type}' "$url/explain/$ns/web")
assert_contains "/explain is text/plain" "$ctype" "text/plain"
assert_eq "the first line is explain's header" "Certificate $ns/web" "$(head -n 1 <<<"$text")"
assert_contains "the scoring library's explanation follows" "$text" "factors (contribution to risk):"
assert_contains "scored with the controller's learned model" "$text" "learned model puts the per-attempt failure at"
assert_contains "its calibration is printed" "$text" "Learned model: 3 outcomes learned, 2 of them failures"
assert_not_contains "no 'computed here' line: this is the controller's number" "$text" "Computed here"

# The explanation is scored on demand, the metric at the last reconcile (every 10 s here): the
# two may straddle a rounding edge of explain's 4 significant digits, so a mismatch is retried;
# a different number (scored without the model, say) never matches.
risk_of() { sed -n 's/^risk: \([^ ]*\) .*/\1/p' <<<"$1"; }
same_risk() {
	local m t j
	m=$(metric)
	t=$(risk_of "$(curl -fsS "$url/explain/$ns/web")")
	j=$(curl -fsS "$url/explain/$ns/web?format=json" | jq -r .risk)
	[ -n "$m" ] && [ -n "$t" ] && [ -n "$j" ] || { echo "metric '$m' text '$t' json '$j'"; return 1; }
	[ "$(LC_ALL=C printf '%.4g' "$m")" = "$t" ] || { echo "metric $m, explain $t"; return 1; }
	[ "$(LC_ALL=C printf '%.4g' "$j")" = "$t" ] || { echo "json $j, explain $t"; return 1; }
}
wait_for "/explain's risk is the published metric's (and the JSON's)" 30 same_risk
js=$(curl -fsS "$url/explain/$ns/web?format=json")
assert_eq "JSON: level" "$(jq -r .level <<<"$js")" "low"
assert_eq "JSON: names" "$ns/web" "$(jq -r '.namespace + "/" + .name' <<<"$js")"
assert_eq "JSON: the learned factor is listed" "learned" "$(jq -r '[.factors[].name] | map(select(. == "learned")) | .[0]' <<<"$js")"
assert_eq "JSON: learnedModel" "true" "$(jq -r .learnedModel <<<"$js")"
check "JSON: every factor has a contribution" jq -e '.factors | length > 0 and all(.contribution | type == "number")' <<<"$js"

# --- explain --controller prints the same ------------------------------------------------------
same_remote() {
	local a b
	a=$(curl -fsS "$url/explain/$ns/web") || return 1
	b=$("$bin" explain "$ns/web" --controller "$url/") || return 1
	[ "$a" = "$b" ] || { diff <(printf '%s\n' "$a") <(printf '%s\n' "$b") | head -n 5; return 1; }
}
wait_for "explain --controller prints what /explain serves" 30 same_remote
rc=0
out=$("$bin" explain "$ns/web" --controller "$url" 2>&1) || rc=$?
assert_eq "explain --controller exits 0" 0 "$rc"
assert_contains "its risk line is the controller's" "$out" "risk: $(risk_of "$text")"

# --- 404 and 400 -------------------------------------------------------------------------------------
code=$(curl -s -o "$TEST_TMP/404.txt" -w '%{http_code}' "$url/explain/$ns/nope")
assert_eq "an unknown certificate is 404" 404 "$code"
assert_contains "the 404 names it" "$(cat "$TEST_TMP/404.txt")" "certificate \"nope\" in namespace \"$ns\""
rc=0
out=$("$bin" explain "$ns/nope" --controller "$url" 2>&1) || rc=$?
assert_eq "explain --controller of an unknown certificate exits 1" 1 "$rc"
assert_contains "the message names the URL and the certificate" "$out" "$url/explain/$ns/nope: not found: certificate \"nope\""
long=$(head -c 254 /dev/zero | tr '\0' a)
for p in "$ns/web/extra" "$ns/WEB" "$ns/we%2Fb" "$ns/a+b" "$ns/$long" "$ns" "$ns/web?format=xml"; do
	code=$(curl -s --path-as-is -o "$TEST_TMP/400.txt" -w '%{http_code}' "$url/explain/$p")
	assert_eq "/explain/${p:0:40} is 400" 400 "$code"
done
assert_contains "a 400 for an argument names the ones understood" "$(cat "$TEST_TMP/400.txt")" "only format=text or format=json"
assert_contains "a 400 for a path says what is expected" "$(curl -s "$url/explain/$ns/web/extra")" \
	"bad request: more than NAMESPACE/NAME"
check "the index page links to /explain" bash -c "curl -fsS '$url/' | grep -qF 'href=\"/explain\"'"
check "the controller is still running" kill -0 "$(bg_pid ctl)"

# --- local explain: says where its number comes from, honours --config ------------------------------
rc=0
local_out=$(KUBECONFIG=$CERTCAST_KUBECONFIG "$bin" explain "$ns/web" 2>&1) || rc=$?
assert_eq "local explain exits 0" 0 "$rc"
assert_eq "local explain: the second line says it was computed here" \
	"Computed here, without the controller's live signals, ARI windows and learned model: --controller URL shows the controller's own number (--state-file FILE adds its model)." \
	"$(sed -n 2p <<<"$local_out")"
assert_not_contains "local explain has no learned factor" "$local_out" "learned model puts"
assert_ne "so its risk is not the controller's" "$(risk_of "$text")" "$(risk_of "$local_out")"
assert_not_contains "with the default target risk (0.01) no renewBefore is sought" "$local_out" "brings the risk under"
printf 'targetRisk: 0.000001\n' >"$TEST_TMP/strict.yaml"
rc=0
out=$(KUBECONFIG=$CERTCAST_KUBECONFIG "$bin" explain "$ns/web" --config "$TEST_TMP/strict.yaml" 2>&1) || rc=$?
assert_eq "explain --config exits 0" 0 "$rc"
assert_contains "--config's targetRisk decides" "$out" "No renewBefore within bounds brings the risk under 1e-06"
printf 'targetRisk: 2\n' >"$TEST_TMP/bad.yaml"
rc=0
out=$(KUBECONFIG=$CERTCAST_KUBECONFIG "$bin" explain "$ns/web" --config "$TEST_TMP/bad.yaml" 2>&1) || rc=$?
assert_eq "an unusable --config exits 2" 2 "$rc"
assert_contains "and names the file" "$out" "bad.yaml"

rc=0
stop_bg ctl || rc=$?
assert_eq "SIGTERM: exit status 0" 0 "$rc"
