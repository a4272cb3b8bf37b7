"""hack/cdp.py's own WebSocket client (RFC 6455) and CDP call handling, against a loopback
server written here: the handshake, masked client frames, 7/16/64-bit lengths, fragmented
messages, pings in between, close, and CDP answers among events."""

import base64
import hashlib
import json
import os
import socket
import struct
import sys
import threading
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "hack"))
import cdp  # noqa: E402

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def frame(opcode, payload, fin=True):
    """A server frame (never masked, as RFC 6455 5.1 says)."""
    n = len(payload)
    head = bytes([(0x80 if fin else 0) | opcode])
    if n < 126:
        head += bytes([n])
    elif n < 65536:
        head += bytes([126]) + struct.pack(">H", n)
    else:
        head += bytes([127]) + struct.pack(">Q", n)
    return head + payload


class Server:
    """One connection on 127.0.0.1: the handshake (or a given answer instead), then script(conn,
    server) in a thread. Frames the client sends are decoded into self.got as (opcode, masked,
    payload)."""

    def __init__(self, script, accept=None, status="101 Switching Protocols"):
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(1)
        self.port = self.lsock.getsockname()[1]
        self.script, self.accept, self.status = script, accept, status
        self.got = []
        self.error = None
        self.buf = b""
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    @property
    def url(self):
        return f"ws://127.0.0.1:{self.port}/devtools/page/X"

    def read(self, n):
        while len(self.buf) < n:
            d = self.conn.recv(65536)
            if not d:
                raise EOFError
            self.buf += d
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_frame(self):
        b0, b1 = self.read(2)
        n = b1 & 0x7F
        if n == 126:
            (n,) = struct.unpack(">H", self.read(2))
        elif n == 127:
            (n,) = struct.unpack(">Q", self.read(8))
        mask = self.read(4) if b1 & 0x80 else b""
        payload = self.read(n)
        if mask:
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        f = (b0 & 0x0F, bool(b1 & 0x80), payload)
        self.got.append(f)
        return f

    def run(self):
        try:
            self.conn, _ = self.lsock.accept()
            self.conn.settimeout(10)
            while b"\r\n\r\n" not in self.buf:
                self.buf += self.conn.recv(4096)
            head, self.buf = self.buf.split(b"\r\n\r\n", 1)
            lines = head.decode().split("\r\n")
            self.request_line = lines[0]
            hdrs = {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
            self.headers = hdrs
            acc = self.accept or base64.b64encode(
                hashlib.sha1((hdrs["sec-websocket-key"] + GUID).encode()).digest()).decode()
            self.conn.sendall(f"HTTP/1.1 {self.status}\r\nUpgrade: websocket\r\n"
                              f"Connection: Upgrade\r\nSec-WebSocket-Accept: {acc}\r\n\r\n".encode())
            self.script(self)
        except Exception as e:  # reported by the test
            self.error = e

    def close(self):
        self.t.join(10)
        try:
            self.conn.close()
        except Exception:
            pass
        self.lsock.close()


class WebSocketTest(unittest.TestCase):
    def test_handshake_and_masked_client_frames(self):
        sizes = [5, 125, 126, 200, 65535, 70000]

        def script(s):
            for _ in sizes:
                s.read_frame()
        srv = Server(script)
        ws = cdp.WebSocket(srv.url, timeout=10)
        for n in sizes:
            ws.send_text("x" * (n - 1) + "y")
        srv.close()
        self.assertIsNone(srv.error)
        self.assertEqual(srv.request_line, "GET /devtools/page/X HTTP/1.1")
        self.assertEqual(srv.headers["upgrade"].lower(), "websocket")
        self.assertEqual(srv.headers["sec-websocket-version"], "13")
        self.assertEqual(len(base64.b64decode(srv.headers["sec-websocket-key"])), 16)
        self.assertNotIn("origin", srv.headers)
        self.assertEqual([(op, m, len(p)) for op, m, p in srv.got], [(1, True, n) for n in sizes])
        self.assertTrue(all(p == b"x" * (len(p) - 1) + b"y" for _, _, p in srv.got))
        ws.close()

    def test_lengths_fragments_and_pings(self):
        big16, big64 = "m" * 300, "L" * 70000

        def script(s):
            s.conn.sendall(frame(1, b"small"))
            s.conn.sendall(frame(1, big16.encode()))
            s.conn.sendall(frame(1, big64.encode()))
            # one message in three fragments, a ping and a pong between them
            s.conn.sendall(frame(1, b"frag-", fin=False) + frame(9, b"are you there"))
            s.conn.sendall(frame(0, b"ment", fin=False) + frame(10, b"stray pong"))
            s.conn.sendall(frame(0, "ed \u00e9".encode(), fin=True))
            s.read_frame()  # the pong
            s.conn.sendall(frame(8, struct.pack(">H", 1000)))
            s.read_frame()  # the close answered
        srv = Server(script)
        ws = cdp.WebSocket(srv.url, timeout=10)
        self.assertEqual(ws.recv_message(), "small")
        self.assertEqual(ws.recv_message(), big16)
        self.assertEqual(ws.recv_message(), big64)
        self.assertEqual(ws.recv_message(), "frag-mented \u00e9")
        with self.assertRaises(cdp.Gone):
            ws.recv_message()
        ws.close()
        srv.close()
        self.assertIsNone(srv.error)
        self.assertEqual([(op, p) for op, _, p in srv.got],
                         [(10, b"are you there"), (8, struct.pack(">H", 1000))])
        self.assertTrue(all(m for _, m, _ in srv.got))

    def test_wrong_accept_is_refused(self):
        srv = Server(lambda s: None, accept="bm90IHRoZSByaWdodCBrZXk=")
        with self.assertRaises(cdp.CdpError) as cm:
            cdp.WebSocket(srv.url, timeout=10)
        self.assertIn("Sec-WebSocket-Accept", str(cm.exception))
        srv.close()

    def test_not_101_is_refused(self):
        srv = Server(lambda s: None, status="403 Forbidden")
        with self.assertRaises(cdp.CdpError) as cm:
            cdp.WebSocket(srv.url, timeout=10)
        self.assertIn("403", str(cm.exception))
        srv.close()

    def test_nobody_listening(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        with self.assertRaises(cdp.Gone):
            cdp.WebSocket(f"ws://127.0.0.1:{port}/", timeout=5)

    def test_peer_hangs_up(self):
        srv = Server(lambda s: s.conn.shutdown(socket.SHUT_RDWR))
        ws = cdp.WebSocket(srv.url, timeout=10)
        with self.assertRaises(cdp.Gone):
            ws.recv_message()
        ws.close()
        srv.close()


def session(url):
    """A cdp.Session on url without the /json/list lookup."""
    s = cdp.Session.__new__(cdp.Session)
    s.port, s.target = 0, {}
    s.ws = cdp.WebSocket(url, timeout=10)
    s.next_id, s.events = 0, []
    return s


def cdp_server(answers):
    """Answers each CDP call with answers[i](request): a list of messages to send."""
    def script(s):
        for a in answers:
            _, _, p = s.read_frame()
            for m in a(json.loads(p)):
                s.conn.sendall(frame(1, json.dumps(m).encode()))
    return Server(script)


class CdpCallTest(unittest.TestCase):
    def test_events_are_skipped_and_ids_matched(self):
        def answer(req):
            return [{"method": "Runtime.consoleAPICalled", "params": {}},
                    {"id": req["id"] + 100, "result": {"wrong": True}},
                    {"id": req["id"], "result": {"result": {"type": "number", "value": 7}}}]
        srv = cdp_server([answer])
        s = session(srv.url)
        self.assertEqual(s.evaluate("3 + 4"), 7)
        s.close()
        srv.close()
        req = json.loads(srv.got[0][2])
        self.assertEqual(req["method"], "Runtime.evaluate")
        self.assertEqual(req["params"]["expression"], "3 + 4")
        self.assertTrue(req["params"]["returnByValue"])
        self.assertTrue(req["params"]["awaitPromise"])

    def test_values_exceptions_errors(self):
        def r(result):
            return lambda req: [{"id": req["id"], "result": result}]
        srv = cdp_server([
            r({"result": {"type": "undefined"}}),
            r({"result": {"type": "number", "unserializableValue": "NaN"}}),
            r({"result": {"type": "string", "value": "<b>"}}),
            r({"result": {"type": "object", "subtype": "error"},
               "exceptionDetails": {"text": "Uncaught", "exception": {"description": "TypeError: x is null"}}}),
            lambda req: [{"id": req["id"], "error": {"code": -32000, "message": "Cannot find context"}}],
        ])
        s = session(srv.url)
        self.assertEqual(cdp.render(s.evaluate("undefined")), "undefined")
        self.assertEqual(cdp.render(s.evaluate("NaN")), "NaN")
        v = s.evaluate("'<b>'")
        self.assertEqual((cdp.render(v), cdp.render(v, raw=True)), ('"<b>"', "<b>"))
        with self.assertRaises(cdp.JsException) as cm:
            s.evaluate("x.y")
        self.assertIn("TypeError: x is null", str(cm.exception))
        with self.assertRaises(cdp.CdpError) as cm:
            s.evaluate("1")
        self.assertIn("Cannot find context", str(cm.exception))
        s.close()
        srv.close()
        self.assertIsNone(srv.error)


if __name__ == "__main__":
    unittest.main()
