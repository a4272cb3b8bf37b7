#!/usr/bin/env bash
# The Helm chart: lints, renders, refuses a bad mode, never grants Secrets, runs as non-root with
# a read-only root filesystem, and the config file it renders is one certcast itself accepts:
# the rendered config.yaml is fed to a real `certcast controller` against the API server.
. "$(dirname "$0")/lib.sh"

chart="$CERTCAST_ROOT/charts/certcast"
bin=$(certcast_bin)
check "helm lint passes" helm lint "$chart"
require "helm template renders" bash -c "helm template t '$chart' -n certcast >'$TEST_TMP/all.yaml'"
all=$(cat "$TEST_TMP/all.yaml")
for kind in ServiceAccount ClusterRole ClusterRoleBinding ConfigMap Deployment Service; do
	assert_contains "renders a $kind" "$all" "kind: $kind"
done
assert_not_contains "no ServiceMonitor unless asked" "$all" "kind: ServiceMonitor"
check "ServiceMonitor when enabled" bash -c "helm template t '$chart' --set serviceMonitor.enabled=true | grep -q 'kind: ServiceMonitor'"
check "the ServiceMonitor keeps the Certificate's namespace label" bash -c \
	"helm template t '$chart' --set serviceMonitor.enabled=true --show-only templates/service.yaml | grep -q 'honorLabels: true'"
assert_not_contains "no PrometheusRule unless asked" "$all" "kind: PrometheusRule"
require "PrometheusRule when enabled" bash -c "helm template t '$chart' --set prometheusRule.enabled=true \
	--set prometheusRule.labels.release=kps --show-only templates/prometheusrule.yaml >'$TEST_TMP/rule.yaml'"
assert_contains "it carries the user's labels" "$(cat "$TEST_TMP/rule.yaml")" "release: kps"
# Its spec is the rule file as Prometheus reads it: $labels templates left for Prometheus.
check "its groups pass promtool check rules" bash -c "python3 -c '
import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
assert d[\"kind\"] == \"PrometheusRule\", d[\"kind\"]
yaml.safe_dump({\"groups\": d[\"spec\"][\"groups\"]}, open(sys.argv[2], \"w\"))
' '$TEST_TMP/rule.yaml' '$TEST_TMP/rule-groups.yaml' && promtool check rules '$TEST_TMP/rule-groups.yaml'"
assert_contains "Prometheus templates survive Helm" "$(cat "$TEST_TMP/rule.yaml")" '{{ $labels.namespace }}'
rules=$(helm template t "$chart" --show-only templates/rbac.yaml)
assert_not_contains "the ClusterRole never names secrets" "$rules" "secrets"
assert_not_contains "the ClusterRole has no wildcard" "$rules" "'*'"
dep=$(helm template t "$chart" --show-only templates/deployment.yaml)
assert_contains "runs as non-root" "$dep" "runAsNonRoot: true"
assert_contains "read-only root filesystem" "$dep" "readOnlyRootFilesystem: true"
assert_contains "drops all capabilities" "$dep" "- ALL"
assert_contains "liveness on /healthz" "$dep" "path: /healthz"
assert_contains "readiness on /readyz" "$dep" "path: /readyz"
# The learned model's state file: on an emptyDir by default, on the user's claim when named.
assert_match "the state folder is mounted" "$dep" 'mountPath: /var/lib/certcast'
assert_contains "an emptyDir holds it by default" "$dep" "emptyDir: {}"
cm=$(helm template t "$chart" --show-only templates/configmap.yaml)
assert_contains "the config sets stateFile there" "$cm" "stateFile: /var/lib/certcast/model.state"
pvc=$(helm template t "$chart" --set state.existingClaim=certcast-state --show-only templates/deployment.yaml)
assert_contains "state.existingClaim mounts that claim" "$pvc" "claimName: certcast-state"
assert_not_contains "and no emptyDir then" "$pvc" "emptyDir"
off=$(helm template t "$chart" --set state.enabled=false)
assert_not_contains "state.enabled=false: no stateFile" "$off" "stateFile"
assert_not_contains "state.enabled=false: no state volume" "$off" "/var/lib/certcast"
rc=0; out=$(helm template t "$chart" --set mode=bogus 2>&1) || rc=$?
assert_ne "a bad mode fails to render" 0 "$rc"
assert_contains "the failure says why" "$out" "mode must be observe or enforce"

# httpAuth: none by default (no review rights, no reader roles); kubernetes adds both, and the
# ServiceMonitor then sends Prometheus' token.
assert_contains "httpAuth none by default" "$cm" "httpAuth: none"
assert_not_contains "no review rights by default" "$rules" "tokenreviews"
assert_not_contains "no reader role by default" "$rules" "nonResourceURLs"
auth=$(helm template t "$chart" --set httpAuth=kubernetes --set serviceMonitor.enabled=true)
assert_contains "httpAuth kubernetes reaches the config" "$auth" "httpAuth: kubernetes"
assert_contains "certcast may create TokenReviews" "$auth" 'resources: ["tokenreviews"]'
assert_contains "and SubjectAccessReviews" "$auth" 'resources: ["subjectaccessreviews"]'
assert_contains "a metrics reader ClusterRole to bind" "$auth" "name: t-certcast-metrics-reader"
paths='"/metrics", "/status", "/explain", "/explain/*", "/", "/index.html", "/live"'
assert_contains "a reader ClusterRole for every path" "$auth" "nonResourceURLs: [$paths]"
assert_contains "the ServiceMonitor sends a token" "$auth" "bearerTokenFile:"
rc=0; out=$(helm template t "$chart" --set httpAuth=basic 2>&1) || rc=$?
assert_ne "a bad httpAuth fails to render" 0 "$rc"
assert_contains "and says why" "$out" "httpAuth must be none or kubernetes"

# Leader election: on by itself with several replicas, or when asked; the pod's name and
# namespace from the downward API; several replicas without it refused.
assert_contains "one replica: no --leader-elect" "$dep" 'args: ["controller", "--config", "/etc/certcast/config.yaml"]'
assert_contains "POD_NAME from the downward API" "$dep" "fieldRef: {fieldPath: metadata.name}"
assert_contains "POD_NAMESPACE from the downward API" "$dep" "fieldRef: {fieldPath: metadata.namespace}"
assert_not_contains "one replica: no lease settings" "$cm" "leaseName"
two=$(helm template t "$chart" --set replicaCount=2 --show-only templates/deployment.yaml)
assert_contains "two replicas: --leader-elect" "$two" '"/etc/certcast/config.yaml", "--leader-elect"]'
assert_contains "two replicas" "$two" "replicas: 2"
cm2=$(helm template t "$chart" --set replicaCount=2 --show-only templates/configmap.yaml)
assert_contains "two replicas: the Lease is named after the release" "$cm2" "leaseName: t-certcast-leader"
assert_contains "two replicas: client-go's leaseDuration" "$cm2" "leaseDuration: 15s"
assert_contains "two replicas: renewDeadline" "$cm2" "renewDeadline: 10s"
assert_contains "two replicas: retryPeriod" "$cm2" "retryPeriod: 2s"
forced=$(helm template t "$chart" --set leaderElection.enabled=true --set leaderElection.leaseName=mine \
	--set leaderElection.leaseDuration=30s)
assert_contains "enabled=true on one replica: --leader-elect" "$forced" '"--leader-elect"]'
assert_contains "leaseName as given" "$forced" "leaseName: mine"
assert_contains "leaseDuration as given" "$forced" "leaseDuration: 30s"
rc=0; out=$(helm template t "$chart" --set replicaCount=3 --set leaderElection.enabled=false 2>&1) || rc=$?
assert_ne "three replicas without leader election fail to render" 0 "$rc"
assert_contains "the failure says why" "$out" "replicaCount > 1 needs leader election"
rc=0; out=$(helm template t "$chart" --set leaderElection.enabled=maybe 2>&1) || rc=$?
assert_ne "a bad leaderElection.enabled fails to render" 0 "$rc"
assert_contains "the failure says why" "$out" "leaderElection.enabled must be true, false or null"

# The rendered config file, as the pod would read it, is valid for certcast.
for mode in observe enforce; do
	helm template t "$chart" --set mode=$mode --set watchNamespace=shop --show-only templates/configmap.yaml |
		awk '/config.yaml: \|/ {on = 1; next} on && /^    / {sub(/^    /, ""); print}' >"$TEST_TMP/config-$mode.yaml"
	assert_contains "rendered config carries mode $mode" "$(cat "$TEST_TMP/config-$mode.yaml")" "mode: $mode"
done
# the pod's state folder does not exist here: the checkpoint goes to the test's folder instead
sed -i "s|^stateFile: .*|stateFile: $TEST_TMP/model.state|" "$TEST_TMP/config-observe.yaml"
port=$(free_port)
start_bg ctl env KUBECONFIG="$CERTCAST_KUBECONFIG" "$bin" controller --config "$TEST_TMP/config-observe.yaml" \
	--http-addr "127.0.0.1:$port"
wait_for "certcast runs with the chart's rendered config" 60 curl -fsS "http://127.0.0.1:$port/readyz"
check "the chart's JSON log format is used" bash -c "grep -m1 '^{' '$(bg_log ctl)' | jq -e .msg"
rc=0; stop_bg ctl || rc=$?
assert_eq "clean exit" 0 "$rc"

# The two-replica rendering, as a pod of the Deployment would run it: the config file, the flag
# and the downward API's variables; it takes the Lease named after the release.
helm template t "$chart" --set replicaCount=2 --show-only templates/configmap.yaml |
	awk '/config.yaml: \|/ {on = 1; next} on && /^    / {sub(/^    /, ""); print}' >"$TEST_TMP/config-ha.yaml"
sed -i "s|^stateFile: .*|stateFile: $TEST_TMP/model-ha.state|" "$TEST_TMP/config-ha.yaml"
lns=$(new_namespace helm-lease)
args=$(helm template t "$chart" --set replicaCount=2 --show-only templates/deployment.yaml |
	awk -F'args: ' '/args: \[/ { print $2 }' | jq -r '.[]' | tr '\n' ' ')
assert_eq "the pod's arguments" "controller --config /etc/certcast/config.yaml --leader-elect " "$args"
port=$(free_port)
start_bg ctl-ha env KUBECONFIG="$CERTCAST_KUBECONFIG" POD_NAME=t-certcast-7f9c-x2v4q POD_NAMESPACE="$lns" \
	"$bin" controller --config "$TEST_TMP/config-ha.yaml" --leader-elect --http-addr "127.0.0.1:$port"
wait_for "certcast runs with the two-replica rendering" 60 curl -fsS "http://127.0.0.1:$port/readyz"
holder() { kubectl_admin -n "$lns" get lease t-certcast-leader -o jsonpath='{.spec.holderIdentity}' 2>/dev/null; }
is_holder() { [ "$(holder)" = t-certcast-7f9c-x2v4q ]; }
wait_for "it holds the Lease t-certcast-leader in its namespace, as POD_NAME" 30 is_holder
rc=0; stop_bg ctl-ha || rc=$?
assert_eq "clean exit" 0 "$rc"
assert_eq "the Lease is released on the way out" "" "$(holder)"
kubectl_admin -n "$lns" delete lease t-certcast-leader >/dev/null 2>&1 || true

# HTTPS (tls.enabled): the Secret is mounted as a folder (so that kubelet swaps in renewals),
# the config names the mounted files, the probes, the port name and the ServiceMonitor speak
# HTTPS, and the Certificate made with tls.certificate.create is one the API server accepts.
# Off by default: the rendering above is plain HTTP.
assert_not_contains "no TLS unless asked" "$all" "httpTLSCertFile"
assert_not_contains "no Certificate unless asked" "$all" "kind: Certificate"
tlsset=(--set tls.enabled=true --set tls.certificate.create=true
	--set tls.certificate.issuerRef.name=ca)
check "helm lint passes with TLS and a Certificate" helm lint "$chart" "${tlsset[@]}"
tdep=$(helm template t "$chart" "${tlsset[@]}" --show-only templates/deployment.yaml)
assert_contains "the Secret is mounted" "$tdep" "secretName: t-certcast-tls"
assert_contains "as a folder" "$tdep" "mountPath: /etc/certcast-tls"
assert_not_contains "never by subPath (renewals would not reach the pod)" "$tdep" "subPath"
assert_contains "liveness over HTTPS" "$tdep" \
	"httpGet: {path: /healthz, port: https, scheme: HTTPS}"
assert_contains "readiness over HTTPS" "$tdep" \
	"httpGet: {path: /readyz, port: https, scheme: HTTPS}"
tcm=$(helm template t "$chart" "${tlsset[@]}" --show-only templates/configmap.yaml)
assert_contains "the config names the certificate file" "$tcm" \
	"httpTLSCertFile: /etc/certcast-tls/tls.crt"
assert_contains "and the key file" "$tcm" "httpTLSKeyFile: /etc/certcast-tls/tls.key"
tsvc=$(helm template t "$chart" -n certcast "${tlsset[@]}" --set serviceMonitor.enabled=true \
	--show-only templates/service.yaml)
assert_contains "the Service port is named https" "$tsvc" "- name: https"
assert_contains "the ServiceMonitor scrapes over https" "$tsvc" "scheme: https"
assert_contains "verifying with the Secret's ca.crt" "$tsvc" \
	"secret: {name: t-certcast-tls, key: ca.crt}"
assert_contains "for the Service's name" "$tsvc" "serverName: t-certcast.certcast.svc"
trules=$(helm template t "$chart" "${tlsset[@]}" --show-only templates/rbac.yaml)
assert_not_contains "TLS adds no RBAC on Secrets" "$trules" "secrets"
tns=$(new_namespace helm-tls)
helm template t "$chart" -n "$tns" "${tlsset[@]}" \
	--set tls.certificate.issuerRef.kind=ClusterIssuer \
	--show-only templates/certificate.yaml >"$TEST_TMP/certificate.yaml"
assert_contains "the Certificate names the issuer" "$(cat "$TEST_TMP/certificate.yaml")" \
	"kind: ClusterIssuer"
check "the API server accepts the Certificate (server-side dry run)" \
	kubectl_admin apply --dry-run=server -f "$TEST_TMP/certificate.yaml"
rc=0
out=$(helm template t "$chart" --set tls.enabled=true --set tls.certificate.create=true 2>&1) ||
	rc=$?
assert_ne "a Certificate without an issuer fails to render" 0 "$rc"
assert_contains "the failure says why" "$out" \
	"tls.certificate.create needs tls.certificate.issuerRef.name"
ext=$(helm template t "$chart" --set tls.enabled=true --set tls.secretName=mine \
	--show-only templates/deployment.yaml)
assert_contains "tls.secretName mounts that Secret" "$ext" "secretName: mine"
