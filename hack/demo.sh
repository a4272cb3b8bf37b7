#!/usr/bin/env bash
# make demo: certcast against a local control plane.
#   1. starts etcd + kube-apiserver with cert-manager's CRDs (hack/testenv.sh),
#   2. creates a few Issuers and Certificates and gives them the status cert-manager would write
#      (one healthy, one failing with backoff, one close to expiry),
#   3. starts the cert-manager stand-in (hack/cm-standin) on namespace "live", where it issues one
#      certificate and fails another on a rate limit, live, as cert-manager would,
#   4. runs `certcast status -A` as the least-privileged certcast user,
#   5. runs `certcast controller` and shows its /metrics, and its failover of live/checkout to the
#      fallback issuer (the only Certificate in enforce mode), then keeps it running until Ctrl-C
#      (DEMO_SECONDS=N stops it after N seconds), and tears everything down.
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/$build/certcast"
export TESTENV_DIR=${TESTENV_DIR:-$root/.testenv/demo}
echo "== starting a local control plane (first run builds kube-apiserver, etcd and kubectl; later runs reuse them)"
eval "$("$root/hack/testenv.sh" up)"
stop() { [ -n "${1:-}" ] && kill -TERM "$1" 2>/dev/null && wait "$1" 2>/dev/null; return 0; }
cleanup() { stop "${ctl_pid:-}"; stop "${standin_pid:-}"; "$root/hack/testenv.sh" down >/dev/null 2>&1 || true; }
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
echo "== the cert-manager stand-in runs namespace live (log: $TESTENV_DIR/standin.log)"
kubectl create namespace live >/dev/null
kubectl apply -f "$root/hack/demo/live.yaml" >/dev/null
# Let's Encrypt's refusal when other accounts used up the domain's 50 new certificates a week
retry=$(date -u -d "@$((now + 3*86400))" '+%Y-%m-%d %H:%M:%S UTC')
kubectl -n live annotate issuer letsencrypt --overwrite "standin.certcast.io/fail=OrderFailed|Failed to wait for order resource \"checkout-1-1\" to become ready: order is in \"errored\" state: Failed to create Order: 429 urn:ietf:params:acme:error:rateLimited: too many certificates (50) already issued for \"example.com\" in the last 168h0m0s, retry after $retry: see https://letsencrypt.org/docs/rate-limits/#new-certificates-per-registered-domain" >/dev/null
python3 "$root/hack/cm-standin/standin.py" --kubeconfig "$KUBECONFIG" --namespace live \
	--metrics-addr "127.0.0.1:${DEMO_STANDIN_PORT:-9402}" >"$TESTENV_DIR/standin.log" 2>&1 &
standin_pid=$!
live_state() { kubectl -n live get certificate "$1" -o jsonpath="$2" 2>/dev/null; }
for _ in $(seq 1 150); do
	[ -n "$(live_state grpc '{.status.notAfter}')" ] &&
		[ -n "$(live_state checkout '{.status.failedIssuanceAttempts}')" ] && break
	sleep 0.2
done
echo "live/grpc:     notAfter $(live_state grpc '{.status.notAfter}'), renewal $(live_state grpc '{.status.renewalTime}')"
echo "live/checkout: $(live_state checkout '{.status.failedIssuanceAttempts}') failed attempt(s), last at $(live_state checkout '{.status.lastFailureTime}')"

echo
echo "== kubectl certcast status -A   (as the certcast user: RBAC exactly as the Helm chart grants)"
PATH="$root/$build:$PATH" KUBECONFIG=$CERTCAST_KUBECONFIG kubectl certcast status -A || true
echo
echo "== kubectl certcast explain live/checkout   (why its risk is what it is)"
PATH="$root/$build:$PATH" KUBECONFIG=$CERTCAST_KUBECONFIG kubectl certcast explain live/checkout
echo
port=${DEMO_PORT:-9403}
echo "== certcast controller on http://127.0.0.1:$port  (/ is the live page; /metrics /healthz /readyz; log: $TESTENV_DIR/certcast.log)"
KUBECONFIG=$CERTCAST_KUBECONFIG "$bin" controller --http-addr "127.0.0.1:$port" --log-format text \
	--resync-period 10s >"$TESTENV_DIR/certcast.log" 2>&1 &
ctl_pid=$!
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "http://127.0.0.1:$port/metrics" | grep -E '^certcast_(certificate_|build_info|watch_events_total)' | head -n 20 || true
echo
echo "== kubectl certcast explain live/checkout --controller http://127.0.0.1:$port   (the controller's own number, explained)"
PATH="$root/$build:$PATH" kubectl certcast explain live/checkout --controller "http://127.0.0.1:$port" || true
echo
echo "== certcast acts on live/checkout (certcast.io/mode: enforce, fallback Issuer/internal-ca)"
for _ in $(seq 1 300); do
	[ "$(live_state checkout '{.spec.issuerRef.name}')" = internal-ca ] &&
		[ "$(live_state checkout '{.status.conditions[?(@.type=="Ready")].status}')" = True ] && break
	sleep 0.2
done
kubectl -n live get certificate checkout -o json |
	jq -r '"spec.issuerRef: \(.spec.issuerRef.kind)/\(.spec.issuerRef.name)", (.metadata.annotations | to_entries[] | select(.key | startswith("certcast.io/")) | "\(.key): \(.value)")'
echo "-- certcast's Events:"
kubectl -n live get events.events.k8s.io -o json |
	jq -r '.items[] | select(.reportingController == "certcast") | "\(.regarding.name) \(.type) \(.reason): \(.note)"'
echo "-- the stand-in issued it with the fallback:"
kubectl -n live get certificates
echo
if [ -n "${DEMO_SECONDS:-}" ]; then
	sleep "$DEMO_SECONDS"
else
	echo "certcast is running; open http://127.0.0.1:$port/ for the live page (every certificate, kept current)"
	echo "  or try: KUBECONFIG=$KUBECONFIG kubectl -n live get certificates"
	echo "  or: KUBECONFIG=$CERTCAST_KUBECONFIG $bin explain live/checkout"
	echo "press Ctrl-C to stop and tear the control plane down"
	wait "$ctl_pid"
fi
