#!/usr/bin/env bash
# certcast writing: annotations and Events in observe mode, and the enforce-mode actions
# (failover to the fallback issuer, a reissue past cert-manager's backoff, a renewBefore change
# and a manager conflict), against the cert-manager stand-in on the real API server, with
# certcast running as the least-privileged user certcast (the chart's RBAC).
. "$(dirname "$0")/lib.sh"

bin=$(certcast_bin)
require "certcast binary is built" test -x "$bin"
require "python3 with cryptography and yaml" python3 -c 'import cryptography, yaml'

ns=$(new_namespace actions)
start_standin "$ns"

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
---
apiVersion: cert-manager.io/v1
kind: Issuer
metadata: {name: blip, namespace: $ns}
spec: {ca: {secretName: blip-ca}}
---
apiVersion: cert-manager.io/v1
kind: Issuer
metadata: {name: steady, namespace: $ns}
spec: {ca: {secretName: steady-ca}}
EOF

# Issued while the primary is healthy: duration 1h, renewal a minute after issue.
cert_yaml() { # NAME MODE [extra annotation lines]
	cat <<EOF
apiVersion: cert-manager.io/v1
kind: Certificate
metadata:
  name: $1
  namespace: $ns
  annotations:
    certcast.io/mode: $2
    certcast.io/fallback-issuer: Issuer/backup
${3:-}
spec:
  secretName: $1-tls
  issuerRef: {name: primary, kind: Issuer}
  dnsNames: [$1.actions.test]
  duration: 1h
  renewBefore: 59m
EOF
}
require "create certificates" kubectl_admin apply -f - <<EOF
$(cert_yaml failover enforce)
---
$(cert_yaml watched observe "    certcast.io/target-risk: lots")
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: retry, namespace: $ns, annotations: {certcast.io/mode: enforce}}
spec:
  secretName: retry-tls
  issuerRef: {name: blip, kind: Issuer}
  dnsNames: [retry.actions.test]
  duration: 1h
  renewBefore: 59m
---
# renewal 5 minutes before a 24h certificate expires: one attempt, so any failure is fatal
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: narrow, namespace: $ns, annotations: {certcast.io/mode: enforce}}
spec:
  secretName: narrow-tls
  issuerRef: {name: steady, kind: Issuer}
  dnsNames: [narrow.actions.test]
  duration: 24h
  renewBefore: 5m
EOF

cert() { kubectl_admin -n "$ns" get certificate "$1" -o json; }
revision_is() { cert "$1" | jq -e --argjson r "$2" '.status.revision == $r' >/dev/null; }
wait_for "failover is issued by the primary" 30 revision_is failover 1
wait_for "watched is issued by the primary" 30 revision_is watched 1
wait_for "retry is issued" 30 revision_is retry 1
wait_for "narrow is issued" 30 revision_is narrow 1

# The primary breaks before the renewals a minute after issue: the renewals fail, and
# cert-manager backs off an hour, past notAfter.
require "break the primary issuer" kubectl_admin -n "$ns" annotate issuer primary \
	"standin.certcast.io/fail=OrderFailed|$cfg_msg"
# blip's failure is a connection reset: transient, an immediate retry is an independent chance
require "break blip for a moment" kubectl_admin -n "$ns" annotate issuer blip \
	'standin.certcast.io/fail=ErrorSigning|Failed to sign certificate: Post "https://vault.internal/v1/pki/sign/x": read tcp 10.0.0.4:51234->10.0.0.9:8200: read: connection reset by peer'
failed_once() { cert "$1" | jq -e '(.status.failedIssuanceAttempts // 0) >= 1' >/dev/null; }
wait_for "failover's renewal fails" 120 failed_once failover
wait_for "watched's renewal fails" 60 failed_once watched
wait_for "retry's renewal fails" 60 failed_once retry
require "blip works again" kubectl_admin -n "$ns" annotate issuer blip standin.certcast.io/fail-

port=$(free_port)
start_bg ctl env KUBECONFIG="$CERTCAST_KUBECONFIG" "$bin" controller --mode enforce \
	--http-addr "127.0.0.1:$port" --namespace "$ns" --resync-period 10s \
	--cert-manager-metrics-port 0 --ari=false
wait_for "controller is ready" 30 curl -fsS --max-time 5 "http://127.0.0.1:$port/readyz"

annot() { cert "$1" | jq -r --arg k "$2" '.metadata.annotations[$k] // ""'; }
has_annot() { [ -n "$(annot "$1" "$2")" ]; }
events_of() { certcast_events "$ns" "$1"; }
has_event() { has_certcast_event "$ns" "$1" "$2"; }

# --- observe: annotations and Events, the spec untouched ------------------------------------------
wait_for "watched gets certcast.io/risk" 30 has_annot watched certcast.io/risk
w=$(cert watched)
assert_eq "watched: risk level critical" critical "$(jq -r '.metadata.annotations["certcast.io/risk-level"]' <<<"$w")"
assert_match "watched: risk is a plain decimal" "$(jq -r '.metadata.annotations["certcast.io/risk"]' <<<"$w")" '^(0(\.[0-9]{1,6})?|1)$'
check "watched: risk-reasons are written" jq -e '.metadata.annotations["certcast.io/risk-reasons"] | length > 0' <<<"$w"
check "watched: predicted-failure is RFC 3339" jq -e '.metadata.annotations["certcast.io/predicted-failure"] | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$")' <<<"$w"
assert_eq "watched: spec.issuerRef untouched in observe mode" primary "$(jq -r .spec.issuerRef.name <<<"$w")"
assert_eq "watched: spec.renewBefore untouched in observe mode" 59m "$(jq -r .spec.renewBefore <<<"$w")"
wait_for "watched: RiskRaised Event" 20 has_event watched RiskRaised
wait_for "watched: InvalidAnnotation Event for target-risk" 20 has_event watched InvalidAnnotation
evj=$(kubectl_admin -n "$ns" get events.events.k8s.io -o json)
inv=$(jq -r '[.items[] | select(.regarding.name=="watched" and .reason=="InvalidAnnotation")] ' <<<"$evj")
assert_eq "one InvalidAnnotation Event" 1 "$(jq length <<<"$inv")"
assert_contains "InvalidAnnotation names the key and value" "$(jq -r '.[0].note' <<<"$inv")" 'certcast.io/target-risk="lots"'
assert_eq "InvalidAnnotation is a Warning" Warning "$(jq -r '.[0].type' <<<"$inv")"
rr=$(jq -r '[.items[] | select(.regarding.name=="watched" and .reason=="RiskRaised")][0]' <<<"$evj")
assert_eq "RiskRaised regards the Certificate" "cert-manager.io/v1 Certificate $(jq -r .metadata.uid <<<"$w")" \
	"$(jq -r '.regarding | "\(.apiVersion) \(.kind) \(.uid)"' <<<"$rr")"
assert_contains "RiskRaised says observe mode does not act" "$(jq -r .note <<<"$rr")" "Mode observe"

# --- enforce: failover to the fallback issuer, and cert-manager issues with it --------------------
on_backup() { [ "$(cert failover | jq -r .spec.issuerRef.name)" = backup ]; }
wait_for "failover: spec.issuerRef switched to backup" 40 on_backup
f=$(cert failover)
assert_eq "failover: original issuer kept" Issuer/primary "$(jq -r '.metadata.annotations["certcast.io/original-issuer"]' <<<"$f")"
assert_match "failover: last-action says so" "$(jq -r '.metadata.annotations["certcast.io/last-action"]' <<<"$f")" '^IssuerFailover [0-9T:-]+Z: spec.issuerRef Issuer/backup$'
wait_for "failover: IssuerFailover Event" 20 has_event failover IssuerFailover
ready_new() { cert failover | jq -e '.status.revision >= 2 and (.status.conditions[] | select(.type=="Ready") | .status=="True")' >/dev/null; }
wait_for "failover: the stand-in issues with the backup issuer" 60 ready_new
sec=$(kubectl_admin -n "$ns" get secret failover-tls -o json)
assert_eq "failover: the Secret was issued by backup" backup "$(jq -r '.metadata.annotations["cert-manager.io/issuer-name"]' <<<"$sec")"
check "certcast_actions_total counts the failover" sh -c \
	"curl -fsS http://127.0.0.1:$port/metrics | grep -E '^certcast_actions_total\\{action=\"failover\",mode=\"enforce\"\\} 1\$'"
check "certcast_actions_total counts annotations in observe mode" sh -c \
	"curl -fsS http://127.0.0.1:$port/metrics | grep -E '^certcast_actions_total\\{action=\"annotate\",mode=\"observe\"\\} [1-9]'"

# --- explain says what certcast did, from the controller and locally ------------------------------
xc=$("$bin" explain "$ns/failover" --controller "http://127.0.0.1:$port" 2>&1)
assert_contains "explain --controller: the mode and where it comes from" "$xc" "certcast mode: enforce (certcast.io/mode)"
assert_contains "explain --controller: the last action" "$xc" "certcast last action: IssuerFailover "
assert_contains "explain --controller: the issuer kept for a restore" "$xc" "kept for a restore: spec.issuerRef Issuer/primary"
xl=$(KUBECONFIG=$CERTCAST_KUBECONFIG "$bin" explain "$ns/watched" 2>&1)
assert_contains "explain (local): observe mode does not act" "$xl" "certcast mode: observe (certcast.io/mode): annotations and Events only, no actions"
assert_not_contains "explain (local): nothing done, nothing kept" "$xl" "kept for a restore"

# --- enforce: a reissue past cert-manager's backoff -------------------------------------------------
wait_for "retry: ReissueTriggered Event" 40 has_event retry ReissueTriggered
assert_match "retry: last-action records the reissue" "$(annot retry certcast.io/last-action)" '^ReissueTriggered [0-9T:-]+Z: '
renewed() { cert retry | jq -e '.status.revision >= 2 and (.status.failedIssuanceAttempts // 0) == 0' >/dev/null; }
wait_for "retry: issued again long before cert-manager's 1h backoff would end" 60 renewed
assert_eq "retry: spec untouched by a reissue" "blip 59m" "$(cert retry | jq -r '"\(.spec.issuerRef.name) \(.spec.renewBefore)"')"

# --- enforce: renewBefore moved earlier, the user's value kept ------------------------------------
rb_moved() { [ "$(cert narrow | jq -r .spec.renewBefore)" != 5m ]; }
wait_for "narrow: spec.renewBefore moved" 40 rb_moved
n=$(cert narrow)
assert_eq "narrow: original-renew-before keeps 5m (as Go prints a duration)" 5m0s "$(jq -r '.metadata.annotations["certcast.io/original-renew-before"]' <<<"$n")"
rbs=$(jq -r .spec.renewBefore <<<"$n")
rb_secs=$(python3 -c 'import re,sys; s=sys.argv[1]; print(sum(int(v)*{"h":3600,"m":60,"s":1}[u] for v,u in re.findall(r"(\d+)([hms])", s)))' "$rbs")
check "narrow: new renewBefore is later than 5m and under the 24h lifetime ($rbs)" test "$rb_secs" -gt 300 -a "$rb_secs" -lt 86400
assert_match "narrow: last-action says so" "$(jq -r '.metadata.annotations["certcast.io/last-action"]' <<<"$n")" "^RenewBeforeAdjusted [0-9T:-]+Z: spec.renewBefore $rbs\$"
wait_for "narrow: RenewBeforeAdjusted Event" 20 has_event narrow RenewBeforeAdjusted

# --- a manager conflict: someone puts the primary back, twice --------------------------------------
revert() { kubectl_admin -n "$ns" patch certificate failover --type merge -p '{"spec":{"issuerRef":{"name":"primary","kind":"Issuer","group":"cert-manager.io"}}}' >/dev/null; }
require "revert the failover (1)" revert
wait_for "certcast fails over again" 60 on_backup
require "revert the failover (2)" revert
wait_for "failover: ManagerConflict Event" 40 has_event failover ManagerConflict
sleep 15 # two resyncs: certcast must keep its hands off now
assert_eq "failover: certcast left the reverted issuerRef alone" primary "$(cert failover | jq -r .spec.issuerRef.name)"
assert_match "failover: the conflict is on the object" "$(annot failover certcast.io/manager-conflict)" \
	'^[0-9T:-]+Z: spec.issuerRef was changed from Issuer/backup to Issuer/primary by another writer$'
assert_contains "explain says certcast takes no action" \
	"$("$bin" explain "$ns/failover" --controller "http://127.0.0.1:$port" 2>&1)" "certcast takes no action (certcast.io/manager-conflict)"
require "hand the certificate back" kubectl_admin -n "$ns" annotate certificate failover certcast.io/manager-conflict-
wait_for "certcast acts on it again: fails over" 60 on_backup
check "certcast_actions_total counts the conflict" sh -c \
	"curl -fsS http://127.0.0.1:$port/metrics | grep -E '^certcast_actions_total\\{action=\"manager-conflict\",mode=\"enforce\"\\} 1\$'"
check "the other certificates are still handled (annotated)" has_annot narrow certcast.io/risk
posted=$(curl -fsS "http://127.0.0.1:$port/metrics" | awk '$1 == "certcast_events_total{result=\"posted\"}" { print $2 }')
posted_api=$(kubectl_admin -n "$ns" get events.events.k8s.io -o json | jq '[.items[] | select(.reportingController=="certcast")] | length')
assert_eq "certcast_events_total{result=posted} is the number of certcast's Events" "$posted_api" "$posted"

# --- a restart: a bad value already reported is not reported again -----------------------------
# The memory of the values reported lives in the process; before posting InvalidAnnotation the
# new process looks for certcast's own Event on the object, which the API server still keeps.
rc=0
stop_bg ctl || rc=$?
assert_eq "the controller stops cleanly (SIGTERM: exit status 0)" 0 "$rc"
start_bg ctl2 env KUBECONFIG="$CERTCAST_KUBECONFIG" "$bin" controller --mode enforce \
	--http-addr "127.0.0.1:$port" --namespace "$ns" --resync-period 10s \
	--cert-manager-metrics-port 0 --ari=false
wait_for "the restarted controller is ready" 30 curl -fsS --max-time 5 "http://127.0.0.1:$port/readyz"
# act_apply runs before the reconcile publishes the risk: published means watched was handled
wait_for "the restarted controller has reconciled watched" 30 bash -c \
	"curl -fsS http://127.0.0.1:$port/metrics | grep -qF 'certcast_certificate_risk{namespace=\"$ns\",name=\"watched\"'"
wait_for "it found the InvalidAnnotation Event the first process posted" 20 \
	grep -qF "not reporting again what an InvalidAnnotation Event still on it says: certcast.io/target-risk=\"lots\"" "$(bg_log ctl2)"
inv=$(kubectl_admin -n "$ns" get events.events.k8s.io -o json |
	jq '[.items[] | select(.regarding.name=="watched" and .reason=="InvalidAnnotation")] | length')
assert_eq "still one InvalidAnnotation Event after the restart" 1 "$inv"

lib_finish
