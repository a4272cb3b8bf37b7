#!/usr/bin/env bash
# A real Prometheus scrapes `certcast controller`: the target is up, and the per-certificate
# series arrive in Prometheus' own storage with the values the store has.
. "$(dirname "$0")/lib.sh"

bin=$(certcast_bin)
require "prometheus is installed" command -v prometheus
ns=$(new_namespace prom)
require "create a certificate" kubectl_admin apply -f - <<EOF2
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: scraped, namespace: $ns}
spec: {secretName: scraped, issuerRef: {name: ca, kind: Issuer}, renewBefore: 48h}
EOF2
require "give it a notAfter" kubectl_admin -n "$ns" patch certificate scraped --subresource=status --type=merge \
	-p '{"status":{"notBefore":"2030-01-01T00:00:00Z","notAfter":"2030-04-01T00:00:00Z"}}'
# One that has failed for days and expires in three hours: the shipped alerts must fire for it.
require "create a doomed certificate" kubectl_admin apply -f - <<EOF2
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: doomed, namespace: $ns}
spec: {secretName: doomed, issuerRef: {name: ca, kind: Issuer}}
EOF2
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
now=$(date -u +%s)
require "give it a failing status" kubectl_admin -n "$ns" patch certificate doomed --subresource=status --type=merge \
	-p "{\"status\":{\"notBefore\":\"$(iso $((now - 90*86400 + 3*3600)))\",\"notAfter\":\"$(iso $((now + 3*3600)))\",
	\"failedIssuanceAttempts\":9,\"lastFailureTime\":\"$(iso $((now - 600)))\",
	\"conditions\":[{\"type\":\"Issuing\",\"status\":\"False\",\"reason\":\"Failed\",
	\"message\":\"The certificate request has failed to complete and will be retried: Failed to wait for order resource: 403 urn:ietf:params:acme:error:unauthorized\",
	\"lastTransitionTime\":\"$(iso $((now - 600)))\"}]}}"

# The shipped rules pass Prometheus' own unit tests (both directions for every alert).
check "promtool check rules: the shipped alerts" promtool check rules "$CERTCAST_ROOT/charts/certcast/files/alerts.yaml"
check "promtool test rules: tests/prometheus/alerts_test.yaml" promtool test rules "$CERTCAST_ROOT/tests/prometheus/alerts_test.yaml"

cport=$(free_port)
pport=$(free_port)
while [ "$pport" = "$cport" ]; do pport=$(free_port); done
start_bg ctl env KUBECONFIG="$CERTCAST_KUBECONFIG" "$bin" controller --namespace "$ns" --http-addr "127.0.0.1:$cport"
wait_for "controller ready" 60 curl -fsS "http://127.0.0.1:$cport/readyz"
cat >"$TEST_TMP/prometheus.yml" <<EOF2
global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: ["$CERTCAST_ROOT/charts/certcast/files/alerts.yaml"]
scrape_configs:
  - job_name: certcast
    honor_labels: true
    static_configs: [{targets: ["127.0.0.1:$cport"]}]
EOF2
start_bg prom prometheus --config.file="$TEST_TMP/prometheus.yml" --storage.tsdb.path="$TEST_TMP/tsdb" \
	--web.listen-address="127.0.0.1:$pport"
q() { curl -fsS "http://127.0.0.1:$pport/api/v1/query" --data-urlencode "query=$1"; }
target_up() { q 'up{job="certcast"}' | jq -e '.data.result[0].value[1] == "1"' >/dev/null; }
wait_for "Prometheus scrapes certcast and the target is up" 60 target_up
expiry() { q "certcast_certificate_expiry_timestamp_seconds{namespace=\"$ns\",name=\"scraped\"}" | jq -r '.data.result[0].value[1] // empty'; }
has_expiry() { [ "$(expiry)" = "$(date -u -d 2030-04-01T00:00:00Z +%s)" ]; }
wait_for "the expiry series is in Prometheus with the certificate's notAfter" 30 has_expiry
rb=$(q "certcast_certificate_renew_before_seconds{namespace=\"$ns\",name=\"scraped\",issuer_kind=\"Issuer\",issuer_name=\"ca\"}" | jq -r '.data.result[0].value[1] // empty')
assert_eq "renewBefore series with its labels" 172800 "$rb"
bi=$(q 'certcast_build_info' | jq -r '.data.result[0].metric.version // empty')
assert_eq "build_info carries the version" "$(cat "$CERTCAST_ROOT/VERSION")" "$bi"
# The shipped alerts, loaded by this Prometheus, see the doomed certificate (pending: their
# `for` is minutes long) and not the healthy one.
alerts() { q "ALERTS{alertname=\"$1\",namespace=\"$ns\"}" | jq -r '[.data.result[].metric.name] | sort | join(",")'; }
pending_for() { [ "$(alerts "$1")" = "doomed" ]; }
wait_for "CertcastCertificateCritical is raised for the doomed certificate only" 60 pending_for CertcastCertificateCritical
wait_for "CertcastCertificateExpiresWithinADay is raised for it only" 60 pending_for CertcastCertificateExpiresWithinADay
assert_eq "the healthy certificate raises nothing" "" \
	"$(q "ALERTS{namespace=\"$ns\",name=\"scraped\"}" | jq -r '[.data.result[].metric.alertname] | join(",")')"
# Prometheus drops a scrape that does not parse, so a healthy up and samples mean none were dropped.
bad=$(q 'prometheus_target_scrapes_sample_out_of_order_total + prometheus_target_scrapes_sample_duplicate_timestamp_total' | jq -r '.data.result[0].value[1] // "0"')
assert_eq "no out-of-order or duplicate samples" 0 "$bad"
stop_bg prom || true
rc=0; stop_bg ctl || rc=$?
assert_eq "controller exits cleanly" 0 "$rc"
