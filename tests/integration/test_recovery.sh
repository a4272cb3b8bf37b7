#!/usr/bin/env bash
# A CA outage and its end, on the real API server with the cert-manager stand-in: while the
# issuer fails for everyone, certcast in enforce mode does not trigger a reissue (it would only
# fail again); once the issuer has issued for several other certificates, the outage is over
# by the evidence, and certcast reissues the certificate cert-manager has backed off past its
# notAfter instead of waiting for the backoff. scoring/evaluate.c, ev_issuer_success_update.
. "$(dirname "$0")/lib.sh"

bin=$(certcast_bin)
require "certcast binary is built" test -x "$bin"
require "python3 with cryptography and yaml" python3 -c 'import cryptography, yaml'

ns=$(new_namespace recovery)
start_standin "$ns"

# Let's Encrypt's answer while its service is down (an ACME serverInternal problem document)
outage_msg='Failed to finalize Order: 500 urn:ietf:params:acme:error:serverInternal: The service is down for maintenance'
require "create the issuer" kubectl_admin apply -f - <<EOF
apiVersion: cert-manager.io/v1
kind: Issuer
metadata: {name: acme, namespace: $ns}
spec: {ca: {secretName: acme-ca}}
EOF

cert_yaml() { # NAME [annotations flow map]
	cat <<EOF
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: $1, namespace: $ns, annotations: ${2:-{\}}}
spec:
  secretName: $1-tls
  issuerRef: {name: acme, kind: Issuer}
  dnsNames: [$1.recovery.test]
  duration: 1h
  renewBefore: 59m
EOF
}
# renewal a minute after issue; a failure then backs off an hour, past notAfter
require "create the certificate" kubectl_admin apply -f - <<<"$(cert_yaml shop '{certcast.io/mode: enforce}')"

cert() { kubectl_admin -n "$ns" get certificate "$1" -o json; }
revision_is() { cert "$1" | jq -e --argjson r "$2" '.status.revision == $r' >/dev/null; }
wait_for "shop is issued" 30 revision_is shop 1
require "the CA goes down" kubectl_admin -n "$ns" annotate issuer acme \
	"standin.certcast.io/fail=Failed|$outage_msg"
failed_once() { cert "$1" | jq -e '(.status.failedIssuanceAttempts // 0) >= 1' >/dev/null; }
wait_for "shop's renewal fails" 120 failed_once shop

port=$(free_port)
start_bg ctl env KUBECONFIG="$CERTCAST_KUBECONFIG" "$bin" controller --mode enforce \
	--http-addr "127.0.0.1:$port" --namespace "$ns" --resync-period 10s \
	--cert-manager-metrics-port 0 --ari=false
wait_for "controller is ready" 30 curl -fsS --max-time 5 "http://127.0.0.1:$port/readyz"

annot() { cert "$1" | jq -r --arg k "$2" '.metadata.annotations[$k] // ""'; }
events_of() { certcast_events "$ns" "$1"; }
has_event() { has_certcast_event "$ns" "$1" "$2"; }
risk_of() { # NAME -> the risk certcast publishes for it
	curl -fsS "http://127.0.0.1:$port/metrics" |
		awk -v n="name=\"$1\"" '/^certcast_certificate_risk\{/ && index($0, n) {print $2}'
}

# --- the outage is on: certcast warns and does not reissue --------------------------------------
wait_for "shop: RiskRaised while the CA is down" 40 has_event shop RiskRaised
assert_eq "shop: risk level critical during the outage" critical "$(annot shop certcast.io/risk-level)"
xc=$("$bin" explain "$ns/shop" --controller "http://127.0.0.1:$port" 2>&1)
assert_contains "shop: explain names the failure's class" "$xc" ca-unavailable
# another certificate of the issuer meets the outage too: the evidence says it is still on
require "a second certificate while the CA is down" kubectl_admin apply -f - <<<"$(cert_yaml early)"
early_failed() { kubectl_admin -n "$ns" get certificaterequests -o json |
	jq -e '[.items[] | select(.metadata.annotations["cert-manager.io/certificate-name"]=="early") | .status.conditions[]? | select(.type=="Ready" and .reason=="Failed")] | length >= 1' >/dev/null; }
wait_for "early's first issuance fails" 60 early_failed
# two resyncs with that evidence: still no reissue (it would meet the same outage)
sleep 22
assert_not_contains "shop: no reissue while the CA is down" "$(events_of shop)" ReissueTriggered
assert_eq "shop: no last-action while the CA is down" "" "$(annot shop certcast.io/last-action)"
assert_eq "shop: still in cert-manager's backoff" 1 "$(cert shop | jq -r '.status.failedIssuanceAttempts // 0')"

# --- the CA is back: issued for four new certificates, then certcast reissues shop ---------------
require "the CA is back" kubectl_admin -n "$ns" annotate issuer acme standin.certcast.io/fail-
for i in 1 2 3 4; do
	require "new certificate peer-$i" kubectl_admin apply -f - <<<"$(cert_yaml "peer-$i")"
done
for i in 1 2 3 4; do wait_for "peer-$i is issued" 60 revision_is "peer-$i" 1; done
wait_for "shop: ReissueTriggered once the CA issues again" 60 has_event shop ReissueTriggered
assert_match "shop: last-action records the reissue" "$(annot shop certcast.io/last-action)" '^ReissueTriggered [0-9T:-]+Z: '
renewed() { cert shop | jq -e '.status.revision >= 2 and (.status.failedIssuanceAttempts // 0) == 0' >/dev/null; }
wait_for "shop: renewed long before cert-manager's 1h backoff would end" 60 renewed
low_risk() { [ "$(annot shop certcast.io/risk-level)" != critical ] && [ "$(annot shop certcast.io/risk-level)" != high ]; }
wait_for "shop: risk level falls after the renewal" 60 low_risk
check "shop: RiskCleared Event" has_event shop RiskCleared
assert_eq "shop: spec untouched by the reissue" "acme 59m" "$(cert shop | jq -r '"\(.spec.issuerRef.name) \(.spec.renewBefore)"')"
r=$(risk_of shop)
check "shop: the published risk is low again ($r)" awk -v r="$r" 'BEGIN { exit !(r != "" && r + 0 < 0.5) }'

lib_finish
