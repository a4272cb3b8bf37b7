#!/usr/bin/env bash
# hack/testenv.sh: a real local control plane (etcd + kube-apiserver) for certcast's tests and demo.
#
#   eval "$(hack/testenv.sh up)"   start; prints only shell exports on stdout (logs go to stderr)
#   hack/testenv.sh env            re-print the exports of the running environment
#   hack/testenv.sh status         say what runs; exit 0 only when etcd and the API server are ready
#   hack/testenv.sh restart-apiserver   stop kube-apiserver and start it again, same ports and state
#   hack/testenv.sh stop-apiserver | start-apiserver   the two halves, to test an outage
#   hack/testenv.sh down           stop everything and remove the state
#
# up, restart-apiserver and start-apiserver return once /readyz is ok and every resource certcast
# watches accepts a watch (right after a start the server answers watches with 429 "storage is
# (re)initializing" until that resource's watch cache has listed).
#
# State lives in $TESTENV_DIR (default: <repo>/.testenv): certificates, kubeconfigs, logs under
# logs/, the audit log, etcd's data and the pid files. Ports are picked at random on 127.0.0.1, so
# two environments with different TESTENV_DIRs run side by side.
#
# What `up` builds:
#   - a throwaway CA, a serving certificate for 127.0.0.1, client certificates for the admin
#     (O=system:masters) and for the user certcast (CN=certcast, O=certcast), and a service-account
#     signing key;
#   - etcd, then kube-apiserver with RBAC, client-certificate auth, Metadata-level audit logging to
#     $TESTENV_DIR/audit.log, and no admission of ServiceAccount (no controller-manager runs here to
#     create default service accounts);
#   - cert-manager's CRDs from deploy/crds (waited for until Established), namespace cert-manager;
#   - a ClusterRole/ClusterRoleBinding giving the user certcast exactly
#     charts/certcast/files/rbac-rules.yaml, so a missing rule fails a test, plus
#     rbac-auth-rules.yaml: the chart's RBAC with httpAuth: kubernetes (hack/gen-rbac.sh
#     --http-auth), which tests/integration/test_http_auth.sh turns on.
#
# Exports: KUBECONFIG (admin), CERTCAST_KUBECONFIG (the certcast user), PATH (kubectl, etcd,
# etcdctl, kube-apiserver first), TESTENV_DIR, TESTENV_APISERVER_URL, TESTENV_ETCD_ENDPOINT,
# TESTENV_APISERVER_PID_FILE, TESTENV_CA_FILE, TESTENV_AUDIT_LOG, TESTENV_WATCH_CACHE.
#
# Watch cache and 410 Gone: TESTENV_WATCH_CACHE=on (the default, as in a real cluster) or off
# (--watch-cache=false: every watch and list is served from etcd; exported as true/false). In
# this Kubernetes release nothing reads --default-watch-cache-size, and non-zero
# --watch-cache-sizes are dropped (caches size themselves), so a small cache cannot be asked
# for: the cache is either on or off. How a 410 is forced:
# tests/integration/lib.sh testenv_force_410 (stop the API server, advance and compact etcd's
# revision with etcdctl, start the API server again). After that, a watch from any
# resourceVersion a client held before gets an in-stream ERROR event with code 410 (Expired), in
# either mode, and a list with such a resourceVersion and resourceVersionMatch=Exact gets HTTP 410.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=versions.env
. "$root/hack/versions.env"

TESTENV_DIR=$(realpath -m "${TESTENV_DIR:-$root/.testenv}")
D=$TESTENV_DIR
marker=$D/.certcast-testenv
bin_dir=$("$root/hack/deps.sh" --bin-dir)
ready_timeout=${TESTENV_READY_TIMEOUT:-120}

log() { printf 'testenv: %s\n' "$*" >&2; }
die() { printf 'testenv: error: %s\n' "$*" >&2; exit 1; }

# --- processes ---------------------------------------------------------------------------------

# pid_alive NAME: the pid file names a live process running NAME for this environment.
pid_alive() {
	local f=$D/$1.pid pid cmd
	[ -f "$f" ] || return 1
	pid=$(cat "$f")
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	[ -r "/proc/$pid/cmdline" ] || return 1
	# A recycled pid runs something else: never signal that. The server's arguments name files
	# in this environment's folder; right after start the process is still the run script,
	# which then execs the server.
	# While a process is inside execve (setsid -> run script -> server) its cmdline reads as
	# empty for a moment; a busy machine widens that window. Only an exited process (a zombie,
	# or gone) stays empty, so look again briefly before calling it dead.
	local tries=0
	cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)
	while [ -z "$cmd" ] && [ $tries -lt 20 ] && [ -r "/proc/$pid/cmdline" ]; do
		sleep 0.05
		tries=$((tries + 1))
		cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)
	done
	case $cmd in
	*"/$1 "*"$D/"* | *"$D/$1.run"*) return 0 ;;
	*) return 1 ;;
	esac
}

# stop NAME: SIGTERM, up to 15 s for a clean exit, then SIGKILL.
stop() {
	local name=$1 pid i
	pid_alive "$name" || { rm -f "$D/$name.pid"; return 0; }
	pid=$(cat "$D/$name.pid")
	kill -TERM "$pid" 2>/dev/null || true
	for i in $(seq 1 150); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		log "$name (pid $pid) ignored SIGTERM for 15s; killing it"
		kill -KILL "$pid" 2>/dev/null || true
		for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	fi
	rm -f "$D/$name.pid"
}

# start NAME: runs $D/NAME.run (written by up) in its own session, so that it outlives this
# script and a Ctrl-C in the caller's terminal; stdout and stderr go to the log, never to the
# caller's command substitution.
start() {
	local name=$1
	mkdir -p "$D/logs"
	setsid "$D/$name.run" </dev/null >>"$D/logs/$name.log" 2>&1 &
	local pid=$! self c i
	echo "$pid" >"$D/$name.pid"
	# Until the forked shell has exec'd setsid, its cmdline is this script's own, which
	# pid_alive would take for a dead server (a busy machine made CI fail on exactly that):
	# wait for the exec before anyone looks.
	self=$(tr '\0' ' ' <"/proc/$$/cmdline" 2>/dev/null)
	for i in $(seq 1 200); do
		c=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || break
		[ "$c" != "$self" ] && break
		sleep 0.05
	done
}

# lost_port_race NAME: NAME exited because another process bound one of its ports first.
lost_port_race() {
	! pid_alive "$1" && grep -q 'address already in use' "$D/logs/$1.log" 2>/dev/null
}

log_tail() {
	local f=$D/logs/$1.log
	[ -f "$f" ] || return 0
	echo "--- last lines of $f:" >&2
	tail -n "${2:-25}" "$f" >&2
}

# --- certificates ------------------------------------------------------------------------------

gen_pki() {
	local p=$D/pki
	mkdir -p "$p"
	(
		cd "$p"
		umask 077
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
			-keyout ca.key -out ca.crt -subj "/CN=certcast-testenv-ca" \
			-addext "basicConstraints=critical,CA:TRUE" \
			-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
		leaf apiserver "/CN=kube-apiserver" serverAuth \
			"subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc"
		leaf admin "/O=system:masters/CN=testenv-admin" clientAuth
		leaf certcast "/O=certcast/CN=certcast" clientAuth
		openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out sa.key 2>/dev/null
		openssl pkey -in sa.key -pubout -out sa.pub
		chmod 644 ca.crt
	)
}

# leaf NAME SUBJECT EKU [SAN]: a P-256 key and a certificate signed by the testenv CA.
leaf() {
	local ext
	ext=$(mktemp)
	{
		echo "basicConstraints=critical,CA:FALSE"
		echo "keyUsage=critical,digitalSignature"
		echo "extendedKeyUsage=$3"
		[ -z "${4:-}" ] || echo "$4"
	} >"$ext"
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" \
		-out "$1.csr" -subj "$2" 2>/dev/null
	openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 \
		-extfile "$ext" -out "$1.crt" 2>/dev/null
	rm -f "$1.csr" "$ext"
}

# kubeconfig USER: a kubeconfig with embedded certificates (the most common form in the wild).
kubeconfig() {
	local p=$D/pki
	cat <<EOF
apiVersion: v1
kind: Config
clusters:
- name: testenv
  cluster:
    server: https://127.0.0.1:$apiserver_port
    certificate-authority-data: $(base64 -w0 <"$p/ca.crt")
users:
- name: $1
  user:
    client-certificate-data: $(base64 -w0 <"$p/$1.crt")
    client-key-data: $(base64 -w0 <"$p/$1.key")
contexts:
- name: $1@testenv
  context:
    cluster: testenv
    user: $1
    namespace: default
current-context: $1@testenv
EOF
}

# --- ports -------------------------------------------------------------------------------------

# port_used PORT: some TCP socket (listening or connected, IPv4 or IPv6) has PORT as its local
# port. Read from /proc so that no extra tool (ss, netstat) is needed.
port_used() {
	local hex
	hex=$(printf '%04X' "$1")
	awk -v h=":$hex" 'FNR > 1 && substr($2, length($2) - 4) == h { found = 1 } END { exit !found }' \
		/proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# free_port: a random TCP port that nothing uses, below the kernel's ephemeral range so that
# outgoing connections do not take it in the meantime. Whoever binds it first wins; up retries
# with fresh ports when a server fails to bind.
free_port() {
	local p i
	for i in $(seq 1 100); do
		p=$((20000 + RANDOM % 12000))
		case " ${taken_ports:-} " in *" $p "*) continue ;; esac
		if ! port_used "$p"; then
			taken_ports="${taken_ports:-} $p"
			echo "$p"
			return 0
		fi
	done
	die "found no free port"
}

# --- etcd and kube-apiserver -------------------------------------------------------------------

write_run_scripts() {
	local p=$D/pki cache=true
	case ${TESTENV_WATCH_CACHE:-on} in
	on | true | 1) cache=true ;;
	off | false | 0) cache=false ;;
	*) die "TESTENV_WATCH_CACHE must be on or off" ;;
	esac
	cat >"$D/etcd.run" <<EOF
#!/bin/sh
# etcd for the certcast test environment ($D). Loopback only, no TLS, no fsync: throwaway state.
exec "$bin_dir/etcd" --name testenv --data-dir "$D/etcd" \\
  --listen-client-urls http://127.0.0.1:$etcd_port --advertise-client-urls http://127.0.0.1:$etcd_port \\
  --listen-peer-urls http://127.0.0.1:$etcd_peer_port --initial-advertise-peer-urls http://127.0.0.1:$etcd_peer_port \\
  --initial-cluster testenv=http://127.0.0.1:$etcd_peer_port --initial-cluster-state new \\
  --unsafe-no-fsync --log-level warn
EOF
	cat >"$D/audit-policy.yaml" <<'EOF'
# Every request, at Metadata level: who did what to which object, never request or response bodies.
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
  - level: Metadata
EOF
	cat >"$D/kube-apiserver.run" <<EOF
#!/bin/sh
# kube-apiserver for the certcast test environment ($D).
exec "$bin_dir/kube-apiserver" \\
  --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port=$apiserver_port \\
  --etcd-servers=http://127.0.0.1:$etcd_port \\
  --cert-dir="$D/pki/apiserver-generated" \\
  --tls-cert-file="$p/apiserver.crt" --tls-private-key-file="$p/apiserver.key" \\
  --client-ca-file="$p/ca.crt" \\
  --authorization-mode=RBAC \\
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \\
  --service-account-key-file="$p/sa.pub" --service-account-signing-key-file="$p/sa.key" \\
  --service-cluster-ip-range=10.0.0.0/24 --endpoint-reconciler-type=none \\
  --disable-admission-plugins=ServiceAccount \\
  --audit-policy-file="$D/audit-policy.yaml" --audit-log-path="$D/audit.log" \\
  --audit-log-format=json --audit-log-maxsize=100 --audit-log-maxbackup=1 \\
  --watch-cache=$cache \\
  --profiling=false
EOF
	chmod +x "$D/etcd.run" "$D/kube-apiserver.run"
	echo "$cache" >"$D/watch-cache"
}

wait_etcd() {
	local i
	for i in $(seq 1 $((ready_timeout * 10))); do
		pid_alive etcd || return 1
		curl -fsS --max-time 2 "http://127.0.0.1:$etcd_port/health" 2>/dev/null | grep -q '"health":"true"' &&
			return 0
		sleep 0.1
	done
	return 1
}

readyz() {
	curl -fsS --max-time 3 --cacert "$D/pki/ca.crt" --cert "$D/pki/admin.crt" --key "$D/pki/admin.key" \
		"https://127.0.0.1:$apiserver_port/readyz" 2>/dev/null
}

wait_apiserver() {
	local i
	for i in $(seq 1 $((ready_timeout * 5))); do
		pid_alive kube-apiserver || return 1
		[ "$(readyz)" = ok ] && return 0
		sleep 0.2
	done
	return 1
}

# The resources certcast watches. /readyz does not wait for their watch caches: until a cache has
# listed, the server answers a watch with 429 "storage is (re)initializing".
watched_resources=(
	/apis/cert-manager.io/v1/certificates /apis/cert-manager.io/v1/certificaterequests
	/apis/cert-manager.io/v1/issuers /apis/cert-manager.io/v1/clusterissuers
	/apis/acme.cert-manager.io/v1/orders /apis/acme.cert-manager.io/v1/challenges
	/api/v1/events /api/v1/pods
)

# wait_watch_caches: every watched resource accepts a watch. The probe hangs up after 0.3 s;
# by then the status line has told whether the watch was accepted (200) or refused (429).
wait_watch_caches() {
	local r code i
	for r in "${watched_resources[@]}"; do
		for i in $(seq 1 $((ready_timeout * 2))); do
			code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 0.3 --cacert "$D/pki/ca.crt" \
				--cert "$D/pki/admin.crt" --key "$D/pki/admin.key" \
				"https://127.0.0.1:$apiserver_port$r?watch=1&timeoutSeconds=1" 2>/dev/null || true)
			[ "$code" = 200 ] && continue 2
			sleep 0.5
		done
		log "the watch cache of $r is not ready (last status $code)"
		return 1
	done
}

load_ports() {
	[ -f "$D/ports" ] || die "no environment in $D"
	# shellcheck source=/dev/null
	. "$D/ports"
}

exports() {
	load_ports
	local q
	printf 'export KUBECONFIG=%q\n' "$D/admin.kubeconfig"
	printf 'export CERTCAST_KUBECONFIG=%q\n' "$D/certcast.kubeconfig"
	q=$(printf '%q' "$bin_dir")
	printf 'export PATH=%s:"$PATH"\n' "$q"
	printf 'export TESTENV_DIR=%q\n' "$D"
	printf 'export TESTENV_APISERVER_URL=%q\n' "https://127.0.0.1:$apiserver_port"
	printf 'export TESTENV_ETCD_ENDPOINT=%q\n' "http://127.0.0.1:$etcd_port"
	printf 'export TESTENV_APISERVER_PID_FILE=%q\n' "$D/kube-apiserver.pid"
	printf 'export TESTENV_CA_FILE=%q\n' "$D/pki/ca.crt"
	printf 'export TESTENV_AUDIT_LOG=%q\n' "$D/audit.log"
	printf 'export TESTENV_WATCH_CACHE=%q\n' "$(cat "$D/watch-cache" 2>/dev/null || echo true)"
}

kubectl_admin() { "$bin_dir/kubectl" --kubeconfig "$D/admin.kubeconfig" "$@"; }

cmd_up() {
	[ -x "$bin_dir/kube-apiserver" ] && [ -x "$bin_dir/etcd" ] && [ -x "$bin_dir/kubectl" ] ||
		"$root/hack/deps.sh" --go-tools >&2
	if [ -f "$marker" ]; then
		pid_alive etcd || pid_alive kube-apiserver &&
			die "an environment already runs in $D (hack/testenv.sh env | down)"
		log "removing the stale state of a stopped environment in $D"
		cmd_down
	fi
	mkdir -p "$D"
	[ -z "$(ls -A "$D")" ] || die "$D is not empty and holds no test environment; choose another TESTENV_DIR"
	local t0=$SECONDS attempt
	echo "certcast test environment; hack/testenv.sh down removes this folder" >"$marker"
	# A failed start leaves no server running; the logs stay for reading until down.
	trap 'stop kube-apiserver; stop etcd; log "up failed; logs in $D/logs (hack/testenv.sh down cleans up)"' EXIT
	mkdir -p "$D/logs"
	gen_pki
	# A port taken between the check and the bind makes a server exit; retry with new ports.
	for attempt in 1 2 3 4 5; do
		taken_ports=""
		etcd_port=$(free_port)
		etcd_peer_port=$(free_port)
		apiserver_port=$(free_port)
		printf 'etcd_port=%s\netcd_peer_port=%s\napiserver_port=%s\n' \
			"$etcd_port" "$etcd_peer_port" "$apiserver_port" >"$D/ports"
		write_run_scripts
		rm -rf "$D/etcd"
		start etcd
		if ! wait_etcd; then
			log_tail etcd 10
			lost_port_race etcd || die "etcd did not start; logs in $D/logs"
			log "a port was taken meanwhile; retrying with others"
			stop etcd
			continue
		fi
		start kube-apiserver
		wait_apiserver && break
		log_tail kube-apiserver 30
		lost_port_race kube-apiserver || die "kube-apiserver did not become ready; logs in $D/logs"
		log "a port was taken meanwhile; retrying with others"
		stop kube-apiserver
		stop etcd
	done
	pid_alive kube-apiserver || die "could not start the control plane; logs in $D/logs"
	kubeconfig admin >"$D/admin.kubeconfig"
	kubeconfig certcast >"$D/certcast.kubeconfig"
	chmod 600 "$D/admin.kubeconfig" "$D/certcast.kubeconfig"
	log "kube-apiserver ready on https://127.0.0.1:$apiserver_port after $((SECONDS - t0))s"

	# Server-side apply: the big CRDs (Issuer, ClusterIssuer, Challenge) exceed the size limit
	# of the last-applied annotation that client-side apply would add.
	kubectl_admin apply --server-side --field-manager=certcast-testenv -f "$root/deploy/crds/" >/dev/null
	kubectl_admin wait --for=condition=Established --timeout=60s \
		crd/certificates.cert-manager.io crd/certificaterequests.cert-manager.io \
		crd/issuers.cert-manager.io crd/clusterissuers.cert-manager.io \
		crd/orders.acme.cert-manager.io crd/challenges.acme.cert-manager.io >/dev/null
	kubectl_admin create namespace cert-manager >/dev/null
	# the chart's RBAC with httpAuth: kubernetes, so that tests can turn the HTTP auth on
	"$root/hack/gen-rbac.sh" --user certcast --http-auth | kubectl_admin apply -f - >/dev/null
	wait_watch_caches || die "the API server does not accept watches; logs in $D/logs"
	exports >"$D/env.sh"
	trap - EXIT
	log "up in $((SECONDS - t0))s: CRDs established, namespace cert-manager, user certcast bound"
	cat "$D/env.sh"
}

cmd_down() {
	[ -d "$D" ] || return 0
	if [ ! -f "$marker" ]; then
		[ -z "$(ls -A "$D")" ] && { rmdir "$D"; return 0; }
		die "$D holds no test environment; not removing it"
	fi
	stop kube-apiserver
	stop etcd
	rm -rf "$D"
}

cmd_env() {
	[ -f "$marker" ] && [ -f "$D/env.sh" ] || die "no environment in $D"
	pid_alive kube-apiserver || log "warning: kube-apiserver is not running"
	cat "$D/env.sh"
}

cmd_status() {
	[ -f "$marker" ] || { echo "no environment in $D"; return 1; }
	load_ports
	local ok=0
	if pid_alive etcd; then
		echo "etcd: running (pid $(cat "$D/etcd.pid")) on http://127.0.0.1:$etcd_port"
	else
		echo "etcd: stopped"
		ok=1
	fi
	if pid_alive kube-apiserver; then
		echo "kube-apiserver: running (pid $(cat "$D/kube-apiserver.pid")) on https://127.0.0.1:$apiserver_port, readyz: $(readyz || echo failing)"
		[ "$(readyz)" = ok ] || ok=1
	else
		echo "kube-apiserver: stopped"
		ok=1
	fi
	return $ok
}

cmd_restart_apiserver() {
	[ -f "$marker" ] || die "no environment in $D"
	load_ports
	local t0=$SECONDS
	stop kube-apiserver
	start kube-apiserver
	wait_apiserver && wait_watch_caches || { log_tail kube-apiserver 30; die "kube-apiserver did not come back"; }
	log "kube-apiserver restarted in $((SECONDS - t0))s"
}

case ${1:-} in
up) cmd_up ;;
down) cmd_down ;;
env) cmd_env ;;
status) cmd_status ;;
restart-apiserver) cmd_restart_apiserver ;;
stop-apiserver)
	[ -f "$marker" ] || die "no environment in $D"
	stop kube-apiserver
	;;
start-apiserver)
	[ -f "$marker" ] || die "no environment in $D"
	load_ports
	pid_alive kube-apiserver || start kube-apiserver
	wait_apiserver && wait_watch_caches || { log_tail kube-apiserver 30; die "kube-apiserver did not become ready"; }
	;;
*)
	echo "usage: $0 up|down|env|status|restart-apiserver|stop-apiserver|start-apiserver" >&2
	exit 2
	;;
esac
