#!/usr/bin/env bash
# ACME Renewal Information (RFC 9773) against the real pebble (built by hack/deps.sh), on
# 127.0.0.1 with its own TLS certificate: certificates issued by pebble to a small ACME client
# (acme_issue.py) are put into CertificateRequests, and the controller asks pebble's renewalInfo
# about them, trusting pebble only through the ClusterIssuer's caBundle. Checked from outside:
#   - certcast_ari_requests_total counts ok (pebble's own window), malformed (a garbage answer
#     set through pebble's management API), notfound (a certificate pebble did not issue);
#   - an issuer with skipTLSVerify is not asked, and says so in the log;
#   - after pebble is told (management API) that a certificate must be renewed now, a restarted
#     controller asks again and that certificate's certcast_certificate_risk rises, while the
#     controller stays ready;
#   - --ari=false: no calls at all.
. "$(dirname "$0")/lib.sh"

bin=$(certcast_bin)
require "certcast binary is built" test -x "$bin"
require "python3 with cryptography" python3 -c 'import cryptography'
pebble=$("$CERTCAST_ROOT/hack/deps.sh" --bin-dir)/pebble
require "pebble is built (hack/deps.sh)" test -x "$pebble"

# --- pebble's TLS certificate: the one its module ships, else one made here --------------------
. "$CERTCAST_ROOT/hack/versions.env"
certs=$(go env GOMODCACHE 2>/dev/null)/github.com/letsencrypt/pebble/v2@$PEBBLE_VERSION/test/certs
pki=$TEST_TMP/pki
mkdir -p "$pki"
if [ -f "$certs/localhost/cert.pem" ]; then
	cp "$certs/pebble.minica.pem" "$pki/ca.pem"
	cp "$certs/localhost/cert.pem" "$pki/tls.pem"
	cp "$certs/localhost/key.pem" "$pki/tls.key"
else
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj /CN=ari-test-ca -keyout "$pki/ca.key" -out "$pki/ca.pem" 2>/dev/null
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
		-keyout "$pki/tls.key" -out "$pki/tls.csr" 2>/dev/null
	printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$pki/ext"
	openssl x509 -req -in "$pki/tls.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca.key" -days 2 \
		-extfile "$pki/ext" -out "$pki/tls.pem" 2>/dev/null
fi
require "pebble's TLS certificate ready" test -s "$pki/tls.pem"

pport=$(free_port)
mport=$(free_port)
printf '%s\n' "{\"pebble\": {\"listenAddress\": \"127.0.0.1:$pport\",
  \"managementListenAddress\": \"127.0.0.1:$mport\",
  \"certificate\": \"$pki/tls.pem\", \"privateKey\": \"$pki/tls.key\",
  \"httpPort\": 5002, \"tlsPort\": 5001, \"ocspResponderURL\": \"\",
  \"externalAccountBindingRequired\": false, \"retryAfter\": {\"authz\": 1, \"order\": 1},
  \"keyAlgorithm\": \"ecdsa\",
  \"profiles\": {\"default\": {\"description\": \"90 days\", \"validityPeriod\": 7776000}}}}" \
	>"$TEST_TMP/pebble.json"
# always-valid challenges (nothing serves http-01 here); no random bad-nonce rejections
start_bg pebble env PEBBLE_VA_ALWAYS_VALID=1 PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 \
	"$pebble" -config "$TEST_TMP/pebble.json"
dir=https://127.0.0.1:$pport/dir
wait_for "pebble serves its directory over TLS" 30 curl -fsS --cacert "$pki/ca.pem" "$dir"
assert_contains "pebble's directory offers renewalInfo" \
	"$(curl -fsS --cacert "$pki/ca.pem" "$dir")" '"renewalInfo"'

issue() {
	python3 "$CERTCAST_ROOT/tests/integration/acme_issue.py" "$dir" "$pki/ca.pem" \
		"$TEST_TMP/$1.pem" "$1.example.com"
}
require "pebble issues web-a" issue web-a
require "pebble issues web-b" issue web-b
require "pebble issues web-d" issue web-d
# fake_cert NAME SKID_HEX: a certificate pebble never issued, from a CA made here whose subject
# key identifier is SKID_HEX (so the certificate's authority key identifier is that)
fake_cert() {
	local name=$1 skid=$2
	printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=keyCertSign\nsubjectKeyIdentifier=%s\n' \
		"$skid" >"$pki/$name-ca.ext"
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$name-ca" \
		-keyout "$pki/$name-ca.key" -out "$pki/$name-ca.csr" 2>/dev/null &&
		openssl x509 -req -in "$pki/$name-ca.csr" -signkey "$pki/$name-ca.key" -days 2 \
			-extfile "$pki/$name-ca.ext" -out "$pki/$name-ca.pem" 2>/dev/null &&
		openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-subj "/CN=$name.example.com" -keyout "$pki/$name.key" -out "$pki/$name.csr" \
			2>/dev/null &&
		printf 'authorityKeyIdentifier=keyid\nsubjectAltName=DNS:%s.example.com\n' "$name" \
			>"$pki/$name.ext" &&
		openssl x509 -req -in "$pki/$name.csr" -CA "$pki/$name-ca.pem" -CAkey "$pki/$name-ca.key" \
			-days 30 -extfile "$pki/$name.ext" -out "$TEST_TMP/$name.pem" 2>/dev/null
}
# pebble's issuing CA's key identifier, as its certificates carry it
pebble_aki=$(openssl x509 -in "$TEST_TMP/web-a.pem" -noout -ext authorityKeyIdentifier |
	tr -d ' :\n' | sed 's/^X509v3AuthorityKeyIdentifier//; s/^keyid//')
require "pebble's authority key identifier" test -n "$pebble_aki"
# web-c: pebble's key identifier, a serial pebble never issued (pebble: 404)
require "web-c: pebble's key identifier, an unknown serial" fake_cert web-c "$pebble_aki"
# web-e: another CA altogether (pebble refuses the identifier: 400)
require "web-e: another CA's certificate" fake_cert web-e hash

# set_ari CERT_PEM_FILE TEXT: pebble's management API answers ARI for that certificate with TEXT
set_ari() {
	jq -n --rawfile c "$1" --arg r "$2" '{Certificate: $c, ARIResponse: $r}' |
		curl -fsS --cacert "$pki/ca.pem" -X POST --data-binary @- \
			"https://127.0.0.1:$mport/set-renewal-info/"
}
require "pebble: web-b's ARI answer is garbage" set_ari "$TEST_TMP/web-b.pem" \
	'{"suggestedWindow": "soon"}'

# --- issuers, Certificates, CertificateRequests --------------------------------------------------
ns=$(new_namespace ari)
issuer=ari-$(head -c 3 /dev/urandom | od -An -tx1 | tr -d ' \n')
b64() { base64 -w0 <"$1"; }
issuer_yaml() { # NAME EXTRA_ACME_FIELD
	printf '%s\n' "apiVersion: cert-manager.io/v1" "kind: ClusterIssuer" \
		"metadata: {name: $1}" "spec:" "  acme:" "    server: $dir" "    $2" \
		"    privateKeySecretRef: {name: $1-account}" \
		"    solvers: [{http01: {ingress: {ingressClassName: nginx}}}]"
}
if issuer_yaml "$issuer" "caBundle: $(b64 "$pki/ca.pem")" | kubectl_admin apply -f - >/dev/null; then
	pass "create the ACME ClusterIssuer trusting pebble via caBundle"
else
	fail "create the ACME ClusterIssuer"
fi
if issuer_yaml "$issuer-skip" "skipTLSVerify: true" | kubectl_admin apply -f - >/dev/null; then
	pass "create an ACME ClusterIssuer with skipTLSVerify"
else
	fail "create the skipTLSVerify ClusterIssuer"
fi

iso() { date -u -d "$1" +%Y-%m-%dT%H:%M:%SZ; }
# make_cert NAME ISSUER: a Certificate and its issued request carrying $TEST_TMP/NAME.pem
make_cert() {
	local name=$1 iss=$2 nb na
	nb=$(iso "$(openssl x509 -in "$TEST_TMP/$name.pem" -noout -startdate | cut -d= -f2)")
	na=$(iso "$(openssl x509 -in "$TEST_TMP/$name.pem" -noout -enddate | cut -d= -f2)")
	printf '%s\n' "apiVersion: cert-manager.io/v1" "kind: Certificate" \
		"metadata: {name: $name, namespace: $ns}" \
		"spec: {secretName: $name, dnsNames: [$name.example.com], issuerRef: {name: $iss, kind: ClusterIssuer}}" \
		"---" "apiVersion: cert-manager.io/v1" "kind: CertificateRequest" "metadata:" \
		"  name: $name-1" "  namespace: $ns" \
		"  annotations: {cert-manager.io/certificate-name: $name, cert-manager.io/certificate-revision: \"1\"}" \
		"spec:" "  request: $(printf 'not a real CSR' | base64 -w0)" \
		"  issuerRef: {name: $iss, kind: ClusterIssuer}" | kubectl_admin apply -f - >/dev/null ||
		return 1
	kubectl_admin -n "$ns" patch certificate "$name" --subresource=status --type=merge -p \
		"{\"status\":{\"notBefore\":\"$nb\",\"notAfter\":\"$na\",\"conditions\":[{\"type\":\"Ready\",
		\"status\":\"True\",\"reason\":\"Ready\",\"message\":\"up to date\",\"lastTransitionTime\":\"$nb\"}]}}" \
		>/dev/null || return 1
	kubectl_admin -n "$ns" patch certificaterequest "$name-1" --subresource=status --type=merge -p \
		"{\"status\":{\"certificate\":\"$(b64 "$TEST_TMP/$name.pem")\",\"conditions\":[
		{\"type\":\"Approved\",\"status\":\"True\",\"reason\":\"cert-manager.io\",\"message\":\"ok\",\"lastTransitionTime\":\"$nb\"},
		{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"Issued\",\"message\":\"issued\",\"lastTransitionTime\":\"$nb\"}]}}" \
		>/dev/null
}
for c in web-a web-b web-c web-e; do
	if make_cert "$c" "$issuer"; then pass "create $c with its issued request"; else fail "create $c"; fi
done
if make_cert web-d "$issuer-skip"; then pass "create web-d on the skipTLSVerify issuer"; else fail "create web-d"; fi

# --- the controller ------------------------------------------------------------------------------
port=$(free_port)
url=http://127.0.0.1:$port
start_ctl() { # NAME [FLAGS...]
	local name=$1
	shift
	start_bg "$name" env KUBECONFIG="$CERTCAST_KUBECONFIG" "$bin" controller \
		--http-addr "127.0.0.1:$port" --log-level debug --namespace "$ns" "$@"
	wait_for "$name: /readyz answers 200" 60 curl -fsS "$url/readyz"
}
scrape() { curl -fsS "$url/metrics"; }
value_of() { scrape | awk -v k="$1" 'index($0, k " ") == 1 { print $2 }'; }
calls() { v=$(value_of "certcast_ari_requests_total{result=\"$1\"}"); printf '%s\n' "${v:-0}"; }
calls_reach() { awk -v a="$(calls "$1")" -v b="$2" 'BEGIN { exit !(a + 0 >= b + 0) }'; }
risk_key() {
	printf 'certcast_certificate_risk{namespace="%s",name="%s",issuer_kind="ClusterIssuer",issuer_name="%s"}' \
		"$ns" "$1" "$issuer"
}
log_has() { grep -qF "$2" "$(bg_log "$1")"; }

start_ctl ctl1
wait_for "pebble's window for web-a: an ok call" 60 calls_reach ok 1
wait_for "web-b's garbage answer: a malformed call" 30 calls_reach malformed 1
wait_for "web-c, a serial pebble never issued: a notfound call" 30 calls_reach notfound 1
wait_for "web-e, another CA's certificate: pebble refuses it, an error call" 30 calls_reach error 1
assert_eq "only web-e's call failed outright" 1 "$(calls error)"
wait_for "the error is logged with pebble's status" 10 log_has ctl1 "Certificate $ns/web-e: renewal information error"
assert_eq "only web-a got a window" 1 "$(calls ok)"
wait_for "the malformed answer is logged with the field" 10 log_has ctl1 "suggestedWindow: not an object"
wait_for "the skipTLSVerify issuer is logged as not asked" 10 log_has ctl1 "$issuer-skip sets skipTLSVerify"
wait_for "pebble's window for web-a is logged" 10 log_has ctl1 "Certificate $ns/web-a: ACME renewal window"
scrape >"$TEST_TMP/metrics.txt"
check "promtool check metrics accepts /metrics with the ARI counter" \
	bash -c "promtool check metrics <'$TEST_TMP/metrics.txt'"
have_risk() { [ -n "$(value_of "$(risk_key web-a)")" ]; }
wait_for "web-a has a risk" 60 have_risk
calm=$(value_of "$(risk_key web-a)")
pass "web-a's risk with pebble's routine window: $calm"
rc=0
stop_bg ctl1 || rc=$?
assert_eq "ctl1 stops cleanly" 0 "$rc"

# pebble now says web-a must be renewed at once (as before a mass revocation): a window open
# since just after web-a was issued (scoring reads a window that opened before the certificate
# existed as meant for an older one) and closing tomorrow
start=$(iso "$(openssl x509 -in "$TEST_TMP/web-a.pem" -noout -startdate | cut -d= -f2) + 1 second")
end=$(iso '+1 day')
require "pebble: web-a's window is already open and closes tomorrow" set_ari "$TEST_TMP/web-a.pem" \
	"{\"suggestedWindow\":{\"start\":\"$start\",\"end\":\"$end\"},\"explanationURL\":\"https://pebble.example/incident\"}"
start_ctl ctl2
wait_for "ctl2 asks pebble again (ok)" 60 calls_reach ok 1
rises() {
	awk -v r="$(value_of "$(risk_key web-a)")" -v c="$calm" 'BEGIN { exit !(r != "" && r > c + 0.05) }'
}
wait_for "web-a's risk rises with the urgent window" 60 rises
pass "web-a's risk: $calm -> $(value_of "$(risk_key web-a)")"
check "ctl2 is still ready" curl -fsS "$url/readyz"
check "the explanation URL reaches the log" log_has ctl2 "https://pebble.example/incident"
rc=0
stop_bg ctl2 || rc=$?
assert_eq "ctl2 stops cleanly" 0 "$rc"

# --- ari off --------------------------------------------------------------------------------------
start_ctl ctl3 --ari=false
wait_for "ctl3 scores web-a" 60 have_risk
check "--ari=false is logged" log_has ctl3 "ACME renewal information (ARI) is off"
assert_eq "--ari=false: no ok calls" 0 "$(calls ok)"
assert_eq "--ari=false: no notfound calls" 0 "$(calls notfound)"
rc=0
stop_bg ctl3 || rc=$?
assert_eq "ctl3 stops cleanly" 0 "$rc"

stop_bg pebble || true
kubectl_admin delete clusterissuer "$issuer" "$issuer-skip" --wait=false >/dev/null 2>&1 || true
