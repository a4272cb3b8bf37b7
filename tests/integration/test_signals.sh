#!/usr/bin/env bash
# cert-manager's live signals reaching the controller's scores, against a real kube-apiserver:
# a stand-in for cert-manager's controller /metrics (python3 http.server on 127.0.0.1, content
# changed by the test), a cert-manager controller pod object whose status says Running, Ready,
# podIP 127.0.0.1 (no kubelet runs here, so the test writes the status), and the controller
# scraping it. Checked from outside: the scrape counter on certcast's /metrics, the failure
# probability of an ACME issuer on the stand-in's host rising once the stand-in reports many
# 5xx answers, a malformed exposition counted without stopping anything, and a stand-in that
# no longer answers counted as an error.
. "$(dirname "$0")/lib.sh"

bin=$(certcast_bin)
require "certcast binary is built" test -x "$bin"
require "python3 is installed" command -v python3

# --- the stand-in's /metrics ------------------------------------------------------------------
host=acme.signals.example
mdir=$TEST_TMP/standin
mkdir -p "$mdir"
# write_metrics OK_COUNT FAILED_COUNT [EXTRA_FIRST_LINE]: cumulative counters, replaced at once
write_metrics() {
	{
		[ -z "${3:-}" ] || printf '%s\n' "$3"
		cat <<EOF
# HELP certmanager_http_acme_client_request_count The number of requests made by the ACME client.
# TYPE certmanager_http_acme_client_request_count counter
certmanager_http_acme_client_request_count{action="new_order",host="$host",method="POST",scheme="https",status="201"} $1
certmanager_http_acme_client_request_count{action="finalize",host="$host",method="POST",scheme="https",status="503"} $2
# HELP certmanager_http_acme_client_request_duration_seconds The HTTP request latencies in seconds for the ACME client.
# TYPE certmanager_http_acme_client_request_duration_seconds summary
certmanager_http_acme_client_request_duration_seconds_sum{action="new_order",host="$host",method="POST",scheme="https",status="201"} $(($1 / 2))
certmanager_http_acme_client_request_duration_seconds_count{action="new_order",host="$host",method="POST",scheme="https",status="201"} $1
EOF
	} >"$mdir/metrics.tmp"
	mv "$mdir/metrics.tmp" "$mdir/metrics"
}
write_metrics 10 0
mport=$(free_port)
start_bg standin python3 -m http.server "$mport" --bind 127.0.0.1 --directory "$mdir"
wait_for "the stand-in serves /metrics" 30 curl -fsS "http://127.0.0.1:$mport/metrics"

# --- a cert-manager controller pod, Running and Ready on 127.0.0.1 ------------------------------
kubectl_admin create namespace cert-manager >/dev/null 2>&1 || true
pod=cm-signals-$(head -c 3 /dev/urandom | od -An -tx1 | tr -d ' \n')
require "create the controller pod object" kubectl_admin apply -f - <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: $pod
  namespace: cert-manager
  labels: {app.kubernetes.io/name: cert-manager, app.kubernetes.io/component: controller}
spec:
  nodeName: node-that-does-not-run
  containers: [{name: cert-manager-controller, image: quay.io/jetstack/cert-manager-controller:v1.21.1}]
EOF
started=$(date -u -d '-2 days' +%Y-%m-%dT%H:%M:%SZ)
require "its status: Running, Ready, podIP 127.0.0.1" kubectl_admin -n cert-manager patch pod "$pod" \
	--subresource=status --type=merge -p "{\"status\":{\"phase\":\"Running\",
	\"podIP\":\"127.0.0.1\",\"podIPs\":[{\"ip\":\"127.0.0.1\"}],\"startTime\":\"$started\",
	\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}],
	\"containerStatuses\":[{\"name\":\"cert-manager-controller\",\"ready\":true,\"restartCount\":0,
	\"image\":\"quay.io/jetstack/cert-manager-controller:v1.21.1\",\"imageID\":\"\",
	\"state\":{\"running\":{\"startedAt\":\"$started\"}}}]}}"

# --- an ACME issuer on the stand-in's host, and a certificate using it ---------------------------
ns=$(new_namespace signals)
issuer=sig-$(head -c 3 /dev/urandom | od -An -tx1 | tr -d ' \n')
require "create the ACME ClusterIssuer" kubectl_admin apply -f - <<EOF
apiVersion: cert-manager.io/v1
kind: ClusterIssuer
metadata: {name: $issuer}
spec:
  acme:
    server: https://$host/directory
    privateKeySecretRef: {name: $issuer-account}
    solvers: [{http01: {ingress: {ingressClassName: nginx}}}]
EOF
require "create a certificate on it" kubectl_admin apply -f - <<EOF
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: web, namespace: $ns}
spec: {secretName: web, dnsNames: [web.example.com], issuerRef: {name: $issuer, kind: ClusterIssuer}}
EOF
now=$(date -u +%s)
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
require "the certificate's status" kubectl_admin -n "$ns" patch certificate web --subresource=status \
	--type=merge -p "{\"status\":{\"notBefore\":\"$(iso $((now - 50 * 86400)))\",
	\"notAfter\":\"$(iso $((now + 40 * 86400)))\"}}"

# --- the controller ------------------------------------------------------------------------------
port=$(free_port)
url=http://127.0.0.1:$port
printf 'certManagerMetricsPort: %s\ncertManagerScrapeInterval: 5s\nresyncPeriod: 5m\n' "$mport" \
	>"$TEST_TMP/config.yaml"
start_bg ctl env KUBECONFIG="$CERTCAST_KUBECONFIG" "$bin" controller --config "$TEST_TMP/config.yaml" \
	--http-addr "127.0.0.1:$port" --log-level debug
wait_for "/readyz answers 200" 60 curl -fsS "$url/readyz"

scrape() { curl -fsS "$url/metrics"; }
value_of() { scrape | awk -v k="$1" 'index($0, k " ") == 1 { print $2 }'; }
scrapes() { v=$(value_of "certcast_cert_manager_scrapes_total{result=\"$1\"}"); printf '%s\n' "${v:-0}"; }
at_least() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 >= b + 0) }'; }
scrapes_reach() { at_least "$(scrapes "$1")" "$2"; }
ifail_key="certcast_issuer_failure_probability{issuer_kind=\"ClusterIssuer\",issuer_name=\"$issuer\"}"

wait_for "the stand-in is scraped (result ok)" 60 scrapes_reach ok 2
m=$(scrape)
assert_contains "every result is a series" "$m" 'certcast_cert_manager_scrapes_total{result="error"}'
printf '%s\n' "$m" >"$TEST_TMP/metrics.txt"
check "promtool check metrics accepts /metrics with the new counter" \
	bash -c "promtool check metrics <'$TEST_TMP/metrics.txt'"
wait_for "the issuer has a failure probability" 60 bash -c "curl -fsS '$url/metrics' | grep -qF '$ifail_key '"
write_metrics 20 0
ok_now=$(scrapes ok)
wait_for "a scrape with healthy traffic" 30 scrapes_reach ok $((ok_now + 2))
calm=$(value_of "$ifail_key")
check "the calm probability is a probability" awk -v p="$calm" 'BEGIN { exit !(p > 0 && p < 1) }'

# 200 of the next 220 requests answered 503
write_metrics 40 200
rises() { awk -v p="$(value_of "$ifail_key")" -v c="$calm" 'BEGIN { exit !(p > 2 * c) }'; }
wait_for "the issuer's failure probability rises with the 5xx answers" 60 rises
failing=$(value_of "$ifail_key")
pass "issuer failure probability $calm -> $failing"
risk=$(value_of "certcast_certificate_risk{namespace=\"$ns\",name=\"web\",issuer_kind=\"ClusterIssuer\",issuer_name=\"$issuer\"}")
check "the certificate still has a risk" awk -v r="$risk" 'BEGIN { exit !(r != "" && r >= 0 && r <= 1) }'

# a malformed exposition: counted, logged with line and column, nothing stops
write_metrics 41 200 'certmanager_http_acme_client_request_count{host="broken" 1'
wait_for "a malformed exposition is counted" 30 scrapes_reach malformed 1
check "the controller is still running" kill -0 "$(bg_pid ctl)"
check "still ready" curl -fsS "$url/readyz"
log_has() { grep -qF "$1" "$(bg_log ctl)"; }
wait_for "the malformed line is logged by line and column" 10 log_has "line 1 column"

# the stand-in goes away: an error, and the controller goes on
stop_bg standin || true
wait_for "a failed scrape is counted as an error" 30 scrapes_reach error 1
check "still ready after scrape errors" curl -fsS "$url/readyz"

# --- clean stop ---------------------------------------------------------------------------------
rc=0
stop_bg ctl || rc=$?
assert_eq "SIGTERM: exit status 0" 0 "$rc"
kubectl_admin -n cert-manager delete pod "$pod" --wait=false >/dev/null 2>&1 || true
kubectl_admin delete clusterissuer "$issuer" --wait=false >/dev/null 2>&1 || true
