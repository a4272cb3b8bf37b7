"""A minimal Kubernetes API client for the stand-in: kubeconfig (client certificates or a bearer
token), TLS verified against the kubeconfig's CA, JSON in and out, one kept-alive connection."""

import base64
import http.client
import json
import os
import ssl
import tempfile
import urllib.parse

import yaml


class KubeError(Exception):
    def __init__(self, status, body):
        self.status = status
        self.body = body
        msg = body.get("message") if isinstance(body, dict) else str(body)[:300]
        super().__init__("HTTP %s: %s" % (status, msg))


class Kube:
    def __init__(self, kubeconfig_path, user_agent):
        with open(kubeconfig_path) as f:
            cfg = yaml.safe_load(f)
        base = os.path.dirname(os.path.abspath(kubeconfig_path))
        ctx_name = cfg.get("current-context")
        ctxs = {c["name"]: c["context"] for c in cfg.get("contexts") or []}
        if ctx_name not in ctxs:
            raise ValueError("kubeconfig %s: no current context" % kubeconfig_path)
        ctx = ctxs[ctx_name]
        cluster = {c["name"]: c["cluster"] for c in cfg.get("clusters") or []}[ctx["cluster"]]
        user = {u["name"]: u["user"] for u in cfg.get("users") or []}.get(ctx.get("user"), {}) or {}
        self.default_namespace = ctx.get("namespace") or "default"
        u = urllib.parse.urlsplit(cluster["server"])
        if u.scheme != "https":
            raise ValueError("only https API servers are supported, not %s" % cluster["server"])
        self.host = u.hostname
        self.port = u.port or 443
        self.prefix = u.path.rstrip("/")
        self._tmp = tempfile.TemporaryDirectory(prefix="cm-standin-")
        ctxssl = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
        if cluster.get("certificate-authority-data"):
            ctxssl.load_verify_locations(
                cadata=base64.b64decode(cluster["certificate-authority-data"]).decode())
        elif cluster.get("certificate-authority"):
            ctxssl.load_verify_locations(cafile=os.path.join(base, cluster["certificate-authority"]))
        certfile = self._material(user, "client-certificate", base)
        keyfile = self._material(user, "client-key", base)
        if certfile and keyfile:
            ctxssl.load_cert_chain(certfile, keyfile)
        self.token = user.get("token")
        self.ssl = ctxssl
        self.user_agent = user_agent
        self.conn = None

    def _material(self, user, key, base):
        if user.get(key + "-data"):
            p = os.path.join(self._tmp.name, key)
            with open(p, "wb") as f:
                f.write(base64.b64decode(user[key + "-data"]))
            os.chmod(p, 0o600)
            return p
        if user.get(key):
            return os.path.join(base, user[key])
        return None

    def _connect(self):
        self.conn = http.client.HTTPSConnection(self.host, self.port, context=self.ssl, timeout=30)

    def request(self, method, path, body=None, content_type="application/json", query=None):
        url = self.prefix + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data = None
        headers = {"Accept": "application/json", "User-Agent": self.user_agent}
        if self.token:
            headers["Authorization"] = "Bearer " + self.token
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = content_type
        for attempt in (0, 1):
            if self.conn is None:
                self._connect()
            try:
                self.conn.request(method, url, body=data, headers=headers)
                resp = self.conn.getresponse()
                raw = resp.read()
                break
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                # Only a read may be repeated blindly: a write may have reached the server.
                if attempt == 1 or method != "GET":
                    raise
        try:
            obj = json.loads(raw) if raw else {}
        except ValueError:
            obj = {"message": raw[:300].decode(errors="replace")}
        if resp.status >= 300:
            raise KubeError(resp.status, obj)
        return obj

    def get(self, path, **q):
        return self.request("GET", path, query=q or None)

    def get_or_none(self, path):
        try:
            return self.request("GET", path)
        except KubeError as e:
            if e.status == 404:
                return None
            raise

    def list(self, path):
        items, cont = [], None
        while True:
            q = {"limit": "500"}
            if cont:
                q["continue"] = cont
            obj = self.request("GET", path, query=q)
            items.extend(obj.get("items") or [])
            cont = (obj.get("metadata") or {}).get("continue")
            if not cont:
                return items

    def close(self):
        if self.conn is not None:
            self.conn.close()
        self._tmp.cleanup()
