#!/usr/bin/env python3
"""hack/cdp.py: drives headless Chromium through the Chrome DevTools Protocol, for the tests of
certcast's live web page. Python's standard library only: the WebSocket client (RFC 6455) is
written here.

  cdp.py browser [--dir DIR] [--port-file FILE] [--log FILE] URL
        Launches Chromium headless, opens URL in its page, and stays in the foreground until
        SIGTERM/SIGINT/SIGHUP (or until Chromium dies: exit status 1). Prints CDP_PORT=N once the
        page is loaded (and writes N to --port-file, atomically). While it runs it prints the
        page's console messages, uncaught exceptions, top-level navigations and renderer
        crashes, one per line, prefixed with "page:" (so a reload of the page shows there). On
        exit it kills every Chromium process it started (they run in a session of their own,
        and die with it even if it is SIGKILLed) and removes DIR (default: a fresh temporary
        folder). Made for a test's start_bg (tests/integration/lib.sh), whose exit handling
        then stops it.

  cdp.py start URL
        The same in the background: prints CDP_PORT=N CDP_PID=P CDP_DIR=D (for eval) once the
        page has loaded. Stop it with `cdp.py stop P D`.

  cdp.py stop PID [DIR]
        Stops what `start` started (SIGTERM, then SIGKILL after 10 s) and removes DIR.

  cdp.py eval [-r] PORT JS
        Evaluates the JS expression in the page (Runtime.evaluate, returnByValue, promises
        awaited) and prints its value as JSON (-r: a string without quotes, like jq -r);
        `undefined` prints as undefined. Exit 1 with a message on a JS exception, when Chromium
        is not there, or when it has no page.

  cdp.py wait PORT JS SECONDS
        Evaluates JS every 0.2 s until its value is exactly true; exit 1 with the last value (or
        exception) when SECONDS pass first. Exceptions while polling (an element not there yet)
        count as "not yet".

  cdp.py navigate PORT URL         Navigates the page to URL and waits for its load.
  cdp.py screenshot PORT FILE.png  A PNG of the page, to look at.

Environment: CHROMIUM (default /usr/bin/chromium, else chromium or chromium-browser on PATH);
CDP_STARTUP_TIMEOUT (seconds to wait for Chromium's DevTools and the first page load, default 90).
"""

import base64
import ctypes
import hashlib
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

PROG = "cdp.py"
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class CdpError(Exception):
    """An error to print as is, with exit status 1."""


class JsException(CdpError):
    """The expression threw (or its promise rejected)."""


class Gone(CdpError):
    """Chromium or its page is not there (any more)."""


# --- WebSocket client (RFC 6455) -----------------------------------------------------------------


class WebSocket:
    """A minimal client: text messages out (masked), text/binary messages in (fragmented or not),
    pings answered, close answered."""

    def __init__(self, url, timeout=30.0):
        u = urllib.parse.urlsplit(url)
        if u.scheme != "ws":
            raise CdpError(f"unsupported WebSocket URL {url!r} (only ws://)")
        host, port = u.hostname, u.port or 80
        path = u.path or "/"
        if u.query:
            path += "?" + u.query
        try:
            self.sock = socket.create_connection((host, port), timeout=timeout)
        except OSError as e:
            raise Gone(f"cannot connect to {url}: {e}") from e
        self.sock.settimeout(timeout)
        self.buf = b""
        self.closed = False
        key = base64.b64encode(os.urandom(16)).decode()
        req = (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        try:
            self._handshake(url, key, req)
        except BaseException:
            self.sock.close()
            raise

    def _handshake(self, url, key, req):
        try:
            self.sock.sendall(req.encode())
        except OSError as e:
            raise Gone(f"cannot connect to {url}: {e}") from e
        while b"\r\n\r\n" not in self.buf:
            self._fill()
            if len(self.buf) > 65536:
                raise CdpError(f"WebSocket handshake with {url}: response headers too long")
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = lines[0].split(" ", 2)
        if len(status) < 2 or status[1] != "101":
            raise CdpError(f"WebSocket handshake with {url} refused: {lines[0]}")
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        want = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
        if headers.get("sec-websocket-accept") != want:
            raise CdpError(f"WebSocket handshake with {url}: wrong Sec-WebSocket-Accept")

    def _fill(self):
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            raise
        except OSError as e:
            raise Gone(f"DevTools connection lost: {e}") from e
        if not data:
            self.closed = True
            raise Gone("DevTools connection closed by Chromium")
        self.buf += data

    def _read(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _send_frame(self, opcode, payload):
        n = len(payload)
        head = bytes([0x80 | opcode])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        try:
            self.sock.sendall(head + mask + masked)
        except OSError as e:
            raise Gone(f"DevTools connection lost: {e}") from e

    def send_text(self, text):
        self._send_frame(0x1, text.encode())

    def recv_message(self):
        """The next complete text or binary message, as str (binary decoded as UTF-8)."""
        parts = []
        while True:
            b0, b1 = self._read(2)
            fin, opcode = b0 & 0x80, b0 & 0x0F
            masked, n = b1 & 0x80, b1 & 0x7F
            if n == 126:
                (n,) = struct.unpack(">H", self._read(2))
            elif n == 127:
                (n,) = struct.unpack(">Q", self._read(8))
            mask = self._read(4) if masked else None
            payload = self._read(n)
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            if opcode == 0x9:  # ping: answer with the same payload
                self._send_frame(0xA, payload)
                continue
            if opcode == 0xA:  # pong
                continue
            if opcode == 0x8:  # close: answer it and stop
                try:
                    self._send_frame(0x8, payload[:2])
                except Gone:
                    pass
                self.closed = True
                raise Gone("DevTools connection closed by Chromium (close frame)")
            if opcode in (0x1, 0x2, 0x0):
                parts.append(payload)
                if fin:
                    return b"".join(parts).decode("utf-8", "replace")
                continue
            raise CdpError(f"unexpected WebSocket opcode {opcode}")

    def close(self):
        if not self.closed:
            try:
                self._send_frame(0x8, struct.pack(">H", 1000))
            except CdpError:
                pass
        try:
            self.sock.close()
        except OSError:
            pass
        self.closed = True


# --- CDP -----------------------------------------------------------------------------------------


def http_json(port, path, method="GET", timeout=10.0):
    url = f"http://127.0.0.1:{port}{path}"
    req = urllib.request.Request(url, method=method)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(req, timeout=timeout) as r:
            return json.loads(r.read().decode())
    except urllib.error.HTTPError as e:
        raise CdpError(f"{method} {url}: HTTP {e.code}: {e.read()[:200]!r}") from e
    except (urllib.error.URLError, OSError) as e:
        raise Gone(f"cannot reach Chromium's DevTools on 127.0.0.1:{port} ({e}); is Chromium running?") from e


def page_target(port, create=False):
    """The first page target's description (from /json/list); with create, opens one if none."""
    targets = http_json(port, "/json/list")
    pages = [t for t in targets if t.get("type") == "page" and t.get("webSocketDebuggerUrl")]
    if pages:
        return pages[0]
    if create:
        return http_json(port, "/json/new?about:blank", method="PUT")
    raise Gone(f"Chromium on port {port} has no page target (was the page closed?)")


class Session:
    """One DevTools connection to a page target."""

    def __init__(self, port, create=False, timeout=30.0):
        self.port = port
        self.target = page_target(port, create)
        self.ws = WebSocket(self.target["webSocketDebuggerUrl"], timeout=timeout)
        self.next_id = 0
        self.events = []  # events seen while waiting for answers, for whoever wants them

    def call(self, method, params=None, keep_events=False):
        self.next_id += 1
        mid = self.next_id
        self.ws.send_text(json.dumps({"id": mid, "method": method, "params": params or {}}))
        while True:
            msg = json.loads(self.ws.recv_message())
            if msg.get("id") == mid:
                if "error" in msg:
                    e = msg["error"]
                    raise CdpError(f"{method}: {e.get('message')} {e.get('data', '')}".rstrip())
                return msg.get("result", {})
            if keep_events and "method" in msg:
                self.events.append(msg)
            # other messages are events (or answers to nobody): ignored

    def evaluate(self, expr):
        """The value of expr (a Python value), or the string 'undefined' marker object."""
        r = self.call(
            "Runtime.evaluate",
            {"expression": expr, "returnByValue": True, "awaitPromise": True, "userGesture": False},
        )
        if "exceptionDetails" in r:
            d = r["exceptionDetails"]
            ex = d.get("exception") or {}
            text = ex.get("description") or ex.get("value") or d.get("text") or "exception"
            raise JsException(f"JS exception: {text}")
        res = r.get("result", {})
        if "value" in res:
            return res["value"]
        if "unserializableValue" in res:
            return Unserializable(res["unserializableValue"])
        if res.get("type") == "undefined":
            return UNDEFINED
        # returnByValue of something not serialisable (a DOM node, a function): describe it
        return Unserializable(res.get("description") or res.get("type", "?"))

    def navigate(self, url, timeout):
        r = self.call("Page.navigate", {"url": url})
        if r.get("errorText"):
            raise CdpError(f"navigation to {url} failed: {r['errorText']}")
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                last = self.evaluate("[document.readyState, location.href]")
                if last[0] == "complete" and last[1] != "about:blank":
                    return
            except JsException as e:
                last = str(e)
            time.sleep(0.1)
        raise CdpError(f"the page {url} did not finish loading within {timeout:g}s (last: {last})")

    def close(self):
        self.ws.close()


class Unserializable:
    def __init__(self, text):
        self.text = text

    def __str__(self):
        return self.text


UNDEFINED = Unserializable("undefined")


def render(value, raw=False):
    if isinstance(value, Unserializable):
        return str(value)
    if raw and isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# --- launching Chromium --------------------------------------------------------------------------


def find_chromium():
    c = os.environ.get("CHROMIUM")
    if c:
        if shutil.which(c):
            return shutil.which(c)
        raise CdpError(f"CHROMIUM={c} is not an executable")
    for c in ("/usr/bin/chromium", "chromium", "chromium-browser"):
        p = shutil.which(c)
        if p:
            return p
    raise CdpError("Chromium is not installed (no /usr/bin/chromium; hack/deps.sh installs the Debian package chromium)")


def _pdeathsig():
    """In the child: SIGKILL when the launching process dies, whatever way it dies."""
    os.setsid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def tail(path, n=25):
    try:
        with open(path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
        return "\n".join("    " + l for l in lines[-n:])
    except OSError:
        return "    (no log)"


class Browser:
    def __init__(self, workdir, log_path):
        self.dir = workdir
        self.profile = os.path.join(workdir, "profile")
        self.log_path = log_path
        self.proc = None
        self.port = None

    def launch(self, timeout):
        exe = find_chromium()
        os.makedirs(self.profile, exist_ok=True)
        args = [
            exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--no-default-browser-check", f"--user-data-dir={self.profile}",
            "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1",
            "--disable-dev-shm-usage", "--no-proxy-server", "--disable-background-networking",
            "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
            "--disable-backgrounding-occluded-windows", "--disable-component-update",
            "--disable-sync", "--mute-audio", "--window-size=1280,900", "about:blank",
        ]
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         preexec_fn=_pdeathsig, close_fds=True)
        finally:
            log.close()
        portfile = os.path.join(self.profile, "DevToolsActivePort")
        deadline = time.monotonic() + timeout
        while True:
            rc = self.proc.poll()
            if rc is not None:
                raise CdpError(f"Chromium ({exe}) exited with status {rc} before its DevTools "
                               f"were up; its log ({self.log_path}):\n{tail(self.log_path)}")
            try:
                with open(portfile) as f:
                    first = f.readline().strip()
                if first.isdigit():
                    self.port = int(first)
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise CdpError(f"Chromium did not write {portfile} within {timeout:g}s; its log:\n"
                               f"{tail(self.log_path)}")
            time.sleep(0.1)
        # the page target may appear a moment after the port file
        while True:
            try:
                return page_target(self.port, create=time.monotonic() > deadline - timeout / 2)
            except Gone:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        """Every process Chromium started: its process group (it runs in a session of its own),
        then any process left whose command line names this profile folder."""
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        for pid in procs_naming(self.profile):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        # Chromium's children, orphaned when it went, came to this process (a subreaper):
        # reap them, so that not even a zombie is left.
        reap_children(5)

    def cleanup(self):
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def become_subreaper():
    """Orphaned descendants (Chromium's helpers, when Chromium goes first) are re-parented to
    this process instead of init, which then reaps them (reap_children)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass


def reap_children(timeout):
    deadline = time.monotonic() + timeout
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return  # none left
        if pid == 0:
            if time.monotonic() > deadline:
                return
            time.sleep(0.05)


def procs_naming(text):
    """Pids of processes whose command line contains text."""
    out = []
    needle = text.encode()
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                if needle in f.read():
                    out.append(int(d))
        except OSError:
            pass
    return out


# --- commands ------------------------------------------------------------------------------------

class Stopped(Exception):
    """A signal to stop came."""


def _on_signal(signum, frame):
    raise Stopped()


def startup_timeout():
    return float(os.environ.get("CDP_STARTUP_TIMEOUT", "90"))


def describe_event(msg):
    m, p = msg.get("method"), msg.get("params", {})
    if m == "Runtime.consoleAPICalled":
        args = []
        for a in p.get("args", []):
            args.append(str(a["value"]) if "value" in a else a.get("description", a.get("type", "?")))
        return f"console.{p.get('type')}: {' '.join(args)}"
    if m == "Runtime.exceptionThrown":
        d = p.get("exceptionDetails", {})
        ex = d.get("exception") or {}
        return f"uncaught exception: {ex.get('description') or d.get('text')}"
    if m == "Page.frameNavigated":
        f = p.get("frame", {})
        if not f.get("parentId"):
            return f"navigated to {f.get('url')}"
    if m == "Inspector.targetCrashed":
        return "the page's renderer crashed"
    if m == "Inspector.detached":
        return f"inspector detached: {p.get('reason')}"
    return None


def cmd_browser(argv):
    workdir = port_file = log_path = None
    url = None
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("--dir", "--port-file", "--log") and i + 1 < len(argv):
            v = argv[i + 1]
            i += 2
            if a == "--dir":
                workdir = v
            elif a == "--port-file":
                port_file = v
            else:
                log_path = v
            continue
        if a.startswith("-"):
            raise CdpError(f"browser: unknown option {a}")
        if url is not None:
            raise CdpError("browser: one URL only")
        url = a
        i += 1
    if url is None:
        raise CdpError("usage: cdp.py browser [--dir DIR] [--port-file FILE] [--log FILE] URL")
    if workdir is None:
        workdir = tempfile.mkdtemp(prefix="certcast-cdp.")
    else:
        os.makedirs(workdir, exist_ok=True)
    if log_path is None:
        log_path = os.path.join(workdir, "chromium.log")
    b = Browser(workdir, log_path)
    rc = 0
    try:
        # From here on a signal ends whatever is going on (a launch, a page load) at once, and
        # the finally below cleans up.
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, _on_signal)
        become_subreaper()
        b.launch(startup_timeout())
        s = Session(b.port, create=True)
        s.call("Page.enable")
        s.navigate(url, startup_timeout())
        s.call("Inspector.enable")
        s.call("Runtime.enable", keep_events=True)
        print(f"CDP_PORT={b.port}", flush=True)
        if port_file:
            tmp = port_file + ".tmp"
            with open(tmp, "w") as f:
                f.write(f"{b.port}\n")
            os.replace(tmp, port_file)
        # Watch the page until told to stop: its console, its exceptions, its navigations.
        s.ws.sock.settimeout(0.5)
        pending = s.events
        s.events = []
        while True:
            for msg in pending:
                line = describe_event(msg)
                if line:
                    print(f"page: {line}", flush=True)
            pending = []
            if not b.alive():
                print(f"{PROG}: Chromium exited by itself (status {b.proc.returncode}); its log:\n"
                      f"{tail(b.log_path)}", file=sys.stderr, flush=True)
                return 1
            try:
                pending = [json.loads(s.ws.recv_message())]
            except socket.timeout:
                continue
            except Gone as e:
                # the page's connection went (the page crashed, Chromium is dying): say so, and
                # wait for the signal to stop, or for Chromium's end
                print(f"{PROG}: {e}", file=sys.stderr, flush=True)
                while b.alive():
                    time.sleep(0.2)
                return 1
    except Stopped:
        return rc
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        b.cleanup()
        if port_file:
            try:
                os.unlink(port_file)
            except OSError:
                pass


def cmd_start(argv):
    if len(argv) != 1:
        raise CdpError("usage: cdp.py start URL")
    workdir = tempfile.mkdtemp(prefix="certcast-cdp.")
    port_file = os.path.join(workdir, "port")
    out_log = os.path.join(workdir, "cdp.log")
    with open(out_log, "ab") as log:
        # the browser's own folder (removed when it stops) inside workdir, the logs beside it
        p = subprocess.Popen([sys.executable, os.path.abspath(__file__), "browser",
                              "--dir", os.path.join(workdir, "browser"), "--port-file", port_file,
                              "--log", os.path.join(workdir, "chromium.log"), argv[0]],
                             stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    deadline = time.monotonic() + 2 * startup_timeout() + 10
    while not os.path.exists(port_file):
        if p.poll() is not None or time.monotonic() > deadline:
            if p.poll() is None:
                os.kill(p.pid, signal.SIGTERM)
                try:
                    p.wait(15)
                except subprocess.TimeoutExpired:
                    os.kill(p.pid, signal.SIGKILL)
            msg = (f"the browser did not start:\n{tail(out_log)}\n  Chromium's log:\n"
                   f"{tail(os.path.join(workdir, 'chromium.log'), 10)}")
            shutil.rmtree(workdir, ignore_errors=True)
            raise CdpError(msg)
        time.sleep(0.1)
    with open(port_file) as f:
        port = f.read().strip()
    print(f"CDP_PORT={port} CDP_PID={p.pid} CDP_DIR={workdir}")
    return 0


def cmd_stop(argv):
    if len(argv) not in (1, 2) or not argv[0].isdigit():
        raise CdpError("usage: cdp.py stop PID [DIR]")
    pid = int(argv[0])
    try:
        os.kill(pid, signal.SIGTERM)
        for _ in range(100):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            # reap it if it is our child (it is not, after start, but may be elsewhere)
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
            time.sleep(0.1)
        else:
            os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    if len(argv) == 2 and argv[1]:
        d = argv[1]
        for p in procs_naming(os.path.join(d, "browser", "profile")):
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        shutil.rmtree(d, ignore_errors=True)
    return 0


def parse_port(s):
    if not s.isdigit():
        raise CdpError(f"not a port: {s!r}")
    return int(s)


def cmd_eval(argv):
    raw = False
    if argv and argv[0] in ("-r", "--raw"):
        raw = True
        argv = argv[1:]
    if len(argv) != 2:
        raise CdpError("usage: cdp.py eval [-r] PORT JS")
    s = Session(parse_port(argv[0]))
    try:
        print(render(s.evaluate(argv[1]), raw))
    finally:
        s.close()
    return 0


def cmd_wait(argv):
    if len(argv) != 3:
        raise CdpError("usage: cdp.py wait PORT JS SECONDS")
    port, expr, secs = parse_port(argv[0]), argv[1], float(argv[2])
    deadline = time.monotonic() + secs
    s = None
    last = "(not evaluated)"
    try:
        while True:
            try:
                if s is None:
                    s = Session(port)  # Gone here (no Chromium, no page) ends the wait at once
                v = s.evaluate(expr)
                if v is True:
                    return 0
                last = render(v)
            except JsException as e:
                last = str(e)
            except (socket.timeout, Gone) as e:
                if s is None:
                    raise
                # this connection broke or hangs: the next round opens another
                last = f"({e or 'no answer from the page'})"
                s.close()
                s = None
            if time.monotonic() >= deadline:
                print(f"{PROG}: not true within {secs:g}s: {expr}\nlast value: {last}", file=sys.stderr)
                return 1
            time.sleep(0.2)
    finally:
        if s is not None:
            s.close()


def cmd_navigate(argv):
    if len(argv) != 2:
        raise CdpError("usage: cdp.py navigate PORT URL")
    s = Session(parse_port(argv[0]))
    try:
        s.navigate(argv[1], startup_timeout())
    finally:
        s.close()
    return 0


def cmd_screenshot(argv):
    if len(argv) != 2:
        raise CdpError("usage: cdp.py screenshot PORT FILE.png")
    s = Session(parse_port(argv[0]))
    try:
        r = s.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
    finally:
        s.close()
    with open(argv[1], "wb") as f:
        f.write(base64.b64decode(r["data"]))
    return 0


COMMANDS = {
    "browser": cmd_browser, "start": cmd_start, "stop": cmd_stop, "eval": cmd_eval,
    "wait": cmd_wait, "navigate": cmd_navigate, "screenshot": cmd_screenshot,
}


def main(argv):
    if len(argv) < 1 or argv[0] not in COMMANDS:
        sys.stderr.write(__doc__)
        return 2
    try:
        return COMMANDS[argv[0]](argv[1:])
    except CdpError as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return 1
    except socket.timeout:
        print(f"{PROG}: no answer from Chromium in time", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
