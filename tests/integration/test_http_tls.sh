#!/usr/bin/env bash
# `certcast controller --http-tls-cert/--http-tls-key` against a real kube-apiserver: the HTTP
# endpoint speaks HTTPS only (TLS 1.2 or later) with a pair made here with the openssl CLI,
# curl trusting the CA reaches /healthz and /metrics, plain http:// and a client trusting
# another CA do not. The files sit in a folder laid out as kubelet lays out a Secret volume
# (tls.crt -> ..data/tls.crt, ..data -> ..VERSION), and a rotation that swaps ..data is served
# within the poll period (10 s); a bad pair is refused with a log line naming the file while the
# old pair stays served. `certcast status/explain --controller https://...` work with
# --controller-ca, and a real Prometheus scrapes the endpoint over https with tls_config.ca_file.
# A bad pair at start is a settings error: exit 2, naming the file, before the cluster is asked.
. "$(dirname "$0")/lib.sh"

bin=$(certcast_bin)
require "certcast binary is built" test -x "$bin"
require "openssl is installed" command -v openssl

pki=$TEST_TMP/pki
mkdir -p "$pki"
# A CA, and serving pairs for 127.0.0.1 it signs: NAME KEYALG SERIAL DAYS
mk_ca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$pki/$1.key" \
		-out "$pki/$1.crt" -subj "/CN=$1" -days 30 2>/dev/null
}
mk_pair() {
	local name=$1 alg=$2 serial=$3 days=$4
	mkdir -p "$pki/$name"
	if [ "$alg" = rsa ]; then
		openssl req -newkey rsa:2048 -nodes -keyout "$pki/$name/tls.key" \
			-out "$pki/$name/tls.csr" -subj /CN=certcast 2>/dev/null
	else
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-keyout "$pki/$name/tls.key" -out "$pki/$name/tls.csr" -subj /CN=certcast \
			2>/dev/null
	fi
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=critical,CA:FALSE\n' \
		>"$pki/$name/ext"
	openssl x509 -req -in "$pki/$name/tls.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" \
		-set_serial "$serial" -days "$days" -extfile "$pki/$name/ext" \
		-out "$pki/$name/tls.crt" 2>/dev/null
}
require "a CA" mk_ca ca
require "another CA" mk_ca other
require "pair v1 (EC)" mk_pair v1 ec 0x1001 20
require "pair v2 (RSA)" mk_pair v2 rsa 0x1002 25
require "pair v3 (a third, for its key)" mk_pair v3 ec 0x1003 20
# bad: v3's certificate with v1's key
mkdir -p "$pki/bad" && cp "$pki/v3/tls.crt" "$pki/bad/" && cp "$pki/v1/tls.key" "$pki/bad/"
# expired: a lifetime of 0 days ends when it is made (openssl 3.0 refuses a negative one)
require "an expired pair" mk_pair old ec 0x1004 0
not_after() { date -u -d "$(openssl x509 -noout -enddate -in "$1" | cut -d= -f2)" +%s; }

# kubelet's layout: the files are links through ..data, which is swapped in one rename.
vol=$TEST_TMP/tls
mkdir -p "$vol"
publish() {
	rm -rf "$vol/..$1"
	cp -r "$pki/$1" "$vol/..$1"
	ln -sfn "..$1" "$vol/..data_tmp"
	mv -T "$vol/..data_tmp" "$vol/..data"
}
publish v1
ln -sfn ..data/tls.crt "$vol/tls.crt"
ln -sfn ..data/tls.key "$vol/tls.key"

# --- refusals at start, before the cluster is asked -------------------------------------------
start_refused() {
	local rc=0 out
	out=$(KUBECONFIG=/nonexistent "$bin" controller --http-addr 127.0.0.1:0 "$@" 2>&1) || rc=$?
	printf '%s\n' "$out" >"$TEST_TMP/refused.txt"
	return "$rc"
}
said() { cat "$TEST_TMP/refused.txt"; }
rc=0; start_refused --http-tls-cert "$vol/tls.crt" || rc=$?
assert_eq "a certificate without a key exits 2" 2 "$rc"
assert_contains "and says both go together" "$(said)" "go together"
rc=0; start_refused --http-tls-cert "$pki/bad/tls.crt" --http-tls-key "$pki/bad/tls.key" || rc=$?
assert_eq "a key of another certificate exits 2" 2 "$rc"
assert_contains "naming the key file" "$(said)" \
	"key file $pki/bad/tls.key does not belong"
keyline=$(sed -n 2p "$pki/bad/tls.key")
assert_not_contains "never quoting the key" "$(said)" "$keyline"
rc=0; start_refused --http-tls-cert "$pki/old/tls.crt" --http-tls-key "$pki/old/tls.key" || rc=$?
assert_eq "an expired certificate exits 2" 2 "$rc"
assert_contains "naming the file and saying expired" "$(said)" \
	"$pki/old/tls.crt: the certificate expired"
rc=0; start_refused --http-tls-cert "$pki/v1/tls.csr" --http-tls-key "$pki/v1/tls.key" || rc=$?
assert_eq "a file that is no certificate exits 2" 2 "$rc"
assert_contains "naming it" "$(said)" "$pki/v1/tls.csr: no PEM certificate"
rc=0; start_refused --http-tls-cert "$pki/none.crt" --http-tls-key "$pki/v1/tls.key" || rc=$?
assert_eq "a missing file exits 2" 2 "$rc"
assert_contains "naming it" "$(said)" "cannot read certificate file $pki/none.crt"

# --- the controller over HTTPS ----------------------------------------------------------------
ns=$(new_namespace http-tls)
now=$(date -u +%s)
require "certificate web" add_certificate "$ns" web $((now - 10 * 86400)) $((now + 80 * 86400))
port=$(free_port)
url=https://127.0.0.1:$port
start_bg ctl env KUBECONFIG="$CERTCAST_KUBECONFIG" "$bin" controller --http-addr "127.0.0.1:$port" \
	--namespace "$ns" --http-tls-cert "$vol/tls.crt" --http-tls-key "$vol/tls.key"
tcurl() { curl -fsS --cacert "$pki/ca.crt" --noproxy '*' "$@"; }
wait_for "/readyz answers 200 over https with the CA" 60 tcurl "$url/readyz"
check "/healthz over https" tcurl "$url/healthz"
tcurl "$url/metrics" >"$TEST_TMP/metrics.txt"
check "/metrics over https" test -s "$TEST_TMP/metrics.txt"
prc=0; pout=$(promtool check metrics <"$TEST_TMP/metrics.txt" 2>&1) || prc=$?
assert_eq "promtool check metrics passes" 0 "$prc"
[ "$prc" = 0 ] || printf '%s\n' "$pout"
metric() { tcurl "$url/metrics" | awk -v k="$1" 'index($0, k " ") == 1 { print $2 }'; }
# a gauge as a whole number (the text format may write 1.7e+09)
metric_int() { metric "$1" | awk '{ printf "%d", $1 }'; }
exp_series=certcast_http_tls_certificate_expiry_timestamp_seconds
ok_series='certcast_http_tls_reloads_total{result="ok"}'
err_series='certcast_http_tls_reloads_total{result="error"}'
assert_eq "the expiry metric is v1's notAfter" "$(not_after "$pki/v1/tls.crt")" \
	"$(metric_int "$exp_series")"
assert_eq "no reloads yet" 0 "$(metric "$ok_series")"
check_fails "plain http:// is not served" curl -fsS --max-time 5 --noproxy '*' \
	"http://127.0.0.1:$port/healthz"
check_fails "a client trusting another CA is refused" curl -fsS --max-time 5 --noproxy '*' \
	--cacert "$pki/other.crt" "$url/healthz"
check_fails "TLS 1.1 is refused" curl -fsS --max-time 5 --noproxy '*' --cacert "$pki/ca.crt" \
	--tlsv1.1 --tls-max 1.1 --ciphers 'DEFAULT:@SECLEVEL=0' "$url/healthz"
check "TLS 1.2 is served" curl -fsS --max-time 5 --noproxy '*' --cacert "$pki/ca.crt" \
	--tls-max 1.2 "$url/healthz"

served_serial() {
	openssl s_client -connect "127.0.0.1:$port" -CAfile "$pki/ca.crt" -verify_return_error \
		</dev/null 2>/dev/null |
		openssl x509 -noout -serial | cut -d= -f2
}
assert_eq "v1 is served" 1001 "$(served_serial)"

# --- rotation: kubelet swaps ..data --------------------------------------------------------------
publish v2
serial_is() { [ "$(served_serial)" = "$1" ]; }
wait_for "v2 (RSA) is served within the poll period" 25 serial_is 1002
assert_contains "the reload is logged" "$(cat "$(bg_log ctl)")" \
	"now serving certificate serial 1002 (RSA 2048 key"
assert_eq "one reload counted" 1 "$(metric "$ok_series")"
assert_eq "the expiry metric follows" "$(not_after "$pki/v2/tls.crt")" \
	"$(metric_int "$exp_series")"

# --- a bad pair: refused, logged naming the file, the old one stays ---------------------------
publish bad
refused_logged() {
	grep -q "new files refused: key file $vol/tls.key does not belong" "$(bg_log ctl)"
}
wait_for "the bad pair is refused with the key file named" 25 refused_logged
assert_eq "v2 is still served" 1002 "$(served_serial)"
assert_eq "one error counted" 1 "$(metric "$err_series")"
assert_not_contains "the log never quotes a key" "$(cat "$(bg_log ctl)")" \
	"$(sed -n 2p "$pki/v1/tls.key")"

# --- the CLI over https ---------------------------------------------------------------------------
as_certcast() { KUBECONFIG=$CERTCAST_KUBECONFIG "$bin" "$@"; }
rc=0
out=$(as_certcast status -n "$ns" --controller "$url" --controller-ca "$pki/ca.crt" 2>&1) || rc=$?
assert_eq "status --controller https:// --controller-ca exits 0" 0 "$rc"
assert_contains "and lists the certificate" "$out" "web"
rc=0; out=$(as_certcast status -n "$ns" --controller "$url" 2>&1) || rc=$?
assert_eq "without the CA the controller is not trusted: exit 1" 1 "$rc"
assert_contains "and curl's reason is said" "$out" "certificate"
rc=0
out=$("$bin" explain "$ns/web" --controller "$url" --controller-ca "$pki/ca.crt" 2>&1) || rc=$?
assert_eq "explain --controller https:// --controller-ca exits 0" 0 "$rc"
assert_contains "and prints the explanation" "$out" "$ns/web"

# --- a real Prometheus scrapes over https ---------------------------------------------------------
if command -v prometheus >/dev/null; then
	pport=$(free_port)
	while [ "$pport" = "$port" ]; do pport=$(free_port); done
	cat >"$TEST_TMP/prometheus.yml" <<EOF2
global: {scrape_interval: 1s}
scrape_configs:
  - job_name: certcast
    scheme: https
    tls_config: {ca_file: "$pki/ca.crt"}
    static_configs: [{targets: ["127.0.0.1:$port"]}]
EOF2
	start_bg prom prometheus --config.file="$TEST_TMP/prometheus.yml" \
		--storage.tsdb.path="$TEST_TMP/tsdb" --web.listen-address="127.0.0.1:$pport"
	q() {
		curl -fsS --noproxy '*' "http://127.0.0.1:$pport/api/v1/query" \
			--data-urlencode "query=$1"
	}
	prom_expiry() {
		[ "$(q "$exp_series" | jq -r '.data.result[0].value[1] // empty')" = \
			"$(not_after "$pki/v2/tls.crt")" ]
	}
	wait_for "Prometheus scrapes over https (tls_config.ca_file) and has the notAfter" 60 \
		prom_expiry
	stop_bg prom || true
else
	pass "prometheus is not installed: the https scrape is skipped"
fi

rc=0; stop_bg ctl || rc=$?
assert_eq "controller exits cleanly" 0 "$rc"
lib_finish
