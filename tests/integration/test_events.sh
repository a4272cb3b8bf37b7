#!/usr/bin/env bash
# certcast's Events against a real kube-apiserver. The Event writer (controller/evrec.c, driven
# by BUILD/helpers/evemit as the user certcast, whose RBAC is exactly the chart's) posts an
# events.k8s.io/v1 Event that reads back with every field as sent, in both API views and in
# `kubectl describe`; a 2000-byte note is cut to what the API server accepts (it refuses 1025
# bytes itself); identical repeats are kept back; bad and missing namespaces fail with clear
# messages. Then certcast's own Events never come back as input: with the controller running,
# an Event certcast wrote saying "rate limited" leaves the certificate's explanation alone,
# while cert-manager's Event with the same words is read; the watch never delivers certcast's
# own, and a saved listing that holds it (scan) ignores it too.
. "$(dirname "$0")/lib.sh"

bin=$(certcast_bin)
emit=$CERTCAST_BUILD/helpers/evemit
require "certcast binary is built" test -x "$bin"
require "the evemit helper is built (make)" test -x "$emit"
emit_as_certcast() { "$emit" --kubeconfig "$CERTCAST_KUBECONFIG" "$@"; }

ns=$(new_namespace events)
now=$(date -u +%s)
require "a certificate" add_certificate "$ns" web $((now - 80 * 86400)) $((now + 10 * 86400))
uid=$(kubectl_admin -n "$ns" get certificate web -o jsonpath='{.metadata.uid}')
rv=$(kubectl_admin -n "$ns" get certificate web -o jsonpath='{.metadata.resourceVersion}')

# --- one Event, as the user certcast ----------------------------------------------------------------
assert_eq "RBAC: the user certcast may create events.k8s.io Events" yes \
	"$(kubectl_certcast auth can-i create events.events.k8s.io -n "$ns" 2>&1)"
note='risk 0.31 (high): issuer ca is failing; "quoted" and café'
rc=0
out=$(emit_as_certcast --ns "$ns" --name web --uid "$uid" --rv "$rv" --warning --reason RiskRaised \
	--action Annotate --note "$note" --instance certcast-test-0 2>&1) || rc=$?
assert_eq "evemit as the user certcast exits 0" 0 "$rc"
assert_eq "the writer counts one posted" 1 "$(jq -r .posted <<<"$out" 2>/dev/null)"

# read back as certcast itself: its RBAC lists both API groups' Events
evs=$(kubectl_certcast get events.events.k8s.io -n "$ns" -o json)
ev=$(jq -c '[.items[] | select(.reason == "RiskRaised")]' <<<"$evs")
assert_eq "one RiskRaised Event in events.k8s.io/v1" 1 "$(jq length <<<"$ev")"
ev=$(jq -c '.[0]' <<<"$ev")
name=$(jq -r .metadata.name <<<"$ev")
assert_match "named <certificate>.<nanoseconds in hex>, as client-go names them" "$name" '^web\.[0-9a-f]{16}$'
assert_eq "reportingController" certcast "$(jq -r .reportingController <<<"$ev")"
assert_eq "reportingInstance" certcast-test-0 "$(jq -r .reportingInstance <<<"$ev")"
assert_eq "regarding: the Certificate" "cert-manager.io/v1 Certificate $ns web $uid $rv" \
	"$(jq -r '.regarding | "\(.apiVersion) \(.kind) \(.namespace) \(.name) \(.uid) \(.resourceVersion)"' <<<"$ev")"
assert_eq "note, as given" "$note" "$(jq -r .note <<<"$ev")"
assert_eq "type" Warning "$(jq -r .type <<<"$ev")"
assert_eq "action" Annotate "$(jq -r .action <<<"$ev")"
assert_match "eventTime is a MicroTime" "$(jq -r .eventTime <<<"$ev")" \
	'^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z$'
assert_eq "no series, no deprecated fields" "null null null" \
	"$(jq -r '"\(.series) \(.deprecatedCount) \(.deprecatedSource.component)"' <<<"$ev")"

# the same object in the core/v1 view, the one certcast's reflectors watch
core=$(kubectl_certcast get events -n "$ns" --field-selector "metadata.name=$name" -o json | jq -c '.items[0]')
assert_eq "core/v1: reportingComponent" certcast "$(jq -r .reportingComponent <<<"$core")"
assert_eq "core/v1: source is empty" "{}" "$(jq -c .source <<<"$core")"
assert_eq "core/v1: involvedObject" "cert-manager.io/v1 Certificate $ns web $uid" \
	"$(jq -r '.involvedObject | "\(.apiVersion) \(.kind) \(.namespace) \(.name) \(.uid)"' <<<"$core")"
assert_eq "core/v1: message" "$note" "$(jq -r .message <<<"$core")"
assert_eq "core/v1: no count, no first or last timestamp" "null null null" \
	"$(jq -r '"\(.count) \(.firstTimestamp) \(.lastTimestamp)"' <<<"$core")"
# the reflectors' own selector finds it before the exclusion, and not after
sel="involvedObject.apiVersion=cert-manager.io/v1"
assert_eq "core/v1: the Event watch's selector without the exclusion matches it" 1 \
	"$(kubectl_certcast get events -n "$ns" --field-selector "$sel" -o json | jq '[.items[] | select(.metadata.name == "'"$name"'")] | length')"
assert_eq "core/v1: with source!=certcast it is left out" 0 \
	"$(kubectl_certcast get events -n "$ns" --field-selector "$sel,source!=certcast" -o json | jq '[.items[] | select(.metadata.name == "'"$name"'")] | length')"

desc=$(kubectl_admin describe certificate -n "$ns" web)
assert_match "kubectl describe certificate shows it, from certcast" "$desc" \
	"Warning[[:space:]]+RiskRaised[[:space:]]+[^[:space:]]+[[:space:]]+certcast[[:space:]]+risk 0.31 \(high\)"

# --- a note over the limit -----------------------------------------------------------------------
# 1000 x U+00E9: 2000 bytes, a two-byte character at every cut
printf '\xc3\xa9%.0s' $(seq 1000) >"$TEST_TMP/long.txt"
assert_eq "the long note is 2000 bytes" 2000 "$(wc -c <"$TEST_TMP/long.txt")"
rc=0
out=$(emit_as_certcast --ns "$ns" --name web --uid "$uid" --reason DiagnosticFailed \
	--note-file "$TEST_TMP/long.txt" 2>&1) || rc=$?
assert_eq "a 2000-byte note is accepted" 0 "$rc"
assert_eq "and counted as cut" 1 "$(jq -r .truncated <<<"$out" 2>/dev/null)"
long=$(kubectl_certcast get events.events.k8s.io -n "$ns" -o json | jq -c '[.items[] | select(.reason == "DiagnosticFailed")][0]')
assert_eq "cut on a character boundary: 510 characters, then the ellipsis: 1023 bytes" 1023 \
	"$(jq '.note | utf8bytelength' <<<"$long")"
assert_eq "it ends in …" "…" "$(jq -r '.note[-1:]' <<<"$long")"
jq -j .note <<<"$long" >"$TEST_TMP/stored.txt"
check "the stored note is valid UTF-8" iconv -f UTF-8 -t UTF-8 "$TEST_TMP/stored.txt"
# without the cut the API server refuses it: 1025 bytes, straight to the API
raw=$(jq -nc --arg ns "$ns" --arg note "$(head -c 1025 /dev/zero | tr '\0' a)" '{apiVersion:
	"events.k8s.io/v1", kind: "Event", metadata: {name: "raw.1", namespace: $ns},
	eventTime: "2026-01-01T00:00:00.000000Z", reportingController: "certcast",
	reportingInstance: "x", action: "Annotate", reason: "DiagnosticFailed", type: "Normal",
	regarding: {apiVersion: "cert-manager.io/v1", kind: "Certificate", namespace: $ns,
	name: "web"}, note: $note}')
code=$(api_curl_as certcast -o "$TEST_TMP/raw.json" -w '%{http_code}' -X POST \
	-H 'Content-Type: application/json' --data-binary "$raw" "/apis/events.k8s.io/v1/namespaces/$ns/events")
assert_eq "the API server itself refuses a 1025-byte note" 422 "$code"
assert_contains "saying so" "$(cat "$TEST_TMP/raw.json")" "at most 1024 characters"

# --- identical repeats are kept back -------------------------------------------------------------
rc=0
out=$(emit_as_certcast --ns "$ns" --name web --uid "$uid" --reason AnomalyDetected \
	--note "unexpected issuer CA" --repeat 5 2>&1) || rc=$?
assert_eq "five identical Events: exit 0" 0 "$rc"
assert_eq "one posted, four kept back" "1 4" "$(jq -r '"\(.posted) \(.duplicate)"' <<<"$out" 2>/dev/null)"
assert_eq "the server holds one" 1 \
	"$(kubectl_certcast get events.events.k8s.io -n "$ns" -o json | jq '[.items[] | select(.reason == "AnomalyDetected")] | length')"

# --- bad and missing namespaces ------------------------------------------------------------------
rc=0
out=$(emit_as_certcast --ns Bad_NS --name web --reason RiskRaised --note x 2>&1) || rc=$?
assert_eq "a namespace that is not a DNS label fails" 1 "$rc"
assert_contains "before any request, saying why" "$out" "namespace \"Bad_NS\" is not a DNS label"
assert_contains "counted as invalid" "$out" '"invalid":1'
missing=nope-$RANDOM
rc=0
out=$(emit_as_certcast --ns "$missing" --name web --reason RiskRaised --note x 2>&1) || rc=$?
assert_eq "a namespace that does not exist fails" 1 "$rc"
assert_contains "with the API server's words" "$out" \
	"Event RiskRaised on Certificate $missing/web: HTTP 404 NotFound: namespaces \"$missing\" not found"

# --- certcast's own Events never come back as input ----------------------------------------------
ns2=$(new_namespace events-ctl)
for c in own cm; do
	require "certificate $c" add_certificate "$ns2" "$c" $((now - 80 * 86400)) $((now + 10 * 86400))
	# a failure both share: an order timeout, a transient fault
	require "a failed request of $c" add_request "$ns2" "$c" "$c-1" failed $((now - 600))
done
port=$(free_port)
url=http://127.0.0.1:$port
start_bg ctl env KUBECONFIG="$CERTCAST_KUBECONFIG" "$bin" controller --http-addr "127.0.0.1:$port" \
	--namespace "$ns2" --resync-period 10s
wait_for "the controller is ready" 60 curl -fsS "$url/readyz"
fault_is() { curl -fsS "$url/explain/$ns2/$1" | grep -qF "current fault: $2"; }
both_transient() { fault_is own transient && fault_is cm transient; }
wait_for "both certificates start with the transient fault" 30 both_transient
added() {
	curl -fsS "$url/metrics" | awk '/^certcast_watch_events_total\{/ && /resource="events-cert-manager"/ &&
		/type="ADDED"/ { n += $2 } END { print n + 0 }'
}
added0=$(added)

rl="Failed to create Order: 429 urn:ietf:params:acme:error:rateLimited: too many certificates already issued for exact set of domains"
own_uid=$(kubectl_admin -n "$ns2" get certificate own -o jsonpath='{.metadata.uid}')
cm_uid=$(kubectl_admin -n "$ns2" get certificate cm -o jsonpath='{.metadata.uid}')
check "certcast's own Event about own, saying rate limited" \
	emit_as_certcast --ns "$ns2" --name own --uid "$own_uid" --warning --reason RiskRaised --note "$rl"
ts=$(iso_at "$(date -u +%s)")
check "cert-manager's Event about cm, the same words" kubectl_admin create -f - <<EOF
apiVersion: v1
kind: Event
metadata: {name: cm.cm-event, namespace: $ns2}
involvedObject: {apiVersion: cert-manager.io/v1, kind: Certificate, namespace: $ns2, name: cm, uid: $cm_uid}
reason: RiskRaised
message: "$rl"
type: Warning
count: 1
firstTimestamp: "$ts"
lastTimestamp: "$ts"
source: {component: cert-manager-certificates-issuing}
EOF
wait_for "cert-manager's Event is read: cm's fault is now the rate limit" 30 fault_is cm rate-limit
# both Events came through one watch, certcast's first: had it been delivered, it would be in by now
own_text=$(curl -fsS "$url/explain/$ns2/own")
assert_contains "certcast's own Event is not: own's fault is still transient" "$own_text" "current fault: transient"
assert_not_contains "and nothing of it is scored" "$own_text" "rate-limit"
assert_eq "the watch delivered cert-manager's Event only" $((added0 + 1)) "$(added)"

# a saved listing holds both (no server-side selector there): the store drops certcast's
kubectl_admin get certificates,certificaterequests,events,issuers -n "$ns2" -o json >"$TEST_TMP/dump.json"
assert_eq "the listing holds certcast's Event" 1 \
	"$(jq '[.items[] | select(.kind == "Event" and .reportingComponent == "certcast")] | length' "$TEST_TMP/dump.json")"
scan=$("$bin" scan -f "$TEST_TMP/dump.json" -o json 2>&1)
reasons_of() { jq -r --arg n "$1" '.. | objects | select(has("riskReasons") and .name == $n) | .riskReasons' <<<"$scan"; }
assert_match "scan: cm's reasons begin with the rate limit" "$(reasons_of cm)" '^rate-limit failure'
assert_match "scan: own's with the transient fault" "$(reasons_of own)" '^transient failure'
