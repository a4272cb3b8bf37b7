#!/usr/bin/env bash
# make demo: certcast against a local control plane.
#   1. starts etcd + kube-apiserver with cert-manager's CRDs (hack/testenv.sh),
#   2. creates a few Issuers and Certificates and gives them the status cert-manager would write
#      (one healthy, one failing with backoff, one close to expiry),
#   3. runs `certcast status -A` as the least-privileged certcast user,
#   4. runs `certcast controller` and shows its /metrics, then keeps it running until Ctrl-C
#      (DEMO_SECONDS=N stops it after N seconds), and tears everything down.
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/$build/certcast"
export TESTENV_DIR=${TESTENV_DIR:-$root/.testenv/demo}
echo "== starting a local control plane (first run builds kube-apiserver, etcd and kubectl; later runs reuse them)"
eval "$("$root/hack/testenv.sh" up)"
cleanup() { [ -n "${ctl_pid:-}" ] && kill -TERM "$ctl_pid" 2>/dev/null && wait "$ctl_pid" 2>/dev/null; "$root/hack/testenv.sh" down >/dev/null 2>&1 || true; }
trap cleanup EXIT

now=$(date -u +%s)
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
kubectl create namespace shop >/dev/null
kubectl apply -f "$root/hack/demo/objects.yaml" >/dev/null
# Status as cert-manager would have written it.
kubectl -n shop patch certificate web --subresource=status --type=merge -p "{\"status\":{
  \"notBefore\":\"$(iso $((now - 30*86400)))\",\"notAfter\":\"$(iso $((now + 60*86400)))\",
  \"renewalTime\":\"$(iso $((now + 30*86400)))\",\"revision\":3,
  \"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"Ready\",\"message\":\"Certificate is up to date and has not expired\",\"lastTransitionTime\":\"$(iso $((now - 30*86400)))\"}]}}" >/dev/null
kubectl -n shop patch certificate api --subresource=status --type=merge -p "{\"status\":{
  \"notBefore\":\"$(iso $((now - 80*86400)))\",\"notAfter\":\"$(iso $((now + 10*86400)))\",
  \"renewalTime\":\"$(iso $((now - 20*86400)))\",\"revision\":1,\"failedIssuanceAttempts\":4,
  \"lastFailureTime\":\"$(iso $((now - 3600)))\",
  \"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"Ready\",\"message\":\"Certificate is up to date and has not expired\",\"lastTransitionTime\":\"$(iso $((now - 80*86400)))\"},
  {\"type\":\"Issuing\",\"status\":\"False\",\"reason\":\"Failed\",\"message\":\"The certificate request has failed to complete and will be retried: Failed to wait for order resource \\\"api-1-3320574\\\" to become ready: order is in \\\"errored\\\" state: Failed to create Order: 429 urn:ietf:params:acme:error:rateLimited: too many certificates already issued\",\"lastTransitionTime\":\"$(iso $((now - 3600)))\"}]}}" >/dev/null
kubectl -n shop patch certificate legacy --subresource=status --type=merge -p "{\"status\":{
  \"notBefore\":\"$(iso $((now - 396*86400)))\",\"notAfter\":\"$(iso $((now + 2*86400)))\",
  \"renewalTime\":\"$(iso $((now - 130*86400)))\",\"revision\":1,\"failedIssuanceAttempts\":9,
  \"lastFailureTime\":\"$(iso $((now - 7200)))\",
  \"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"Ready\",\"message\":\"Certificate is up to date and has not expired\",\"lastTransitionTime\":\"$(iso $((now - 396*86400)))\"},
  {\"type\":\"Issuing\",\"status\":\"False\",\"reason\":\"Failed\",\"message\":\"The certificate request has failed to complete and will be retried: issuer shop/internal-ca is not ready\",\"lastTransitionTime\":\"$(iso $((now - 7200)))\"}]}}" >/dev/null

echo
echo "== kubectl certcast status -A   (as the certcast user: RBAC exactly as the Helm chart grants)"
PATH="$root/$build:$PATH" KUBECONFIG=$CERTCAST_KUBECONFIG kubectl certcast status -A
echo
port=${DEMO_PORT:-9403}
echo "== certcast controller on http://127.0.0.1:$port  (/metrics /healthz /readyz)"
KUBECONFIG=$CERTCAST_KUBECONFIG "$bin" controller --http-addr "127.0.0.1:$port" --log-format text &
ctl_pid=$!
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "http://127.0.0.1:$port/metrics" | grep -E '^certcast_(certificate_|build_info|watch_events_total)' | head -n 20 || true
echo
if [ -n "${DEMO_SECONDS:-}" ]; then
	sleep "$DEMO_SECONDS"
else
	echo "certcast is running; try: KUBECONFIG=$KUBECONFIG kubectl -n shop get certificates"
	echo "press Ctrl-C to stop and tear the control plane down"
	wait "$ctl_pid"
fi
