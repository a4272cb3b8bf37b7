#!/usr/bin/env bash
# httpAuth: kubernetes against the real API server: service-account tokens from `kubectl create
# token` are authenticated with TokenReview and authorized with SubjectAccessReview (RBAC
# nonResourceURLs). No token or a bad one: 401 with WWW-Authenticate: Bearer; a valid token
# without the right: 403 naming the user and the path; with a ClusterRole for /metrics: 200 on
# /metrics and still 403 on /status; the chart's reader ClusterRole opens /status, /explain and
# the live page, whose WebSocket (/live) is let in only for a token that may get it. /healthz and
# /readyz need no token. An API server that cannot answer gives 503. The controller runs as the
# test environment's certcast user, which has the chart's RBAC with httpAuth: kubernetes; no
# token ever reaches its log.
. "$(dirname "$0")/lib.sh"

bin=$(certcast_bin)
require "certcast binary is built" test -x "$bin"

ns=$(new_namespace httpauth)
now=$(date -u +%s)
require "a certificate to explain" \
	add_certificate "$ns" web $((now - 10 * 86400)) $((now + 80 * 86400))

# Two service accounts; no controller-manager runs here, so `kubectl create token` signs their
# tokens with the API server's own key (the TokenRequest API).
require "service account plain" kubectl_admin -n "$ns" create serviceaccount plain
require "service account reader" kubectl_admin -n "$ns" create serviceaccount reader
token() { kubectl_admin -n "$ns" create token "$1" --duration 10m; }
plain_tok=$(token plain)
require "a token for plain" test -n "$plain_tok"

port=$(free_port)
url=http://127.0.0.1:$port
start_bg ctl env KUBECONFIG="$CERTCAST_KUBECONFIG" "$bin" controller --http-addr "127.0.0.1:$port" \
	--namespace "$ns" --http-auth kubernetes --log-level debug
wait_for "/readyz answers 200 without a token" 60 curl -fsS "$url/readyz"

# code PATH [TOKEN]: the HTTP status; the body in $TEST_TMP/body, the head in $TEST_TMP/head.
code() {
	local auth=()
	[ $# -lt 2 ] || auth=(-H "Authorization: Bearer $2")
	curl -sS --max-time 20 -D "$TEST_TMP/head" -o "$TEST_TMP/body" -w '%{http_code}' \
		"${auth[@]}" "$url$1"
}
body() { cat "$TEST_TMP/body"; }

assert_eq "/healthz needs no token" 200 "$(code /healthz)"
assert_eq "/metrics without a token is 401" 401 "$(code /metrics)"
assert_match "with WWW-Authenticate: Bearer" "$(cat "$TEST_TMP/head")" \
	'[Ww][Ww][Ww]-[Aa]uthenticate: Bearer'
assert_eq "/ without a token is 401" 401 "$(code /)"
assert_eq "a garbage token is 401" 401 "$(code /metrics not-a-real-token)"
assert_contains "and the body says the token is not valid" "$(body)" "the token is not valid"
assert_eq "Basic credentials are 401" 401 \
	"$(curl -sS -o /dev/null -w '%{http_code}' -u a:b "$url/metrics")"

assert_eq "a valid token without RBAC is 403" 403 "$(code /metrics "$plain_tok")"
assert_contains "the 403 names the user and the path" "$(body)" \
	"user \"system:serviceaccount:$ns:plain\" may not get path \"/metrics\""
assert_not_contains "and never the token" "$(body)" "$plain_tok"

# A ClusterRole for /metrics only, bound to plain. A fresh token: the old one's refusal is cached
# for 30 s (by design: a new binding takes effect within that).
kubectl_admin apply -f - >/dev/null <<EOF
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: $ns-metrics}
rules: [{nonResourceURLs: ["/metrics"], verbs: ["get"]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: $ns-metrics}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: $ns-metrics}
subjects: [{kind: ServiceAccount, name: plain, namespace: $ns}]
EOF
remember_cluster_object clusterrole "$ns-metrics"
remember_cluster_object clusterrolebinding "$ns-metrics"
metrics_tok=$(token plain)
wait_for "with a ClusterRole for /metrics: 200 on /metrics" 20 \
	test "$(code /metrics "$metrics_tok")" = 200
assert_contains "the scrape is certcast's metrics" "$(body)" \
	"# TYPE certcast_http_auth_total counter"
assert_eq "and still 403 on /status" 403 "$(code /status "$metrics_tok")"
assert_eq "and 403 on /explain" 403 "$(code "/explain/$ns/web" "$metrics_tok")"
assert_eq "/healthz open with a token too" 200 "$(code /healthz "$metrics_tok")"

# The chart's reader ClusterRole (httpAuth: kubernetes), bound to reader.
helm template t "$CERTCAST_ROOT/charts/certcast" --set httpAuth=kubernetes \
	--show-only templates/rbac.yaml |
	python3 -c '
import sys, yaml
for d in yaml.safe_load_all(sys.stdin):
    if d and d["kind"] == "ClusterRole" and d["metadata"]["name"] == "t-certcast-reader":
        d["metadata"]["name"] = sys.argv[1]
        yaml.safe_dump(d, sys.stdout)
' "$ns-reader" >"$TEST_TMP/reader.yaml"
require "the chart renders a reader ClusterRole" grep -q nonResourceURLs "$TEST_TMP/reader.yaml"
require "it applies" kubectl_admin apply -f "$TEST_TMP/reader.yaml"
require "bound to reader" kubectl_admin create clusterrolebinding "$ns-reader" \
	--clusterrole "$ns-reader" --serviceaccount "$ns:reader"
remember_cluster_object clusterrole "$ns-reader"
remember_cluster_object clusterrolebinding "$ns-reader"
reader_tok=$(token reader)
wait_for "the reader gets /status" 20 test "$(code "/status?namespace=$ns" "$reader_tok")" = 200
assert_eq "its rows" web "$(jq -r ".items[0].name" "$TEST_TMP/body")"
assert_eq "the reader gets /explain/NS/NAME" 200 "$(code "/explain/$ns/web" "$reader_tok")"
assert_eq "the first line is explain's header" "Certificate $ns/web" "$(head -n 1 "$TEST_TMP/body")"
assert_eq "the reader gets the live page" 200 "$(code / "$reader_tok")"

# The CLI: --controller-token-file sends the token; without it the 401 says what to do.
printf '%s\n' "$reader_tok" >"$TEST_TMP/reader.token"
rc=0
out=$(KUBECONFIG=$CERTCAST_KUBECONFIG "$bin" status -n "$ns" --controller "$url" \
	--controller-token-file "$TEST_TMP/reader.token" 2>&1) || rc=$?
assert_eq "status --controller --controller-token-file exits 0" 0 "$rc"
assert_match "and prints the controller's row" "$out" "(^|$(printf '\n'))web "
rc=0
out=$("$bin" explain "$ns/web" --controller "$url" \
	--controller-token-file "$TEST_TMP/reader.token" 2>&1) || rc=$?
assert_eq "explain --controller --controller-token-file exits 0" 0 "$rc"
assert_contains "and prints the explanation" "$out" "Certificate $ns/web"
rc=0
out=$(KUBECONFIG=$CERTCAST_KUBECONFIG "$bin" status -n "$ns" --controller "$url" 2>&1) || rc=$?
assert_eq "status --controller without a token exits 1" 1 "$rc"
assert_contains "and says how to give one" "$out" "give one with --controller-token-file FILE"
printf 'garbage\n' >"$TEST_TMP/bad.token"
rc=0
out=$("$bin" explain "$ns/web" --controller "$url" --controller-token-file "$TEST_TMP/bad.token" \
	2>&1) || rc=$?
assert_eq "explain with a token the API server refuses exits 1" 1 "$rc"
assert_contains "and says the token was not accepted" "$out" "did not accept the token"

# /live: an upgrade is decided from the cache, which serving / filled for /live.
ws() { # [TOKEN]: /live's answer, or "hung up"
	local c rc=0 auth=()
	[ $# -lt 1 ] || auth=(-H "Authorization: Bearer $1")
	c=$(curl -sS --http1.1 --max-time 3 -o /dev/null -w '%{http_code}' \
		-H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' \
		-H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' \
		-H 'Sec-WebSocket-Protocol: certcast-live' \
		"${auth[@]}" "$url/live" 2>/dev/null) || rc=$?
	case $c:$rc in
	000:52 | 000:56) echo "hung up" ;;
	*) echo "$c (curl $rc)" ;;
	esac
}
assert_match "/live with the reader's token: upgraded" "$(ws "$reader_tok")" '^101 '
assert_match "/live without a token: refused" "$(ws)" '^(hung up|4[0-9][0-9] )'
assert_match "/live with a garbage token: refused" "$(ws garbage)" '^(hung up|4[0-9][0-9] )'
code / "$metrics_tok" >/dev/null # 403, and /live reviewed along
assert_match "/live with the metrics-only token: refused" "$(ws "$metrics_tok")" \
	'^(hung up|4[0-9][0-9] )'

# The outcomes, counted; the scrape passes promtool.
curl -fsS -H "Authorization: Bearer $metrics_tok" "$url/metrics" >"$TEST_TMP/metrics.txt"
m=$(cat "$TEST_TMP/metrics.txt")
for r in allowed denied unauthenticated; do
	assert_match "certcast_http_auth_total counts $r" "$m" \
		"certcast_http_auth_total\\{result=\"$r\"\\} [1-9]"
done
assert_match "and has an error series" "$m" 'certcast_http_auth_total\{result="error"\} 0'
check "promtool check metrics accepts /metrics" \
	bash -c "promtool check metrics <'$TEST_TMP/metrics.txt'"

# --- an API server that cannot answer: 503 -------------------------------------------------
dead=$(free_port)
sed -E "s#server: .*#server: https://127.0.0.1:$dead#" "$CERTCAST_KUBECONFIG" \
	>"$TEST_TMP/dead.kubeconfig"
port2=$(free_port)
start_bg deadapi env KUBECONFIG="$TEST_TMP/dead.kubeconfig" "$bin" controller \
	--http-addr "127.0.0.1:$port2" --namespace "$ns" --http-auth kubernetes
wait_for "the second controller serves /healthz" 30 curl -fsS "http://127.0.0.1:$port2/healthz"
c=$(curl -sS --max-time 30 -o "$TEST_TMP/body" -w '%{http_code}' \
	-H "Authorization: Bearer $reader_tok" "http://127.0.0.1:$port2/metrics")
assert_eq "no API server to ask: 503" 503 "$c"
assert_contains "and says why" "$(body)" "the API server did not answer the TokenReview"
stop_bg deadapi || true
assert_contains "the failure is logged" "$(cat "$(bg_log deadapi)")" \
	"HTTP auth: TokenReview for /metrics"

# --- with HTTPS: the reviews' deferred answers go out over TLS --------------------------------
pki=$TEST_TMP/pki
mkdir -p "$pki"
require "a CA" openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$pki/ca.key" -out "$pki/ca.crt" -subj /CN=auth-ca -days 2
require "a serving key" openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$pki/tls.key" -out "$pki/tls.csr" -subj /CN=certcast
printf 'subjectAltName=IP:127.0.0.1\n' >"$pki/ext"
require "its certificate" openssl x509 -req -in "$pki/tls.csr" -CA "$pki/ca.crt" \
	-CAkey "$pki/ca.key" -set_serial 7 -days 2 -extfile "$pki/ext" -out "$pki/tls.crt"
port3=$(free_port)
surl=https://127.0.0.1:$port3
start_bg tlsctl env KUBECONFIG="$CERTCAST_KUBECONFIG" "$bin" controller \
	--http-addr "127.0.0.1:$port3" --namespace "$ns" --http-auth kubernetes \
	--http-tls-cert "$pki/tls.crt" --http-tls-key "$pki/tls.key"
wait_for "the HTTPS controller serves /healthz" 30 \
	curl -fsS --cacert "$pki/ca.crt" "$surl/healthz"
scode() { # PATH [TOKEN]: the HTTP status over https
	local auth=()
	[ $# -lt 2 ] || auth=(-H "Authorization: Bearer $2")
	curl -sS --cacert "$pki/ca.crt" --max-time 20 -o "$TEST_TMP/body" -w '%{http_code}' \
		"${auth[@]}" "$surl$1"
}
assert_eq "https, no token: 401" 401 "$(scode /metrics)"
wait_for "https, the reader gets /status" 30 \
	test "$(scode "/status?namespace=$ns" "$reader_tok")" = 200
assert_eq "https, the metrics-only token: 403 on /status" 403 "$(scode /status "$metrics_tok")"
rc=0
out=$(KUBECONFIG=$CERTCAST_KUBECONFIG "$bin" status -n "$ns" --controller "$surl" \
	--controller-ca "$pki/ca.crt" --controller-token-file "$TEST_TMP/reader.token" 2>&1) ||
	rc=$?
assert_eq "status over https with --controller-ca and a token exits 0" 0 "$rc"
assert_match "and prints the row" "$out" "(^|$(printf '\n'))web "
stop_bg tlsctl || true

# --- no token in any log -------------------------------------------------------------------
stop_bg ctl || true
logs=$(cat "$(bg_log ctl)" "$(bg_log deadapi)" "$(bg_log tlsctl)")
assert_contains "the controller logged its auth mode" "$logs" "HTTP auth kubernetes"
assert_contains "and how it works" "$logs" "HTTP authentication: kubernetes"
leaked=""
for t in "$plain_tok" "$metrics_tok" "$reader_tok"; do
	# the whole token, and its signature alone (the part a log would most likely cut out)
	case $logs in *"$t"* | *"${t##*.}"*) leaked+="${t:0:12}... " ;; esac
done
assert_eq "no token appears in certcast's logs" "" "$leaked"
assert_not_contains "nor an Authorization header" "$logs" "Bearer ey"
