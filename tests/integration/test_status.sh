#!/usr/bin/env bash
# `certcast status` against a real kube-apiserver: objects are created as the admin, their
# status is set the way cert-manager sets it (the status subresource), and certcast runs as the
# user certcast, who has exactly the chart's RBAC. Every field of -o json is checked against what
# was created; then -n scoping, the context's default namespace, the table and wide columns, the
# kubectl plugin spelling, and an RBAC denial for a user with no rights. certcast.io/last-action
# (here set by hand, as certcast writes it) shows in -o wide and -o json, in explain's words.
. "$(dirname "$0")/lib.sh"

bin=$(certcast_bin)
require "certcast binary is built" test -x "$bin"

ns1=$(new_namespace status-a)
ns2=$(new_namespace status-b)
ci="ci-$ns1" # ClusterIssuers are cluster-wide: a unique name per run
now=$(date -u +%s)
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
web_nb=$(iso $((now - 30 * 86400)))
web_na=$(iso $((now + 60 * 86400)))
web_rt=$(iso $((now + 30 * 86400)))
api_na=$(iso $((now + 10 * 86400)))
api_rt=$(iso $((now - 5 * 86400)))
api_lf=$(iso $((now - 7200)))
api_la="RenewBeforeAdjusted $(iso $((now - 7200))): spec.renewBefore 240h0m0s"

require "create issuers, certificates and requests" kubectl_admin apply -f - <<EOF
apiVersion: cert-manager.io/v1
kind: Issuer
metadata: {name: ca-issuer, namespace: $ns1}
spec: {selfSigned: {}}
---
apiVersion: cert-manager.io/v1
kind: ClusterIssuer
metadata: {name: $ci}
spec: {selfSigned: {}}
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: web, namespace: $ns1}
spec:
  secretName: web-tls
  issuerRef: {name: ca-issuer, kind: Issuer}
  dnsNames: [web.example.com, www.example.com]
  duration: 2160h
  renewBefore: 720h
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: api, namespace: $ns1}
spec:
  secretName: api-tls
  issuerRef: {name: $ci, kind: ClusterIssuer}
  dnsNames: [api.example.com]
  renewBeforePercentage: 25
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: other, namespace: $ns2}
spec:
  secretName: other-tls
  issuerRef: {name: ca-issuer}
  commonName: other.example.com
---
apiVersion: cert-manager.io/v1
kind: CertificateRequest
metadata:
  name: web-1
  namespace: $ns1
  annotations: {cert-manager.io/certificate-name: web, cert-manager.io/certificate-revision: "1"}
spec:
  request: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURSBSRVFVRVNULS0tLS0K
  issuerRef: {name: ca-issuer, kind: Issuer}
---
apiVersion: cert-manager.io/v1
kind: CertificateRequest
metadata:
  name: web-2
  namespace: $ns1
  annotations: {cert-manager.io/certificate-name: web, cert-manager.io/certificate-revision: "2"}
spec:
  request: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURSBSRVFVRVNULS0tLS0K
  issuerRef: {name: ca-issuer, kind: Issuer}
---
apiVersion: cert-manager.io/v1
kind: CertificateRequest
metadata:
  name: api-1
  namespace: $ns1
  annotations: {cert-manager.io/certificate-name: api, cert-manager.io/certificate-revision: "1"}
spec:
  request: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURSBSRVFVRVNULS0tLS0K
  issuerRef: {name: $ci, kind: ClusterIssuer}
EOF

require "status of web" kubectl_admin -n "$ns1" patch certificate web --subresource=status --type=merge -p "{\"status\":{
  \"notBefore\":\"$web_nb\",\"notAfter\":\"$web_na\",\"renewalTime\":\"$web_rt\",\"revision\":2,
  \"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"Ready\",\"message\":\"Certificate is up to date and has not expired\",\"lastTransitionTime\":\"$web_nb\"}]}}"
require "status of api" kubectl_admin -n "$ns1" patch certificate api --subresource=status --type=merge -p "{\"status\":{
  \"notAfter\":\"$api_na\",\"renewalTime\":\"$api_rt\",\"failedIssuanceAttempts\":3,\"lastFailureTime\":\"$api_lf\",
  \"conditions\":[{\"type\":\"Ready\",\"status\":\"False\",\"reason\":\"Expiring\",\"message\":\"soon\",\"lastTransitionTime\":\"$api_lf\"},
  {\"type\":\"Issuing\",\"status\":\"False\",\"reason\":\"Failed\",\"message\":\"The certificate request has failed to complete and will be retried\",\"lastTransitionTime\":\"$api_lf\"}]}}"

require "api's last action" kubectl_admin -n "$ns1" annotate certificate api "certcast.io/last-action=$api_la"

as_certcast() { KUBECONFIG=$CERTCAST_KUBECONFIG "$bin" "$@"; }

# --- -A -o json: every field -------------------------------------------------------------------
rc=0
out=$(as_certcast status -A -o json 2>"$TEST_TMP/err") || rc=$?
assert_eq "status -A -o json exits 0" 0 "$rc"
check "output is JSON with an items array" jq -e '.items | type == "array"' <<<"$out"
item() { jq -c --arg ns "$1" --arg n "$2" '.items[] | select(.namespace == $ns and .name == $n)' <<<"$out"; }
field() { jq -r "$2" <<<"$1"; }

web=$(item "$ns1" web)
assert_ne "web is listed" "" "$web"
assert_eq "web issuer kind" Issuer "$(field "$web" .issuer.kind)"
assert_eq "web issuer name" ca-issuer "$(field "$web" .issuer.name)"
assert_eq "web issuer group" cert-manager.io "$(field "$web" .issuer.group)"
assert_eq "web ready" True "$(field "$web" .ready.status)"
assert_eq "web ready reason" Ready "$(field "$web" .ready.reason)"
assert_eq "web notAfter" "$web_na" "$(field "$web" .notAfter)"
assert_eq "web renewalTime" "$web_rt" "$(field "$web" .renewalTime)"
assert_eq "web renewBefore as a Go duration" 720h0m0s "$(field "$web" .renewBefore.duration)"
assert_eq "web renewBefore in seconds" 2592000 "$(field "$web" .renewBefore.seconds)"
assert_eq "web renewBeforePercentage" null "$(field "$web" .renewBeforePercentage)"
assert_eq "web failed attempts" 0 "$(field "$web" .failedIssuanceAttempts)"
assert_eq "web last failure" null "$(field "$web" .lastFailure)"
assert_eq "web requests" 2 "$(field "$web" .requests)"
assert_eq "web secret" web-tls "$(field "$web" .secretName)"
assert_eq "web dns names" "web.example.com,www.example.com" "$(field "$web" '.dnsNames | join(",")')"
assert_eq "web issuing" null "$(field "$web" .issuing)"
check "web risk is a probability" jq -e '.risk >= 0 and .risk <= 1' <<<"$web"
assert_eq "web risk level: healthy, renewal a month away" low "$(field "$web" .riskLevel)"
assert_eq "web has no predicted failure" null "$(field "$web" .predictedFailure)"
check "web risk reasons are text" jq -e '.riskReasons | type == "string" and length > 0' <<<"$web"
assert_eq "web has no last action" null "$(field "$web" .lastAction)"

api=$(item "$ns1" api)
assert_ne "api is listed" "" "$api"
assert_eq "api issuer kind" ClusterIssuer "$(field "$api" .issuer.kind)"
assert_eq "api issuer name" "$ci" "$(field "$api" .issuer.name)"
assert_eq "api ready" False "$(field "$api" .ready.status)"
assert_eq "api notAfter" "$api_na" "$(field "$api" .notAfter)"
assert_eq "api renewalTime" "$api_rt" "$(field "$api" .renewalTime)"
assert_eq "api renewBefore" null "$(field "$api" .renewBefore)"
assert_eq "api renewBeforePercentage" 25 "$(field "$api" .renewBeforePercentage)"
assert_eq "api failed attempts" 3 "$(field "$api" .failedIssuanceAttempts)"
assert_eq "api last failure time" "$api_lf" "$(field "$api" .lastFailure.time)"
assert_eq "api last failure reason" Failed "$(field "$api" .lastFailure.reason)"
assert_eq "api requests" 1 "$(field "$api" .requests)"
assert_eq "api issuing" False "$(field "$api" .issuing.status)"
assert_eq "api issuing reason" Failed "$(field "$api" .issuing.reason)"
check "api risk is a probability" jq -e '.risk >= 0 and .risk <= 1' <<<"$api"
check "api risk level is a level" jq -e '.riskLevel | IN("low","medium","high","critical")' <<<"$api"
check "api failing in its window is riskier than web" jq -en --argjson a "$api" --argjson w "$web" '$a.risk > $w.risk'
check "api's next attempt is after its last failure" jq -e '.nextAttempt > .lastFailure.time' <<<"$api"
assert_eq "api's last action as written" "$api_la" "$(field "$api" .lastAction.text)"
assert_eq "api's last action: reason" RenewBeforeAdjusted "$(field "$api" .lastAction.reason)"
assert_eq "api's last action: time" "$api_lf" "$(field "$api" .lastAction.time)"
assert_eq "api's last action: detail" "spec.renewBefore 240h0m0s" "$(field "$api" .lastAction.detail)"

other=$(item "$ns2" other)
assert_ne "other is listed" "" "$other"
assert_eq "other issuer kind defaults to Issuer" Issuer "$(field "$other" .issuer.kind)"
assert_eq "other has no status yet" "null null null" \
	"$(field "$other" '[.ready, .notAfter, .renewalTime] | map(tostring) | join(" ")')"
assert_eq "other requests" 0 "$(field "$other" .requests)"
assert_eq "other dns names" "[]" "$(field "$other" '.dnsNames | tojson')"
check "items sorted by namespace, then name" \
	jq -e '[.items[] | [.namespace, .name]] as $a | $a == ($a | sort)' <<<"$out"

# --- -n scoping and the default namespace -------------------------------------------------------
out=$(as_certcast status -n "$ns1" -o json)
assert_eq "-n lists only that namespace" "$ns1 $ns1" "$(jq -r '[.items[].namespace] | join(" ")' <<<"$out")"
assert_eq "-n lists both of its certificates" "api web" "$(jq -r '[.items[].name] | join(" ")' <<<"$out")"
out=$(as_certcast status --namespace="$ns2" -o json)
assert_eq "--namespace= works too" "other" "$(jq -r '[.items[].name] | join(" ")' <<<"$out")"

cp "$CERTCAST_KUBECONFIG" "$TEST_TMP/ctx.kubeconfig"
require "set the context's namespace" kubectl --kubeconfig "$TEST_TMP/ctx.kubeconfig" config set-context --current --namespace="$ns2"
out=$(KUBECONFIG=$TEST_TMP/ctx.kubeconfig "$bin" status -o json)
assert_eq "no -n: the context's namespace" "$ns2/other" "$(jq -r '[.items[] | .namespace + "/" + .name] | join(" ")' <<<"$out")"
out=$(as_certcast status --kubeconfig "$TEST_TMP/ctx.kubeconfig" -o json)
assert_eq "--kubeconfig flag is used" "$ns2/other" "$(jq -r '[.items[] | .namespace + "/" + .name] | join(" ")' <<<"$out")"

# --- table and wide ----------------------------------------------------------------------------
table=$(as_certcast status -n "$ns1")
header=$(head -n 1 <<<"$table")
assert_match "table header columns in order" "$header" \
	'^NAMESPACE +NAME +ISSUER +READY +NOT AFTER +RENEWAL TIME +RENEW BEFORE +FAILED ATTEMPTS +LAST FAILURE +REQUESTS +RISK$'
assert_eq "table has a header and two rows" 3 "$(wc -l <<<"$table")"
webrow=$(grep -E "^$ns1 +web " <<<"$table" || true)
assert_match "web row" "$webrow" "^$ns1 +web +Issuer/ca-issuer +True +$web_na +$web_rt +720h0m0s +0 +- +2 +low \\((<0\\.001|0\\.[0-9]{3})\\)\$"
apirow=$(grep -E "^$ns1 +api " <<<"$table" || true)
assert_match "api row" "$apirow" "^$ns1 +api +ClusterIssuer/$ci +False +$api_na +$api_rt +25% +3 +Failed \\(2h[0-9]+m ago\\) +1 +(low|medium|high|critical) \\((<0\\.001|[01]\\.[0-9]{3})\\)\$"
# Columns line up: each header word starts where its column's values start.
col() { awk -v h="$2" 'BEGIN{}{print index($0, h)}' <<<"$1"; }
assert_eq "NOT AFTER column aligned" "$(col "$header" "NOT AFTER")" "$(col "$webrow" "$web_na")"
assert_eq "RISK column aligned" "$(col "$header" "RISK")" "$(col "$webrow" "low (")"
assert_eq "api row before web row" "api web" "$(tail -n +2 <<<"$table" | awk '{print $2}' | tr '\n' ' ' | sed 's/ $//')"

assert_not_contains "the table leaves the last action to -o wide" "$table" "LAST ACTION"
wide=$(as_certcast status -n "$ns1" -o wide)
assert_match "wide header adds four columns" "$(head -n 1 <<<"$wide")" 'REQUESTS +RISK +SECRET +DNS NAMES +ISSUING +LAST ACTION$'
assert_match "wide web row: no last action" "$(grep -E "^$ns1 +web " <<<"$wide")" 'web-tls +web\.example\.com,www\.example\.com +- +-$'
assert_match "wide api row: its last action and how long ago" "$(grep -E "^$ns1 +api " <<<"$wide")" \
	'api-tls +api\.example\.com +False \(Failed\) +RenewBeforeAdjusted \(2h[0-9]+m ago\)$'

# --- explain ----------------------------------------------------------------------------------
rc=0
xp=$(as_certcast explain "$ns1/api" 2>"$TEST_TMP/err") || rc=$?
assert_eq "explain exits 0" 0 "$rc"
assert_contains "explain names the certificate" "$xp" "Certificate $ns1/api"
assert_contains "explain gives the risk" "$xp" "risk: "
assert_contains "explain gives cert-manager's backoff" "$xp" "backoff until: "
assert_contains "explain lists the factors" "$xp" "factors (contribution to risk):"
assert_contains "explain says what certcast would do" "$xp" "decision: "
assert_contains "explain shows the last action status shows" "$xp" "certcast last action: $api_la"
assert_eq "explain's level agrees with status" "$(field "$api" .riskLevel)" \
	"$(sed -n 's/^risk: [0-9.e+-]* (\(.*\))$/\1/p' <<<"$xp")"
rc=0
errtxt=$(as_certcast explain "$ns1/absent" 2>&1 >/dev/null) || rc=$?
assert_eq "explain of a missing certificate exits 1" 1 "$rc"
assert_contains "explain says what is missing" "$errtxt" "certificate \"absent\" not found in namespace \"$ns1\""
rc=0
errtxt=$(as_certcast explain web 2>&1 >/dev/null) || rc=$?
assert_eq "explain without a namespace is a usage error" 2 "$rc"

# --- a certificate about to expire: critical, exit 3 ---------------------------------------------
ns4=$(new_namespace status-critical)
dy_nb=$(iso $((now - 89 * 86400)))
dy_na=$(iso $((now + 3600)))
dy_lf=$(iso $((now - 1800)))
require "create a failing certificate" kubectl_admin apply -f - <<EOF
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: dying, namespace: $ns4}
spec:
  secretName: dying-tls
  issuerRef: {name: ca-issuer, kind: Issuer}
  dnsNames: [dying.example.com]
EOF
require "status of dying" kubectl_admin -n "$ns4" patch certificate dying --subresource=status --type=merge -p "{\"status\":{
  \"notBefore\":\"$dy_nb\",\"notAfter\":\"$dy_na\",\"failedIssuanceAttempts\":6,\"lastFailureTime\":\"$dy_lf\",
  \"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"Ready\",\"message\":\"ok\",\"lastTransitionTime\":\"$dy_nb\"},
  {\"type\":\"Issuing\",\"status\":\"False\",\"reason\":\"Failed\",\"message\":\"The certificate request has failed to complete and will be retried: 429 urn:ietf:params:acme:error:rateLimited: too many certificates already issued\",\"lastTransitionTime\":\"$dy_lf\"}]}}"
rc=0
out=$(as_certcast status -n "$ns4" -o json) || rc=$?
assert_eq "a critical certificate makes status exit 3" 3 "$rc"
assert_eq "dying is critical" critical "$(jq -r '.items[0].riskLevel' <<<"$out")"
check "dying has a predicted failure before its notAfter" \
	jq -e --arg na "$dy_na" '.items[0].predictedFailure != null and .items[0].predictedFailure <= $na' <<<"$out"
rc=0
out=$(as_certcast status -n "$ns1" -o json) || rc=$?
assert_eq "without one, status exits 0" 0 "$rc"

# --- scan: the same rows from a saved kubectl get ------------------------------------------------
require "save the cluster's objects" kubectl_admin get certificates,certificaterequests,events,issuers,clusterissuers -A -o json
kubectl_admin get certificates,certificaterequests,events,issuers,clusterissuers -A -o json >"$TEST_TMP/saved.json"
rc=0
scanned=$("$bin" scan -f "$TEST_TMP/saved.json" -n "$ns1" -o json 2>"$TEST_TMP/err") || rc=$?
assert_eq "scan exits 0 for a healthy namespace" 0 "$rc"
live=$(as_certcast status -n "$ns1" -o json)
assert_eq "scan lists what status lists" "$(jq -c '[.items[] | [.namespace, .name, .issuer, .notAfter, .requests]]' <<<"$live")" \
	"$(jq -c '[.items[] | [.namespace, .name, .issuer, .notAfter, .requests]]' <<<"$scanned")"
assert_eq "scan scores as status does" "$(jq -c '[.items[].riskLevel]' <<<"$live")" "$(jq -c '[.items[].riskLevel]' <<<"$scanned")"
rc=0
"$bin" scan -f - -o json <"$TEST_TMP/saved.json" >"$TEST_TMP/all.json" 2>"$TEST_TMP/err" || rc=$?
assert_eq "scan of every namespace exits 3 (dying is in the file)" 3 "$rc"
check "scan from stdin sees every namespace" jq -e --arg a "$ns1" --arg b "$ns4" \
	'[.items[].namespace] | index($a) != null and index($b) != null' "$TEST_TMP/all.json"
"$bin" scan -f - -n "$ns1" --now "$web_nb" -o json <"$TEST_TMP/saved.json" >"$TEST_TMP/then.json" 2>"$TEST_TMP/err" || true
assert_eq "scan --now at web's issuance: low" low \
	"$(jq -r '.items[] | select(.name == "web") | .riskLevel' "$TEST_TMP/then.json")"
"$bin" scan -f - -n "$ns1" --now "$(iso $((now + 61 * 86400)))" -o json <"$TEST_TMP/saved.json" >"$TEST_TMP/later.json" 2>"$TEST_TMP/err" || true
assert_eq "scan --now a day after web's notAfter, never renewed: critical" critical \
	"$(jq -r '.items[] | select(.name == "web") | .riskLevel' "$TEST_TMP/later.json")"
printf '%s' '{"kind":"List","items":[{"apiVersion":"cert-manager.io/v1","kind":"Certificate","metadata":{"name":"x","namespace":"a"},"status":{"notAfter":"soon"}}]}' >"$TEST_TMP/bad.json"
rc=0
errtxt=$("$bin" scan -f "$TEST_TMP/bad.json" 2>&1 >/dev/null) || rc=$?
assert_eq "scan of a file with only a bad item exits 0" 0 "$rc"
assert_contains "scan names the bad item and field" "$errtxt" "items[0]: Certificate a/x: status.notAfter"

# --- as a kubectl plugin -----------------------------------------------------------------------
rc=0
plug=$(PATH="$CERTCAST_BUILD:$PATH" KUBECONFIG=$CERTCAST_KUBECONFIG kubectl certcast status -n "$ns1" 2>&1) || rc=$?
assert_eq "kubectl certcast status exits 0" 0 "$rc"
assert_contains "kubectl certcast status shows the rows" "$plug" "Issuer/ca-issuer"
rc=0
plug=$(PATH="$CERTCAST_BUILD:$PATH" kubectl certcast status --bogus 2>&1) || rc=$?
assert_eq "plugin usage error exits 2" 2 "$rc"
assert_contains "plugin names itself in errors" "$plug" "kubectl certcast: unknown flag \"--bogus\""

# --- empty namespace, usage and kubeconfig errors -----------------------------------------------
ns3=$(new_namespace status-empty)
rc=0
errtxt=$(as_certcast status -n "$ns3" 2>&1 >/dev/null) || rc=$?
assert_eq "empty namespace exits 0" 0 "$rc"
assert_contains "empty namespace says so" "$errtxt" "No certificates found in namespace $ns3."
assert_eq "empty namespace JSON has no items" 0 "$(as_certcast status -n "$ns3" -o json | jq '.items | length')"
rc=0
errtxt=$(as_certcast status -o yaml 2>&1) || rc=$?
assert_eq "bad -o exits 2" 2 "$rc"
assert_contains "bad -o names flag and value" "$errtxt" 'invalid value "yaml" for flag -o'
rc=0
errtxt=$("$bin" status --kubeconfig "$TEST_TMP/missing.kubeconfig" 2>&1) || rc=$?
assert_eq "missing kubeconfig exits 1" 1 "$rc"
assert_contains "missing kubeconfig is named" "$errtxt" "missing.kubeconfig"

# --- RBAC denial: a user with no rights at all --------------------------------------------------
p=$TESTENV_DIR/pki
require "client certificate for user nobody" bash -c "
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout '$TEST_TMP/nobody.key' \
		-subj /CN=nobody -out '$TEST_TMP/nobody.csr' 2>/dev/null &&
	openssl x509 -req -in '$TEST_TMP/nobody.csr' -CA '$p/ca.crt' -CAkey '$p/ca.key' \
		-CAserial '$TEST_TMP/ca.srl' -CAcreateserial -days 1 -out '$TEST_TMP/nobody.crt' 2>/dev/null"
kc=$TEST_TMP/nobody.kubeconfig
require "kubeconfig for user nobody" bash -c "
	kubectl config --kubeconfig '$kc' set-cluster t --server '$TESTENV_APISERVER_URL' \
		--certificate-authority '$TESTENV_CA_FILE' --embed-certs >/dev/null &&
	kubectl config --kubeconfig '$kc' set-credentials nobody --client-certificate '$TEST_TMP/nobody.crt' \
		--client-key '$TEST_TMP/nobody.key' --embed-certs >/dev/null &&
	kubectl config --kubeconfig '$kc' set-context t --cluster t --user nobody >/dev/null &&
	kubectl config --kubeconfig '$kc' use-context t >/dev/null"
rc=0
stdout=$(KUBECONFIG=$kc "$bin" status -n "$ns1" 2>"$TEST_TMP/denied") || rc=$?
denied=$(cat "$TEST_TMP/denied")
assert_eq "RBAC denial exits 1" 1 "$rc"
assert_eq "RBAC denial prints no table" "" "$stdout"
assert_contains "RBAC denial says forbidden" "$denied" "forbidden: cannot list certificates.cert-manager.io in namespace \"$ns1\""
assert_contains "RBAC denial carries the server's message" "$denied" 'User "nobody" cannot list resource "certificates"'
rc=0
denied=$(KUBECONFIG=$kc "$bin" status -A 2>&1 >/dev/null) || rc=$?
assert_eq "RBAC denial with -A exits 1" 1 "$rc"
assert_contains "RBAC denial with -A names the scope" "$denied" "forbidden: cannot list certificates.cert-manager.io at the cluster scope"

kubectl_admin delete clusterissuer "$ci" >/dev/null 2>&1 || true
