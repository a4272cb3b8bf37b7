#!/usr/bin/env bash
# The list/watch machinery against a real kube-apiserver, as the user certcast:
#   - 2,000 Certificates (each with a CertificateRequest) come back whole through paginated lists,
#     both from `certcast status` and into the controller's store, and the audit log shows that
#     the lists really went page by page with continue tokens;
#   - watch bookmarks arrive and move the reflector's resourceVersion forward;
#   - after a forced 410 (etcd compacted past every resourceVersion certcast holds) while objects
#     were created, changed and deleted behind its back, the store matches the API server exactly:
#     nothing lost, nothing phantom.
. "$(dirname "$0")/lib.sh"

bin=$(certcast_bin)
require "certcast binary is built" test -x "$bin"
n=2000
ns=$(new_namespace watch)

# One List document with n Certificates and n CertificateRequests.
awk -v n="$n" -v ns="$ns" 'BEGIN {
	printf "{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":["
	for (i = 0; i < n; i++) {
		c = sprintf("c%04d", i)
		iss = "\"issuerRef\":{\"name\":\"ca\",\"kind\":\"Issuer\"}"
		printf "%s{\"apiVersion\":\"cert-manager.io/v1\",\"kind\":\"Certificate\",\"metadata\":{\"name\":\"%s\",\"namespace\":\"%s\"},\"spec\":{\"secretName\":\"%s\",\"renewBefore\":\"%dm\",%s}}", (i ? "," : ""), c, ns, c, 10 + i, iss
		printf ",{\"apiVersion\":\"cert-manager.io/v1\",\"kind\":\"CertificateRequest\",\"metadata\":{\"name\":\"%s-1\",\"namespace\":\"%s\",\"annotations\":{\"cert-manager.io/certificate-name\":\"%s\"}},\"spec\":{\"request\":\"bm90IGEgcmVhbCBDU1I=\",%s}}", c, ns, c, iss
	}
	print "]}"
}' >"$TEST_TMP/objects.json"
require "create $n certificates and $n requests" kubectl_admin create -f "$TEST_TMP/objects.json" -o name
want_view() { # name and renewBefore in seconds, as the API server has them
	kubectl_admin -n "$ns" get certificates -o json |
		jq -r '.items[] | "\(.metadata.name) \(.spec.renewBefore)"' |
		awk '{ d = $2; s = 0; if (d ~ /h/) { split(d, a, "h"); s += a[1] * 3600; d = a[2] } if (d ~ /m/) { split(d, a, "m"); s += a[1] * 60 } print $1, s }' | sort
}
want=$(want_view)
assert_eq "the API server holds $n certificates" "$n" "$(printf '%s\n' "$want" | wc -l)"

# --- status: a one-shot paginated list -----------------------------------------------------------
audit_lists() { # count LIST requests by the user certcast for PATH carrying a continue token
	jq -c --arg p "$1" 'select(.user.username == "certcast" and .verb == "list" and .stage == "ResponseComplete"
		and (.requestURI | startswith($p)) and (.requestURI | contains("continue=")))' "$TESTENV_AUDIT_LOG" | wc -l
}
before=$(audit_lists /apis/cert-manager.io/v1/namespaces/"$ns"/certificates)
out=$(KUBECONFIG=$CERTCAST_KUBECONFIG "$bin" status -n "$ns" -o json 2>"$TEST_TMP/status.err") || true
got=$(printf '%s' "$out" | jq -r '.items[] | "\(.name) \(.renewBefore.seconds)"' | sort)
assert_eq "status lists every certificate once" "$n" "$(printf '%s\n' "$got" | grep -c .)"
if [ "$got" = "$want" ]; then pass "status rows match the API server (names and renewBefore)"; else fail "status rows differ from the API server" "$(diff <(printf '%s\n' "$want") <(printf '%s\n' "$got") | head -n 20)"; fi
reqs=$(printf '%s' "$out" | jq '[.items[].requests] | add')
assert_eq "status links every request to its certificate" "$n" "$reqs"
after=$(audit_lists /apis/cert-manager.io/v1/namespaces/"$ns"/certificates)
pages=$((after - before))
if [ "$pages" -ge 3 ]; then pass "status listed certificates in pages ($pages continued pages)"; else fail "status did not paginate" "continued list requests: $pages"; fi

# --- controller: the same objects into the store ---------------------------------------------------
port=$(free_port)
url=http://127.0.0.1:$port
start_bg ctl env KUBECONFIG="$CERTCAST_KUBECONFIG" "$bin" controller --namespace "$ns" \
	--http-addr "127.0.0.1:$port" --log-level debug --log-format json
wait_for "/readyz once every reflector synced" 120 curl -fsS "$url/readyz"
# The store's content, read through the public interface: one renew_before series per certificate.
store_view() {
	curl -fsS "$url/metrics" |
		sed -nE 's/^certcast_certificate_renew_before_seconds\{(.*,)?name="([^"]*)"(,[^}]*)?\} ([0-9]+)$/\2 \4/p' | sort
}
same_view() { [ "$(store_view)" = "$(want_view)" ]; }
wait_for "controller store matches the API server ($n certificates)" 120 same_view
assert_eq "controller tracks exactly $n certificates" "$n" "$(store_view | wc -l)"

# --- bookmarks --------------------------------------------------------------------------------------
# kube-apiserver sends a bookmark about once a minute to a watch that asked for them; writes to
# other resources move the revision so that the bookmark's resourceVersion is newer than the list's.
list_rv0=$(jq -r 'select(.msg | test("^certificates: synced")) | .msg' "$(bg_log ctl)" | sed -nE 's/.*resourceVersion ([0-9]+).*/\1/p' | head -n 1)
for i in 1 2 3; do kubectl_admin -n "$ns" create configmap "bump-$i" --from-literal=k=v >/dev/null; done
bookmark_rv() { jq -r 'select(.msg | test("^certificates: bookmark")) | .msg' "$(bg_log ctl)" | sed -nE 's/.*resourceVersion now ([0-9]+).*/\1/p' | tail -n 1; }
has_bookmark() { [ -n "$(bookmark_rv)" ]; }
wait_for "a bookmark arrives on the certificates watch" 150 has_bookmark
brv=$(bookmark_rv)
if [ -n "$list_rv0" ] && [ -n "$brv" ] && [ "$brv" -gt "$list_rv0" ]; then pass "the bookmark moved resourceVersion forward ($list_rv0 -> $brv)"; else fail "bookmark did not advance resourceVersion" "list $list_rv0, bookmark $brv"; fi
m=$(curl -fsS "$url/metrics")
assert_match "bookmarks are counted" "$m" 'certcast_watch_events_total\{resource="certificates",type="BOOKMARK"\} [1-9]'

# --- a 410 with changes the watch never saw -----------------------------------------------------------
require "stop kube-apiserver" testenv_stop_apiserver
# Behind the API server's back: delete 100 certificates straight from etcd.
for i in $(seq 0 99); do
	etcdctl --endpoints "$TESTENV_ETCD_ENDPOINT" del "/registry/cert-manager.io/certificates/$ns/$(printf c%04d "$i")" >/dev/null
done
require "compact etcd past every resourceVersion certcast holds" testenv_force_410 --no-restart
require "start kube-apiserver" testenv_start_apiserver
# And through the API server while certcast may still be reconnecting: add some, change some.
for i in $(seq 0 49); do printf '{"apiVersion":"cert-manager.io/v1","kind":"Certificate","metadata":{"name":"new%02d","namespace":"%s"},"spec":{"secretName":"n","renewBefore":"7h","issuerRef":{"name":"ca"}}}\n' "$i" "$ns"; done >"$TEST_TMP/new.json"
require "create 50 new certificates" kubectl_admin create -f "$TEST_TMP/new.json"
for i in $(seq 100 109); do kubectl_admin -n "$ns" patch certificate "$(printf c%04d "$i")" --type=merge -p '{"spec":{"renewBefore":"3h"}}' >/dev/null; done
pass "changed 10 certificates"
wait_for "after the 410 the store matches the API server (nothing lost, nothing phantom)" 150 same_view
assert_eq "the store holds $((n - 100 + 50)) certificates" "$((n - 100 + 50))" "$(store_view | wc -l)"
m=$(curl -fsS "$url/metrics")
assert_match "the 410 was counted as a watch restart" "$m" 'certcast_watch_restarts_total\{resource="certificates",reason="gone"\} [1-9]'
check "no crash: still running" kill -0 "$(bg_pid ctl)"
rc=0; stop_bg ctl || rc=$?
assert_eq "clean exit" 0 "$rc"
