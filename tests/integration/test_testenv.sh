#!/usr/bin/env bash
# The test environment itself: the API server, cert-manager's CRDs and their validation, the
# certcast user's exact RBAC, the status subresource, the audit log, forcing a 410, restarting
# the API server, and a second environment side by side.
. "$(dirname "$0")/lib.sh"
. "$CERTCAST_ROOT/hack/versions.env"

cm=/apis/cert-manager.io/v1

# --- the control plane -------------------------------------------------------------------------

require "API server is ready" test "$(api_curl /readyz)" = ok
assert_eq "API server runs the pinned Kubernetes release" "$KUBERNETES_VERSION" \
	"$(api_curl /version | jq -r .gitVersion)"
check "testenv status reports a ready environment" "$CERTCAST_ROOT/hack/testenv.sh" status
env_out=$("$CERTCAST_ROOT/hack/testenv.sh" env)
assert_contains "env re-prints the admin kubeconfig" "$env_out" "export KUBECONFIG="
assert_eq "env prints only exports" "" "$(grep -v '^export ' <<<"$env_out" || true)"

for crd in certificates.cert-manager.io certificaterequests.cert-manager.io issuers.cert-manager.io \
	clusterissuers.cert-manager.io orders.acme.cert-manager.io challenges.acme.cert-manager.io; do
	assert_eq "CRD $crd is Established" True \
		"$(kubectl_admin get crd "$crd" -o jsonpath='{.status.conditions[?(@.type=="Established")].status}')"
	assert_eq "CRD $crd has the status subresource" '{}' \
		"$(kubectl_admin get crd "$crd" -o json | jq -c '.spec.versions[0].subresources.status')"
done
check "namespace cert-manager exists" kubectl_admin get namespace cert-manager
check "deploy/crds is exactly what controller-gen makes from cert-manager's types" \
	"$CERTCAST_ROOT/hack/gen-crds.sh" --check

# --- CRD schema validation ---------------------------------------------------------------------

ns=$(new_namespace testenv)
cat >"$TEST_TMP/valid.yaml" <<EOF
apiVersion: cert-manager.io/v1
kind: Issuer
metadata: {name: selfsigned, namespace: $ns}
spec: {selfSigned: {}}
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: web, namespace: $ns}
spec:
  secretName: web-tls
  dnsNames: [web.example.test]
  duration: 2160h
  renewBefore: 360h
  issuerRef: {name: selfsigned, kind: Issuer, group: cert-manager.io}
EOF
check "admin creates a valid Issuer and Certificate" kubectl_admin apply -f "$TEST_TMP/valid.yaml"
assert_eq "the Certificate is stored as sent" "web-tls selfsigned 360h" \
	"$(kubectl_admin -n "$ns" get certificate web -o jsonpath='{.spec.secretName} {.spec.issuerRef.name} {.spec.renewBefore}')"

cat >"$TEST_TMP/no-issuer.yaml" <<EOF
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: no-issuer, namespace: $ns}
spec: {secretName: x-tls, dnsNames: [x.example.test]}
EOF
out=$(kubectl_admin create -f "$TEST_TMP/no-issuer.yaml" 2>&1 || true)
assert_contains "a Certificate without issuerRef is rejected by the schema" "$out" "spec.issuerRef: Required value"
check_fails "the rejected Certificate was not stored" kubectl_admin -n "$ns" get certificate no-issuer

cat >"$TEST_TMP/bad-type.yaml" <<EOF
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: bad-type, namespace: $ns}
spec: {secretName: y-tls, issuerRef: {name: selfsigned}, dnsNames: "not-a-list"}
EOF
out=$(kubectl_admin create -f "$TEST_TMP/bad-type.yaml" 2>&1 || true)
assert_contains "a Certificate with dnsNames of the wrong type is rejected" "$out" "spec.dnsNames"
check_fails "the mistyped Certificate was not stored" kubectl_admin -n "$ns" get certificate bad-type

header=$(kubectl_admin -n "$ns" get certificates | sed -n 1p)
assert_match "kubectl shows cert-manager's printer columns" "$header" '^NAME +READY +SECRET +AGE'
header=$(kubectl_admin -n "$ns" get certificates -o wide | sed -n 1p)
assert_match "kubectl -o wide adds the priority-1 columns" "$header" 'ISSUER +STATUS +AGE'

# --- the certcast user: exactly the chart's RBAC -----------------------------------------------

out=$(kubectl_certcast get certificates -A 2>&1 || true)
assert_contains "certcast lists certificates in all namespaces" "$out" "web"
out=$(kubectl_certcast auth whoami -o jsonpath='{.status.userInfo.username} {.status.userInfo.groups}' 2>&1 || true)
assert_contains "certcast authenticates by client certificate as certcast" "$out" "certcast [\"certcast\""

kubectl_admin -n "$ns" create secret generic web-tls --from-literal=tls.key=not-a-real-key >/dev/null
out=$(kubectl_certcast -n "$ns" get secret web-tls 2>&1 || true)
assert_contains "certcast is FORBIDDEN to get a secret that exists" "$out" 'cannot get resource "secrets"'
out=$(kubectl_certcast get secrets -A 2>&1 || true)
assert_contains "certcast is FORBIDDEN to list secrets" "$out" 'cannot list resource "secrets"'
assert_eq "certcast's secrets request is 403 on the wire" 403 \
	"$(api_curl_as certcast -o /dev/null -w '%{http_code}' "/api/v1/namespaces/$ns/secrets/web-tls")"

# Every rule the file grants is allowed, one can-i per verb and resource.
rules=$(kubectl_admin get clusterrole certcast -o json | jq -c '.rules')
allowed_bad=""
while IFS=$'\t' read -r verb res group; do
	sub=()
	if [[ $res == */* ]]; then sub=(--subresource="${res#*/}"); res=${res%%/*}; fi
	target=$res
	[ -z "$group" ] || target=$res.$group
	ans=$(kubectl_certcast auth can-i "$verb" "$target" "${sub[@]}" -A 2>/dev/null || true)
	[ "$ans" = yes ] || allowed_bad+="$verb $target ${sub[*]} -> $ans"$'\n'
done < <(jq -r '.[] | .verbs[] as $v | .resources[] as $r | .apiGroups[] as $g | [$v, $r, $g] | @tsv' <<<"$rules")
assert_eq "certcast may do everything rbac-rules.yaml grants" "" "$allowed_bad"

denied_bad=""
for q in "get secrets" "list secrets" "watch secrets" "create certificates.cert-manager.io" \
	"delete certificates.cert-manager.io" "patch certificates.cert-manager.io --subresource=status" \
	"update certificaterequests.cert-manager.io" "delete leases.coordination.k8s.io" \
	"get pods" "create pods" "get configmaps" "update issuers.cert-manager.io" "delete events"; do
	# shellcheck disable=SC2086
	ans=$(kubectl_certcast auth can-i $q -A 2>/dev/null || true)
	[ "$ans" = no ] || denied_bad+="$q -> $ans"$'\n'
done
assert_eq "certcast may do nothing beyond rbac-rules.yaml" "" "$denied_bad"
assert_eq "no rule names secrets or a wildcard" "" \
	"$(jq -r '.[] | (.resources + .verbs + .apiGroups)[] | select(. == "secrets" or . == "*")' <<<"$rules")"

# One list of rules, four places: the file, the live ClusterRole, k8s/rbac.yaml, the chart.
# kubectl prints one JSON document per object; the ClusterRole's rules, keys sorted.
rules_of() { kubectl_admin create --dry-run=client -o json -f - | jq -S -s '[.[] | (.items[]? // .) | select(.kind == "ClusterRole")][0].rules'; }
# The test environment grants what the chart grants with httpAuth: kubernetes (rbac-rules.yaml
# and rbac-auth-rules.yaml); k8s/ and the chart's default (httpAuth: none) only rbac-rules.yaml.
file_rules=$("$CERTCAST_ROOT/hack/gen-rbac.sh" --user probe | rules_of)
auth_rules=$("$CERTCAST_ROOT/hack/gen-rbac.sh" --user probe --http-auth | rules_of)
assert_eq "the live ClusterRole carries exactly rbac-rules.yaml and rbac-auth-rules.yaml" \
	"$auth_rules" "$(jq -S . <<<"$rules")"
assert_eq "k8s/rbac.yaml carries exactly rbac-rules.yaml" "$file_rules" "$(rules_of <"$CERTCAST_ROOT/k8s/rbac.yaml")"
check "k8s/rbac.yaml is up to date with its generator" "$CERTCAST_ROOT/hack/gen-rbac.sh" --check
chart_rules=$(helm template t "$CERTCAST_ROOT/charts/certcast" --show-only templates/rbac.yaml 2>&1 | rules_of 2>&1 || true)
assert_eq "the Helm chart's ClusterRole carries exactly rbac-rules.yaml" "$file_rules" "$chart_rules"
chart_auth_rules=$(helm template t "$CERTCAST_ROOT/charts/certcast" --set httpAuth=kubernetes \
	--show-only templates/rbac.yaml 2>&1 | rules_of 2>&1 || true)
assert_eq "with httpAuth=kubernetes it carries rbac-auth-rules.yaml too" \
	"$auth_rules" "$chart_auth_rules"

# --- status subresource ------------------------------------------------------------------------

check "admin patches the status through the subresource" kubectl_admin -n "$ns" patch certificate web \
	--subresource=status --type=merge -p '{"status":{"revision":3,"notAfter":"2030-01-01T00:00:00Z",
	"conditions":[{"type":"Ready","status":"True","reason":"Ready","message":"up to date","lastTransitionTime":"2026-01-01T00:00:00Z"}]}}'
assert_eq "the status was written" "3 True" \
	"$(kubectl_admin -n "$ns" get certificate web -o jsonpath='{.status.revision} {.status.conditions[?(@.type=="Ready")].status}')"
kubectl_admin -n "$ns" patch certificate web --type=merge -p '{"status":{"revision":99}}' >/dev/null 2>&1 || true
assert_eq "a patch of the main resource leaves the status alone" 3 \
	"$(kubectl_admin -n "$ns" get certificate web -o jsonpath='{.status.revision}')"
kubectl_admin -n "$ns" get certificate web -o json |
	jq '.status.conditions += [{"type":"Issuing","status":"True","reason":"CertcastTriggered","message":"test","lastTransitionTime":"2026-01-02T00:00:00Z"}]' \
		>"$TEST_TMP/issuing.json"
check "certcast PUTs the status with Issuing=True, as cmctl renew does" \
	kubectl_certcast replace --subresource=status -f "$TEST_TMP/issuing.json"
assert_eq "the Issuing condition is set" "True CertcastTriggered" \
	"$(kubectl_admin -n "$ns" get certificate web -o jsonpath='{.status.conditions[?(@.type=="Issuing")].status} {.status.conditions[?(@.type=="Issuing")].reason}')"
assert_eq "a status PUT with a stale resourceVersion is a 409 Conflict" 409 \
	"$(api_curl_as certcast -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Type: application/json' \
		--data-binary @"$TEST_TMP/issuing.json" "$cm/namespaces/$ns/certificates/web/status")"
out=$(kubectl_certcast -n "$ns" patch certificate web --subresource=status --type=merge \
	-p '{"status":{"revision":4}}' 2>&1 || true)
assert_contains "certcast may not PATCH the status (only update is granted)" "$out" "forbidden"
check "certcast patches an annotation on the Certificate" kubectl_certcast -n "$ns" annotate certificate web \
	certcast.io/risk=0.0100 --overwrite

# --- audit log ---------------------------------------------------------------------------------

# (jq -e would judge only the last line of the log, so the match is counted with grep.)
audit_has() { jq -c --arg u "$1" --arg v "$2" --arg r "$3" --arg n "$4" \
	'select(.user.username == $u and .verb == $v and .objectRef.resource == $r and .objectRef.namespace == $n and .stage == "ResponseComplete")' \
	"$TESTENV_AUDIT_LOG" | grep -q .; }
kubectl_certcast -n "$ns" get certificates >/dev/null
wait_for "the audit log records certcast listing certificates" 15 audit_has certcast list certificates "$ns"
wait_for "the audit log records the forbidden secret read" 15 audit_has certcast get secrets "$ns"
wait_for "the audit log records the admin's create" 15 audit_has testenv-admin create certificates "$ns"
assert_eq "the forbidden read is logged as a 403" 403 \
	"$(jq -r --arg n "$ns" 'select(.user.username == "certcast" and .objectRef.resource == "secrets" and .objectRef.namespace == $n and .verb == "get") | .responseStatus.code' "$TESTENV_AUDIT_LOG" | tail -n 1)"
assert_eq "the audit log is at Metadata level (no request bodies)" "0" \
	"$(jq -s '[.[] | select(has("requestObject") or has("responseObject"))] | length' "$TESTENV_AUDIT_LOG")"

# --- forcing a 410 -----------------------------------------------------------------------------

certs=$cm/namespaces/$ns/certificates
rv0=$(list_rv "$certs")
kubectl_admin -n "$ns" annotate certificate web step=before-410 --overwrite >/dev/null
out=$(API_CURL_MAX_TIME=20 api_curl "$certs?watch=1&resourceVersion=$rv0&timeoutSeconds=2")
assert_contains "before: a watch from an older resourceVersion replays the change" "$out" '"type":"MODIFIED"'
assert_not_contains "before: that watch gets no error" "$out" '"type":"ERROR"'

rev=$(testenv_force_410)
assert_match "testenv_force_410 prints the compacted revision" "$rev" '^[0-9]+$'
check "the API server is ready again after testenv_force_410" test "$(api_curl /readyz)" = ok
out=$(API_CURL_MAX_TIME=20 api_curl "$certs?watch=1&resourceVersion=$rv0&timeoutSeconds=5")
assert_contains "after: the same watch gets an in-stream ERROR event" "$out" '"type":"ERROR"'
assert_eq "after: the ERROR event is a 410 Expired" "410 Expired" \
	"$(jq -r 'select(.type == "ERROR") | "\(.object.code) \(.object.reason)"' <<<"$out" | sed -n 1p)"
assert_eq "after: a list at that exact resourceVersion is HTTP 410" 410 \
	"$(api_status "$certs?resourceVersion=$rv0&resourceVersionMatch=Exact")"
rv1=$(list_rv "$certs")
assert_ne "after: a fresh list has a newer resourceVersion" "$rv0" "$rv1"
out=$(API_CURL_MAX_TIME=20 api_curl "$certs?watch=1&resourceVersion=$rv1&timeoutSeconds=2")
assert_not_contains "after: a watch from a fresh list works" "$out" '"type":"ERROR"'
assert_eq "the data survived the compaction" web "$(kubectl_admin -n "$ns" get certificate web -o jsonpath='{.metadata.name}')"

# --- restarting the API server mid-watch -------------------------------------------------------

old_pid=$(cat "$TESTENV_APISERVER_PID_FILE")
start_bg watch curl -sS -N --cacert "$TESTENV_CA_FILE" --cert "$TESTENV_DIR/pki/admin.crt" \
	--key "$TESTENV_DIR/pki/admin.key" "$TESTENV_APISERVER_URL$certs?watch=1&timeoutSeconds=300"
wait_for "a long watch is open" 20 grep -q '"type":"ADDED"' "$(bg_log watch)"
check "restart-apiserver succeeds" testenv_restart_apiserver
new_pid=$(cat "$TESTENV_APISERVER_PID_FILE")
assert_ne "kube-apiserver runs as a new process" "$old_pid" "$new_pid"
watch_pid=$(bg_pid watch)
wait_for "the open watch was cut by the restart" 20 bash -c "! kill -0 $watch_pid 2>/dev/null"
check "the same kubeconfig works after the restart" kubectl_admin -n "$ns" get certificate web
out=$(kubectl_certcast -n "$ns" get certificate web -o jsonpath='{.metadata.annotations.certcast\.io/risk}' 2>&1 || true)
assert_eq "state written before the restart is still there" 0.0100 "$out"

# --- the watch cache keeps history without a restart -------------------------------------------

if [ "$TESTENV_WATCH_CACHE" = true ]; then
	rv2=$(list_rv "$certs")
	kubectl_admin -n "$ns" annotate certificate web step=cached --overwrite >/dev/null
	testenv_force_410 --no-restart >/dev/null
	out=$(API_CURL_MAX_TIME=20 api_curl "$certs?watch=1&resourceVersion=$rv2&timeoutSeconds=2")
	assert_not_contains "with the watch cache on, --no-restart leaves watches served from the cache" \
		"$out" '"type":"ERROR"'
	assert_eq "...and exact lists from the cache too" 200 \
		"$(api_status "$certs?resourceVersion=$rv2&resourceVersionMatch=Exact")"
	out=$(etcdctl --endpoints "$TESTENV_ETCD_ENDPOINT" get --rev="$rv2" /registry/cert-manager.io/certificates/"$ns"/web 2>&1 || true)
	assert_contains "...although etcd itself has compacted that revision" "$out" "compacted"
fi

# --- a second environment side by side, watch cache off -----------------------------------------

env2_dir=$TEST_TMP/env2
if TESTENV_DIR=$env2_dir TESTENV_WATCH_CACHE=off "$CERTCAST_ROOT/hack/testenv.sh" up \
	>"$TEST_TMP/env2.out" 2>"$TEST_TMP/env2-up.log"; then
	pass "a second environment starts while the first runs"
else
	fail "a second environment starts while the first runs" "$(tail -n 20 "$TEST_TMP/env2-up.log")"
fi
assert_eq "up prints only exports on stdout" "" "$(grep -v '^export ' "$TEST_TMP/env2.out" || true)"
env2_url=$(. "$TEST_TMP/env2.out" && echo "$TESTENV_APISERVER_URL")
assert_ne "the second environment has its own port" "$TESTENV_APISERVER_URL" "$env2_url"
check "the first environment is still ready" test "$(api_curl /readyz)" = ok
# The checks below run inside the second environment; a subshell keeps the first one's variables.
env2_result=$(
	eval "$(cat "$TEST_TMP/env2.out")"
	kubectl_admin create namespace other >/dev/null
	sed "s/namespace: $ns/namespace: other/" "$TEST_TMP/valid.yaml" | kubectl_admin apply -f - >/dev/null
	p=/apis/cert-manager.io/v1/namespaces/other/certificates
	r=$(list_rv "$p")
	kubectl_admin -n other annotate certificate web step=two --overwrite >/dev/null
	testenv_force_410 --no-restart >/dev/null
	echo "cache=$TESTENV_WATCH_CACHE"
	API_CURL_MAX_TIME=20 api_curl "$p?watch=1&resourceVersion=$r&timeoutSeconds=3" |
		jq -r 'select(.type == "ERROR") | "code=\(.object.code)"'
) || true
assert_contains "the second environment runs without the watch cache" "$env2_result" "cache=false"
assert_contains "without the watch cache, compaction alone makes an old watch 410" "$env2_result" "code=410"
env2_pid=$(cat "$env2_dir/kube-apiserver.pid" 2>/dev/null || echo 0)
check "the second environment goes down" env TESTENV_DIR="$env2_dir" "$CERTCAST_ROOT/hack/testenv.sh" down
check_fails "down removed the second environment's state" test -e "$env2_dir"
check_fails "down stopped the second API server" kill -0 "$env2_pid"
check "the first environment is unaffected" test "$(api_curl /readyz)" = ok
