#!/usr/bin/env bash
# certcast's live web page in a real browser: headless Chromium (hack/cdp.py, through the
# DevTools Protocol) shows the page that certcast's --http-addr serves at /, against the real API
# server with the cert-manager stand-in, certcast running as the least-privileged user certcast.
# What the page must do (its contract):
#   - GET / is text/html; the page opens a WebSocket to /live, subprotocol certcast-live;
#   - <table id="certs">: one <tr data-key="NS/NAME" data-level="low|medium|high|critical|unknown"
#     data-risk="0.0123"> per Certificate (data-risk absent or "" when unknown), whose cells
#     hold the namespace, name, issuer (Issuer/NAME or ClusterIssuer/NAME), level, risk,
#     notAfter, predicted failure, last action (certcast.io/last-action) and reasons;
#   - <span id="conn" data-state="connecting|live|closed">; the page reconnects by itself and
#     gets a fresh snapshot;
#   - body data-frames (server messages applied) and data-seq (the last one's seq);
#   - <div id="summary" data-total data-critical data-high data-medium data-low>;
#   - text from the cluster goes in as text, never as HTML;
#   - changes reach the page within seconds, in the same page (never by a reload).
. "$(dirname "$0")/lib.sh"

bin=$(certcast_bin)
require "certcast binary is built" test -x "$bin"
require "python3 with cryptography and yaml" python3 -c 'import cryptography, yaml'
require "chromium is installed (hack/deps.sh)" command -v "${CHROMIUM:-chromium}"

ns=$(new_namespace livepage)
start_standin "$ns"

# Let's Encrypt's answer while its service is down (an ACME serverInternal problem document)
outage_msg='Failed to finalize Order: 500 urn:ietf:params:acme:error:serverInternal: The service is down for maintenance'
# acme: broken later; steady and the ClusterIssuer (named after the namespace, removed at exit)
# stay healthy.
require "create the issuers" kubectl_admin apply -f - <<EOF
apiVersion: cert-manager.io/v1
kind: Issuer
metadata: {name: acme, namespace: $ns}
spec: {ca: {secretName: acme-ca}}
---
apiVersion: cert-manager.io/v1
kind: Issuer
metadata: {name: steady, namespace: $ns}
spec: {ca: {secretName: steady-ca}}
---
apiVersion: cert-manager.io/v1
kind: ClusterIssuer
metadata: {name: $ns}
spec: {ca: {secretName: $ns-ca}}
EOF
remember_cluster_object clusterissuers.cert-manager.io "$ns"

cert_yaml() { # NAME ISSUER [KIND]: duration 1h, renewal a minute after issue
	cat <<EOF
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: $1, namespace: $ns}
spec:
  secretName: $1-tls
  issuerRef: {name: $2, kind: ${3:-Issuer}}
  dnsNames: [$1.livepage.test]
  duration: 1h
  renewBefore: 59m
EOF
}
require "create the certificates" kubectl_admin apply -f - <<EOF
$(cert_yaml shop acme)
---
$(cert_yaml blog steady)
---
$(cert_yaml wiki "$ns" ClusterIssuer)
EOF
cert() { kubectl_admin -n "$ns" get certificate "$1" -o json; }
revision_is() { cert "$1" | jq -e --argjson r "$2" '.status.revision == $r' >/dev/null; }
for c in shop blog wiki; do wait_for "$c is issued" 60 revision_is "$c" 1; done

port=$(free_port)
base=http://127.0.0.1:$port
start_ctl() {
	start_bg ctl env KUBECONFIG="$CERTCAST_KUBECONFIG" "$bin" controller --mode observe \
		--http-addr "127.0.0.1:$port" --namespace "$ns" --resync-period 10s \
		--cert-manager-metrics-port 0 --ari=false
}
start_ctl
wait_for "controller is ready" 60 curl -fsS --max-time 5 "$base/readyz"

# --- the page as served --------------------------------------------------------------------------
ctype=$(curl -sS --max-time 10 -o "$TEST_TMP/page.html" -w '%{http_code} %{content_type}' "$base/" || true)
assert_match "GET / serves the page as text/html" "$ctype" '^200 text/html'

start_browser "$base/"

# JS helpers every expression below starts with: the rows, a row by key, a row's cells' text.
JS_PRE='const rows = () => [...document.querySelectorAll("#certs tbody tr")];
const row = k => rows().find(r => r.dataset.key === k);
const text = k => (row(k) ? row(k).textContent : "");
const conn = () => (document.getElementById("conn") || {dataset: {}}).dataset.state;'
js() { printf '(() => { %s\nreturn (%s); })()' "$JS_PRE" "$1"; }
key() { printf '%s/%s' "$ns" "$1"; }
level_of() { page_eval "$(js "row(\"$(key "$1")\") ? row(\"$(key "$1")\").dataset.level : \"(no row)\"")"; }

page_wait "the page's WebSocket is live" 60 "$(js 'conn() === "live"')"
# Every data-state the page shows from now on, so a short-lived "closed" is not missed.
page_eval "(() => { window.__states = [];
  new MutationObserver(() => { const c = document.getElementById('conn');
    if (c) window.__states.push(c.dataset.state); })
  .observe(document, {subtree: true, childList: true, attributes: true, attributeFilter: ['data-state']});
  return true; })()" >/dev/null || fail "install the data-state recorder"

# /live speaks the subprotocol certcast-live and sends the whole state first (README: JSON
# messages "snapshot", then "update"), from a second WebSocket of the browser's own
probe=$(page_eval 'new Promise(res => {
  const ws = new WebSocket(`ws://${location.host}/live`, "certcast-live");
  const t = setTimeout(() => res("timeout"), 30000);
  ws.onmessage = e => { clearTimeout(t); ws.close();
    let type; try { type = JSON.parse(e.data).type; } catch (err) { type = "(not JSON)"; }
    res("protocol=" + ws.protocol + " first=" + type); };
  ws.onclose = e => { clearTimeout(t); res("closed " + e.code); };
})' 2>&1 || true)
assert_eq "/live: subprotocol certcast-live, a snapshot on connect" "protocol=certcast-live first=snapshot" "$probe"

# The level a row shows is the controller's own (its /status, as `certcast status -o json`); the
# two are scored apart, so they agree within a scoring or two.
status_level() {
	curl -fsS --max-time 10 "$base/status?namespace=$ns" |
		jq -r --arg n "$1" '.items[] | select(.name == $n) | .riskLevel // "unknown"'
}
status_field() { # NAME FIELD: that field of NAME's /status row ("" when absent or null)
	curl -fsS --max-time 10 "$base/status?namespace=$ns" |
		jq -r --arg n "$1" --arg f "$2" '.items[] | select(.name == $n) | .[$f] // empty'
}
row_shows_status() { # NAME FIELD: the row shows /status's FIELD, in a cell's text or its title
	local v q got
	v=$(status_field "$1" "$2")
	[ -n "$v" ] || { echo "/status has no $2 for $1"; return 1; }
	q=$(jq -Rn --arg v "$v" '$v')
	got=$(page_eval "$(js "[...row(\"$(key "$1")\").cells].some(td => td.title === $q || td.textContent.includes($q))")" 2>&1)
	[ "$got" = true ] || { echo "$2 of $1 ($v) is not in the row: $(page_eval "$(js "text(\"$(key "$1")\")")" 2>&1)"; return 1; }
}
level_agrees() {
	local p s
	p=$(level_of "$1" 2>&1) s=$(status_level "$1" 2>&1)
	[ -n "$s" ] && [ "$p" = "$s" ] || { echo "page: $p, /status: $s"; return 1; }
}
# A browser lets any site's page open a WebSocket anywhere: the feed answers only pages of its
# own origin (the handshake here is curl's, with a browser's headers).
ws_handshake() { # ORIGIN: the HTTP status of /live's answer, or "hung up" (none, the socket closed)
	local code rc=0
	code=$(curl -sS --http1.1 --max-time 3 -o /dev/null -w '%{http_code}' -H 'Connection: Upgrade' \
		-H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' \
		-H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' -H 'Sec-WebSocket-Protocol: certcast-live' \
		-H "Origin: $1" "$base/live" 2>/dev/null) || rc=$?
	case $code:$rc in
	000:52 | 000:56) echo "hung up" ;; # empty reply, or reset: refused without a word
	*) echo "$code (curl $rc)" ;;      # a 101 stays open until curl's --max-time: exit 28
	esac
}
assert_match "/live: a page of this origin is let in" "$(ws_handshake "$base")" '^101 '
assert_match "/live: a page of another site is refused" "$(ws_handshake http://evil.test)" '^(hung up|4[0-9][0-9] )'

for c in shop blog wiki; do
	page_wait "$c: its row" 120 "$(js "!!row(\"$(key "$c")\")")"
	wait_for "$c: the row's level is the controller's" 120 level_agrees "$c"
	# fresh, renewed every minute by a healthy issuer: low or medium (it scores 1.6%, medium)
	assert_match "$c: level low or medium while its issuer is healthy" "$(level_of "$c")" '^(low|medium)$'
done
assert_eq "one row per certificate" 3 "$(page_eval "$(js 'rows().length')")"
# notAfter as the API server has it now (a renewal every minute moves it), in a cell's text or
# its title (the text may say it relative to now)
notafter_shown() {
	local na v
	na=$(cert "$1" | jq -r '.status.notAfter // empty')
	v=$(page_eval "$(js "[...row(\"$(key "$1")\").cells].some(td => td.title === \"$na\" || td.textContent.includes(\"$na\"))")" 2>&1)
	[ -n "$na" ] && [ "$v" = true ] || { echo "notAfter $na not in the row: $(page_eval "$(js "row(\"$(key "$1")\").innerHTML")" 2>&1)"; return 1; }
}
for c in shop blog wiki; do
	t=$(page_eval "$(js "text(\"$(key "$c")\")")" || true)
	assert_contains "$c: the row shows the namespace" "$t" "$ns"
	assert_contains "$c: the row shows the name" "$t" "$c"
	assert_contains "$c: the row shows the level" "$t" "$(level_of "$c")"
	wait_for "$c: the row shows notAfter" 60 notafter_shown "$c"
	r=$(page_eval "$(js "row(\"$(key "$c")\").dataset.risk")" || true)
	check "$c: data-risk is a probability ($r)" awk -v r="$r" 'BEGIN { exit !(r ~ /^[0-9]+(\.[0-9]+)?([eE]-?[0-9]+)?$/ && r + 0 >= 0 && r + 0 <= 1) }'
done
assert_contains "shop: the row shows Issuer/acme" "$(page_eval "$(js "text(\"$(key shop)\")")")" Issuer/acme
assert_contains "wiki: the row shows ClusterIssuer/$ns" "$(page_eval "$(js "text(\"$(key wiki)\")")")" "ClusterIssuer/$ns"
assert_match "body data-frames counts the messages" "$(page_eval 'document.body.dataset.frames')" '^[1-9][0-9]*$'
assert_match "body data-seq is a number" "$(page_eval 'document.body.dataset.seq')" '^[0-9]+$'

# --- a change reaches the same page --------------------------------------------------------------
page_eval 'window.__marker = 42' >/dev/null || fail "set a marker in the page"
origin=$(page_eval 'String(performance.timeOrigin)' || true)
frames0=$(page_eval 'Number(document.body.dataset.frames)' || true)
require "the CA of shop goes down" kubectl_admin -n "$ns" annotate issuer acme \
	"standin.certcast.io/fail=Failed|$outage_msg"
failed_once() { cert "$1" | jq -e '(.status.failedIssuanceAttempts // 0) >= 1' >/dev/null; }
wait_for "shop's renewal fails" 180 failed_once shop
page_wait "shop: the row goes high or critical" 120 \
	"$(js "row(\"$(key shop)\") && [\"high\", \"critical\"].includes(row(\"$(key shop)\").dataset.level)")"
assert_eq "the same page: the marker is still there" 42 "$(page_eval 'window.__marker')"
assert_eq "the same page: one navigation" 1 "$(page_eval "performance.getEntriesByType('navigation').length")"
assert_eq "the same page: the same time origin" "$origin" "$(page_eval 'String(performance.timeOrigin)')"
assert_not_contains "the same page: no reload in the browser's log" "$(cat "$(bg_log browser)")" "page: navigated"
frames1=$(page_eval 'Number(document.body.dataset.frames)' || true)
check "more frames applied ($frames0 -> $frames1)" test "${frames1:-0}" -gt "${frames0:-0}"
assert_contains "shop: the row shows a level of high or above" "$(page_eval "$(js "text(\"$(key shop)\")")")" "$(level_of shop)"
assert_match "blog (another issuer): neither high nor critical" "$(level_of blog)" '^(low|medium)$'
wait_for "shop: the row's level is the controller's in the outage" 60 level_agrees shop
wait_for "shop: the row shows the predicted failure" 60 row_shows_status shop predictedFailure
wait_for "shop: the row shows the reasons" 60 row_shows_status shop riskReasons
# for a person to look at: the page in the outage
python3 "$CERTCAST_ROOT/hack/cdp.py" screenshot "$cdp_port" "$CERTCAST_BUILD/results/integration/test_livepage.png" ||
	echo "(no screenshot)"

# --- rows come and go ----------------------------------------------------------------------------
require "a new certificate" kubectl_admin apply -f - <<<"$(cert_yaml news steady)"
page_wait "news: a new row" 60 "$(js "!!row(\"$(key news)\")")"
require "delete blog" kubectl_admin -n "$ns" delete certificate blog --wait=false
page_wait "blog: its row goes" 60 "$(js "!row(\"$(key blog)\")")"
summary_ok='(() => { const s = (document.getElementById("summary") || {dataset: {}}).dataset;
  const c = l => rows().filter(r => r.dataset.level === l).length;
  return s.total === String(rows().length) && s.critical === String(c("critical")) &&
    s.high === String(c("high")) && s.medium === String(c("medium")) && s.low === String(c("low")); })()'
page_wait "the summary counts match the rows" 30 "$(js "$summary_ok")"
assert_eq "summary: total = the certificates in the namespace" \
	"$(kubectl_admin -n "$ns" get certificates -o name | wc -l | tr -d ' ')" \
	"$(page_eval 'document.getElementById("summary").dataset.total')"
assert_eq "the same page after the changes" 42 "$(page_eval 'window.__marker')"

# --- cluster text is text, never HTML ------------------------------------------------------------
payload='<img src=x onerror="window.pwned=1">'
require "last-action with HTML in it" kubectl_admin -n "$ns" annotate --overwrite certificate wiki \
	"certcast.io/last-action=$payload"
page_wait "wiki: the last action shows literally" 60 \
	"$(js "text(\"$(key wiki)\").includes($(jq -Rn --arg p "$payload" '$p'))")"
sleep 1 # an injected img would have fired its onerror by now
assert_eq "no script ran from the cluster's text" undefined "$(page_eval 'typeof window.pwned')"
assert_eq "no img element in the table" 0 "$(page_eval 'document.querySelectorAll("#certs img, #summary img").length')"

# --- the server goes away and comes back ---------------------------------------------------------
frames2=$(page_eval 'Number(document.body.dataset.frames)' || true)
stop_bg ctl || true
page_wait "server stopped: the page says closed" 60 \
	"$(js 'conn() === "closed" || (window.__states || []).includes("closed")')"
start_ctl
wait_for "controller is ready again" 60 curl -fsS --max-time 5 "$base/readyz"
page_wait "the page is live again" 90 "$(js 'conn() === "live"')"
page_wait "the rows are back" 90 "$(js "[\"$(key shop)\", \"$(key wiki)\", \"$(key news)\"].every(k => row(k) && row(k).dataset.level) && !row(\"$(key blog)\")")"
page_wait "the summary counts match the rows again" 30 "$(js "$summary_ok")"
frames3=$(page_eval 'Number(document.body.dataset.frames)' || true)
check "a fresh snapshot was applied ($frames2 -> $frames3)" test "${frames3:-0}" -gt "${frames2:-0}"
assert_eq "the same page after the reconnect: the marker" 42 "$(page_eval 'window.__marker')"
assert_not_contains "the same page after the reconnect: no reload" "$(cat "$(bg_log browser)")" "page: navigated"
assert_not_contains "no uncaught exception in the page" "$(cat "$(bg_log browser)")" "page: uncaught exception"

page_wait "shop: high or critical again after the restart" 120 \
	"$(js "row(\"$(key shop)\") && [\"high\", \"critical\"].includes(row(\"$(key shop)\").dataset.level)")"

lib_finish
