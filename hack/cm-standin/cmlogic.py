"""Pure decision logic of the cert-manager stand-in: no I/O, no clock (``now`` is a parameter).

Each function restates one rule of cert-manager v1.21.2 (the version hack/versions.env pins); the
file it comes from is named at each function. Times are timezone-aware UTC datetimes, durations
are timedelta.
"""

import datetime as dt
import math
import re

UTC = dt.timezone.utc

HOUR = dt.timedelta(hours=1)
# internal/apis/config/controller/v1alpha1/defaults.go: defaultCertificateRequestMinimumBackoffDuration
# (1h) and defaultCertificateRequestMaximumBackoffDuration (32h).
BACKOFF_MIN = HOUR
BACKOFF_MAX = 32 * HOUR
# pkg/apis/certmanager/v1/types_certificate.go (spec.duration): default 90 days, minimum 1 hour.
DEFAULT_DURATION = dt.timedelta(days=90)
MIN_DURATION = HOUR
# internal/apis/certmanager/validation/certificate.go: renewBefore at least 5 minutes.
MIN_RENEW_BEFORE = dt.timedelta(minutes=5)

_GO_UNITS = {
    "ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "\u03bcs": 1e-6, "ms": 1e-3,
    "s": 1.0, "m": 60.0, "h": 3600.0,
}
_GO_PART = re.compile(r"([0-9]*\.?[0-9]+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)")


def parse_go_duration(text):
    """A Go time.Duration string ("2160h", "1h0m0s", "59m", "1.5h", "0") as a timedelta.

    Raises ValueError on anything else (metav1.Duration is parsed with time.ParseDuration)."""
    if not isinstance(text, str):
        raise ValueError("duration is not a string: %r" % (text,))
    s = text.strip()
    sign = 1
    if s[:1] in "+-" and s:
        sign = -1 if s[0] == "-" else 1
        s = s[1:]
    if s == "0":
        return dt.timedelta(0)
    if not s:
        raise ValueError("empty duration")
    pos, total = 0, 0.0
    while pos < len(s):
        m = _GO_PART.match(s, pos)
        if not m:
            raise ValueError("invalid duration %r" % text)
        total += float(m.group(1)) * _GO_UNITS[m.group(2)]
        pos = m.end()
    return sign * dt.timedelta(seconds=total)


def format_go_duration(td):
    """timedelta as Go's Duration.String() for whole seconds ("1h0m0s", "59m0s", "5s")."""
    secs = int(td.total_seconds())
    neg = secs < 0
    secs = abs(secs)
    h, rem = divmod(secs, 3600)
    m, s = divmod(rem, 60)
    if h:
        out = "%dh%dm%ds" % (h, m, s)
    elif m:
        out = "%dm%ds" % (m, s)
    else:
        out = "%ds" % s
    return ("-" if neg else "") + out


def parse_time(text):
    """An RFC 3339 time as the API server writes metav1.Time ("2026-01-02T03:04:05Z")."""
    if not isinstance(text, str) or not text:
        raise ValueError("time is not a string: %r" % (text,))
    t = text.strip()
    if t.endswith("Z") or t.endswith("z"):
        t = t[:-1] + "+00:00"
    # fromisoformat before 3.11 does not take fractions of other than 3 or 6 digits
    m = re.match(r"^(.*T\d\d:\d\d:\d\d)(\.\d+)?(.*)$", t)
    if m and m.group(2):
        frac = (m.group(2) + "000000")[:7]
        t = m.group(1) + frac + m.group(3)
    v = dt.datetime.fromisoformat(t)
    if v.tzinfo is None:
        raise ValueError("time without a zone: %r" % text)
    return v.astimezone(UTC)


def format_time(t):
    """metav1.Time's JSON form: UTC, whole seconds, 'Z'."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def truncate_second(t):
    return t.replace(microsecond=0)


def go_time_string(t):
    """Go's time.Time.String() of a UTC second-precision time, as cert-manager's messages print
    *metav1.Time with %s ("2026-01-02 03:04:05 +0000 UTC")."""
    return t.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S +0000 UTC")


def rfc1123(t):
    """Go's time.RFC1123 layout ("Mon, 02 Jan 2006 15:04:05 UTC")."""
    return t.astimezone(UTC).strftime("%a, %d %b %Y %H:%M:%S UTC")


def renew_before_for(lifetime, renew_before, renew_before_percentage):
    """How long before notAfter to renew: pkg/util/pki/renewaltime.go, desiredRenewalTime.

    renewBefore wins when it is > 0 and shorter than the lifetime; else renewBeforePercentage when
    in (0, 100), as float64(lifetime) * pct / 100 converted back to a Duration (truncation toward
    zero, nanoseconds); else a third of the lifetime (integer nanosecond division)."""
    if renew_before is not None and dt.timedelta(0) < renew_before < lifetime:
        return renew_before
    if renew_before_percentage is not None and 0 < renew_before_percentage < 100:
        ns = _td_ns(lifetime)
        return _ns_td(int(float(ns) * float(renew_before_percentage) / 100.0))
    return _ns_td(_td_ns(lifetime) // 3)


def renewal_time(not_before, not_after, renew_before=None, renew_before_percentage=None,
                 renewal_policy=None):
    """cert-manager's status.renewalTime: pkg/util/pki/renewaltime.go, RenewalTime (no ARI).

    notAfter - renewBefore(...), truncated to the second. None when spec.renewal.policy is
    Disabled. (Cron windows of spec.renewal are not applied here: see README, simplifications.)"""
    if renewal_policy == "Disabled":
        return None
    lifetime = not_after - not_before
    rb = renew_before_for(lifetime, renew_before, renew_before_percentage)
    return truncate_second(not_after - rb)


def backoff_delay(failed_attempts, initial=BACKOFF_MIN, maximum=BACKOFF_MAX):
    """The wait after lastFailureTime: pkg/controller/certificates/trigger/trigger_controller.go,
    shouldBackoffReissuingOnFailure. initial * 2^(attempts-1), the maximum when that overflows or
    exceeds it; initial when attempts is unset or <= 0; never below initial."""
    if failed_attempts is None or failed_attempts <= 0:
        delay = initial
    else:
        try:
            computed = initial * math.pow(2, failed_attempts - 1)
        except OverflowError:
            computed = None
        if computed is None or computed < initial or computed > maximum:
            delay = maximum
        else:
            delay = computed
    return max(delay, initial)


def backoff_remaining(now, last_failure_time, failed_attempts, next_request_matches_spec=True,
                      initial=BACKOFF_MIN, maximum=BACKOFF_MAX):
    """How long the trigger still backs off (timedelta(0): not at all). Same source as
    backoff_delay: no backoff without lastFailureTime, none when the next CertificateRequest no
    longer matches the spec (a changed spec is issued at once), none when initial <= 0."""
    if last_failure_time is None:
        return dt.timedelta(0)
    if not next_request_matches_spec:
        return dt.timedelta(0)
    if initial <= dt.timedelta(0):
        return dt.timedelta(0)
    delay = backoff_delay(failed_attempts, initial, maximum)
    since = now - last_failure_time
    if since >= delay:
        return dt.timedelta(0)
    return delay - since


def backoff_schedule(last_failure_time, attempts_upto, initial=BACKOFF_MIN, maximum=BACKOFF_MAX):
    """The next-attempt time after each of 1..attempts_upto consecutive failures, each failing at
    the moment it was allowed (for tests and docs)."""
    out, t = [], last_failure_time
    for n in range(1, attempts_upto + 1):
        t = t + backoff_delay(n, initial, maximum)
        out.append(t)
    return out


def trigger_decision(now, cert, secret_cert, current_request_violations, next_request_violations):
    """Whether the trigger controller sets Issuing=True now, and with which reason and message.

    Follows pkg/controller/certificates/trigger/trigger_controller.go (ProcessItem) and the chain
    of internal/controller/certificates/policies/policies.go (NewTriggerPolicyChain) with the
    messages of policies/checks.go, for the parts the stand-in models:

    cert: dict with keys issuing (bool, Issuing=True), last_failure_time, failed_attempts,
          renew_before, renew_before_percentage, renewal_policy, status_renewal_time,
          issuer_ref (name, kind, group) -- plain values, not API objects.
    secret_cert: None when spec.secretName holds no certificate, else dict with not_before,
          not_after, issuer_ref (from the Secret's cert-manager.io/issuer-* annotations).
    current_request_violations: None when there is no current (status.revision) request, else a
          list of mismatching spec fields (pkg/util/pki/match.go, RequestMatchesSpec).
    next_request_violations: same for the next (revision + 1) request.

    Returns ("wait", None, None) when an issuance is in progress, ("backoff", delay, message),
    ("issue", reason, message) or ("none", None, None)."""
    if cert.get("issuing"):
        return ("wait", None, None)
    next_matches = next_request_violations is None or len(next_request_violations) == 0
    remaining = backoff_remaining(now, cert.get("last_failure_time"), cert.get("failed_attempts"),
                                  next_matches)
    if remaining > dt.timedelta(0):
        msg = ("Backing off from issuance due to previously failed issuance(s). "
               "Issuance will next be attempted at %s" % go_time_string(now + remaining))
        return ("backoff", remaining, msg)
    if secret_cert is None:
        return ("issue", "DoesNotExist", "Issuing certificate as Secret does not exist")
    if not issuer_refs_equal(secret_cert.get("issuer_ref"), cert.get("issuer_ref")):
        name, kind, group = (secret_cert.get("issuer_ref") or ("", "", ""))
        return ("issue", "IncorrectIssuer",
                "Issuing certificate as Secret was previously issued by %s" %
                format_issuer_ref_quoted(name, kind, group))
    if current_request_violations:
        return ("issue", "RequestChanged",
                "Fields on existing CertificateRequest resource not up to date: [%s]" %
                " ".join(current_request_violations))
    if cert.get("renewal_policy") == "Disabled":
        return ("none", None, None)
    rt = renewal_time(secret_cert["not_before"], secret_cert["not_after"], cert.get("renew_before"),
                      cert.get("renew_before_percentage"), cert.get("renewal_policy"))
    if rt is not None and rt - now <= dt.timedelta(0):
        srt = cert.get("status_renewal_time")
        return ("issue", "Renewing", "Renewing certificate as renewal was scheduled at %s" %
                (go_time_string(srt) if srt is not None else "<nil>"))
    return ("none", None, None)


def readiness(now, secret_cert, current_request_violations, issuer_ref):
    """The Ready condition (status, reason, message): readiness_controller.go,
    BuildReadyConditionFromChain over NewReadinessPolicyChain (the modelled part)."""
    if secret_cert is None:
        return ("False", "DoesNotExist", "Issuing certificate as Secret does not exist")
    if not issuer_refs_equal(secret_cert.get("issuer_ref"), issuer_ref):
        name, kind, group = (secret_cert.get("issuer_ref") or ("", "", ""))
        return ("False", "IncorrectIssuer", "Issuing certificate as Secret was previously issued by %s" %
                format_issuer_ref_quoted(name, kind, group))
    if current_request_violations:
        return ("False", "RequestChanged",
                "Fields on existing CertificateRequest resource not up to date: [%s]" %
                " ".join(current_request_violations))
    if now > secret_cert["not_after"]:
        return ("False", "Expired", "Certificate expired on %s" % rfc1123(secret_cert["not_after"]))
    return ("True", "Ready", "Certificate is up to date and has not expired")


def issuer_refs_equal(a, b):
    """pkg/api/util: IssuerKindsEqual / IssuerGroupsEqual -- empty kind means Issuer, empty group
    cert-manager.io."""
    if a is None or b is None:
        return a is None and b is None
    an, ak, ag = a
    bn, bk, bg = b
    return an == bn and (ak or "Issuer") == (bk or "Issuer") and \
        (ag or "cert-manager.io") == (bg or "cert-manager.io")


def format_issuer_ref_quoted(name, kind, group):
    """policies/checks.go formatIssuerRef, quoted as %q: "name.kind.group"."""
    return '"%s.%s.%s"' % (name, kind, group or "cert-manager.io")


def spec_violations(csr_names, request_spec, cert_spec):
    """pkg/util/pki/match.go, RequestMatchesSpec, for the fields the stand-in's CSRs carry.

    csr_names: dict common_name, dns_names, ip_addresses, uris, emails (from the CSR).
    request_spec / cert_spec: dicts of the CertificateRequest's and Certificate's spec."""
    v = []
    def same(a, b):
        return sorted(a or []) == sorted(b or [])
    if not same(csr_names.get("ip_addresses"), cert_spec.get("ipAddresses")):
        v.append("spec.ipAddresses")
    if not same(csr_names.get("uris"), cert_spec.get("uris")):
        v.append("spec.uris")
    if not same(csr_names.get("emails"), cert_spec.get("emailAddresses")):
        v.append("spec.emailAddresses")
    if not same(csr_names.get("dns_names"), cert_spec.get("dnsNames")):
        v.append("spec.dnsNames")
    if (csr_names.get("common_name") or "") != (cert_spec.get("commonName") or ""):
        v.append("spec.commonName")
    if bool(request_spec.get("isCA")) != bool(cert_spec.get("isCA")):
        v.append("spec.isCA")
    if not same(request_spec.get("usages"), cert_spec.get("usages")):
        v.append("spec.usages")
    rd, cd = request_spec.get("duration"), cert_spec.get("duration")
    if rd is not None and cd is not None:
        try:
            if parse_go_duration(rd) != parse_go_duration(cd):
                v.append("spec.duration")
        except ValueError:
            v.append("spec.duration")
    ri = request_spec.get("issuerRef") or {}
    ci = cert_spec.get("issuerRef") or {}
    if not issuer_refs_equal((ri.get("name", ""), ri.get("kind", ""), ri.get("group", "")),
                             (ci.get("name", ""), ci.get("kind", ""), ci.get("group", ""))):
        v.append("spec.issuerRef")
    return v


def validate_certificate_spec(spec):
    """The admission webhook's checks the stand-in depends on
    (internal/apis/certmanager/validation/certificate.go): returns a list of errors."""
    errs = []
    if not isinstance(spec, dict):
        return ["spec is not an object"]
    if not spec.get("secretName"):
        errs.append("spec.secretName: Required value")
    ir = spec.get("issuerRef")
    if not isinstance(ir, dict) or not ir.get("name"):
        errs.append("spec.issuerRef.name: Required value")
    if not any(spec.get(k) for k in ("commonName", "dnsNames", "ipAddresses", "uris",
                                      "emailAddresses", "literalSubject", "otherNames")):
        errs.append("spec: at least one of commonName (from the commonName field or from a "
                    "literalSubject), dnsNames, uriSANs, ipAddresses, emailSANs or otherNames must be set")
    duration = DEFAULT_DURATION
    if spec.get("duration") is not None:
        try:
            duration = parse_go_duration(spec["duration"])
            if duration < MIN_DURATION:
                errs.append("spec.duration: Invalid value: certificate duration must be greater than %s"
                            % format_go_duration(MIN_DURATION))
        except ValueError as e:
            errs.append("spec.duration: %s" % e)
    if spec.get("renewBefore") is not None:
        try:
            rb = parse_go_duration(spec["renewBefore"])
            if rb < MIN_RENEW_BEFORE:
                errs.append("spec.renewBefore: Invalid value: certificate renewBefore must be greater than %s"
                            % format_go_duration(MIN_RENEW_BEFORE))
            elif rb >= duration:
                errs.append("spec.renewBefore: Invalid value: certificate duration %s must be greater "
                            "than renewBefore %s" % (format_go_duration(duration), format_go_duration(rb)))
        except ValueError as e:
            errs.append("spec.renewBefore: %s" % e)
        if spec.get("renewBeforePercentage") is not None:
            errs.append("spec.renewBefore: Invalid value: renewBefore and renewBeforePercentage are "
                        "mutually exclusive and cannot both be set")
    return errs


def parse_fail_annotation(value, now):
    """The stand-in's own failure switch on an Issuer or ClusterIssuer:
    standin.certcast.io/fail: "REASON|MESSAGE[|COUNT-or-RFC3339-UNTIL]".

    Returns None when absent/empty/expired, else dict reason, message, count (int or None),
    until (datetime or None). Raises ValueError when malformed."""
    if value is None or value == "":
        return None
    parts = value.split("|", 2)
    if len(parts) < 2 or not parts[0].strip():
        raise ValueError("want REASON|MESSAGE[|COUNT or RFC 3339 time], got %r" % value)
    out = {"reason": parts[0].strip(), "message": parts[1], "count": None, "until": None}
    if len(parts) == 3 and parts[2].strip():
        lim = parts[2].strip()
        if re.fullmatch(r"[0-9]+", lim):
            out["count"] = int(lim)
        else:
            out["until"] = parse_time(lim)
            if now >= out["until"]:
                return None
    return out


def _td_ns(td):
    return (td.days * 86400 + td.seconds) * 1_000_000_000 + td.microseconds * 1000


def _ns_td(ns):
    # timedelta holds microseconds: round toward zero, as Go's truncation to whole seconds later
    # makes sub-microsecond parts irrelevant.
    sign = -1 if ns < 0 else 1
    return sign * dt.timedelta(microseconds=abs(ns) // 1000)
