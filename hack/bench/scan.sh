#!/usr/bin/env bash
# Scoring a whole saved cluster: writes a `kubectl get -o json`-shaped List of N Certificates
# (default 100000) with status, each with two CertificateRequests (one failed, one issued),
# spread over 20 namespaces and 4 issuers, then times `certcast scan -f FILE -o json` (read,
# parse, decode, store, score every certificate, print) against `certcast scan` on the same
# file with -n of an absent namespace (everything but the scoring and printing), so the
# difference is the scoring and printing. Prints figures; asserts nothing about time.
set -euo pipefail
build=${1:-build}
n=${BENCH_SCAN_CERTS:-100000}
root=$(cd "$(dirname "$0")/../.." && pwd)
bin="$root/$build/certcast"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
now=1780272000 # 2026-06-01T00:00:00Z, the --now of every run
awk -v n="$n" -v now="$now" '
function iso(t,   d) { return strftime("%Y-%m-%dT%H:%M:%SZ", t, 1) }
BEGIN {
	printf "{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":["
	for (k = 0; k < 4; k++)
		printf "%s{\"apiVersion\":\"cert-manager.io/v1\",\"kind\":\"ClusterIssuer\",\"metadata\":{\"name\":\"iss-%d\"},\"spec\":{\"acme\":{\"server\":\"https://acme.example/dir\"}},\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"ACMEAccountRegistered\",\"lastTransitionTime\":\"%s\"}]}}", (k ? "," : ""), k, iso(now - 86400 * 100)
	for (i = 0; i < n; i++) {
		ns = "bench-" (i % 20); c = sprintf("cert-%06d", i); iss = "iss-" (i % 4)
		age = (i * 7919) % (80 * 86400); nb = now - age; na = nb + 90 * 86400
		fail = (i % 10 == 0)
		printf ",{\"apiVersion\":\"cert-manager.io/v1\",\"kind\":\"Certificate\",\"metadata\":{\"name\":\"%s\",\"namespace\":\"%s\"},\"spec\":{\"secretName\":\"%s-tls\",\"dnsNames\":[\"svc-%d.%s.example.com\"],\"duration\":\"2160h\",\"issuerRef\":{\"name\":\"%s\",\"kind\":\"ClusterIssuer\"}},\"status\":{\"notBefore\":\"%s\",\"notAfter\":\"%s\",\"renewalTime\":\"%s\",\"revision\":2", c, ns, c, i, ns, iss, iso(nb), iso(na), iso(na - 30 * 86400)
		if (fail)
			printf ",\"failedIssuanceAttempts\":2,\"lastFailureTime\":\"%s\"", iso(now - 3600)
		printf ",\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"Ready\",\"lastTransitionTime\":\"%s\"}]}}", iso(nb)
		printf ",{\"apiVersion\":\"cert-manager.io/v1\",\"kind\":\"CertificateRequest\",\"metadata\":{\"name\":\"%s-1\",\"namespace\":\"%s\",\"creationTimestamp\":\"%s\",\"annotations\":{\"cert-manager.io/certificate-name\":\"%s\",\"cert-manager.io/certificate-revision\":\"1\"}},\"spec\":{\"request\":\"\",\"issuerRef\":{\"name\":\"%s\",\"kind\":\"ClusterIssuer\"}},\"status\":{\"failureTime\":\"%s\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\",\"reason\":\"Failed\",\"message\":\"Failed to wait for order resource to become ready: 503 urn:ietf:params:acme:error:serverInternal: service unavailable\",\"lastTransitionTime\":\"%s\"}]}}", c, ns, iso(nb - 7200), c, iss, iso(nb - 7000), iso(nb - 7000)
		printf ",{\"apiVersion\":\"cert-manager.io/v1\",\"kind\":\"CertificateRequest\",\"metadata\":{\"name\":\"%s-2\",\"namespace\":\"%s\",\"creationTimestamp\":\"%s\",\"annotations\":{\"cert-manager.io/certificate-name\":\"%s\",\"cert-manager.io/certificate-revision\":\"2\"}},\"spec\":{\"request\":\"\",\"issuerRef\":{\"name\":\"%s\",\"kind\":\"ClusterIssuer\"}},\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"Issued\",\"lastTransitionTime\":\"%s\"}]}}", c, ns, iso(nb - 60), c, iss, iso(nb)
	}
	print "]}"
}' >"$work/saved.json"
size=$(stat -c %s "$work/saved.json")
echo "saved cluster: $n certificates, $((2 * n)) certificaterequests, $((size / 1048576)) MiB"
time_of() { # command... -> seconds, with the command's stdout discarded
	local t0 t1
	t0=$(date +%s.%N)
	"$@" >/dev/null 2>"$work/err" || [ $? -eq 3 ]
	t1=$(date +%s.%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}'
}
when=$(date -u -d "@$now" +%Y-%m-%dT%H:%M:%SZ)
load=$(time_of "$bin" scan -f "$work/saved.json" -n absent-namespace --now "$when" -o json)
full=$(time_of "$bin" scan -f "$work/saved.json" -A --now "$when" -o json)
echo "scan without scoring (load only): ${load} s"
echo "scan -A -o json (load, score, print): ${full} s"
awk -v l="$load" -v f="$full" -v n="$n" 'BEGIN {
	printf "scoring and printing: %.2f s = %.1f us per certificate\n", f - l, (f - l) * 1e6 / n }'
"$bin" scan -f "$work/saved.json" -A --now "$when" -o json 2>/dev/null |
	jq -r '[.items[].riskLevel] | group_by(.) | map("\(.[0]) \(length)") | join(", ") | "levels: " + .' || true
