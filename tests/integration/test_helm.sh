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
# values.schema.json refuses a bad mode before anything renders; the template's own check stays
# behind it for --skip-schema-validation.
rc=0; out=$(helm template t "$chart" --set mode=bogus 2>&1) || rc=$?
assert_ne "a bad mode fails to render" 0 "$rc"
assert_contains "the schema says why" "$out" "at '/mode': value must be one of 'observe', 'enforce'"
rc=0; out=$(helm template t "$chart" --skip-schema-validation --set mode=bogus 2>&1) || rc=$?
assert_ne "without the schema a bad mode still fails to render" 0 "$rc"
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
assert_contains "the schema says why" "$out" \
	"at '/httpAuth': value must be one of 'none', 'kubernetes'"
rc=0; out=$(helm template t "$chart" --skip-schema-validation --set httpAuth=basic 2>&1) || rc=$?
assert_ne "without the schema a bad httpAuth still fails to render" 0 "$rc"
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

# values.schema.json: a typo or a value out of range is refused by helm lint and helm template
# before anything renders, with the value's path and what it may be.
schema_refuses() { # NAME MESSAGE SET...: helm template with those --set fails naming MESSAGE
	local name=$1 want=$2 rc=0 out
	shift 2
	out=$(helm template t "$chart" "$@" 2>&1) || rc=$?
	assert_ne "the schema refuses $name" 0 "$rc"
	assert_contains "and says why ($name)" "$out" "$want"
}
schema_refuses "replicaCount 0" "at '/replicaCount': minimum: got 0, want 1" \
	--set replicaCount=0
schema_refuses "a bad logFormat" "at '/logFormat': value must be one of 'json', 'text'" \
	--set logFormat=xml
schema_refuses "a bad logLevel" \
	"at '/logLevel': value must be one of 'debug', 'info', 'warn', 'error'" --set logLevel=trace
schema_refuses "a misspelt value" "additional properties 'replicaCont' not allowed" \
	--set replicaCont=2
schema_refuses "a string for a boolean" "at '/state/enabled': got string, want boolean" \
	--set-string state.enabled=yes
schema_refuses "a bad PDB percentage" "'5x' does not match pattern" \
	--set podDisruptionBudget.maxUnavailable=5x
rc=0; out=$(helm lint "$chart" --set mode=bogus 2>&1) || rc=$?
assert_ne "helm lint refuses a bad mode" 0 "$rc"
assert_contains "and says why" "$out" "at '/mode': value must be one of 'observe', 'enforce'"

# PodDisruptionBudget: on by itself with more than one replica (with one, minAvailable 1 would
# block every drain), forced on or off with enabled, minAvailable 1 unless told otherwise.
assert_not_contains "one replica: no PodDisruptionBudget" "$all" "kind: PodDisruptionBudget"
pdb2=$(helm template t "$chart" --set replicaCount=2)
assert_contains "two replicas: a PodDisruptionBudget" "$pdb2" "kind: PodDisruptionBudget"
pdb2=$(helm template t "$chart" --set replicaCount=2 --show-only templates/poddisruptionbudget.yaml)
assert_contains "it keeps one replica up" "$pdb2" "minAvailable: 1"
assert_not_contains "and sets no maxUnavailable" "$pdb2" "maxUnavailable"
assert_contains "it selects the release's pods" "$pdb2" "app.kubernetes.io/instance: t"
assert_contains "an unready replica never blocks a drain" "$pdb2" \
	"unhealthyPodEvictionPolicy: AlwaysAllow"
off=$(helm template t "$chart" --set replicaCount=2 --set podDisruptionBudget.enabled=false)
assert_not_contains "enabled=false: none with two replicas" "$off" "kind: PodDisruptionBudget"
on=$(helm template t "$chart" --set podDisruptionBudget.enabled=true)
assert_contains "enabled=true: one with one replica" "$on" "kind: PodDisruptionBudget"
pdbmax=$(helm template t "$chart" --set replicaCount=3 --set podDisruptionBudget.maxUnavailable=1 \
	--show-only templates/poddisruptionbudget.yaml)
assert_contains "maxUnavailable as given" "$pdbmax" "maxUnavailable: 1"
assert_not_contains "and then no minAvailable" "$pdbmax" "minAvailable"
pdbpct=$(helm template t "$chart" --set replicaCount=3 --set podDisruptionBudget.minAvailable=50% \
	--set podDisruptionBudget.unhealthyPodEvictionPolicy= \
	--show-only templates/poddisruptionbudget.yaml)
assert_contains "minAvailable as a percentage" "$pdbpct" 'minAvailable: "50%"'
assert_not_contains "an empty unhealthyPodEvictionPolicy is left out" "$pdbpct" "unhealthyPod"
rc=0; out=$(helm template t "$chart" --set replicaCount=2 --set podDisruptionBudget.minAvailable=1 \
	--set podDisruptionBudget.maxUnavailable=1 2>&1) || rc=$?
assert_ne "minAvailable and maxUnavailable together fail to render" 0 "$rc"
assert_contains "the failure says why" "$out" "set minAvailable or maxUnavailable, not both"

# NetworkPolicy: off by default; on, the HTTP port only from networkPolicy.from, and egress only
# to what certcast connects to: the API server (by address), DNS, cert-manager's metrics port,
# HTTPS for ARI. np_rules prints one line per rule, so that each is checked whole.
assert_not_contains "no NetworkPolicy unless asked" "$all" "kind: NetworkPolicy"
rc=0; out=$(helm template t "$chart" --set networkPolicy.enabled=true 2>&1) || rc=$?
assert_ne "a NetworkPolicy without the API server's addresses fails to render" 0 "$rc"
assert_contains "the failure says why" "$out" \
	"networkPolicy.enabled needs networkPolicy.egress.apiServer.cidrs"
np_rules() { # helm template ARGS...: the NetworkPolicy's rules, one line each
	helm template t "$chart" -n certcast --set networkPolicy.enabled=true \
		--set 'networkPolicy.egress.apiServer.cidrs={10.0.0.1/32}' "$@" \
		--show-only templates/networkpolicy.yaml | python3 -c '
import json, sys, yaml
np = yaml.safe_load(sys.stdin)
assert np["kind"] == "NetworkPolicy", np["kind"]
spec = np["spec"]
print("select", json.dumps(spec["podSelector"], sort_keys=True))
print("types", ",".join(spec["policyTypes"]))
def peer(p):
    if "ipBlock" in p:
        return "ipBlock:" + p["ipBlock"]["cidr"]
    if list(p) == ["namespaceSelector"] and list(p["namespaceSelector"]) == ["matchLabels"]:
        return "namespace:" + p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
    return json.dumps(p, sort_keys=True)
def ports(r):
    return ",".join("%s/%s" % (p["port"], p["protocol"]) for p in r["ports"])
for r in spec["ingress"]:
    print("ingress from=%s ports=%s" % (" ".join(peer(p) for p in r["from"]), ports(r)))
print("ingress rules", len(spec["ingress"]))
for r in spec["egress"]:
    print("egress to=%s ports=%s" % (" ".join(peer(p) for p in r["to"]), ports(r)))
print("egress rules", len(spec["egress"]))
'
}
np_to() { local f=$1; shift; np_rules "$@" >"$f"; }
monitoring='kubernetes\.io/metadata\.name=monitoring'
require "the NetworkPolicy renders" np_to "$TEST_TMP/np.txt" \
	--set "networkPolicy.from[0].namespaceSelector.matchLabels.$monitoring"
np=$(cat "$TEST_TMP/np.txt")
assert_contains "it selects the release's pods" "$np" \
	'select {"matchLabels": {"app.kubernetes.io/instance": "t", "app.kubernetes.io/name": "certcast"}}'
assert_contains "it restricts both directions" "$np" "types Ingress,Egress"
assert_contains "the HTTP port from the monitoring namespace" "$np" \
	"ingress from=namespace:monitoring ports=9403/TCP"
assert_contains "and nothing else in" "$np" "ingress rules 1"
assert_contains "out to the API server's address, ports 443 and 6443" "$np" \
	"egress to=ipBlock:10.0.0.1/32 ports=443/TCP,6443/TCP"
assert_contains "DNS in kube-system, UDP and TCP" "$np" \
	"egress to=namespace:kube-system ports=53/UDP,53/TCP"
assert_contains "cert-manager's metrics port in its namespace" "$np" \
	"egress to=namespace:cert-manager ports=9402/TCP"
assert_contains "HTTPS anywhere for ARI" "$np" \
	"egress to=ipBlock:0.0.0.0/0 ipBlock:::/0 ports=443/TCP"
assert_contains "and nothing else out" "$np" "egress rules 4"
np=$(np_rules 2>&1) || true
assert_contains "no from: no ingress rule (only the node's probes get in)" "$np" "ingress rules 0"
np=$(np_rules --set service.port=8443 --set tls.enabled=true --set certManagerNamespace=cm \
	--set config.certManagerMetricsPort=9999 --set networkPolicy.egress.ari.ports='{443,14000}' \
	--set 'networkPolicy.egress.ari.cidrs={203.0.113.0/24}' \
	--set 'networkPolicy.from[0].podSelector.matchLabels.app=prom' 2>&1) || true
assert_contains "the ingress port follows service.port" "$np" \
	'ingress from={"podSelector": {"matchLabels": {"app": "prom"}}} ports=8443/TCP'
assert_contains "the metrics rule follows certManagerNamespace and certManagerMetricsPort" "$np" \
	"egress to=namespace:cm ports=9999/TCP"
assert_contains "ARI's addresses and ports as given" "$np" \
	"egress to=ipBlock:203.0.113.0/24 ports=443/TCP,14000/TCP"
np=$(np_rules --set config.certManagerMetricsPort=0 --set config.ari=false 2>&1) || true
assert_not_contains "certManagerMetricsPort 0: no metrics rule" "$np" "9402"
assert_not_contains "ari false: no ARI rule" "$np" "0.0.0.0/0"
assert_contains "the API server and DNS remain" "$np" "egress rules 2"
np=$(np_rules --set networkPolicy.egress.ari.enabled=false \
	--set networkPolicy.egress.dns.enabled=false \
	--set 'networkPolicy.egress.extra[0].to[0].ipBlock.cidr=169.254.20.10/32' \
	--set 'networkPolicy.egress.extra[0].ports[0].port=53' \
	--set 'networkPolicy.egress.extra[0].ports[0].protocol=UDP' 2>&1) || true
assert_not_contains "egress.ari.enabled=false: no ARI rule" "$np" "0.0.0.0/0"
assert_not_contains "dns.enabled=false: no DNS rule" "$np" "namespace:kube-system"
assert_contains "an extra rule as given" "$np" "egress to=ipBlock:169.254.20.10/32 ports=53/UDP"
rc=0; out=$(helm template t "$chart" --set networkPolicy.enabled=true \
	--set 'networkPolicy.egress.apiServer.cidrs={10.0.0.1/32}' \
	--set 'networkPolicy.egress.ari.cidrs=null' 2>&1) || rc=$?
assert_ne "ARI without addresses fails to render (an empty 'to' would allow all)" 0 "$rc"
assert_contains "the failure says why" "$out" "networkPolicy.egress.ari needs cidrs and ports"

# Scheduling: none of it set by default (the pod spec is as before); each value where it belongs.
assert_not_contains "no priorityClassName by default" "$dep" "priorityClassName"
assert_not_contains "no topologySpreadConstraints by default" "$dep" "topologySpreadConstraints"
assert_not_contains "Kubernetes' grace period (30s) by default" "$dep" \
	"terminationGracePeriodSeconds"
cat >"$TEST_TMP/sched.yaml" <<'VALUES'
replicaCount: 2
podLabels: {team: platform, app.kubernetes.io/name: other}
extraEnv:
  - {name: HTTPS_PROXY, value: "http://proxy.example:3128"}
terminationGracePeriodSeconds: 45
topologySpreadConstraints:
  - maxSkew: 1
    topologyKey: kubernetes.io/hostname
    whenUnsatisfiable: DoNotSchedule
    matchLabelKeys: [pod-template-hash]
  - maxSkew: 1
    topologyKey: topology.kubernetes.io/zone
    whenUnsatisfiable: ScheduleAnyway
    labelSelector: {matchLabels: {spread: mine}}
VALUES
sdep=$(helm template t "$chart" -f "$TEST_TMP/sched.yaml" --set priorityClassName=certcast-high \
	--show-only templates/deployment.yaml)
assert_contains "priorityClassName as given" "$sdep" "priorityClassName: certcast-high"
assert_contains "terminationGracePeriodSeconds as given" "$sdep" "terminationGracePeriodSeconds: 45"
assert_contains "podLabels on the pods" "$sdep" "team: platform"
assert_not_contains "never over the selector's labels" "$sdep" "name: other"
check "extraEnv after POD_NAMESPACE" bash -c \
	"printf '%s\n' \"\$1\" | grep -A4 'name: POD_NAMESPACE' | grep -q 'name: HTTPS_PROXY'" _ "$sdep"
check "a spread without labelSelector counts the release's pods; one with it is kept" python3 -c '
import sys, yaml
d = yaml.safe_load(sys.argv[1])
c = d["spec"]["template"]["spec"]["topologySpreadConstraints"]
want = {"app.kubernetes.io/name": "certcast", "app.kubernetes.io/instance": "t"}
assert c[0]["labelSelector"] == {"matchLabels": want}, c[0]
assert c[0]["matchLabelKeys"] == ["pod-template-hash"], c[0]
assert c[1]["labelSelector"] == {"matchLabels": {"spread": "mine"}}, c[1]
' "$sdep"
schema_refuses "a negative grace period" "at '/terminationGracePeriodSeconds'" \
	--set terminationGracePeriodSeconds=-1

# The API server accepts what the new values render (server-side dry run, strict field
# validation): the Deployment with every scheduling value, the PodDisruptionBudget and the
# NetworkPolicy, along with the rest of the chart, in a namespace of their own.
pns=$(new_namespace helm-prod)
pc="certcast-test-${pns##*-}"
kubectl_admin create priorityclass "$pc" --value 1000 >/dev/null
remember_cluster_object priorityclasses.scheduling.k8s.io "$pc"
require "the chart renders with every new value" bash -c "helm template t '$chart' -n '$pns' \
	-f '$TEST_TMP/sched.yaml' --set priorityClassName='$pc' --set networkPolicy.enabled=true \
	--set 'networkPolicy.egress.apiServer.cidrs={10.0.0.1/32,fd00::1/128}' \
	--set 'networkPolicy.from[0].namespaceSelector.matchLabels.$monitoring' \
	--set 'networkPolicy.from[0].podSelector.matchLabels.app\\.kubernetes\\.io/name=prometheus' \
	--set podDisruptionBudget.maxUnavailable=1 >'$TEST_TMP/prod.yaml'"
prod=$(cat "$TEST_TMP/prod.yaml")
check "helm lint passes with the scheduling values" helm lint "$chart" -f "$TEST_TMP/sched.yaml"
for kind in Deployment PodDisruptionBudget NetworkPolicy; do
	assert_contains "the rendering has a $kind" "$prod" "kind: $kind"
done
check "the API server accepts all of it (server-side dry run)" \
	kubectl_admin apply --dry-run=server -f "$TEST_TMP/prod.yaml"
helm template t "$chart" -n "$pns" --set replicaCount=2 \
	--show-only templates/poddisruptionbudget.yaml >"$TEST_TMP/pdb-default.yaml"
check "and the default two-replica PodDisruptionBudget (server-side dry run)" \
	kubectl_admin apply --dry-run=server -f "$TEST_TMP/pdb-default.yaml"
helm template t "$chart" -n "$pns" --set networkPolicy.enabled=true \
	--set 'networkPolicy.egress.apiServer.cidrs={10.0.0.1/32}' \
	--show-only templates/networkpolicy.yaml >"$TEST_TMP/np-default.yaml"
check "and a NetworkPolicy with no from, ingress: [] (server-side dry run)" \
	kubectl_admin apply --dry-run=server -f "$TEST_TMP/np-default.yaml"
# Admission checks a priorityClassName on pods only: a Pod made from the Deployment's template
# is accepted with the class that exists and refused with one that does not.
pod_of() { # DEPLOYMENT_FILE: a Pod with its pod template, on stdout
	python3 -c '
import sys, yaml
for d in yaml.safe_load_all(open(sys.argv[1])):
    if d and d["kind"] == "Deployment":
        t = d["spec"]["template"]
        m = dict(t["metadata"], name="certcast-pod-check", namespace=d["metadata"]["namespace"])
        print(yaml.safe_dump({"apiVersion": "v1", "kind": "Pod", "metadata": m, "spec": t["spec"]}))
' "$1"
}
pod_of "$TEST_TMP/prod.yaml" >"$TEST_TMP/pod.yaml"
assert_contains "the pod names the class" "$(cat "$TEST_TMP/pod.yaml")" "priorityClassName: $pc"
check "the API server admits a pod of the Deployment, with its PriorityClass (dry run)" \
	kubectl_admin apply --dry-run=server -f "$TEST_TMP/pod.yaml"
sed "s/priorityClassName: $pc/priorityClassName: no-such-class-here/" "$TEST_TMP/pod.yaml" \
	>"$TEST_TMP/pod-bad.yaml"
rc=0; out=$(kubectl_admin apply --dry-run=server -f "$TEST_TMP/pod-bad.yaml" 2>&1) || rc=$?
assert_ne "and refuses one naming a PriorityClass that does not exist" 0 "$rc"
assert_contains "naming it" "$out" "no-such-class-here"
