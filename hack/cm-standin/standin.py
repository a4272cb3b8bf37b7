#!/usr/bin/env python3
"""cert-manager stand-in: plays cert-manager's controllers on a real API server for certcast's
tests. See README.md in this folder for what it follows (with sources), and what it simplifies.

  standin.py --kubeconfig FILE --metrics-addr 127.0.0.1:PORT [--namespace NS] [--resync SECONDS]
"""

import argparse
import base64
import datetime as dt
import hashlib
import ipaddress
import os
import re
import signal
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cmlogic as L  # noqa: E402
from kube import Kube, KubeError  # noqa: E402

CM = "/apis/cert-manager.io/v1"
FAIL_ANN = "standin.certcast.io/fail"
NOT_READY_ANN = "standin.certcast.io/not-ready"
# pkg/apis/certmanager/v1/types.go
ANN_CERT_NAME = "cert-manager.io/certificate-name"
ANN_REVISION = "cert-manager.io/certificate-revision"
ANN_PK_SECRET = "cert-manager.io/private-key-secret-name"
LABEL_NEXT_KEY = "cert-manager.io/next-private-key"
# pkg/controller/context.go + pkg/util/useragent.go: each controller's events carry the source
# component "cert-manager-" + its controller name.
SRC_TRIGGER = "cert-manager-certificates-trigger"
SRC_ISSUING = "cert-manager-certificates-issuing"
SRC_KEYMGR = "cert-manager-certificates-key-manager"
SRC_REQMGR = "cert-manager-certificates-request-manager"
SRC_APPROVER = "cert-manager-certificaterequests-approver"
# The copied-annotation defaults (--copied-annotation-prefixes): all but these.
NOT_COPIED = ("kubectl.kubernetes.io/", "fluxcd.io/", "argocd.argoproj.io/")

STOP = threading.Event()


def now_utc():
    return dt.datetime.now(L.UTC)


def log(action, obj, detail=""):
    ts = now_utc().strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"
    print("%s %-20s %s %s" % (ts, action, obj, detail), flush=True)


def key_of(o):
    m = o.get("metadata") or {}
    return "%s/%s" % (m.get("namespace") or "-", m.get("name"))


# --- metrics -----------------------------------------------------------------------------------

class Metrics:
    """The series cert-manager exports that certcast reads or might, with cert-manager's names and
    labels (pkg/metrics/metrics.go, internal/collectors/certificate_collector.go)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.sync_calls = {}
        self.acme_count = {}
        self.acme_durations = {}
        self.certs = []

    def sync(self, controller):
        with self.lock:
            self.sync_calls[controller] = self.sync_calls.get(controller, 0) + 1

    def acme(self, server, action, method, status, seconds):
        from urllib.parse import urlsplit
        u = urlsplit(server or "")
        labels = (u.scheme or "https", u.netloc or "", action, method, str(status))
        with self.lock:
            self.acme_count[labels] = self.acme_count.get(labels, 0) + 1
            obs = self.acme_durations.setdefault(labels, {"sum": 0.0, "count": 0, "recent": []})
            obs["sum"] += seconds
            obs["count"] += 1
            obs["recent"] = (obs["recent"] + [seconds])[-500:]

    def set_certs(self, certs):
        with self.lock:
            self.certs = certs

    def render(self):
        def esc(v):
            return str(v).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')

        def lab(names, values):
            return "{" + ",".join('%s="%s"' % (n, esc(v)) for n, v in zip(names, values)) + "}"

        out = []
        with self.lock:
            certs = list(self.certs)
            acme_count = dict(self.acme_count)
            acme_d = {k: dict(v, recent=list(v["recent"])) for k, v in self.acme_durations.items()}
            sync = dict(self.sync_calls)
        cl = ("name", "namespace", "issuer_name", "issuer_kind", "issuer_group")
        for metric, help_, field in (
            ("certmanager_certificate_expiration_timestamp_seconds",
             "The timestamp after which the certificate expires, expressed in Unix Epoch Time.", "notAfter"),
            ("certmanager_certificate_not_after_timestamp_seconds",
             "The timestamp after which the certificate is invalid, expressed as a Unix Epoch Time.", "notAfter"),
            ("certmanager_certificate_not_before_timestamp_seconds",
             "The timestamp before which the certificate is invalid, expressed as a Unix Epoch Time.", "notBefore"),
            ("certmanager_certificate_renewal_timestamp_seconds",
             "The timestamp after which the certificate should be renewed, expressed in Unix Epoch Time.",
             "renewalTime"),
        ):
            out.append("# HELP %s %s" % (metric, help_))
            out.append("# TYPE %s gauge" % metric)
            for c in certs:
                v = 0
                t = ((c.get("status") or {}).get(field))
                if t:
                    try:
                        v = int(L.parse_time(t).timestamp())
                    except ValueError:
                        v = 0
                out.append("%s%s %d" % (metric, lab(cl, cert_labels(c)), v))
        metric = "certmanager_certificate_ready_status"
        out.append("# HELP %s The ready status of the certificate." % metric)
        out.append("# TYPE %s gauge" % metric)
        for c in certs:
            st = "Unknown"
            for cond in (c.get("status") or {}).get("conditions") or []:
                if cond.get("type") == "Ready":
                    st = cond.get("status")
                    break
            n, ns, iname, ikind, igroup = cert_labels(c)
            for cond in ("True", "False", "Unknown"):
                out.append("%s%s %d" % (metric, lab(("name", "namespace", "condition", "issuer_name",
                                                      "issuer_kind", "issuer_group"),
                                                     (n, ns, cond, iname, ikind, igroup)), 1 if st == cond else 0))
        al = ("scheme", "host", "action", "method", "status")
        metric = "certmanager_http_acme_client_request_count"
        out.append("# HELP %s Total number of outbound ACME HTTP requests. Labels: scheme (http/https), "
                   "host (ACME host), action (logical ACME operation), method (HTTP verb), status "
                   "(HTTP status code)." % metric)
        out.append("# TYPE %s counter" % metric)
        for k in sorted(acme_count):
            out.append("%s%s %d" % (metric, lab(al, k), acme_count[k]))
        metric = "certmanager_http_acme_client_request_duration_seconds"
        out.append("# HELP %s Latency of outbound ACME HTTP requests in seconds." % metric)
        out.append("# TYPE %s summary" % metric)
        for k in sorted(acme_d):
            d = acme_d[k]
            rec = sorted(d["recent"])
            for q in (0.5, 0.9, 0.99):
                val = rec[min(len(rec) - 1, int(q * len(rec)))] if rec else float("nan")
                out.append("%s%s %s" % (metric, lab(al + ("quantile",), k + (str(q),)), repr(val)))
            out.append("%s_sum%s %s" % (metric, lab(al, k), repr(d["sum"])))
            out.append("%s_count%s %d" % (metric, lab(al, k), d["count"]))
        metric = "certmanager_controller_sync_call_count"
        out.append("# HELP %s The number of sync() calls made by a controller." % metric)
        out.append("# TYPE %s counter" % metric)
        for k in sorted(sync):
            out.append('%s{controller="%s"} %d' % (metric, esc(k), sync[k]))
        return "\n".join(out) + "\n"


def cert_labels(c):
    m = c.get("metadata") or {}
    ir = (c.get("spec") or {}).get("issuerRef") or {}
    return (m.get("name", ""), m.get("namespace", ""), ir.get("name", ""), ir.get("kind", ""),
            ir.get("group", ""))


def serve_metrics(addr, metrics):
    host, _, port = addr.rpartition(":")

    class H(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path.split("?")[0] != "/metrics":
                self.send_response(404)
                self.end_headers()
                return
            body = metrics.render().encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    srv = ThreadingHTTPServer((host.strip("[]") or "127.0.0.1", int(port)), H)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


# --- crypto ------------------------------------------------------------------------------------

def generate_key(spec):
    """spec.privateKey: algorithm RSA (default, size 2048), ECDSA (256), Ed25519
    (pkg/util/pki/generate.go defaults)."""
    pk = spec.get("privateKey") or {}
    alg = (pk.get("algorithm") or "RSA").upper()
    size = pk.get("size")
    if alg == "ECDSA":
        curve = {384: ec.SECP384R1(), 521: ec.SECP521R1()}.get(size or 256, ec.SECP256R1())
        return ec.generate_private_key(curve)
    if alg == "ED25519":
        return ed25519.Ed25519PrivateKey.generate()
    return rsa.generate_private_key(public_exponent=65537, key_size=int(size or 2048))


def key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def sign_alg(key):
    return None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()


def build_csr(spec, key):
    b = x509.CertificateSigningRequestBuilder()
    names = []
    if spec.get("commonName"):
        names.append(x509.NameAttribute(NameOID.COMMON_NAME, spec["commonName"]))
    b = b.subject_name(x509.Name(names))
    sans = [x509.DNSName(d) for d in spec.get("dnsNames") or []]
    sans += [x509.IPAddress(ipaddress.ip_address(i)) for i in spec.get("ipAddresses") or []]
    sans += [x509.UniformResourceIdentifier(u) for u in spec.get("uris") or []]
    sans += [x509.RFC822Name(e) for e in spec.get("emailAddresses") or []]
    if sans:
        b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    csr = b.sign(key, sign_alg(key))
    return csr.public_bytes(serialization.Encoding.PEM)


def csr_names(csr):
    cn = csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    out = {"common_name": cn[0].value if cn else "", "dns_names": [], "ip_addresses": [],
           "uris": [], "emails": []}
    try:
        san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        out["dns_names"] = san.get_values_for_type(x509.DNSName)
        out["ip_addresses"] = [str(i) for i in san.get_values_for_type(x509.IPAddress)]
        out["uris"] = san.get_values_for_type(x509.UniformResourceIdentifier)
        out["emails"] = san.get_values_for_type(x509.RFC822Name)
    except x509.ExtensionNotFound:
        pass
    return out


def decode_csr(cr):
    pem = base64.b64decode((cr.get("spec") or {}).get("request") or "")
    return x509.load_pem_x509_csr(pem)


def public_der(pub):
    return pub.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


USAGES = {
    "digital signature": ("ku", "digital_signature"), "key encipherment": ("ku", "key_encipherment"),
    "content commitment": ("ku", "content_commitment"), "data encipherment": ("ku", "data_encipherment"),
    "key agreement": ("ku", "key_agreement"), "cert sign": ("ku", "key_cert_sign"),
    "crl sign": ("ku", "crl_sign"),
    "server auth": ("eku", ExtendedKeyUsageOID.SERVER_AUTH),
    "client auth": ("eku", ExtendedKeyUsageOID.CLIENT_AUTH),
    "code signing": ("eku", ExtendedKeyUsageOID.CODE_SIGNING),
    "email protection": ("eku", ExtendedKeyUsageOID.EMAIL_PROTECTION),
}


def sign_certificate(csr, cr_spec, issuer_name, issuer_key, issuer_cert, now):
    """Builds the certificate the way cert-manager's CA and self-signed issuers do: the CSR's
    subject and SANs, notBefore now, notAfter now + spec.duration (default 90 days,
    pkg/apis/certmanager/v1/const.go DefaultCertificateDuration), the requested usages (default
    digital signature + key encipherment), isCA."""
    duration = L.DEFAULT_DURATION
    if cr_spec.get("duration"):
        duration = L.parse_go_duration(cr_spec["duration"])
    nb = L.truncate_second(now)
    na = nb + duration
    if issuer_cert is not None and na > issuer_cert.not_valid_after_utc:
        # pkg/util/pki/certificatetemplate.go: never beyond the signing CA's notAfter.
        na = issuer_cert.not_valid_after_utc
    b = (x509.CertificateBuilder().subject_name(csr.subject).issuer_name(issuer_name)
         .public_key(csr.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(nb).not_valid_after(na))
    try:
        san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        b = b.add_extension(san, critical=False)
    except x509.ExtensionNotFound:
        pass
    is_ca = bool(cr_spec.get("isCA"))
    b = b.add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
    usages = cr_spec.get("usages") or ["digital signature", "key encipherment"]
    ku = {k: False for k in ("digital_signature", "content_commitment", "key_encipherment",
                              "data_encipherment", "key_agreement", "key_cert_sign", "crl_sign",
                              "encipher_only", "decipher_only")}
    ekus = []
    for u in usages:
        kind, val = USAGES.get(u, (None, None))
        if kind == "ku":
            ku[val] = True
        elif kind == "eku":
            ekus.append(val)
    if is_ca:
        ku["key_cert_sign"] = True
    b = b.add_extension(x509.KeyUsage(**ku), critical=True)
    if ekus:
        b = b.add_extension(x509.ExtendedKeyUsage(ekus), critical=False)
    b = b.add_extension(x509.SubjectKeyIdentifier.from_public_key(csr.public_key()), critical=False)
    if issuer_cert is not None:
        b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_cert.public_key()),
                            critical=False)
    return b.sign(issuer_key, sign_alg(issuer_key))


def make_ca(label):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "certcast cm-standin"),
                      x509.NameAttribute(NameOID.COMMON_NAME, "cm-standin CA " + label)])
    nb = L.truncate_second(now_utc()) - dt.timedelta(minutes=5)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(nb)
            .not_valid_after(nb + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=True, crl_sign=True,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return key, cert


# --- helpers on API objects --------------------------------------------------------------------

def cond_get(obj, ctype):
    for c in (obj.get("status") or {}).get("conditions") or []:
        if c.get("type") == ctype:
            return c
    return None


def cond_set(obj, ctype, status, reason, message, now, with_generation=True):
    """apiutil.SetCertificateCondition and friends (pkg/api/util/conditions.go): the transition
    time moves only when the status changes."""
    st = obj.setdefault("status", {})
    conds = st.setdefault("conditions", [])
    new = {"type": ctype, "status": status, "reason": reason, "message": message,
           "lastTransitionTime": L.format_time(now)}
    if with_generation:
        new["observedGeneration"] = (obj.get("metadata") or {}).get("generation", 0)
    for i, c in enumerate(conds):
        if c.get("type") == ctype:
            if c.get("status") == status and c.get("lastTransitionTime"):
                new["lastTransitionTime"] = c["lastTransitionTime"]
            conds[i] = new
            return
    conds.append(new)


def cond_remove(obj, ctype):
    st = obj.get("status") or {}
    if st.get("conditions"):
        st["conditions"] = [c for c in st["conditions"] if c.get("type") != ctype]


def opt_time(v):
    if not v:
        return None
    return L.parse_time(v)


def issuer_ref_tuple(ref):
    ref = ref or {}
    return (ref.get("name", ""), ref.get("kind", ""), ref.get("group", ""))


def issuer_type(issuer):
    spec = issuer.get("spec") or {}
    for t in ("acme", "ca", "selfSigned", "vault", "venafi"):
        if t in spec:
            return t
    return None


def cr_revision(cr):
    v = ((cr.get("metadata") or {}).get("annotations") or {}).get(ANN_REVISION)
    if v is None or not re.fullmatch(r"-?[0-9]+", str(v)):
        return None
    return int(v)


def owned_by(obj, owner):
    uid = (owner.get("metadata") or {}).get("uid")
    return any(r.get("uid") == uid for r in (obj.get("metadata") or {}).get("ownerReferences") or [])


def cr_name_for(cert_name, revision):
    """pkg/api/util/names.go ComputeSecureUniqueDeterministicNameFromData(name, 233) + "-<rev>"
    (StableCertificateRequestName, on by default)."""
    if len(cert_name) <= 233:
        base = cert_name
    else:
        prefix = cert_name[:233 - 65].rstrip(".-")
        base = prefix + "-" + hashlib.sha256(cert_name.encode()).hexdigest()
    return "%s-%d" % (base, revision)


# --- the stand-in ------------------------------------------------------------------------------

class Standin:
    def __init__(self, kube, metrics, namespace, username, groups, cluster_resource_ns):
        self.k = kube
        self.m = metrics
        self.ns = namespace
        self.username = username
        self.groups = groups
        self.cluster_resource_ns = cluster_resource_ns
        self.cas = {}            # issuer uid -> (key, cert, source)
        self.fail_counts = {}    # (issuer uid, annotation value) -> requests failed so far
        self.said = {}           # throttle for repeated log lines: key -> last text
        self.acme_started = {}   # cr uid -> monotonic start

    # paths
    def p(self, plural, ns=None, name=None, sub=None, group=CM):
        s = group + ("/namespaces/%s" % ns if ns else "") + "/" + plural
        if name:
            s += "/" + name
        if sub:
            s += "/" + sub
        return s

    def say_once(self, key, action, obj, detail=""):
        text = action + detail
        if self.said.get(key) != text:
            self.said[key] = text
            log(action, obj, detail)

    def event(self, obj, kind, etype, reason, message, source):
        """A core/v1 Event as client-go's record.EventRecorder writes it: source.component and
        reportingComponent are the controller's component name."""
        m = obj.get("metadata") or {}
        ns = m.get("namespace") or "default"
        now = now_utc()
        api_version = obj.get("apiVersion") or "cert-manager.io/v1"
        ev = {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": "%s.%x" % (m.get("name"), time.time_ns()), "namespace": ns},
            "involvedObject": {"apiVersion": api_version, "kind": kind, "name": m.get("name"),
                               "namespace": m.get("namespace"), "uid": m.get("uid"),
                               "resourceVersion": m.get("resourceVersion")},
            "reason": reason, "message": message, "type": etype,
            "source": {"component": source},
            "reportingComponent": source, "reportingInstance": "",
            "firstTimestamp": L.format_time(now), "lastTimestamp": L.format_time(now), "count": 1,
        }
        try:
            self.k.request("POST", "/api/v1/namespaces/%s/events" % ns, ev)
        except KubeError as e:
            log("event-error", key_of(obj), str(e))

    # --- issuers (pkg/issuer/*/setup.go) ---
    def sync_issuers(self, issuers, now):
        for iss in issuers:
            try:
                self.sync_issuer(iss, now)
            except Exception as e:  # a malformed issuer must not stop the others
                self.say_once("iss-err/" + key_of(iss), "skip-issuer", key_of(iss), repr(e))

    def sync_issuer(self, iss, now):
        kind = iss.get("kind") or "Issuer"
        self.m.sync("issuers" if kind == "Issuer" else "clusterissuers")
        t = issuer_type(iss)
        if t not in ("acme", "ca", "selfSigned"):
            self.say_once("iss-type/" + key_of(iss), "ignore-issuer", key_of(iss),
                          "type %s is not played by the stand-in" % t)
            return
        ann = (iss.get("metadata") or {}).get("annotations") or {}
        want = {"acme": ("True", "ACMEAccountRegistered", "The ACME account was registered with the ACME server"),
                "ca": ("True", "KeyPairVerified", "Signing CA verified"),
                "selfSigned": ("True", "IsReady", "")}[t]
        nr = ann.get(NOT_READY_ANN)
        if nr:
            reason, _, msg = nr.partition("|")
            want = ("False", reason.strip() or "NotReady", msg)
        if t == "ca" and not nr:
            self.ca_for(iss)
        cur = cond_get(iss, "Ready")
        if cur and (cur.get("status"), cur.get("reason"), cur.get("message", "")) == want:
            return
        obj = dict(iss)
        obj["status"] = dict(iss.get("status") or {})
        obj["status"]["conditions"] = [dict(c) for c in (iss.get("status") or {}).get("conditions") or []]
        cond_set(obj, "Ready", want[0], want[1], want[2], now)
        m = iss["metadata"]
        path = self.p("issuers", m.get("namespace"), m["name"], "status") if kind == "Issuer" \
            else self.p("clusterissuers", None, m["name"], "status")
        self.k.request("PUT", path, obj)
        log("issuer-ready", key_of(iss), "Ready=%s reason=%s" % (want[0], want[1]))

    def ca_for(self, iss):
        """The CA issuer's key pair: the Secret spec.ca.secretName (in the Issuer's namespace, or
        the cluster resource namespace for a ClusterIssuer) when it holds one, else a local CA the
        stand-in makes for this issuer (a simplification)."""
        uid = iss["metadata"].get("uid")
        if uid in self.cas:
            return self.cas[uid]
        ns = iss["metadata"].get("namespace") or self.cluster_resource_ns
        name = ((iss.get("spec") or {}).get("ca") or {}).get("secretName")
        if name:
            s = self.k.get_or_none("/api/v1/namespaces/%s/secrets/%s" % (ns, name))
            if s and (s.get("data") or {}).get("tls.crt") and s["data"].get("tls.key"):
                try:
                    cert = x509.load_pem_x509_certificate(base64.b64decode(s["data"]["tls.crt"]))
                    key = serialization.load_pem_private_key(base64.b64decode(s["data"]["tls.key"]), None)
                    self.cas[uid] = (key, cert, "secret %s/%s" % (ns, name))
                    log("ca-loaded", key_of(iss), "from Secret %s/%s" % (ns, name))
                    return self.cas[uid]
                except Exception as e:
                    log("ca-bad-secret", key_of(iss), "%s/%s: %r; using a local CA" % (ns, name, e))
        key, cert = make_ca(key_of(iss))
        self.cas[uid] = (key, cert, "local")
        log("ca-generated", key_of(iss), "local CA %s" % cert.subject.rfc4514_string())
        return self.cas[uid]

    # --- certificates ---
    def secret_info(self, cert):
        spec = cert.get("spec") or {}
        ns = cert["metadata"]["namespace"]
        s = self.k.get_or_none("/api/v1/namespaces/%s/secrets/%s" % (ns, spec.get("secretName")))
        if not s:
            return None, None
        data = s.get("data") or {}
        if not data.get("tls.crt") or not data.get("tls.key"):
            return s, None
        try:
            c = x509.load_pem_x509_certificate(base64.b64decode(data["tls.crt"]))
        except Exception:
            return s, None
        a = (s.get("metadata") or {}).get("annotations") or {}
        ref = None
        if "cert-manager.io/issuer-name" in a:
            ref = (a.get("cert-manager.io/issuer-name", ""), a.get("cert-manager.io/issuer-kind", ""),
                   a.get("cert-manager.io/issuer-group", ""))
        return s, {"not_before": c.not_valid_before_utc, "not_after": c.not_valid_after_utc,
                   "issuer_ref": ref, "x509": c}

    def put_cert_status(self, cert):
        m = cert["metadata"]
        return self.k.request("PUT", self.p("certificates", m["namespace"], m["name"], "status"), cert)

    def request_violations(self, cr, cert):
        if cr is None:
            return None
        try:
            names = csr_names(decode_csr(cr))
        except Exception:
            return ["spec.request (cannot be decoded)"]
        return L.spec_violations(names, cr.get("spec") or {}, cert.get("spec") or {})

    def sync_certificate(self, cert, crs, now):
        m = cert["metadata"]
        key = key_of(cert)
        if m.get("deletionTimestamp"):
            return
        spec = cert.get("spec") or {}
        errs = L.validate_certificate_spec(spec)
        if errs:
            self.say_once("invalid/" + key, "invalid-certificate", key,
                          "the webhook would reject it: " + "; ".join(errs))
            return
        st = cert.get("status") or {}
        owned = [c for c in crs if owned_by(c, cert)]
        revision = st.get("revision") or 0
        cur = [c for c in owned if cr_revision(c) == revision] if revision else []
        nxt = [c for c in owned if cr_revision(c) == revision + 1]
        current_cr = cur[0] if len(cur) == 1 else None
        next_cr = nxt[0] if len(nxt) == 1 else None
        secret, sc = self.secret_info(cert)
        issuing = cond_get(cert, "Issuing")
        issuing_true = bool(issuing and issuing.get("status") == "True")

        # certificates-issuing: finish an issuance whose request reached a final state.
        if issuing_true:
            self.m.sync("certificates-issuing")
            cert = self.issuing(cert, next_cr, secret, now)
            if cert is None:
                return
            issuing = cond_get(cert, "Issuing")
            issuing_true = bool(issuing and issuing.get("status") == "True")
            if not issuing_true:
                secret, sc = self.secret_info(cert)
                st = cert.get("status") or {}
                revision = st.get("revision") or 0
                current_cr = next_cr
                next_cr = None

        # certificates-trigger
        if not issuing_true:
            self.m.sync("certificates-trigger")
            cur_v = self.request_violations(current_cr, cert) if current_cr else None
            nxt_v = self.request_violations(next_cr, cert) if next_cr else None
            facts = {
                "issuing": False,
                "last_failure_time": opt_time(st.get("lastFailureTime")),
                "failed_attempts": st.get("failedIssuanceAttempts"),
                "renew_before": L.parse_go_duration(spec["renewBefore"]) if spec.get("renewBefore") else None,
                "renew_before_percentage": spec.get("renewBeforePercentage"),
                "renewal_policy": (spec.get("renewal") or {}).get("policy"),
                "status_renewal_time": opt_time(st.get("renewalTime")),
                "issuer_ref": issuer_ref_tuple(spec.get("issuerRef")),
            }
            what, a, b = L.trigger_decision(now, facts, sc, cur_v, nxt_v)
            if what == "backoff":
                self.say_once("backoff/" + key, "backoff", key, b)
            elif what == "issue":
                cert = self.copy(cert)
                cond_set(cert, "Issuing", "True", a, b, now)
                cert = self.put_cert_status(cert)
                log("trigger", key, "Issuing=True reason=%s: %s" % (a, b))
                self.event(cert, "Certificate", "Normal", "Issuing", b, SRC_TRIGGER)
                issuing = cond_get(cert, "Issuing")
                issuing_true = True

        # certificates-key-manager
        self.m.sync("certificates-key-manager")
        cert, key_pem_bytes, key_secret = self.key_manager(cert, issuing_true, now)
        if cert is None:
            return

        # certificates-request-manager
        if issuing_true and key_pem_bytes:
            self.m.sync("certificates-request-manager")
            self.request_manager(cert, owned, key_pem_bytes, key_secret, now)

        # certificates-readiness
        self.m.sync("certificates-readiness")
        self.readiness(cert, sc, current_cr, now)

    def copy(self, obj):
        import copy
        return copy.deepcopy(obj)

    def issuing(self, cert, req, secret, now):
        """pkg/controller/certificates/issuing/issuing_controller.go (ProcessItem,
        failIssueCertificate, issueCertificate). Returns the (possibly updated) Certificate."""
        st = cert.get("status") or {}
        key = key_of(cert)
        if not st.get("nextPrivateKeySecretName") or req is None:
            return cert
        if self.request_violations(req, cert):
            return cert
        ic = cond_get(cert, "Issuing")
        ready = cond_get(req, "Ready")
        ft = opt_time((req.get("status") or {}).get("failureTime"))
        ltt = opt_time(ic.get("lastTransitionTime")) or dt.datetime.min.replace(tzinfo=L.UTC)
        if ft is not None and ready and ready.get("reason") == "Failed" and ft < ltt:
            return cert  # a failure of an earlier attempt: the request manager replaces it
        fail_cond = None
        denied = cond_get(req, "Denied")
        invalid = cond_get(req, "InvalidRequest")
        if denied and denied.get("status") == "True":
            fail_cond = denied
        elif invalid and invalid.get("status") == "True":
            fail_cond = invalid
        elif ready and ready.get("reason") == "Failed":
            fail_cond = ready
        if fail_cond is not None:
            cert = self.copy(cert)
            s = cert.setdefault("status", {})
            s["lastFailureTime"] = L.format_time(now)
            s["failedIssuanceAttempts"] = (s.get("failedIssuanceAttempts") or 0) + 1
            reason = fail_cond.get("reason") or ""
            msg = "The certificate request has failed to complete and will be retried: %s" % \
                fail_cond.get("message", "")
            cond_set(cert, "Issuing", "False", reason, msg, now)
            cert = self.put_cert_status(cert)
            log("issuance-failed", key, "attempts=%d request=%s reason=%s: %s" % (
                cert["status"].get("failedIssuanceAttempts"), req["metadata"]["name"], reason, msg))
            self.event(cert, "Certificate", "Warning", reason, msg, SRC_ISSUING)
            return cert
        if not ready or ready.get("reason") != "Issued":
            return cert
        ks = self.k.get_or_none("/api/v1/namespaces/%s/secrets/%s" % (cert["metadata"]["namespace"],
                                                                     st["nextPrivateKeySecretName"]))
        if not ks or not (ks.get("data") or {}).get("tls.key"):
            return cert
        pk_pem = base64.b64decode(ks["data"]["tls.key"])
        crt_pem = base64.b64decode((req.get("status") or {}).get("certificate") or "")
        pk = serialization.load_pem_private_key(pk_pem, None)
        issued = x509.load_pem_x509_certificate(crt_pem)
        if public_der(issued.public_key()) != public_der(pk.public_key()):
            return cert
        self.write_secret(cert, secret, req, pk_pem)
        cert = self.copy(cert)
        s = cert.setdefault("status", {})
        s["revision"] = cr_revision(req)
        cond_remove(cert, "Issuing")
        s.pop("failedIssuanceAttempts", None)
        s.pop("lastFailureTime", None)
        cert = self.put_cert_status(cert)
        log("issued", key, "revision=%s request=%s notAfter=%s" % (
            s["revision"], req["metadata"]["name"], L.format_time(issued.not_valid_after_utc)))
        self.event(cert, "Certificate", "Normal", "Issuing", "The certificate has been successfully issued",
                   SRC_ISSUING)
        return cert

    def write_secret(self, cert, secret, req, pk_pem):
        """issuing/secret_manager.go: the target Secret with tls.crt, tls.key, ca.crt and the
        cert-manager.io annotations of the issued certificate."""
        m = cert["metadata"]
        spec = cert["spec"]
        rs = req.get("status") or {}
        ref = (req.get("spec") or {}).get("issuerRef") or {}
        issued = x509.load_pem_x509_certificate(base64.b64decode(rs["certificate"]))
        names = {"dns_names": [], "ip_addresses": [], "uris": []}
        try:
            san = issued.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            names = {"dns_names": san.get_values_for_type(x509.DNSName),
                     "ip_addresses": [str(i) for i in san.get_values_for_type(x509.IPAddress)],
                     "uris": san.get_values_for_type(x509.UniformResourceIdentifier)}
        except x509.ExtensionNotFound:
            pass
        cn = issued.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        ann = {
            ANN_CERT_NAME: m["name"],
            "cert-manager.io/issuer-name": ref.get("name", ""),
            "cert-manager.io/issuer-kind": ref.get("kind", ""),
            "cert-manager.io/issuer-group": ref.get("group", ""),
            "cert-manager.io/common-name": cn[0].value if cn else "",
            "cert-manager.io/alt-names": ",".join(names["dns_names"]),
            "cert-manager.io/ip-sans": ",".join(names["ip_addresses"]),
            "cert-manager.io/uri-sans": ",".join(names["uris"]),
        }
        data = {"tls.crt": rs["certificate"], "tls.key": base64.b64encode(pk_pem).decode()}
        if rs.get("ca"):
            data["ca.crt"] = rs["ca"]
        body = {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
                "metadata": {"name": spec["secretName"], "namespace": m["namespace"],
                             "annotations": ann, "labels": {"controller.cert-manager.io/fao": "true"}},
                "data": data}
        base = "/api/v1/namespaces/%s/secrets" % m["namespace"]
        if secret is None:
            self.k.request("POST", base, body)
        else:
            body["metadata"]["resourceVersion"] = secret["metadata"]["resourceVersion"]
            a = dict((secret["metadata"].get("annotations") or {}))
            a.update(ann)
            body["metadata"]["annotations"] = a
            lb = dict((secret["metadata"].get("labels") or {}))
            lb.update(body["metadata"]["labels"])
            body["metadata"]["labels"] = lb
            body["type"] = secret.get("type") or "kubernetes.io/tls"
            self.k.request("PUT", base + "/" + spec["secretName"], body)
        log("secret-written", "%s/%s" % (m["namespace"], spec["secretName"]), "for %s" % key_of(cert))

    def key_manager(self, cert, issuing_true, now):
        """keymanager_controller.go: while Issuing=True, a new private key (rotationPolicy Always,
        the default since v1.18) in a temporary Secret named in status.nextPrivateKeySecretName;
        otherwise that Secret is removed and the field unset."""
        m = cert["metadata"]
        ns = m["namespace"]
        st = cert.get("status") or {}
        name = st.get("nextPrivateKeySecretName")
        if not issuing_true:
            if name:
                try:
                    self.k.request("DELETE", "/api/v1/namespaces/%s/secrets/%s" % (ns, name))
                except KubeError as e:
                    if e.status != 404:
                        raise
                cert = self.copy(cert)
                cert["status"].pop("nextPrivateKeySecretName", None)
                cert = self.put_cert_status(cert)
                log("next-key-removed", key_of(cert), "Secret %s" % name)
            return cert, None, None
        if name:
            s = self.k.get_or_none("/api/v1/namespaces/%s/secrets/%s" % (ns, name))
            if s and (s.get("data") or {}).get("tls.key"):
                return cert, base64.b64decode(s["data"]["tls.key"]), name
        key = generate_key(cert.get("spec") or {})
        body = {"apiVersion": "v1", "kind": "Secret",
                "metadata": {"generateName": m["name"] + "-", "namespace": ns,
                             "labels": {LABEL_NEXT_KEY: "true", "controller.cert-manager.io/fao": "true"},
                             "ownerReferences": [owner_ref(cert)]},
                "data": {"tls.key": base64.b64encode(key_pem(key)).decode()}}
        s = self.k.request("POST", "/api/v1/namespaces/%s/secrets" % ns, body)
        sname = s["metadata"]["name"]
        self.event(cert, "Certificate", "Normal", "Generated",
                   'Stored new private key in temporary Secret resource "%s"' % sname, SRC_KEYMGR)
        cert = self.copy(cert)
        cert.setdefault("status", {})["nextPrivateKeySecretName"] = sname
        try:
            cert = self.put_cert_status(cert)
        except KubeError:
            self.k.request("DELETE", "/api/v1/namespaces/%s/secrets/%s" % (ns, sname))
            raise
        log("next-key", key_of(cert), "generated %s key in Secret %s" % (
            ((cert.get("spec") or {}).get("privateKey") or {}).get("algorithm") or "RSA", sname))
        return cert, key_pem(key), sname

    def request_manager(self, cert, owned, pk_pem, key_secret, now):
        """requestmanager_controller.go: delete requests without a revision, requests of the next
        revision that no longer match the spec or the next key, and failed ones of an earlier
        attempt; create <name>-<revision> when none is left."""
        ns = cert["metadata"]["namespace"]
        st = cert.get("status") or {}
        nxt_rev = (st.get("revision") or 0) + 1
        pk = serialization.load_pem_private_key(pk_pem, None)
        ic = cond_get(cert, "Issuing")
        ltt = opt_time(ic.get("lastTransitionTime")) if ic else None
        keep = []
        for cr in owned:
            rev = cr_revision(cr)
            reason = None
            if rev is None:
                reason = "no valid revision annotation"
            elif rev != nxt_rev:
                continue
            else:
                v = self.request_violations(cr, cert)
                if v:
                    reason = "does not match the spec: %s" % ", ".join(v)
                else:
                    try:
                        same_key = public_der(decode_csr(cr).public_key()) == public_der(pk.public_key())
                    except Exception:
                        same_key = False
                    ready = cond_get(cr, "Ready")
                    ft = opt_time((cr.get("status") or {}).get("failureTime"))
                    if not same_key:
                        reason = "its CSR is not for the next private key"
                    elif ready and ready.get("status") == "False" and ready.get("reason") == "Failed" \
                            and ft is not None and ltt is not None and ft < ltt:
                        reason = "it failed in an earlier attempt of this revision"
            if reason:
                self.k.request("DELETE", self.p("certificaterequests", ns, cr["metadata"]["name"]))
                log("request-deleted", key_of(cr), reason)
            else:
                keep.append(cr)
        if keep:
            return
        spec = cert.get("spec") or {}
        name = cr_name_for(cert["metadata"]["name"], nxt_rev)
        csr_pem = build_csr(spec, pk)
        anns = {k: v for k, v in ((cert["metadata"].get("annotations") or {}).items())
                if not k.startswith(NOT_COPIED)}
        anns[ANN_REVISION] = str(nxt_rev)
        anns[ANN_PK_SECRET] = key_secret
        anns[ANN_CERT_NAME] = cert["metadata"]["name"]
        crspec = {"issuerRef": spec.get("issuerRef"), "request": base64.b64encode(csr_pem).decode(),
                  # the admission webhook fills in who created the request
                  # (internal/webhook/admission/certificaterequest/identity)
                  "username": self.username, "groups": self.groups}
        if spec.get("duration"):
            crspec["duration"] = spec["duration"]
        if spec.get("isCA"):
            crspec["isCA"] = True
        if spec.get("usages"):
            crspec["usages"] = spec["usages"]
        body = {"apiVersion": "cert-manager.io/v1", "kind": "CertificateRequest",
                "metadata": {"name": name, "namespace": ns, "annotations": anns,
                             "labels": cert["metadata"].get("labels") or {},
                             "ownerReferences": [owner_ref(cert)]},
                "spec": crspec}
        try:
            self.k.request("POST", self.p("certificaterequests", ns), body)
        except KubeError as e:
            self.event(cert, "Certificate", "Warning", "RequestFailed",
                       "Failed to create CertificateRequest: %s" % e, SRC_REQMGR)
            raise
        log("request-created", "%s/%s" % (ns, name), "revision=%d for %s" % (nxt_rev, key_of(cert)))
        self.event(cert, "Certificate", "Normal", "Requested",
                   'Created new CertificateRequest resource "%s"' % name, SRC_REQMGR)

    def readiness(self, cert, sc, current_cr, now):
        """readiness_controller.go: Ready from the policy chain; notBefore, notAfter and
        renewalTime from the certificate in the Secret (pki.RenewalTime)."""
        # Re-read what this pass may have changed.
        m = cert["metadata"]
        fresh = self.k.get(self.p("certificates", m["namespace"], m["name"]))
        _, sc = self.secret_info(fresh)
        st = fresh.get("status") or {}
        rev = st.get("revision") or 0
        crs = self.k.list(self.p("certificaterequests", m["namespace"])) if rev else []
        cur = [c for c in crs if owned_by(c, fresh) and cr_revision(c) == rev]
        cur_v = self.request_violations(cur[0], fresh) if len(cur) == 1 else None
        spec = fresh.get("spec") or {}
        status, reason, msg = L.readiness(now, sc, cur_v, issuer_ref_tuple(spec.get("issuerRef")))
        new = self.copy(fresh)
        cond_set(new, "Ready", status, reason, msg, now)
        ns_ = new["status"]
        if sc is None:
            for f in ("notBefore", "notAfter", "renewalTime"):
                ns_.pop(f, None)
        else:
            ns_["notBefore"] = L.format_time(sc["not_before"])
            ns_["notAfter"] = L.format_time(sc["not_after"])
            rt = L.renewal_time(sc["not_before"], sc["not_after"],
                                L.parse_go_duration(spec["renewBefore"]) if spec.get("renewBefore") else None,
                                spec.get("renewBeforePercentage"), (spec.get("renewal") or {}).get("policy"))
            if rt is None:
                ns_.pop("renewalTime", None)
            else:
                ns_["renewalTime"] = L.format_time(rt)
        if new["status"] != st:
            self.put_cert_status(new)
            log("readiness", key_of(fresh), "Ready=%s reason=%s notAfter=%s renewalTime=%s" % (
                status, reason, ns_.get("notAfter", "-"), ns_.get("renewalTime", "-")))

    # --- certificate requests (certificaterequests/*) ---
    def sync_request(self, cr, issuers, now):
        m = cr["metadata"]
        key = key_of(cr)
        spec = cr.get("spec") or {}
        ref = spec.get("issuerRef") or {}
        if (ref.get("group") or "cert-manager.io") != "cert-manager.io":
            return  # an external issuer's request: not cert-manager's to sign
        ready = cond_get(cr, "Ready")
        if ready and ready.get("reason") in ("Issued", "Failed", "Denied"):
            return
        kind = ref.get("kind") or "Issuer"
        iss = issuers.get((kind, m["namespace"] if kind == "Issuer" else None, ref.get("name")))
        fail = None
        if iss is not None:
            ann = (iss.get("metadata") or {}).get("annotations") or {}
            try:
                fail = L.parse_fail_annotation(ann.get(FAIL_ANN), now)
            except ValueError as e:
                self.say_once("badfail/" + key_of(iss), "bad-annotation", key_of(iss), "%s: %s" % (FAIL_ANN, e))
            if fail and fail["count"] is not None:
                if self.fail_counts.get((iss["metadata"].get("uid"), ann.get(FAIL_ANN)), 0) >= fail["count"]:
                    fail = None
        cr = self.copy(cr)
        # certificaterequests-approver (approver/sync.go); a "Denied" failure plays an external
        # approver that denies instead.
        approved, denied = cond_get(cr, "Approved"), cond_get(cr, "Denied")
        if not (approved and approved.get("status") == "True") and not (denied and denied.get("status") == "True"):
            self.m.sync("certificaterequests-approver")
            if fail and fail["reason"] == "Denied":
                cond_set(cr, "Denied", "True", "standin.certcast.io", fail["message"], now, with_generation=False)
                self.count_failure(iss, now)
                log("request-denied", key, fail["message"])
            else:
                msg = "Certificate request has been approved by cert-manager.io"
                cond_set(cr, "Approved", "True", "cert-manager.io", msg, now, with_generation=False)
                cr = self.put_cr_status(cr)
                log("request-approved", key)
                self.event(cr, "CertificateRequest", "Normal", "cert-manager.io", msg, SRC_APPROVER)
                return
        denied = cond_get(cr, "Denied")
        if denied and denied.get("status") == "True":
            # util/reporter.go Denied
            cr.setdefault("status", {}).setdefault("failureTime", L.format_time(now))
            cond_set(cr, "Ready", "False", "Denied", "The CertificateRequest was denied by an approval controller",
                     now, with_generation=False)
            self.put_cr_status(cr)
            log("request-failed", key, "Denied")
            return
        if iss is None:
            self.pending(cr, "IssuerNotFound", 'Referenced "%s" not found: %s.cert-manager.io "%s" not found' % (
                kind, kind.lower() if kind != "ClusterIssuer" else "clusterissuer", ref.get("name")), None, now)
            return
        t = issuer_type(iss)
        if t not in ("ca", "selfSigned", "acme"):
            return
        src = "cert-manager-certificaterequests-issuer-" + t.lower()
        self.m.sync("certificaterequests-issuer-" + t.lower())
        ir = cond_get(iss, "Ready")
        if not (ir and ir.get("status") == "True"):
            self.pending(cr, "IssuerNotReady", "Referenced issuer does not have a Ready status condition", src, now)
            return
        if fail and fail["reason"] == "InvalidRequest":
            cond_set(cr, "InvalidRequest", "True", "InvalidRequest", fail["message"], now, with_generation=False)
            cr.setdefault("status", {}).setdefault("failureTime", L.format_time(now))
            self.count_failure(iss, now)
            self.put_cr_status(cr)
            log("request-invalid", key, fail["message"])
            return
        acme_server = ((iss.get("spec") or {}).get("acme") or {}).get("server", "")
        if t == "acme":
            uid = m.get("uid")
            if uid not in self.acme_started:
                # acme.go: the request waits on an Order first (no Order object is made here).
                self.acme_started[uid] = time.monotonic()
                self.m.acme(acme_server, "authorize_order", "POST", 201, 0.05)
                self.pending(cr, "OrderCreated", "Created Order resource %s/%s-%s" % (
                    m["namespace"], m["name"], hashlib.sha256(m["name"].encode()).hexdigest()[:10]), src, now)
                return
        if fail:
            self.count_failure(iss, now)
            if t == "acme":
                mm = re.search(r"\b([45][0-9][0-9]) urn:ietf:params:acme:error", fail["message"])
                self.m.acme(acme_server, "wait_order" if not mm else "authorize_order",
                            "POST", int(mm.group(1)) if mm else 200, 0.08)
            # util/reporter.go Failed: the event carries the issuer's reason, the condition Failed.
            cr.setdefault("status", {})
            if not cr["status"].get("failureTime"):
                cr["status"]["failureTime"] = L.format_time(now)
            cond_set(cr, "Ready", "False", "Failed", fail["message"], now, with_generation=False)
            cr = self.put_cr_status(cr)
            log("request-failed", key, "reason=%s: %s" % (fail["reason"], fail["message"]))
            self.event(cr, "CertificateRequest", "Warning", fail["reason"], fail["message"], src)
            return
        csr = decode_csr(cr)
        if not csr.is_signature_valid:
            raise ValueError("CSR signature is not valid")
        if t == "selfSigned":
            sname = ((m.get("annotations") or {}).get(ANN_PK_SECRET))
            ks = self.k.get_or_none("/api/v1/namespaces/%s/secrets/%s" % (m["namespace"], sname)) if sname else None
            if not ks or not (ks.get("data") or {}).get("tls.key"):
                self.pending(cr, "MissingKey", 'Referenced secret %s/%s not found' % (m["namespace"], sname), src, now)
                return
            key = serialization.load_pem_private_key(base64.b64decode(ks["data"]["tls.key"]), None)
            crt = sign_certificate(csr, spec, csr.subject, key, None, now)
            ca_pem = crt.public_bytes(serialization.Encoding.PEM)
        else:
            cakey, cacert, _ = self.ca_for(iss)
            crt = sign_certificate(csr, spec, cacert.subject, cakey, cacert, now)
            ca_pem = cacert.public_bytes(serialization.Encoding.PEM) if t == "ca" else b""
        if t == "acme":
            self.m.acme(acme_server, "wait_order", "POST", 200, 0.1)
            self.m.acme(acme_server, "create_order_cert", "POST", 200, 0.2)
            self.m.acme(acme_server, "fetch_cert", "POST", 200, 0.05)
        cr.setdefault("status", {})["certificate"] = base64.b64encode(crt.public_bytes(serialization.Encoding.PEM)).decode()
        if ca_pem:
            cr["status"]["ca"] = base64.b64encode(ca_pem).decode()
        msg = "Certificate fetched from issuer successfully"
        cond_set(cr, "Ready", "True", "Issued", msg, now, with_generation=False)
        cr = self.put_cr_status(cr)
        log("request-issued", key, "by %s serial=%x notAfter=%s" % (
            key_of(iss), crt.serial_number, L.format_time(crt.not_valid_after_utc)))
        self.event(cr, "CertificateRequest", "Normal", "CertificateIssued", msg, src)

    def count_failure(self, iss, now):
        k = (iss["metadata"].get("uid"), ((iss["metadata"].get("annotations") or {}).get(FAIL_ANN)))
        self.fail_counts[k] = self.fail_counts.get(k, 0) + 1

    def pending(self, cr, reason, message, src, now):
        """util/reporter.go Pending: Ready=False reason Pending, an event only on the change."""
        ready = cond_get(cr, "Ready")
        if ready and ready.get("reason") == "Pending" and ready.get("message") == message:
            return
        cond_set(cr, "Ready", "False", "Pending", message, now, with_generation=False)
        cr = self.put_cr_status(cr)
        log("request-pending", key_of(cr), "%s: %s" % (reason, message))
        if src:
            self.event(cr, "CertificateRequest", "Normal", reason, message, src)

    def put_cr_status(self, cr):
        m = cr["metadata"]
        return self.k.request("PUT", self.p("certificaterequests", m["namespace"], m["name"], "status"), cr)

    # --- one pass ---
    def sync_once(self):
        now = now_utc()
        ns = self.ns
        issuers = self.k.list(self.p("issuers", ns))
        cissuers = self.k.list(self.p("clusterissuers"))
        for o in issuers:
            o.setdefault("kind", "Issuer")
        for o in cissuers:
            o.setdefault("kind", "ClusterIssuer")
        self.sync_issuers(issuers + cissuers, now)
        # re-read: the Ready conditions may have just been written
        issuers = self.k.list(self.p("issuers", ns))
        cissuers = self.k.list(self.p("clusterissuers"))
        idx = {}
        for o in issuers:
            idx[("Issuer", o["metadata"].get("namespace"), o["metadata"]["name"])] = o
        for o in cissuers:
            idx[("ClusterIssuer", None, o["metadata"]["name"])] = o
        certs = self.k.list(self.p("certificates", ns))
        crs = self.k.list(self.p("certificaterequests", ns))
        by_ns = {}
        for cr in crs:
            by_ns.setdefault(cr["metadata"].get("namespace"), []).append(cr)
        for c in certs:
            if STOP.is_set():
                return
            try:
                self.sync_certificate(c, by_ns.get(c["metadata"].get("namespace"), []), now)
            except KubeError as e:
                if e.status == 409:
                    continue  # changed under us: next pass
                self.say_once("err/" + key_of(c), "error", key_of(c), str(e))
            except Exception as e:
                self.say_once("err/" + key_of(c), "skip-certificate", key_of(c),
                              "%s: %s" % (type(e).__name__, e))
        for cr in self.k.list(self.p("certificaterequests", ns)):
            if STOP.is_set():
                return
            try:
                self.sync_request(cr, idx, now_utc())
            except KubeError as e:
                if e.status == 409:
                    continue
                self.say_once("err/" + key_of(cr), "error", key_of(cr), str(e))
            except Exception as e:
                self.say_once("err/" + key_of(cr), "skip-request", key_of(cr), "%s: %s" % (type(e).__name__, e))
        self.m.set_certs(self.k.list(self.p("certificates", ns)))


def owner_ref(cert):
    return {"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "name": cert["metadata"]["name"],
            "uid": cert["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kubeconfig", default=os.environ.get("KUBECONFIG"), required=not os.environ.get("KUBECONFIG"))
    ap.add_argument("--metrics-addr", default="127.0.0.1:9402")
    ap.add_argument("--namespace", default="", help="only this namespace (default: all)")
    ap.add_argument("--resync", type=float, default=1.0, help="seconds between passes (default 1)")
    ap.add_argument("--cluster-resource-namespace", default="cert-manager")
    ap.add_argument("--username", default="system:serviceaccount:cert-manager:cert-manager",
                    help="the requester the admission webhook would record on CertificateRequests")
    a = ap.parse_args(argv)
    groups = ["system:serviceaccounts", "system:serviceaccounts:cert-manager", "system:authenticated"]
    kube = Kube(a.kubeconfig, "cert-manager-standin/v1.21.2 (certcast test)")
    metrics = Metrics()
    srv = serve_metrics(a.metrics_addr, metrics)
    st = Standin(kube, metrics, a.namespace or None, a.username, groups, a.cluster_resource_namespace)

    def on_term(signum, frame):
        STOP.set()
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    log("start", "-", "namespace=%s resync=%ss metrics=http://%s/metrics" % (a.namespace or "*", a.resync, a.metrics_addr))
    while not STOP.is_set():
        try:
            st.sync_once()
        except Exception as e:
            log("pass-error", "-", "%s: %s" % (type(e).__name__, e))
            if os.environ.get("STANDIN_DEBUG"):
                traceback.print_exc()
        STOP.wait(a.resync)
    srv.shutdown()
    kube.close()
    log("stop", "-", "SIGTERM")
    return 0


if __name__ == "__main__":
    sys.exit(main())
