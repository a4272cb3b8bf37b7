"""Unit tests of the stand-in's pure logic (hack/cm-standin/cmlogic.py): each expectation is
worked out by hand from cert-manager v1.21.2's rules, not read back from the code under test."""

import datetime as dt
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "hack", "cm-standin"))
import cmlogic as L  # noqa: E402

UTC = dt.timezone.utc
H = dt.timedelta(hours=1)


def t(s):
    return L.parse_time(s)


class Durations(unittest.TestCase):
    def test_go_durations(self):
        self.assertEqual(L.parse_go_duration("2160h"), dt.timedelta(days=90))
        self.assertEqual(L.parse_go_duration("1h0m0s"), H)
        self.assertEqual(L.parse_go_duration("59m"), dt.timedelta(minutes=59))
        self.assertEqual(L.parse_go_duration("1.5h"), dt.timedelta(minutes=90))
        self.assertEqual(L.parse_go_duration("1h30m15s"), dt.timedelta(seconds=5415))
        self.assertEqual(L.parse_go_duration("0"), dt.timedelta(0))
        for bad in ("", "h", "5", "1d", "1 h", None, 5):
            with self.assertRaises(ValueError, msg=repr(bad)):
                L.parse_go_duration(bad)

    def test_format(self):
        self.assertEqual(L.format_go_duration(H), "1h0m0s")
        self.assertEqual(L.format_go_duration(dt.timedelta(minutes=5)), "5m0s")
        self.assertEqual(L.format_time(t("2026-01-02T03:04:05.678Z")), "2026-01-02T03:04:05Z")
        self.assertEqual(L.go_time_string(t("2026-01-02T03:04:05Z")), "2026-01-02 03:04:05 +0000 UTC")
        self.assertEqual(L.rfc1123(t("2026-01-02T03:04:05Z")), "Fri, 02 Jan 2026 03:04:05 UTC")


class RenewalTime(unittest.TestCase):
    nb = t("2026-01-01T00:00:00Z")

    def test_default_two_thirds(self):
        # 90 days: renew 30 days before notAfter, i.e. at day 60.
        na = self.nb + dt.timedelta(days=90)
        self.assertEqual(L.renewal_time(self.nb, na), t("2026-03-02T00:00:00Z"))

    def test_default_truncates_to_the_second(self):
        # 1h + 1s = 3601 s; a third is 1200.333 s; 3601 - 1200.333 = 2400.667 s -> 2400 s.
        na = self.nb + dt.timedelta(seconds=3601)
        self.assertEqual(L.renewal_time(self.nb, na), self.nb + dt.timedelta(seconds=2400))

    def test_renew_before(self):
        na = self.nb + H
        self.assertEqual(L.renewal_time(self.nb, na, dt.timedelta(minutes=59)), self.nb + dt.timedelta(minutes=1))

    def test_renew_before_not_shorter_than_lifetime_falls_back(self):
        # renewBefore >= the actual lifetime is ignored: the default third applies (20 minutes
        # before the end of a 1h certificate).
        na = self.nb + H
        self.assertEqual(L.renewal_time(self.nb, na, 2 * H), self.nb + dt.timedelta(minutes=40))
        self.assertEqual(L.renewal_time(self.nb, na, H), self.nb + dt.timedelta(minutes=40))

    def test_percentage(self):
        na = self.nb + dt.timedelta(days=100)
        self.assertEqual(L.renewal_time(self.nb, na, None, 25), self.nb + dt.timedelta(days=75))
        # out of (0, 100): default
        self.assertEqual(L.renewal_time(self.nb, na, None, 100),
                         L.truncate_second(na - dt.timedelta(days=100) / 3))
        self.assertEqual(L.renewal_time(self.nb, na, None, 0),
                         L.truncate_second(na - dt.timedelta(days=100) / 3))

    def test_renew_before_wins_over_percentage(self):
        na = self.nb + dt.timedelta(days=100)
        self.assertEqual(L.renewal_time(self.nb, na, dt.timedelta(days=10), 50), self.nb + dt.timedelta(days=90))

    def test_disabled(self):
        self.assertIsNone(L.renewal_time(self.nb, self.nb + H, renewal_policy="Disabled"))


class Backoff(unittest.TestCase):
    def test_delays(self):
        self.assertEqual([L.backoff_delay(n) / H for n in range(1, 9)], [1, 2, 4, 8, 16, 32, 32, 32])
        self.assertEqual(L.backoff_delay(None), H)
        self.assertEqual(L.backoff_delay(0), H)
        self.assertEqual(L.backoff_delay(-3), H)
        self.assertEqual(L.backoff_delay(10_000), 32 * H)  # overflow -> the cap

    def test_remaining(self):
        lf = t("2026-01-01T00:00:00Z")
        self.assertEqual(L.backoff_remaining(lf + dt.timedelta(minutes=10), lf, 1), dt.timedelta(minutes=50))
        self.assertEqual(L.backoff_remaining(lf + H, lf, 1), dt.timedelta(0))
        self.assertEqual(L.backoff_remaining(lf + H, lf, 2), H)
        self.assertEqual(L.backoff_remaining(lf + 31 * H, lf, 7), H)
        self.assertEqual(L.backoff_remaining(lf, None, 3), dt.timedelta(0))
        # a spec that no longer matches the next request is issued at once
        self.assertEqual(L.backoff_remaining(lf, lf, 3, next_request_matches_spec=False), dt.timedelta(0))

    def test_schedule(self):
        lf = t("2026-01-01T00:00:00Z")
        got = L.backoff_schedule(lf, 4)
        self.assertEqual(got, [lf + H, lf + 3 * H, lf + 7 * H, lf + 15 * H])


class Trigger(unittest.TestCase):
    now = t("2026-06-01T12:00:00Z")
    ref = ("ca", "Issuer", "cert-manager.io")

    def cert(self, **kw):
        c = {"issuing": False, "last_failure_time": None, "failed_attempts": None, "renew_before": None,
             "renew_before_percentage": None, "renewal_policy": None, "status_renewal_time": None,
             "issuer_ref": self.ref}
        c.update(kw)
        return c

    def secret(self, nb, na, ref=None):
        return {"not_before": nb, "not_after": na, "issuer_ref": ref or ("ca", "Issuer", "")}

    def test_in_progress(self):
        self.assertEqual(L.trigger_decision(self.now, self.cert(issuing=True), None, None, None)[0], "wait")

    def test_no_secret(self):
        self.assertEqual(L.trigger_decision(self.now, self.cert(), None, None, None),
                         ("issue", "DoesNotExist", "Issuing certificate as Secret does not exist"))

    def test_not_due(self):
        s = self.secret(self.now - H, self.now + 89 * 24 * H)
        self.assertEqual(L.trigger_decision(self.now, self.cert(), s, [], None)[0], "none")

    def test_due(self):
        s = self.secret(self.now - 61 * 24 * H, self.now + 29 * 24 * H)
        rt = t("2026-05-31T12:00:00Z")
        what, reason, msg = L.trigger_decision(self.now, self.cert(status_renewal_time=rt), s, [], None)
        self.assertEqual((what, reason), ("issue", "Renewing"))
        self.assertEqual(msg, "Renewing certificate as renewal was scheduled at 2026-05-31 12:00:00 +0000 UTC")

    def test_due_exactly_now(self):
        s = self.secret(self.now - 60 * 24 * H, self.now + 30 * 24 * H)
        self.assertEqual(L.trigger_decision(self.now, self.cert(), s, [], None)[0], "issue")

    def test_renew_before_moves_it(self):
        s = self.secret(self.now - 10 * 24 * H, self.now + 80 * 24 * H)
        self.assertEqual(L.trigger_decision(self.now, self.cert(renew_before=81 * 24 * H), s, [], None)[1], "Renewing")
        self.assertEqual(L.trigger_decision(self.now, self.cert(renew_before=79 * 24 * H), s, [], None)[0], "none")

    def test_disabled_never_renews(self):
        s = self.secret(self.now - 89 * 24 * H, self.now + 24 * H)
        self.assertEqual(L.trigger_decision(self.now, self.cert(renewal_policy="Disabled"), s, [], None)[0], "none")

    def test_changed_names(self):
        s = self.secret(self.now - H, self.now + 89 * 24 * H)
        what, reason, msg = L.trigger_decision(self.now, self.cert(), s, ["spec.dnsNames"], None)
        self.assertEqual((what, reason), ("issue", "RequestChanged"))
        self.assertEqual(msg, "Fields on existing CertificateRequest resource not up to date: [spec.dnsNames]")

    def test_changed_issuer(self):
        s = self.secret(self.now - H, self.now + 89 * 24 * H, ref=("old", "ClusterIssuer", ""))
        what, reason, msg = L.trigger_decision(self.now, self.cert(), s, [], None)
        self.assertEqual((what, reason), ("issue", "IncorrectIssuer"))
        self.assertEqual(msg, 'Issuing certificate as Secret was previously issued by "old.ClusterIssuer.cert-manager.io"')

    def test_backoff_holds_even_when_due(self):
        lf = self.now - dt.timedelta(minutes=30)
        c = self.cert(last_failure_time=lf, failed_attempts=1)
        what, delay, msg = L.trigger_decision(self.now, c, None, None, [])
        self.assertEqual((what, delay), ("backoff", dt.timedelta(minutes=30)))
        self.assertEqual(msg, "Backing off from issuance due to previously failed issuance(s). "
                              "Issuance will next be attempted at 2026-06-01 12:30:00 +0000 UTC")

    def test_backoff_over(self):
        lf = self.now - 2 * H
        c = self.cert(last_failure_time=lf, failed_attempts=2)
        self.assertEqual(L.trigger_decision(self.now, c, None, None, [])[0], "issue")
        c = self.cert(last_failure_time=lf, failed_attempts=3)
        self.assertEqual(L.trigger_decision(self.now, c, None, None, [])[0], "backoff")

    def test_spec_change_skips_backoff(self):
        lf = self.now - dt.timedelta(minutes=1)
        c = self.cert(last_failure_time=lf, failed_attempts=5)
        self.assertEqual(L.trigger_decision(self.now, c, None, None, ["spec.dnsNames"])[0], "issue")

    def test_renew_before_change_does_not_skip_backoff(self):
        # renewBefore is not compared with the request: changing it keeps the backoff.
        s = self.secret(self.now - 80 * 24 * H, self.now + 10 * 24 * H)
        c = self.cert(last_failure_time=self.now - H, failed_attempts=2, renew_before=60 * 24 * H)
        self.assertEqual(L.trigger_decision(self.now, c, s, [], [])[0], "backoff")


class Readiness(unittest.TestCase):
    now = t("2026-06-01T12:00:00Z")

    def test_states(self):
        ref = ("ca", "Issuer", "")
        self.assertEqual(L.readiness(self.now, None, None, ref)[:2], ("False", "DoesNotExist"))
        s = {"not_before": self.now - H, "not_after": self.now + H, "issuer_ref": ref}
        self.assertEqual(L.readiness(self.now, s, [], ref), ("True", "Ready", "Certificate is up to date and has not expired"))
        s = {"not_before": self.now - 2 * H, "not_after": self.now - H, "issuer_ref": ref}
        self.assertEqual(L.readiness(self.now, s, [], ref),
                         ("False", "Expired", "Certificate expired on Mon, 01 Jun 2026 11:00:00 UTC"))


class SpecMatch(unittest.TestCase):
    def test_match_and_mismatch(self):
        names = {"common_name": "", "dns_names": ["b.example", "a.example"], "ip_addresses": [], "uris": [], "emails": []}
        cert = {"dnsNames": ["a.example", "b.example"], "issuerRef": {"name": "ca"}, "duration": "1h"}
        req = {"issuerRef": {"name": "ca", "kind": "Issuer", "group": "cert-manager.io"}, "duration": "60m"}
        self.assertEqual(L.spec_violations(names, req, cert), [])
        cert2 = dict(cert, dnsNames=["a.example"], duration="2h", issuerRef={"name": "other"})
        self.assertEqual(L.spec_violations(names, req, cert2), ["spec.dnsNames", "spec.duration", "spec.issuerRef"])

    def test_validation(self):
        ok = {"secretName": "s", "issuerRef": {"name": "ca"}, "dnsNames": ["a"], "duration": "1h", "renewBefore": "59m"}
        self.assertEqual(L.validate_certificate_spec(ok), [])
        self.assertEqual(len(L.validate_certificate_spec(dict(ok, duration="59m", renewBefore="5m"))), 1)
        self.assertEqual(len(L.validate_certificate_spec(dict(ok, renewBefore="4m"))), 1)
        self.assertEqual(len(L.validate_certificate_spec(dict(ok, renewBefore="1h"))), 1)
        self.assertEqual(len(L.validate_certificate_spec(dict(ok, renewBeforePercentage=10))), 1)
        self.assertEqual(len(L.validate_certificate_spec(dict(ok, dnsNames=[]))), 1)
        self.assertEqual(L.validate_certificate_spec("x"), ["spec is not an object"])


class FailAnnotation(unittest.TestCase):
    now = t("2026-06-01T12:00:00Z")

    def test_parse(self):
        self.assertIsNone(L.parse_fail_annotation(None, self.now))
        self.assertIsNone(L.parse_fail_annotation("", self.now))
        self.assertEqual(L.parse_fail_annotation("OrderFailed|429 a: b", self.now),
                         {"reason": "OrderFailed", "message": "429 a: b", "count": None, "until": None})
        got = L.parse_fail_annotation("SigningError|boom|3", self.now)
        self.assertEqual((got["reason"], got["message"], got["count"]), ("SigningError", "boom", 3))
        got = L.parse_fail_annotation("X|y|2026-06-01T13:00:00Z", self.now)
        self.assertEqual(got["until"], t("2026-06-01T13:00:00Z"))
        self.assertIsNone(L.parse_fail_annotation("X|y|2026-06-01T11:00:00Z", self.now))
        for bad in ("nomessage", "|m", "X|y|soon"):
            with self.assertRaises(ValueError, msg=bad):
                L.parse_fail_annotation(bad, self.now)


if __name__ == "__main__":
    unittest.main()
