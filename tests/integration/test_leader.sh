#!/usr/bin/env bash
# Leader election against a real kube-apiserver, as the user certcast (the chart's RBAC: leases
# get, create, update): bad lease settings refused naming the key; two controllers with
# --leader-elect of which exactly one reports certcast_leader 1 and is named by the Lease; a
# SIGTERM to the leader that releases the Lease (seen on a watch) so the other one takes over
# at once, well before the lease would expire; a kill -9 of the new leader after which a new
# replica takes over only once the lease expired, counted from its own first sight of it.
# Each change of leadership is an Event on the Lease (reason LeaderElection, client-go's notes
# "<identity> became leader" and "<identity> stopped leading"), posted as the user certcast; a
# replica killed outright says nothing.
. "$(dirname "$0")/lib.sh"

bin=$(certcast_bin)
require "certcast binary is built" test -x "$bin"

# --- bad lease settings: refused at start, the message names the key ----------------------------
refused() { # NAME FILE-CONTENT EXPECTED-PART [ENV...]
	local name=$1 text=$2 want=$3 rc=0 out
	shift 3
	printf '%s' "$text" >"$TEST_TMP/bad.yaml"
	out=$(env KUBECONFIG="$CERTCAST_KUBECONFIG" "$@" "$bin" controller --leader-elect \
		--config "$TEST_TMP/bad.yaml" --http-addr 127.0.0.1:0 2>&1) || rc=$?
	assert_eq "$name: exit 2" 2 "$rc"
	assert_contains "$name: the message says what is wrong" "$out" "$want"
}
refused "leaseDuration below renewDeadline" $'leaseDuration: 5s\n' \
	"renewDeadline (10s) must be shorter than leaseDuration (5s)"
refused "retryPeriod not below renewDeadline" $'renewDeadline: 3s\nretryPeriod: 3s\n' \
	"retryPeriod (3s) must be shorter than renewDeadline (3s)"
refused "fractional leaseDuration" $'workers: 1\nleaseDuration: 1500ms\n' \
	"bad.yaml:2:16: leaseDuration: invalid value \"1500ms\": must be whole seconds"
refused "zero retryPeriod" $'retryPeriod: 0s\n' \
	"bad.yaml:1:14: retryPeriod: invalid value \"0s\": must be more than 0"
refused "bad leaseName" $'leaseName: Certcast_Leader\n' \
	"bad.yaml:1:12: leaseName: invalid value \"Certcast_Leader\": must be an object name"
refused "bad \$POD_NAMESPACE" '' "\$POD_NAMESPACE \"Not/A/Namespace\" is not a namespace name" \
	POD_NAMESPACE=Not/A/Namespace

# --- two replicas --------------------------------------------------------------------------------
ns=$(new_namespace lease)
lease=certcast-test-leader
dur=12
printf 'leaseName: %s\nleaseDuration: %ss\nrenewDeadline: 8s\nretryPeriod: 1s\nresyncPeriod: 30s\n' \
	"$lease" "$dur" >"$TEST_TMP/config.yaml"
declare -A port=()
start_ctl() { # NAME [ENV ARGS...]: a controller with --leader-elect, its Lease in $ns
	local name=$1
	shift
	port[$name]=$(free_port)
	start_bg "$name" env "$@" KUBECONFIG="$CERTCAST_KUBECONFIG" POD_NAMESPACE="$ns" "$bin" controller \
		--leader-elect --config "$TEST_TMP/config.yaml" --http-addr "127.0.0.1:${port[$name]}"
}
gauge() { curl -fsS --max-time 5 "http://127.0.0.1:${port[$1]}/metrics" 2>/dev/null | awk '$1 == "certcast_leader" { print $2 }'; }
spec() { kubectl_admin -n "$ns" get lease "$lease" -o jsonpath="{.spec.$1}" 2>/dev/null; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
# The LeaderElection Events in $ns, one line each: note|type|regarding|reportingController|uid
lease_events() {
	kubectl_admin -n "$ns" get events.events.k8s.io --field-selector reason=LeaderElection \
		-o jsonpath='{range .items[*]}{.note}|{.type}|{.regarding.apiVersion}/{.regarding.kind}/{.regarding.namespace}/{.regarding.name}|{.reportingController}|{.regarding.uid}{"\n"}{end}' 2>/dev/null
}
has_event() { lease_events | grep -qF "$1|Normal|coordination.k8s.io/v1/Lease/$ns/$lease|certcast|"; }
count_events() { lease_events | grep -cF "$1|" || true; }
posted() { curl -fsS --max-time 5 "http://127.0.0.1:${port[$1]}/metrics" | awk '$1 == "certcast_events_total{result=\"posted\"}" { print $2 + 0 }'; }
one_of() { # A B: exactly one of the two reports certcast_leader 1, the other 0
	local a b
	a=$(gauge "$1")
	b=$(gauge "$2")
	[ "$a$b" = 10 ] || [ "$a$b" = 01 ]
}

start_ctl a POD_NAME=ctl-a
start_ctl b POD_NAME=ctl-b
wait_for "a is ready" 60 curl -fsS "http://127.0.0.1:${port[a]}/readyz"
wait_for "b is ready too (every replica reconciles)" 60 curl -fsS "http://127.0.0.1:${port[b]}/readyz"
wait_for "exactly one of the two reports certcast_leader 1" 30 one_of a b
if [ "$(gauge a)" = 1 ]; then lead=a other=b; else lead=b other=a; fi
assert_eq "the Lease names the leader" "ctl-$lead" "$(spec holderIdentity)"
assert_eq "leaseDurationSeconds is the configured one" "$dur" "$(spec leaseDurationSeconds)"
assert_eq "a new Lease has no transition yet" 0 "$(spec leaseTransitions)"
wait_for "an Event on the Lease: ctl-$lead became leader" 30 has_event "ctl-$lead became leader"
lease_uid=$(kubectl_admin -n "$ns" get lease "$lease" -o jsonpath='{.metadata.uid}')
assert_contains "the Event names the Lease's uid" "$(lease_events)" "ctl-$lead became leader|Normal|coordination.k8s.io/v1/Lease/$ns/$lease|certcast|$lease_uid"
assert_eq "one such Event" 1 "$(count_events "ctl-$lead became leader")"
assert_eq "the follower posted none" 0 "$(count_events "ctl-$other became leader")"
assert_match "acquireTime is a MicroTime" "$(spec acquireTime)" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z$'
renew0=$(spec renewTime)
renewed() { [ "$(spec renewTime)" != "$renew0" ]; }
wait_for "the leader renews (renewTime moves)" 15 renewed
# Several retry periods of samples: never two leaders, never none.
split=0
for i in $(seq 1 12); do
	one_of a b || split=$((split + 1))
	sleep 0.25
done
assert_eq "one leader in every sample over 3s" 0 "$split"

# Only the leader writes: both score the new Certificate, one annotates it.
now_s=$(date -u +%s)
require "a certificate appears" add_certificate "$ns" onlyone $((now_s - 3600)) $((now_s + 30 * 86400))
annotated() { [ -n "$(kubectl_admin -n "$ns" get certificate onlyone -o jsonpath='{.metadata.annotations.certcast\.io/risk}')" ]; }
wait_for "the leader annotates it" 30 annotated
annotates() { curl -fsS --max-time 5 "http://127.0.0.1:${port[$1]}/metrics" | awk '$1 ~ /^certcast_actions_total\{action="annotate"/ { n += $2 } END { print n + 0 }'; }
scored() { curl -fsS --max-time 5 "http://127.0.0.1:${port[$1]}/metrics" | grep -q 'certcast_certificate_risk{namespace="'"$ns"'",name="onlyone"'; }
wait_for "the follower scores it too" 30 scored "$other"
check "the leader counts its write" test "$(annotates "$lead")" -ge 1
assert_eq "the follower wrote nothing" 0 "$(annotates "$other")"
check "the leader counts its Event" test "$(posted "$lead")" -ge 1
assert_eq "the follower posted no Event at all" 0 "$(posted "$other")"
assert_contains "the leader logged it" "$(cat "$(bg_log $lead)")" "became leader: lease $ns/$lease held as ctl-$lead"
assert_contains "the other saw who leads" "$(cat "$(bg_log $other)")" "lease $ns/$lease is held by ctl-$lead"
log_all=$(cat "$(bg_log a)" "$(bg_log b)")
assert_not_contains "no token in the logs" "$log_all" "Bearer"

# --- SIGTERM the leader: it releases the Lease, the other takes over at once ---------------------
start_bg watch kubectl --kubeconfig "$KUBECONFIG" -n "$ns" get lease "$lease" --watch \
	-o jsonpath='{.spec.holderIdentity}|{.spec.leaseDurationSeconds}|{.spec.leaseTransitions}{"\n"}'
wait_for "the watch on the Lease is running" 15 grep -q "ctl-$lead|$dur|0" "$(bg_log watch)"
t0=$(now)
rc=0
stop_bg "$lead" || rc=$?
assert_eq "SIGTERM: the leader exits 0" 0 "$rc"
took=""
while [ "$(awk -v s="$(since "$t0")" 'BEGIN { print (s < 40) }')" = 1 ]; do
	if [ "$(gauge $other)" = 1 ]; then took=$(since "$t0"); break; fi
	sleep 0.1
done
if [ -n "$took" ]; then pass "the other one leads after the release (${took}s)"; else fail "the other one never took over"; fi
check "it took over well before the ${dur}s lease could expire (${took:-never}s)" \
	awk -v t="${took:-999}" 'BEGIN { exit !(t < 8) }'
assert_eq "the Lease names the new leader" "ctl-$other" "$(spec holderIdentity)"
assert_eq "one transition" 1 "$(spec leaseTransitions)"
wait_for "the watch saw the takeover" 10 grep -q "ctl-$other|$dur|1" "$(bg_log watch)"
stop_bg watch || true
seen=$(cat "$(bg_log watch)")
assert_contains "the release was written: no holder, leaseDurationSeconds 1" "$seen" $'\n|1|0\n'
# the order on the watch: held by the leader, released, held by the other
order=$(awk -v l="ctl-$lead|$dur|0" -v o="ctl-$other|$dur|1" '
	$0 == l && !a { a = NR } $0 == "|1|0" && !r { r = NR } $0 == o && !n { n = NR }
	END { print (a && r && n && a < r && r < n) ? "ok" : "bad " a " " r " " n }' <<<"$seen")
assert_eq "held, released, taken over, in that order" ok "$order"
log=$(cat "$(bg_log $lead)")
assert_contains "the leader logged the release" "$log" "released lease $ns/$lease"
assert_contains "and stopped cleanly" "$log" "stopped cleanly"
order=$(awk '/workers drained/ && !w { w = NR } /released lease/ && !r { r = NR }
	END { print (w && r && w < r) ? "ok" : "bad " w " " r }' <<<"$log")
assert_eq "watches and workers stop before the release" ok "$order"
assert_contains "the new leader logged why" "$(cat "$(bg_log $other)")" "became leader: lease $ns/$lease held as ctl-$other (the lease was released"
# the Events of the handover: posted by the time the old leader exited, and by the new one
# posted before the exit; a list served from the watch cache may show it a moment later
wait_for "an Event says ctl-$lead stopped leading" 10 has_event "ctl-$lead stopped leading"
wait_for "an Event says ctl-$other became leader" 30 has_event "ctl-$other became leader"
assert_not_contains "no Event failed to post" "$(cat "$(bg_log $lead)" "$(bg_log $other)")" "leader election Event"

# --- kill -9 the new leader: a new replica waits for the lease to expire --------------------------
check "kill -9 the new leader" kill -KILL "$(bg_pid $other)"
stop_bg "$other" || true
# read once it is dead: a renewal between this read and the kill would look like a late one
renew_at_kill=$(spec renewTime)
assert_eq "the dead leader is still named" "ctl-$other" "$(spec holderIdentity)"
t0=$(now)
start_ctl c -u POD_NAME
took="" early=0 touched=0
while [ "$(awk -v s="$(since "$t0")" 'BEGIN { print (s < 60) }')" = 1 ]; do
	# The gauge first, then holder and renewTime in one read: c taking over between separate
	# reads would look like c leading, or the lease renewed, while the dead one was named.
	g=$(gauge c) || g="" # not listening yet in the first rounds
	hr=$(kubectl_admin -n "$ns" get lease "$lease" -o jsonpath='{.spec.holderIdentity}|{.spec.renewTime}' 2>/dev/null)
	h=${hr%%|*}
	if [ "$h" = "ctl-$other" ] && [ "$g" = 1 ]; then early=1; fi
	if [ "$h" = "ctl-$other" ] && [ "${hr#*|}" != "$renew_at_kill" ]; then touched=1; fi
	if [ -n "$h" ] && [ "$h" != "ctl-$other" ]; then took=$(since "$t0"); break; fi
	sleep 0.2
done
holder_c=$(spec holderIdentity)
assert_match "the new replica took over, named host_hex without \$POD_NAME" "$holder_c" "^$(hostname)_[0-9a-f]{16}\$"
check "not before the ${dur}s lease expired, counted from before it started (${took:-never}s)" \
	awk -v t="${took:-0}" -v d="$dur" 'BEGIN { exit !(t >= d) }'
check "but soon after (${took:-never}s)" awk -v t="${took:-999}" -v d="$dur" 'BEGIN { exit !(t < d + 15) }'
assert_eq "it never reported leading while the dead one was named" 0 "$early"
assert_eq "nobody renewed the dead leader's lease meanwhile" 0 "$touched"
wait_for "certcast_leader 1 on the new replica" 10 bash -c "[ \"\$(curl -fsS 'http://127.0.0.1:${port[c]}/metrics' | awk '\$1 == \"certcast_leader\" { print \$2 }')\" = 1 ]"
assert_eq "two transitions" 2 "$(spec leaseTransitions)"
log=$(cat "$(bg_log c)")
assert_contains "it saw the dead leader first" "$log" "lease $ns/$lease is held by ctl-$other"
assert_contains "and says why it took over" "$log" "held by another replica expired"

rc=0
stop_bg c || rc=$?
assert_eq "SIGTERM: exit 0" 0 "$rc"
assert_eq "released on the way out" "" "$(spec holderIdentity)"
assert_eq "released with leaseDurationSeconds 1" 1 "$(spec leaseDurationSeconds)"
wait_for "an Event says $holder_c became leader" 10 has_event "$holder_c became leader"
check "and one that it stopped leading" has_event "$holder_c stopped leading"
assert_eq "the replica killed with -9 never said it stopped" 0 "$(count_events "ctl-$other stopped leading")"
assert_eq "every change is one Event: 3 became, 2 stopped" "3 2" \
	"$(lease_events | grep -c ' became leader|') $(lease_events | grep -c ' stopped leading|')"
kubectl_admin -n "$ns" delete lease "$lease" >/dev/null 2>&1 || true
