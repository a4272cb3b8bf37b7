# shellcheck shell=bash
# tests/integration/lib.sh: helpers for the integration scripts (tests/integration/test_*.sh).
#
# A test script is plain bash run by tests/integration/run.sh against a real etcd and
# kube-apiserver (hack/testenv.sh). It starts with
#
#     . "$(dirname "$0")/lib.sh"
#
# and then makes checks. Every check counts once, passed or failed; a failed check prints what
# was expected and what came, and the script goes on, so one run reports every broken check. The
# counts are handed to run.sh when the script exits (an EXIT trap), and a script that dies
# before its end counts as one more failure. On a failure the script also prints the last lines
# of every log started with start_bg.
#
# The environment run.sh hands over (from `hack/testenv.sh env`):
#   KUBECONFIG               admin kubeconfig (system:masters)
#   CERTCAST_KUBECONFIG      the user certcast, bound to exactly charts/certcast/files/rbac-rules.yaml
#   TESTENV_DIR, TESTENV_APISERVER_URL, TESTENV_ETCD_ENDPOINT, TESTENV_APISERVER_PID_FILE,
#   TESTENV_CA_FILE, TESTENV_AUDIT_LOG, TESTENV_WATCH_CACHE (true|false)
#   PATH                     kubectl, etcd, etcdctl, kube-apiserver, helm, pebble... first
#   CERTCAST_ROOT            the repository;  CERTCAST_BUILD  the build folder (absolute)
#   TEST_TMP                 a scratch folder for this script, removed at exit
#
# Checks (NAME is a short description; each returns 0 so the script carries on):
#   check NAME CMD...                  CMD succeeds
#   check_fails NAME CMD...            CMD fails
#   assert_eq NAME WANT GOT            strings equal
#   assert_ne NAME NOT_WANT GOT        strings differ
#   assert_contains NAME TEXT PART     TEXT contains PART (fixed string)
#   assert_not_contains NAME TEXT PART TEXT does not contain PART
#   assert_match NAME TEXT REGEX       TEXT matches the extended regex
#   wait_for NAME SECONDS CMD...       CMD succeeds within SECONDS (polled every 0.2 s); the
#                                      bound is a deadline for readiness, never a speed assertion
#   require NAME CMD...                like check, but a failure ends the script (for preconditions)
#   pass NAME / fail NAME [DETAIL]     record a result computed by the script itself
#
# Cluster helpers:
#   certcast_bin                       path of the certcast binary under test
#   kubectl_admin ARGS...              kubectl as the admin
#   kubectl_certcast ARGS...           kubectl as the user certcast (the chart's exact RBAC)
#   api_curl [CURL ARGS...] PATH       curl as the admin against the API server (PATH like
#                                      /apis/cert-manager.io/v1/certificates); body on stdout
#   api_curl_as USER [CURL ARGS...] PATH   the same as USER (admin or certcast)
#   api_status [CURL ARGS...] PATH     only the HTTP status code of that request, as the admin
#   new_namespace PREFIX               creates a namespace PREFIX-<random> and prints its name
#   remember_cluster_object RES NAME   a cluster-scoped object the script made (RES like
#                                      clusterissuers.cert-manager.io), deleted at exit
#   add_certificate NS NAME NB NA      a Certificate on Issuer/ca, notBefore/notAfter NB/NA (epoch)
#   add_request NS CERT NAME issued|failed WHEN   a CertificateRequest of CERT finished at WHEN
#   iso_at EPOCH                       RFC 3339 UTC
#   list_rv RESOURCE_PATH              resourceVersion of a list (e.g. of .../certificates)
#   etcd_revision                      etcd's current revision
#   testenv_force_410 [--no-restart]   makes every resourceVersion handed out so far too old (see
#                                      below); prints the compacted revision
#   testenv_restart_apiserver          stops kube-apiserver and starts it again (same port, same
#                                      data); open watches break, clients must reconnect
#   testenv_stop_apiserver / testenv_start_apiserver   the two halves, to test an outage
#
# Background processes:
#   start_bg NAME CMD...               runs CMD in the background, output to $TEST_TMP/NAME.log;
#                                      stopped (SIGTERM, then SIGKILL) at exit
#   stop_bg NAME                       SIGTERM and wait for it; prints nothing, returns its status
#   bg_pid NAME / bg_log NAME          its pid / log path
#
# A web page in headless Chromium (hack/cdp.py, driven through the DevTools Protocol):
#   start_browser URL                  Chromium showing URL, as background process "browser" (so
#                                      the exit handling stops it and every Chromium process it
#                                      started); a failure to start or load ends the script. Sets
#                                      cdp_port. Its log (browser.log) lists the page's console
#                                      messages, uncaught exceptions and navigations after the
#                                      first load ("page: navigated to ..." means a reload).
#   page_eval JS                       the value of the JS expression in the page (a string bare,
#                                      anything else as JSON, undefined as undefined); fails with a
#                                      message on a JS exception. Use it in an argument
#                                      (assert_eq N W "$(page_eval ...)"), not as `x=$(page_eval ...)`,
#                                      which set -e turns into the script's end on a failure
#   page_wait NAME SECONDS JS          a check: JS's value becomes exactly true within SECONDS
#                                      (polled every 0.2 s; exceptions meanwhile count as not yet)
#
# How testenv_force_410 works (what really produces a 410 here): it stops kube-apiserver, writes
# twice to a key outside /registry with etcdctl so that etcd's revision moves past every
# resourceVersion any client holds, compacts etcd at that revision, and starts kube-apiserver
# again. Afterwards a watch from an older resourceVersion gets, on an HTTP 200 stream, an ERROR
# event whose Status has code 410 (reason Expired): with the watch cache on (the default) because
# the new cache starts at the current revision, with it off because etcd compacted that revision.
# A list with an old resourceVersion and resourceVersionMatch=Exact gets HTTP 410. Clients
# connected at the time see their watch break and, on reconnect from their last resourceVersion,
# the 410. It returns once every resource certcast watches accepts watches again.
# --no-restart only advances and compacts etcd: with the watch cache off that is enough for the
# next watch (or exact list) from an old resourceVersion; with it on, the cache keeps serving
# that history (watches and exact lists alike) and no 410 comes until the API server restarts.

set -euo pipefail

: "${KUBECONFIG:?run this through tests/integration/run.sh (KUBECONFIG is not set)}"
: "${TESTENV_DIR:?run this through tests/integration/run.sh (TESTENV_DIR is not set)}"
CERTCAST_ROOT=${CERTCAST_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
CERTCAST_BUILD=${CERTCAST_BUILD:-$CERTCAST_ROOT/build}
LIB_TEST_NAME=$(basename "${0%.sh}")
TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/$LIB_TEST_NAME.XXXXXX")
export CERTCAST_ROOT CERTCAST_BUILD TEST_TMP

lib_passed=0
lib_failed=0
declare -A lib_bg_pids=()

pass() {
	lib_passed=$((lib_passed + 1))
	printf 'ok   %s\n' "$1"
}

fail() {
	lib_failed=$((lib_failed + 1))
	printf 'FAIL %s\n' "$1"
	# The line of the test script that made the check: the first frame outside this file.
	local i=1
	while [ $i -lt ${#BASH_SOURCE[@]} ] && [ "${BASH_SOURCE[$i]}" = "${BASH_SOURCE[0]}" ]; do i=$((i + 1)); done
	printf '     at %s:%s\n' "${BASH_SOURCE[$i]:-?}" "${BASH_LINENO[$((i - 1))]:-?}"
	# awk reads to the end: an early exit (head) would SIGPIPE the writer under pipefail.
	if [ $# -gt 1 ] && [ -n "$2" ]; then printf '%s\n' "$2" | awk 'NR <= 20 { print "     " $0 }'; fi
}

check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then pass "$name"; else fail "$name" "command failed: $*"$'\n'"$out"; fi
	return 0
}

check_fails() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then fail "$name" "command succeeded but should have failed: $*"$'\n'"$out"; else pass "$name"; fi
	return 0
}

require() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		pass "$name"
	else
		fail "$name" "command failed: $*"$'\n'"$out"
		echo "     (a precondition failed; stopping $LIB_TEST_NAME)"
		exit 1
	fi
}

assert_eq() {
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "want: $2"$'\n'"got:  $3"; fi
	return 0
}

assert_ne() {
	if [ "$2" != "$3" ]; then pass "$1"; else fail "$1" "got the value it must not be: $3"; fi
	return 0
}

assert_contains() {
	case $2 in
	*"$3"*) pass "$1" ;;
	*) fail "$1" "missing: $3"$'\n'"in: ${2:0:2000}" ;;
	esac
	return 0
}

assert_not_contains() {
	case $2 in
	*"$3"*) fail "$1" "present but must not be: $3"$'\n'"in: ${2:0:2000}" ;;
	*) pass "$1" ;;
	esac
	return 0
}

assert_match() {
	if [[ $2 =~ $3 ]]; then pass "$1"; else fail "$1" "no match for /$3/ in: ${2:0:2000}"; fi
	return 0
}

wait_for() {
	local name=$1 secs=$2 end out=""
	shift 2
	end=$((SECONDS + secs))
	while :; do
		if out=$("$@" 2>&1); then pass "$name"; return 0; fi
		[ $SECONDS -lt $end ] || break
		sleep 0.2
	done
	fail "$name" "not true within ${secs}s: $*"$'\n'"$out"
	return 0
}

# free_port: a TCP port nothing uses now, from 10000-19999: below the kernel's ephemeral range
# (so an outgoing connection cannot take it before the test binds it; a port from 20000-39999
# collided with one in CI) and apart from the 20000-31999 that hack/testenv.sh hands out.
free_port() {
	local p hex i
	for i in $(seq 1 200); do
		p=$((10000 + RANDOM % 10000))
		hex=$(printf '%04X' "$p")
		awk -v h=":$hex" 'FNR > 1 && substr($2, length($2) - 4) == h { found = 1 } END { exit !found }' \
			/proc/net/tcp /proc/net/tcp6 2>/dev/null && continue
		printf '%s\n' "$p"
		return 0
	done
	echo "free_port: no free port in 10000-19999" >&2
	return 1
}

certcast_bin() { printf '%s\n' "$CERTCAST_BUILD/certcast"; }

kubectl_admin() { kubectl --kubeconfig "$KUBECONFIG" "$@"; }
kubectl_certcast() { kubectl --kubeconfig "$CERTCAST_KUBECONFIG" "$@"; }

api_curl_as() {
	local user=$1
	shift
	local n=$#
	local path=${!n}
	curl -sS --max-time "${API_CURL_MAX_TIME:-30}" --cacert "$TESTENV_CA_FILE" \
		--cert "$TESTENV_DIR/pki/$user.crt" --key "$TESTENV_DIR/pki/$user.key" \
		"${@:1:n-1}" "$TESTENV_APISERVER_URL$path"
}

api_curl() { api_curl_as admin "$@"; }

api_status() { api_curl -o /dev/null -w '%{http_code}' "$@"; }

# new_namespace PREFIX: a fresh namespace, remembered so that lib_finish can remove what the test
# put in it (a file, not a variable: callers run this in a command substitution's subshell).
new_namespace() {
	local ns
	ns="$1-$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')"
	kubectl_admin create namespace "$ns" >/dev/null
	printf '%s\n' "$ns" >>"$TEST_TMP/.namespaces"
	printf '%s\n' "$ns"
}

remember_cluster_object() { printf '%s %s\n' "$1" "$2" >>"$TEST_TMP/.cluster_objects"; }

# Scripts share one API server, and `status -A` or a cluster-wide controller in a later script
# would see what an earlier one left: a critical certificate there changes an exit status, a
# request there is one more outcome learned. No namespace controller runs here (no
# kube-controller-manager), so deleting the namespace would not remove its objects: delete the
# cert-manager objects themselves.
lib_clean_namespaces() {
	local ns res name
	if [ -f "$TEST_TMP/.cluster_objects" ]; then
		while read -r res name; do
			kubectl_admin delete --ignore-not-found --wait=false "$res" "$name" >/dev/null 2>&1 || true
		done <"$TEST_TMP/.cluster_objects"
	fi
	[ -f "$TEST_TMP/.namespaces" ] || return 0
	while read -r ns; do
		kubectl_admin -n "$ns" delete --ignore-not-found --wait=false \
			certificates.cert-manager.io,certificaterequests.cert-manager.io,issuers.cert-manager.io,orders.acme.cert-manager.io,challenges.acme.cert-manager.io \
			--all >/dev/null 2>&1 || true
	done <"$TEST_TMP/.namespaces"
}

# start_standin NS [ARGS...]: the cert-manager stand-in (hack/cm-standin) on namespace NS,
# resyncing every half second, as background process "standin"; returns once its /metrics
# answers. Sets standin_port.
start_standin() {
	local ns=$1
	shift
	standin_port=$(free_port)
	start_bg standin python3 "$CERTCAST_ROOT/hack/cm-standin/standin.py" --kubeconfig "$KUBECONFIG" \
		--metrics-addr "127.0.0.1:$standin_port" --namespace "$ns" --resync 0.5 "$@"
	wait_for "stand-in serves /metrics" 20 curl -fsS --max-time 5 "http://127.0.0.1:$standin_port/metrics"
}

# certcast_events NS NAME: the reasons of certcast's Events (events.k8s.io, reportingController
# certcast) about object NAME in NS, space-separated, oldest first as listed.
certcast_events() {
	kubectl_admin -n "$1" get events.events.k8s.io -o json |
		jq -r --arg n "$2" '[.items[] | select(.regarding.name==$n and .reportingController=="certcast") | .reason] | join(" ")'
}

# has_certcast_event NS NAME REASON: certcast has posted an Event with REASON about NAME.
has_certcast_event() {
	case " $(certcast_events "$1" "$2") " in *" $3 "*) return 0 ;; *) return 1 ;; esac
}

# start_browser URL: see the header. The bound is a deadline for a loaded 2-core machine.
start_browser() {
	local pf=$TEST_TMP/browser.port end=$((SECONDS + 150))
	rm -f "$pf"
	# Chromium's own output (mostly D-Bus noise) goes to chromium.txt, which lib_finish does not
	# print; cdp.py quotes its tail when Chromium fails.
	start_bg browser python3 "$CERTCAST_ROOT/hack/cdp.py" browser --dir "$TEST_TMP/browser" \
		--port-file "$pf" --log "$TEST_TMP/chromium.txt" "$1"
	while [ ! -s "$pf" ]; do
		if ! kill -0 "$(bg_pid browser)" 2>/dev/null || [ $SECONDS -ge $end ]; then
			fail "headless Chromium shows $1" "$(cat "$(bg_log browser)")"
			echo "     (a precondition failed; stopping $LIB_TEST_NAME)"
			exit 1
		fi
		sleep 0.2
	done
	cdp_port=$(cat "$pf" 2>/dev/null || true)
	pass "headless Chromium shows $1"
}

page_eval() { python3 "$CERTCAST_ROOT/hack/cdp.py" eval -r "$cdp_port" "$1"; }

page_wait() {
	local name=$1 secs=$2 out
	if out=$(python3 "$CERTCAST_ROOT/hack/cdp.py" wait "$cdp_port" "$3" "$secs" 2>&1); then
		pass "$name"
	else
		fail "$name" "$out"
	fi
	return 0
}

# iso_at EPOCH: that instant in RFC 3339 UTC.
iso_at() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }

# add_certificate NS NAME NOT_BEFORE NOT_AFTER: a Certificate on Issuer/ca with that validity
# (epoch seconds) in its status.
add_certificate() {
	kubectl_admin apply -f - >/dev/null <<EOF || return 1
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: $2, namespace: $1}
spec: {secretName: $2, issuerRef: {name: ca, kind: Issuer}}
EOF
	kubectl_admin -n "$1" patch certificate "$2" --subresource=status --type=merge \
		-p "{\"status\":{\"notBefore\":\"$(iso_at "$3")\",\"notAfter\":\"$(iso_at "$4")\"}}" >/dev/null
}

# add_request NS CERT NAME issued|failed WHEN: a CertificateRequest of Certificate CERT on
# Issuer/ca that was issued, or failed (an order timeout: a transient failure), at WHEN (epoch).
add_request() {
	local ns=$1 cert=$2 name=$3 state=$4 when=$5 cond
	kubectl_admin apply -f - >/dev/null <<EOF || return 1
apiVersion: cert-manager.io/v1
kind: CertificateRequest
metadata:
  name: $name
  namespace: $ns
  annotations: {cert-manager.io/certificate-name: $cert}
spec:
  request: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURSBSRVFVRVNULS0tLS0K
  issuerRef: {name: ca, kind: Issuer}
EOF
	if [ "$state" = issued ]; then
		cond="{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"Issued\",\"message\":\"ok\",\"lastTransitionTime\":\"$(iso_at "$when")\"}"
	else
		cond="{\"type\":\"Ready\",\"status\":\"False\",\"reason\":\"Failed\",\"message\":\"Failed to wait for order: context deadline exceeded\",\"lastTransitionTime\":\"$(iso_at "$when")\"}"
	fi
	kubectl_admin -n "$ns" patch certificaterequest "$name" --subresource=status --type=merge \
		-p "{\"status\":{\"conditions\":[$cond]}}" >/dev/null
}

list_rv() { api_curl "$1?limit=1" | jq -r '.metadata.resourceVersion'; }

etcd_revision() {
	etcdctl --endpoints "$TESTENV_ETCD_ENDPOINT" endpoint status -w json |
		jq -r '.[0].Status.header.revision'
}

testenv_stop_apiserver() { "$CERTCAST_ROOT/hack/testenv.sh" stop-apiserver; }
testenv_start_apiserver() { "$CERTCAST_ROOT/hack/testenv.sh" start-apiserver; }
testenv_restart_apiserver() { "$CERTCAST_ROOT/hack/testenv.sh" restart-apiserver; }

testenv_force_410() {
	local restart=1 rev
	[ "${1:-}" = --no-restart ] && restart=0
	[ $restart -eq 0 ] || testenv_stop_apiserver
	# Two writes: a client may hold the revision just before the first, and a watch from
	# resourceVersion R starts at R+1, which must also be compacted away.
	etcdctl --endpoints "$TESTENV_ETCD_ENDPOINT" put /certcast-testenv/force-410 one >/dev/null
	etcdctl --endpoints "$TESTENV_ETCD_ENDPOINT" put /certcast-testenv/force-410 two >/dev/null
	rev=$(etcd_revision)
	etcdctl --endpoints "$TESTENV_ETCD_ENDPOINT" compact "$rev" --physical >/dev/null
	[ $restart -eq 0 ] || testenv_start_apiserver
	printf '%s\n' "$rev"
}

start_bg() {
	local name=$1
	shift
	"$@" >"$TEST_TMP/$name.log" 2>&1 </dev/null &
	lib_bg_pids[$name]=$!
}

bg_pid() { printf '%s\n' "${lib_bg_pids[$1]}"; }
bg_log() { printf '%s\n' "$TEST_TMP/$1.log"; }

stop_bg() {
	local pid=${lib_bg_pids[$1]:-} i rc=0
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || rc=$?
	unset "lib_bg_pids[$1]"
	return $rc
}

lib_finish() {
	local rc=$? name
	# Called by the script's last line, then again by the EXIT trap when that call exits: the
	# second time must not count the first's exit status 1 as an early end.
	trap - EXIT
	for name in "${!lib_bg_pids[@]}"; do stop_bg "$name" || true; done
	lib_clean_namespaces
	# A program started here and built with sanitizers (tests/integration/run.sh build-san)
	# reports a memory error, a leak at its exit or undefined behaviour on its stderr, which is
	# in its log: each such log is a failed check, whatever the script asserted.
	local f
	for f in "$TEST_TMP"/*.log; do
		[ -f "$f" ] || continue
		if grep -aqE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$f"; then
			lib_failed=$((lib_failed + 1))
			printf 'FAIL %s: a sanitizer report in %s\n' "$LIB_TEST_NAME" "$(basename "$f")"
			grep -aE -A 30 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$f" | head -n 60
		fi
	done
	if [ $rc -ne 0 ]; then
		lib_failed=$((lib_failed + 1))
		printf 'FAIL %s ended early (exit status %s)\n' "$LIB_TEST_NAME" "$rc"
	fi
	if [ $lib_failed -gt 0 ]; then
		for f in "$TEST_TMP"/*.log; do
			[ -f "$f" ] || continue
			printf -- '--- last lines of %s:\n' "$(basename "$f")"
			tail -n 30 "$f"
		done
	fi
	if [ -n "${LIB_COUNTS_FILE:-}" ]; then
		printf '%s %s\n' "$lib_passed" "$lib_failed" >"$LIB_COUNTS_FILE"
	fi
	printf '%s: %s passed, %s failed\n' "$LIB_TEST_NAME" "$lib_passed" "$lib_failed"
	rm -rf "$TEST_TMP"
	[ $lib_failed -eq 0 ] && exit 0
	exit 1
}
trap lib_finish EXIT
