#!/usr/bin/env bash
# A failover whose primary issuer no other certificate uses. No success can show that the primary
# works again, so the certificate tries it at the renewal that is due anyway
# (scoring/policy.c, pol_restore_trial): while the primary still fails, the trial fails and
# certcast fails over again; once the primary works, the trial sticks. --failover-restore-after
# 1m stands for the 24h default, and renewals come 90 s after issue instead of after two thirds
# of the lifetime, so the test takes minutes: a trial falls between 60 s after a certificate
# from the fallback (no failure of the primary seen for restore-after) and its renewal at 90 s.
# The certificates live 25h so that retries on the primary have time: the trial is taken only
# when the forecast on the primary is under target.
. "$(dirname "$0")/lib.sh"

bin=$(certcast_bin)
require "certcast binary is built" test -x "$bin"
require "python3 with cryptography and yaml" python3 -c 'import cryptography, yaml'

ns=$(new_namespace trial)
start_standin "$ns"

# a deactivated ACME account: configuration, which does not heal by itself
cfg_msg='Failed to register ACME account: 403 urn:ietf:params:acme:error:unauthorized: Account is deactivated'
require "create issuers" kubectl_admin apply -f - <<EOF
apiVersion: cert-manager.io/v1
kind: Issuer
metadata: {name: primary, namespace: $ns}
spec: {ca: {secretName: primary-ca}}
---
apiVersion: cert-manager.io/v1
kind: Issuer
metadata: {name: backup, namespace: $ns}
spec: {ca: {secretName: backup-ca}}
EOF
require "create the certificate" kubectl_admin apply -f - <<EOF
apiVersion: cert-manager.io/v1
kind: Certificate
metadata:
  name: solo
  namespace: $ns
  annotations:
    certcast.io/mode: enforce
    certcast.io/fallback-issuer: Issuer/backup
spec:
  secretName: solo-tls
  issuerRef: {name: primary, kind: Issuer}
  dnsNames: [solo.trial.test]
  duration: 25h
  renewBefore: 24h58m30s
EOF

cert() { kubectl_admin -n "$ns" get certificate solo -o json; }
issuer_is() { [ "$(cert | jq -r .spec.issuerRef.name)" = "$1" ]; }
revision_is() { cert | jq -e --argjson r "$1" '.status.revision == $r' >/dev/null; }
wait_for "solo is issued by the primary" 30 revision_is 1
require "break the primary issuer" kubectl_admin -n "$ns" annotate issuer primary \
	"standin.certcast.io/fail=OrderFailed|$cfg_msg"
failed_once() { cert | jq -e '(.status.failedIssuanceAttempts // 0) >= 1' >/dev/null; }
wait_for "solo's renewal on the primary fails" 150 failed_once

port=$(free_port)
start_bg ctl env KUBECONFIG="$CERTCAST_KUBECONFIG" "$bin" controller --mode enforce \
	--http-addr "127.0.0.1:$port" --namespace "$ns" --resync-period 10s \
	--cert-manager-metrics-port 0 --ari=false --failover-restore-after 1m
wait_for "controller is ready" 30 curl -fsS --max-time 5 "http://127.0.0.1:$port/readyz"

actions() { # ACTION -> certcast_actions_total{action=ACTION,mode=enforce}, 0 when absent
	curl -fsS "http://127.0.0.1:$port/metrics" | awk -v a="action=\"$1\"" \
		'/^certcast_actions_total\{/ && index($0, a) { v = $2 } END { print v + 0 }'
}
secret_issuer() {
	kubectl_admin -n "$ns" get secret solo-tls -o json | jq -r '.metadata.annotations["cert-manager.io/issuer-name"]'
}
restored_notes() {
	kubectl_admin -n "$ns" get events.events.k8s.io -o json |
		jq -r '.items[] | select(.regarding.name=="solo" and .reason=="IssuerRestored") | .note'
}

# --- the failover, as before: nothing else uses the primary -----------------------------------
wait_for "solo fails over to backup" 60 issuer_is backup
assert_eq "the primary is kept for a restore" Issuer/primary \
	"$(cert | jq -r '.metadata.annotations["certcast.io/original-issuer"]')"
backup_issued() { [ "$(secret_issuer)" = backup ]; }
wait_for "the backup issues solo" 60 backup_issued

# --- the primary still fails: the trial fails and certcast fails over again ------------------------
tried() { [ "$(actions failover-restore)" -ge 1 ]; }
wait_for "solo tries the primary at a renewal" 150 tried
assert_contains "IssuerRestored says it is a trial, and why" "$(restored_notes)" \
	"No failure of the primary issuer seen for at least"
assert_contains "IssuerRestored says what a failure will do" "$(restored_notes)" \
	"a failure there fails it over again"
failed_over_twice() { [ "$(actions failover)" -ge 2 ] && issuer_is backup; }
wait_for "the trial fails on the primary and solo fails over again" 120 failed_over_twice
# cert-manager marks the Certificate Ready=False (IncorrectIssuer) while the request for the new
# issuerRef runs, as at any failover; the Secret keeps the backup's certificate meanwhile.
check "the Secret kept the backup's certificate through the failed trial" backup_issued
ready() { cert | jq -e '.status.conditions[] | select(.type=="Ready") | .status=="True"' >/dev/null; }
wait_for "solo is Ready again on the backup" 30 ready
tries=$(actions failover-restore)
sleep 40 # less than restore-after from the failover just made
check "no new trial within restore-after of the failed one" test "$(actions failover-restore)" -eq "$tries"
check "no ManagerConflict from certcast's own switches" \
	sh -c "! kubectl --kubeconfig '$KUBECONFIG' -n '$ns' get events.events.k8s.io -o json | jq -e '.items[] | select(.reason==\"ManagerConflict\")' >/dev/null"

# --- the primary works again: the next trial sticks ------------------------------------------
require "the primary works again" kubectl_admin -n "$ns" annotate issuer primary standin.certcast.io/fail-
n_restore=$(actions failover-restore)
on_primary_issued() { issuer_is primary && [ "$(secret_issuer)" = primary ] && ready; }
wait_for "solo tries the primary again, and it issues" 200 on_primary_issued
check "that was a second trial" test "$(actions failover-restore)" -gt "$n_restore"
assert_eq "the kept issuer is gone once restored" "" \
	"$(cert | jq -r '.metadata.annotations["certcast.io/original-issuer"] // ""')"
n_fo=$(actions failover)
sleep 25 # two resyncs and more: it stays on the primary
assert_eq "solo stays on the primary" primary "$(cert | jq -r .spec.issuerRef.name)"
assert_eq "no failover after the successful trial" "$n_fo" "$(actions failover)"
assert_match "last-action records the restore" \
	"$(cert | jq -r '.metadata.annotations["certcast.io/last-action"]')" \
	'^IssuerRestored [0-9T:-]+Z: spec.issuerRef Issuer/primary$'
