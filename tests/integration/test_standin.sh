#!/usr/bin/env bash
# The cert-manager stand-in (hack/cm-standin) on the real API server, and certcast reading what it
# produced: first issuance with a CA issuer, a renewal one minute after issue, a failing ACME
# issuer (Let's Encrypt's rate-limit message) with cert-manager's backoff and the `cmctl renew`
# bypass, then `certcast status`/`explain` as the user certcast, and the stand-in's metrics.
. "$(dirname "$0")/lib.sh"

bin=$(certcast_bin)
require "certcast binary is built" test -x "$bin"
require "python3 with cryptography and yaml" python3 -c 'import cryptography, yaml'

ns=$(new_namespace standin)
start_standin "$ns"
port=$standin_port
metrics() { curl -fsS --max-time 5 "http://127.0.0.1:$port/metrics"; }

acme_server=https://acme.standin.test/directory
rl_msg='Failed to wait for order resource "failing-1-1234567890" to become ready: order is in "errored" state: Failed to create Order: 429 urn:ietf:params:acme:error:rateLimited: too many certificates (5) already issued for this exact set of identifiers in the last 168h0m0s, retry after 2026-01-01 00:00:00 UTC: see https://letsencrypt.org/docs/rate-limits/#new-certificates-per-exact-set-of-identifiers'
require "create issuers and certificates" kubectl_admin apply -f - <<EOF
apiVersion: cert-manager.io/v1
kind: Issuer
metadata: {name: ca, namespace: $ns}
spec: {ca: {secretName: ca-key-pair}}
---
apiVersion: cert-manager.io/v1
kind: Issuer
metadata:
  name: le
  namespace: $ns
  annotations:
    standin.certcast.io/fail: 'OrderFailed|$rl_msg'
spec:
  acme:
    server: $acme_server
    privateKeySecretRef: {name: le-account}
    solvers: [{http01: {ingress: {}}}]
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: healthy, namespace: $ns}
spec:
  secretName: healthy-tls
  issuerRef: {name: ca, kind: Issuer}
  dnsNames: [healthy.standin.test, www.healthy.standin.test]
  duration: 24h
  renewBefore: 8h
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: renew, namespace: $ns}
spec:
  secretName: renew-tls
  issuerRef: {name: ca, kind: Issuer}
  dnsNames: [renew.standin.test]
  duration: 1h
  renewBefore: 59m
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: failing, namespace: $ns}
spec:
  secretName: failing-tls
  issuerRef: {name: le, kind: Issuer}
  dnsNames: [failing.standin.test]
EOF

# A refusal this cluster's books cannot explain: Let's Encrypt's per-registered-domain limit,
# used up by issuances elsewhere (other clusters, other accounts), with a retry-after 3 days out.
crowd_retry=$(date -u -d "@$(($(date -u +%s) + 3 * 86400))" '+%Y-%m-%d %H:%M:%S UTC')
crowd_msg="Failed to create Order: 429 urn:ietf:params:acme:error:rateLimited: too many certificates (50) already issued for \"crowded.test\" in the last 168h0m0s, retry after $crowd_retry: see https://letsencrypt.org/docs/rate-limits/#new-certificates-per-registered-domain"
require "create the crowded domain's issuer and certificate" kubectl_admin apply -f - <<EOF
apiVersion: cert-manager.io/v1
kind: Issuer
metadata:
  name: le-crowded
  namespace: $ns
  annotations:
    standin.certcast.io/fail: 'OrderFailed|$crowd_msg'
spec:
  acme:
    # Let's Encrypt's production directory: the only CA certcast books limits for (the stand-in
    # contacts nothing)
    server: https://acme-v02.api.letsencrypt.org/directory
    privateKeySecretRef: {name: le-crowded-account}
    solvers: [{http01: {ingress: {}}}]
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: crowded, namespace: $ns}
spec:
  secretName: crowded-tls
  issuerRef: {name: le-crowded, kind: Issuer}
  dnsNames: [www.crowded.test]
EOF

# Malformed input the stand-in must survive: a request whose CSR is not a CSR, and a Certificate
# the admission webhook would reject (duration under cert-manager's 1h minimum).
require "create malformed objects" kubectl_admin apply -f - <<EOF
apiVersion: cert-manager.io/v1
kind: CertificateRequest
metadata: {name: garbage, namespace: $ns}
spec: {request: bm90IGEgQ1NS, issuerRef: {name: ca, kind: Issuer}}
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: short, namespace: $ns}
spec: {secretName: short-tls, issuerRef: {name: ca, kind: Issuer}, dnsNames: [short.standin.test], duration: 30m}
EOF

cert() { kubectl_admin -n "$ns" get certificate "$1" -o json; }
cr() { kubectl_admin -n "$ns" get certificaterequest "$1" -o json; }
epoch() { date -u -d "$1" +%s; }
ready_true() { cert "$1" | jq -e '.status.conditions[]? | select(.type == "Ready" and .status == "True")' >/dev/null; }

# --- first issuance with a CA issuer -------------------------------------------------------------
wait_for "issuer ca becomes Ready (KeyPairVerified)" 20 sh -c \
	"kubectl --kubeconfig '$KUBECONFIG' -n $ns get issuer ca -o json | jq -e '.status.conditions[] | select(.type==\"Ready\" and .status==\"True\" and .reason==\"KeyPairVerified\")'"
wait_for "healthy is issued and Ready" 30 ready_true healthy
h=$(cert healthy)
hcr=$(cr healthy-1 2>/dev/null || echo '{}')
assert_eq "request named <cert>-<revision>" healthy-1 "$(jq -r '.metadata.name' <<<"$hcr")"
assert_eq "request annotation certificate-name" healthy "$(jq -r '.metadata.annotations["cert-manager.io/certificate-name"]' <<<"$hcr")"
assert_eq "request annotation certificate-revision" 1 "$(jq -r '.metadata.annotations["cert-manager.io/certificate-revision"]' <<<"$hcr")"
assert_match "request annotation private-key-secret-name" "$(jq -r '.metadata.annotations["cert-manager.io/private-key-secret-name"]' <<<"$hcr")" '^healthy-[a-z0-9]{5}$'
assert_eq "request is owned by the Certificate (controller ref)" "Certificate $(jq -r .metadata.uid <<<"$h") true" \
	"$(jq -r '.metadata.ownerReferences[0] | "\(.kind) \(.uid) \(.controller)"' <<<"$hcr")"
assert_eq "request spec.username as the webhook fills it" system:serviceaccount:cert-manager:cert-manager "$(jq -r .spec.username <<<"$hcr")"
assert_eq "request spec.duration" 24h "$(jq -r .spec.duration <<<"$hcr")"
assert_eq "request spec.issuerRef" "ca Issuer" "$(jq -r '.spec.issuerRef | "\(.name) \(.kind)"' <<<"$hcr")"
jq -r .spec.request <<<"$hcr" | base64 -d >"$TEST_TMP/healthy.csr" 2>/dev/null
csr_text=$(openssl req -in "$TEST_TMP/healthy.csr" -noout -text -verify 2>&1 || true)
assert_contains "spec.request is a CSR whose signature verifies" "$csr_text" "verify OK"
assert_contains "the CSR asks for the spec's names" "$csr_text" "DNS:healthy.standin.test, DNS:www.healthy.standin.test"
assert_eq "request Approved by cert-manager.io" "True cert-manager.io" \
	"$(jq -r '.status.conditions[] | select(.type=="Approved") | "\(.status) \(.reason)"' <<<"$hcr")"
assert_eq "request Ready=True reason Issued" "True Issued" \
	"$(jq -r '.status.conditions[] | select(.type=="Ready") | "\(.status) \(.reason)"' <<<"$hcr")"
jq -r .status.certificate <<<"$hcr" | base64 -d >"$TEST_TMP/healthy.crt" 2>/dev/null
jq -r .status.ca <<<"$hcr" | base64 -d >"$TEST_TMP/ca.crt" 2>/dev/null
check "status.certificate verifies against status.ca" openssl verify -CAfile "$TEST_TMP/ca.crt" "$TEST_TMP/healthy.crt"
crt_end=$(openssl x509 -in "$TEST_TMP/healthy.crt" -noout -enddate 2>/dev/null | sed 's/^notAfter=//')
crt_start=$(openssl x509 -in "$TEST_TMP/healthy.crt" -noout -startdate 2>/dev/null | sed 's/^notBefore=//')
na=$(jq -r .status.notAfter <<<"$h")
nb=$(jq -r .status.notBefore <<<"$h")
rt=$(jq -r .status.renewalTime <<<"$h")
assert_eq "status.notAfter is the issued certificate's" "$(epoch "$crt_end" 2>/dev/null)" "$(epoch "$na" 2>/dev/null)"
assert_eq "status.notBefore is the issued certificate's" "$(epoch "$crt_start" 2>/dev/null)" "$(epoch "$nb" 2>/dev/null)"
assert_eq "lifetime is spec.duration (24h)" 86400 "$(($(epoch "$na") - $(epoch "$nb")))"
assert_eq "renewalTime is notAfter - renewBefore (8h)" "$(($(epoch "$na") - 8 * 3600))" "$(epoch "$rt")"
assert_eq "revision 1" 1 "$(jq -r .status.revision <<<"$h")"
assert_eq "no Issuing condition after success" 0 "$(jq '[.status.conditions[] | select(.type=="Issuing")] | length' <<<"$h")"
assert_eq "no failure fields after success" "null null" "$(jq -r '"\(.status.failedIssuanceAttempts) \(.status.lastFailureTime)"' <<<"$h")"
assert_eq "Ready reason and message" "Ready: Certificate is up to date and has not expired" \
	"$(jq -r '.status.conditions[] | select(.type=="Ready") | "\(.reason): \(.message)"' <<<"$h")"
sec=$(kubectl_admin -n "$ns" get secret healthy-tls -o json 2>/dev/null || echo '{}')
assert_eq "target Secret carries the issuer annotations" "ca Issuer healthy" \
	"$(jq -r '.metadata.annotations | "\(.["cert-manager.io/issuer-name"]) \(.["cert-manager.io/issuer-kind"]) \(.["cert-manager.io/certificate-name"])"' <<<"$sec")"
assert_eq "the next-private-key Secret is gone once issued" "0" \
	"$(kubectl_admin -n "$ns" get secrets -l cert-manager.io/next-private-key=true -o json | jq '[.items[] | select(.metadata.ownerReferences[0].name=="healthy")] | length')"
evs=$(kubectl_admin -n "$ns" get events -o json)
ev() { jq -r --arg k "$1" --arg n "$2" '[.items[] | select(.involvedObject.kind==$k and .involvedObject.name==$n) | "\(.reason)@\(.source.component)"] | join(" ")' <<<"$evs"; }
hev=$(ev Certificate healthy)
assert_contains "event Issuing from the trigger" "$hev" "Issuing@cert-manager-certificates-trigger"
assert_contains "event Generated from the key manager" "$hev" "Generated@cert-manager-certificates-key-manager"
assert_contains "event Requested from the request manager" "$hev" "Requested@cert-manager-certificates-request-manager"
assert_contains "event Issuing from the issuing controller" "$hev" "Issuing@cert-manager-certificates-issuing"
assert_contains "event CertificateIssued on the request" "$(ev CertificateRequest healthy-1)" "CertificateIssued@cert-manager-certificaterequests-issuer-ca"
assert_eq "events carry reportingComponent" "cert-manager-certificates-request-manager" \
	"$(jq -r '[.items[] | select(.involvedObject.name=="healthy" and .reason=="Requested") | .reportingComponent][0]' <<<"$evs")"

# --- renewal: duration 1h, renewBefore 59m -> renewed a minute after issue -----------------------
wait_for "renew is issued (revision 1)" 30 sh -c "kubectl --kubeconfig '$KUBECONFIG' -n $ns get certificate renew -o json | jq -e '.status.revision == 1 and .status.renewalTime != null'"
r1=$(cert renew)
r_rt=$(epoch "$(jq -r .status.renewalTime <<<"$r1")")
r_nb=$(epoch "$(jq -r .status.notBefore <<<"$r1")")
assert_eq "renewal time is one minute after issue" 60 "$((r_rt - r_nb))"
revision2() { cert renew | jq -e '.status.revision == 2' >/dev/null; }
check_fails "not renewed before its renewal time" revision2
wait_for "renewed at its renewal time (revision 2)" $((r_rt - $(date -u +%s) + 30)) revision2
r2cr=$(cr renew-2 2>/dev/null || echo '{}')
created=$(epoch "$(jq -r .metadata.creationTimestamp <<<"$r2cr")" 2>/dev/null || echo 0)
check "renew-2 was requested no earlier than the renewal time" test "$created" -ge "$r_rt"
assert_eq "renew-2's trigger reason is Renewing" Renewing \
	"$(kubectl_admin -n "$ns" get events -o json | jq -r '[.items[] | select(.involvedObject.name=="renew" and .reason=="Issuing" and .source.component=="cert-manager-certificates-trigger") | .message][-1] | if startswith("Renewing certificate as renewal was scheduled at") then "Renewing" else . end')"
r2=$(cert renew)
check "renewed certificate has a later notAfter" test "$(epoch "$(jq -r .status.notAfter <<<"$r2")")" -gt "$(epoch "$(jq -r .status.notAfter <<<"$r1")")"

# --- failure, backoff, and the Issuing=True bypass -----------------------------------------------
failed_cr() { cr failing-1 | jq -e '.status.conditions[]? | select(.type=="Ready" and .status=="False" and .reason=="Failed")' >/dev/null; }
wait_for "failing-1 fails (Ready=False reason Failed)" 30 failed_cr
attempts() { cert failing | jq -r '.status.failedIssuanceAttempts // 0'; }
attempts_is() { [ "$(attempts)" = "$1" ]; }
wait_for "failedIssuanceAttempts = 1" 15 attempts_is 1
f=$(cert failing)
f1=$(cr failing-1)
check "request has a failureTime" jq -e '.status.failureTime != null' <<<"$f1"
assert_eq "request message is the issuer's" "$rl_msg" "$(jq -r '.status.conditions[] | select(.type=="Ready") | .message' <<<"$f1")"
check "lastFailureTime is set" jq -e '.status.lastFailureTime != null' <<<"$f"
assert_eq "Issuing=False reason Failed" "False Failed" "$(jq -r '.status.conditions[] | select(.type=="Issuing") | "\(.status) \(.reason)"' <<<"$f")"
assert_eq "Issuing message in cert-manager's shape" "The certificate request has failed to complete and will be retried: $rl_msg" \
	"$(jq -r '.status.conditions[] | select(.type=="Issuing") | .message' <<<"$f")"
assert_eq "Ready=False DoesNotExist (nothing issued yet)" "False DoesNotExist" "$(jq -r '.status.conditions[] | select(.type=="Ready") | "\(.status) \(.reason)"' <<<"$f")"
assert_contains "Warning event OrderFailed on the request" "$(kubectl_admin -n "$ns" get events -o json | jq -r '[.items[] | select(.involvedObject.name=="failing-1") | "\(.type) \(.reason)"] | join(",")')" "Warning OrderFailed"
uid1=$(jq -r .metadata.uid <<<"$f1")
sleep 6 # twelve passes of the stand-in: none may start a new attempt within the 1h backoff
assert_eq "still one failed attempt after 6s (backoff 1h)" 1 "$(attempts)"
assert_eq "no new request during the backoff" "$uid1" "$(cr failing-1 | jq -r .metadata.uid)"
assert_contains "the stand-in logs the backoff" "$(cat "$(bg_log standin)")" "Backing off from issuance due to previously failed issuance(s)"

# cmctl renew: Issuing=True on the status subresource, PUT with resourceVersion.
now_iso=$(date -u +%Y-%m-%dT%H:%M:%SZ)
cert failing | jq --arg t "$now_iso" '.status.conditions = ([.status.conditions[] | select(.type != "Issuing")] +
	[{type: "Issuing", status: "True", reason: "ManuallyTriggered", message: "Certificate re-issuance manually triggered", lastTransitionTime: $t}])' \
	>"$TEST_TMP/renew.json"
code=$(api_curl -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Type: application/json' --data-binary "@$TEST_TMP/renew.json" \
	"/apis/cert-manager.io/v1/namespaces/$ns/certificates/failing/status")
assert_eq "status PUT of Issuing=True accepted" 200 "$code"
wait_for "the stand-in tries again at once: failedIssuanceAttempts = 2" 20 attempts_is 2
assert_ne "a new failing-1 request replaced the old one" "$uid1" "$(cr failing-1 | jq -r .metadata.uid)"
sleep 3
assert_eq "and then backs off again (2h)" 2 "$(attempts)"

# --- certcast reads what the stand-in produced ---------------------------------------------------
rc=0
out=$(KUBECONFIG=$CERTCAST_KUBECONFIG "$bin" status -n "$ns" -o json 2>"$TEST_TMP/status.err") || rc=$?
check "certcast status exits 0 or 3" test "$rc" -eq 0 -o "$rc" -eq 3
item() { jq -c --arg n "$1" '.items[] | select(.name == $n)' <<<"$out"; }
fi_=$(item failing)
hi=$(item healthy)
assert_eq "certcast sees failing's failed attempts" 2 "$(jq -r .failedIssuanceAttempts <<<"$fi_")"
assert_eq "certcast sees failing's last failure reason" Failed "$(jq -r .lastFailure.reason <<<"$fi_")"
assert_eq "certcast sees healthy's notAfter" "$na" "$(jq -r .notAfter <<<"$hi")"
assert_eq "certcast sees healthy's renewalTime" "$rt" "$(jq -r .renewalTime <<<"$hi")"
assert_eq "certcast counts healthy's requests" 1 "$(jq -r .requests <<<"$hi")"
assert_eq "healthy is low risk" low "$(jq -r .riskLevel <<<"$hi")"
check "failing is riskier than healthy" jq -en --argjson a "$fi_" --argjson b "$hi" '$a.risk > $b.risk'
rc=0
ex=$(KUBECONFIG=$CERTCAST_KUBECONFIG "$bin" explain "$ns/failing" 2>&1) || rc=$?
assert_eq "certcast explain exits 0" 0 "$rc"
assert_contains "explain names the rate-limit failure class" "$ex" "current fault: rate-limit"
assert_contains "explain counts two failed attempts" "$ex" "backs off after 2 failed attempts"

# The crowded domain: refused once, with nothing issued for crowded.test in this cluster. The books
# cannot explain the refusal, so the fault lasts to the CA's retry-after and the first
# certificate cannot come within the day it is owed.
crowded_failed() { [ "$(cert crowded | jq -r '.status.failedIssuanceAttempts // 0')" -ge 1 ]; }
wait_for "crowded is refused once" 30 crowded_failed
rc=0
cx=$(KUBECONFIG=$CERTCAST_KUBECONFIG "$bin" explain "$ns/crowded" 2>&1) || rc=$?
assert_eq "certcast explain crowded exits 0" 0 "$rc"
assert_contains "explain says the books do not explain the refusal" "$cx" "the books do not explain the rate-limit refusal"
assert_contains "explain names the unseen issuances" "$cx" "unseen-issuance"
co=$(KUBECONFIG=$CERTCAST_KUBECONFIG "$bin" status -n "$ns" -o json 2>/dev/null || true)
check "crowded is critical (risk >= 0.9)" jq -e '.items[] | select(.name == "crowded") | .risk >= 0.9' <<<"$co"

# --- the stand-in's metrics ----------------------------------------------------------------------
metrics >"$TEST_TMP/metrics.txt"
prc=0
pout=$(promtool check metrics <"$TEST_TMP/metrics.txt" 2>&1) || prc=$?
# 0: clean; 3: lint remarks only. cert-manager's own names draw two remarks (a counter named
# *_count without _total); anything else, or a parse error (1), fails.
check "promtool parses the stand-in's metrics" test "$prc" -eq 0 -o "$prc" -eq 3
assert_eq "promtool's only remarks are on cert-manager's own counter names" "" \
	"$(grep -v -e '^certmanager_http_acme_client_request_count ' -e '^certmanager_controller_sync_call_count ' <<<"$pout" || true)"
for name in certmanager_certificate_expiration_timestamp_seconds certmanager_certificate_ready_status \
	certmanager_certificate_renewal_timestamp_seconds certmanager_http_acme_client_request_count \
	certmanager_http_acme_client_request_duration_seconds certmanager_controller_sync_call_count; do
	check "metric $name is served" grep -qE "^$name(_count)?(\\{| )" "$TEST_TMP/metrics.txt"
done
sample() { awk -v m="$1" 'index($0, m) == 1 { print $NF }' "$TEST_TMP/metrics.txt"; }
assert_eq "expiration of healthy is its notAfter" "$(epoch "$na")" \
	"$(sample "certmanager_certificate_expiration_timestamp_seconds{name=\"healthy\",namespace=\"$ns\",issuer_name=\"ca\",issuer_kind=\"Issuer\",issuer_group=\"\"}")"
assert_eq "renewal of healthy is its renewalTime" "$(epoch "$rt")" \
	"$(sample "certmanager_certificate_renewal_timestamp_seconds{name=\"healthy\",namespace=\"$ns\",issuer_name=\"ca\",issuer_kind=\"Issuer\",issuer_group=\"\"}")"
assert_eq "healthy ready_status True" 1 \
	"$(sample "certmanager_certificate_ready_status{name=\"healthy\",namespace=\"$ns\",condition=\"True\",")"
assert_eq "failing ready_status False" 1 \
	"$(sample "certmanager_certificate_ready_status{name=\"failing\",namespace=\"$ns\",condition=\"False\",")"
assert_eq "two 429 answers counted for the ACME host" 2 \
	"$(sample 'certmanager_http_acme_client_request_count{scheme="https",host="acme.standin.test",action="authorize_order",method="POST",status="429"}')"
check "sync calls counted for the trigger" grep -qE '^certmanager_controller_sync_call_count\{controller="certificates-trigger"\} [1-9]' "$TEST_TMP/metrics.txt"

# --- clean stop ----------------------------------------------------------------------------------
src=0
stop_bg standin || src=$?
assert_eq "stand-in exits 0 on SIGTERM" 0 "$src"
assert_contains "stand-in logs its stop" "$(tail -n 1 "$(bg_log standin)")" "stop"
slog=$(cat "$(bg_log standin)")
assert_contains "the malformed request was logged and skipped" "$slog" "skip-request         $ns/garbage"
assert_contains "the too-short Certificate was logged as invalid" "$slog" "invalid-certificate  $ns/short"
assert_eq "nothing else was skipped" "" "$(grep -E 'skip-|pass-error' <<<"$slog" | grep -v "$ns/garbage" || true)"
assert_eq "no request for the invalid Certificate" "" "$(kubectl_admin -n "$ns" get certificaterequests -o name | grep short || true)"
