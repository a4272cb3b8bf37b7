#!/usr/bin/env bash
# Initial-sync benchmark: creates N Certificates (default 10000) with 1 CertificateRequest each
# in a fresh local control plane, then measures
#   - `certcast status -A -o json` (paginated list of every resource, decode, store, print), and
#   - `certcast controller` from start until /readyz answers 200 (every reflector listed and watching),
# plus the controller's RSS once synced. Prints figures; asserts nothing about time.
set -euo pipefail
build=${1:-build}
n=${BENCH_SYNC_CERTS:-10000}
root=$(cd "$(dirname "$0")/../.." && pwd)
bin="$root/$build/certcast"
export TESTENV_DIR=${TESTENV_DIR:-$(mktemp -d /tmp/certcast-bench.XXXXXX)}
eval "$("$root/hack/testenv.sh" up)"
trap '"$root/hack/testenv.sh" down >/dev/null 2>&1 || true' EXIT

work=$(mktemp -d)
ns_count=20
for i in $(seq 0 $((ns_count - 1))); do echo "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"bench-$i\"}}"; done >"$work/ns.json"
kubectl apply -f "$work/ns.json" >/dev/null
awk -v n="$n" -v nsc="$ns_count" 'BEGIN {
	printf "{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":["
	for (i = 0; i < n; i++) {
		ns = "bench-" (i % nsc); c = sprintf("cert-%05d", i)
		iss = "\"issuerRef\":{\"name\":\"bench-issuer\",\"kind\":\"ClusterIssuer\"}"
		printf "%s{\"apiVersion\":\"cert-manager.io/v1\",\"kind\":\"Certificate\",\"metadata\":{\"name\":\"%s\",\"namespace\":\"%s\"},\"spec\":{\"secretName\":\"%s-tls\",\"dnsNames\":[\"svc-%d.%s.example.com\"],\"duration\":\"2160h\",\"renewBefore\":\"720h\",%s}}", (i ? "," : ""), c, ns, c, i, ns, iss
		printf ",{\"apiVersion\":\"cert-manager.io/v1\",\"kind\":\"CertificateRequest\",\"metadata\":{\"name\":\"%s-1\",\"namespace\":\"%s\",\"annotations\":{\"cert-manager.io/certificate-name\":\"%s\",\"cert-manager.io/certificate-revision\":\"1\"}},\"spec\":{\"request\":\"LS0tLS1CRUdJTiBDRVJUSUZJQ0FURSBSRVFVRVNULS0tLS0K\",%s}}", c, ns, c, iss
	}
	print "]}"
}' >"$work/certs.json"
t0=$(date +%s.%N)
kubectl create -f "$work/certs.json" >/dev/null
t1=$(date +%s.%N)
echo "created $n certificates + $n certificaterequests in $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}') s (kubectl create)"

t0=$(date +%s.%N)
KUBECONFIG=$CERTCAST_KUBECONFIG "$bin" status -A -o json >"$work/status.json"
t1=$(date +%s.%N)
rows=$(jq '.items | length' "$work/status.json")
echo "certcast status -A: $rows rows in $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}') s"

port=$((10000 + RANDOM % 10000)) # below the ephemeral range
t0=$(date +%s.%N)
KUBECONFIG=$CERTCAST_KUBECONFIG "$bin" controller --http-addr "127.0.0.1:$port" --log-level warn &
pid=$!
until curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; do
	kill -0 $pid 2>/dev/null || { echo "controller exited before it was ready"; exit 1; }
	sleep 0.05
done
t1=$(date +%s.%N)
rss=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
echo "certcast controller: ready (all reflectors synced) after $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}') s; RSS ${rss} KiB = $(awk -v r="$rss" -v n="$n" 'BEGIN{printf "%.0f", r*1024/n}') bytes per certificate incl. its request"
kill -TERM $pid; wait $pid || true

# The first observe-mode pass: every certificate gets its certcast.io/ annotations (one merge
# patch each). The client's QPS is raised so that the write path, not the default 20/s pacing,
# is what is measured; at the default a first pass over N certificates takes N/20 seconds.
# The run above may have annotated a few before its stop: this pass has the rest to do.
before=$(kubectl get certificates -A -o json | jq '[.items[] | select(.metadata.annotations["certcast.io/risk"])] | length')
todo=$((n - before))
t0=$(date +%s.%N)
KUBECONFIG=$CERTCAST_KUBECONFIG "$bin" controller --http-addr "127.0.0.1:$port" --log-level warn \
	--client-qps 1000 --client-burst 1000 --workers 4 &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true; "$root/hack/testenv.sh" down >/dev/null 2>&1 || true' EXIT
annotated=0
deadline=$(($(date +%s) + 600))
while [ "$annotated" -lt "$todo" ] && [ "$(date +%s)" -lt "$deadline" ]; do
	kill -0 $pid 2>/dev/null || { echo "controller exited during the annotation pass"; exit 1; }
	# (not listening yet in the first rounds: 0, not an exit under set -e)
	annotated=$({ curl -fsS "http://127.0.0.1:$port/metrics" 2>/dev/null || true; } |
		awk '$1 ~ /^certcast_actions_total\{action="annotate"/ { s += $2 } END { print s + 0 }')
	sleep 0.5
done
t1=$(date +%s.%N)
rss=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}')
echo "observe mode, first pass: $annotated of the $todo certificates left annotated $secs s after start" \
	"($(awk -v n="$annotated" -v s="$secs" 'BEGIN{printf "%.0f", n/s}') per second, 4 workers, QPS 1000); RSS ${rss} KiB"
kill -TERM $pid; wait $pid || true
rm -rf "$work"
