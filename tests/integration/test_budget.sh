#!/usr/bin/env bash
# ACME budgets through `certcast status -o json` and `certcast explain` against a real
# kube-apiserver: an ACME Issuer whose CertificateRequests hold real certificates (made here
# with openssl, each for its own names) for one registered domain, and Certificates on it. The
# counts status and explain report must be the ones created; a certificate on a non-ACME issuer
# has no budget.
. "$(dirname "$0")/lib.sh"

bin=$(certcast_bin)
require "certcast binary is built" test -x "$bin"
require "the public suffix list is installed" test -r /usr/share/publicsuffix/public_suffix_list.dat

ns=$(new_namespace budget)
now=$(date -u +%s)
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
nb=$(iso $((now - 86400)))
na=$(iso $((now + 89 * 86400)))

require "create the issuers and certificates" kubectl_admin apply -f - <<EOF
apiVersion: cert-manager.io/v1
kind: Issuer
metadata: {name: le, namespace: $ns}
spec:
  acme:
    server: https://acme-v02.api.letsencrypt.org/directory
    privateKeySecretRef: {name: le-account}
    solvers: [{http01: {ingress: {ingressClassName: nginx}}}]
---
apiVersion: cert-manager.io/v1
kind: Issuer
metadata: {name: self, namespace: $ns}
spec: {selfSigned: {}}
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: shop, namespace: $ns}
spec: {secretName: shop, dnsNames: [shop.example.com], issuerRef: {name: le, kind: Issuer}}
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: fresh, namespace: $ns}
spec: {secretName: fresh, dnsNames: [Fresh.Example.COM], issuerRef: {name: le, kind: Issuer}}
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: internal, namespace: $ns}
spec: {secretName: internal, dnsNames: [internal.example.com], issuerRef: {name: self, kind: Issuer}}
EOF
for c in shop fresh internal; do
	require "status of $c" kubectl_admin -n "$ns" patch certificate "$c" --subresource=status \
		--type=merge -p "{\"status\":{\"notBefore\":\"$nb\",\"notAfter\":\"$na\",
  \"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"Ready\",\"message\":\"ok\",\"lastTransitionTime\":\"$nb\"}]}}"
done

# A request of issuer le holding a certificate for $2 (a subjectAltName value).
issued() {
	local name=$1 san=$2 pem
	pem=$(openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null \
		-subj "/CN=leaf" -addext "subjectAltName=$san" -days 90 2>/dev/null) || return 1
	kubectl_admin apply -f - >/dev/null <<EOF || return 1
apiVersion: cert-manager.io/v1
kind: CertificateRequest
metadata: {name: $name, namespace: $ns}
spec:
  request: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURSBSRVFVRVNULS0tLS0K
  issuerRef: {name: le, kind: Issuer}
EOF
	kubectl_admin -n "$ns" patch certificaterequest "$name" --subresource=status --type=merge \
		-p "{\"status\":{\"certificate\":\"$(printf '%s\n' "$pem" | base64 -w0)\"}}" >/dev/null
}
for i in $(seq 1 12); do
	require "request host$i holds its certificate" issued "host$i" "DNS:host$i.example.com"
done
require "request shop-1 holds shop's certificate" issued shop-1 "DNS:shop.example.com"
require "request shop-2 renews it" issued shop-2 "DNS:shop.example.com"

as_certcast() { KUBECONFIG=$CERTCAST_KUBECONFIG "$bin" "$@"; }

rc=0
out=$(as_certcast status -n "$ns" -o json 2>"$TEST_TMP/err") || rc=$?
assert_eq "status exits 0" 0 "$rc"
item() { jq -c --arg n "$1" '.items[] | select(.name == $n)' <<<"$out"; }
shop=$(item shop)
assert_eq "shop: registered domain" example.com "$(jq -r .acmeBudget.registeredDomain <<<"$shop")"
assert_eq "shop: new certificates of example.com (the renewal is exempt)" "13 50" \
	"$(jq -r '.acmeBudget.newCertificates | "\(.used) \(.limit)"' <<<"$shop")"
assert_eq "shop: its exact set, twice" "2 5" \
	"$(jq -r '.acmeBudget.exactSet | "\(.used) \(.limit)"' <<<"$shop")"
assert_eq "shop: the window" 168h0m0s "$(jq -r .acmeBudget.window <<<"$shop")"
check "shop: a refill time within the next 7 days" jq -e --arg lo "$(iso "$now")" \
	--arg hi "$(iso $((now + 7 * 86400 + 60)))" '.acmeBudget.refill > $lo and .acmeBudget.refill <= $hi' <<<"$shop"
fresh=$(item fresh)
assert_eq "fresh: same domain, never issued" "13 0" \
	"$(jq -r '.acmeBudget | "\(.newCertificates.used) \(.exactSet.used)"' <<<"$fresh")"
assert_eq "internal: not ACME, no budget" null "$(jq -c .acmeBudget <<<"$(item internal)")"

rc=0
xp=$(as_certcast explain "$ns/shop" 2>"$TEST_TMP/err") || rc=$?
assert_eq "explain exits 0" 0 "$rc"
assert_contains "explain gives the domain's count" "$xp" \
	"ACME budget of example.com: 13 of 50 new certificates in 168h (renewals exempt), 2 of 5 for this exact set of names, issued before: a renewal"
xp=$(as_certcast explain "$ns/internal" 2>"$TEST_TMP/err") || true
assert_not_contains "explain of a non-ACME certificate has no budget" "$xp" "ACME budget"

