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
