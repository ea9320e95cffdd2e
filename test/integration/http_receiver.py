#!/usr/bin/env python3
"""A webhook receiver for the delivery tests: a small threaded HTTP/1.1
server (stdlib only) on loopback that records every request and answers as
the test tells it.

    from http_receiver import Receiver
    r = Receiver()                      # 127.0.0.1, a free port; Receiver("::1") for IPv6
    url = r.url("/hook")                # http://127.0.0.1:PORT/hook
    r.set_mode("500")                   # every request from now on gets a 500
    r.set_mode("429", retry_after=2)    # 429 with Retry-After: 2
    r.set_mode("400", body="bad")       # any status: "200", "204", "503", ...
    r.set_mode("hang", hang=5)          # read the request, answer nothing for 5 s, then close
    r.set_mode("close")                 # 200, headers and part of the body, then close
    r.set_mode("reset")                 # close with a TCP reset, no answer
    r.set_mode("down")                  # stop listening (and drop open connections)
    r.set_mode("ok")                    # 200; after "down": listen again on the same port
    r.script(["500", "500"])            # the next requests get these, in order, then the mode
    r.requests()                        # [Request(method, path, headers, body, time, answer)]
    r.wait_requests(3, timeout=10)      # True once 3 requests were received
    r.stop()

Bounded: it listens on loopback only; bodies over MAX_BODY are refused; a
hang lasts at most MAX_HANG seconds; idle connections are closed after
IDLE_TIMEOUT; every wait has a timeout; and the server stops by itself after
max_lifetime seconds (10 minutes by default).

Run alone, it checks itself (python3 http_receiver.py --self-test) or serves
and prints each request as a JSON line (python3 http_receiver.py --serve
[--port N] [--mode M] [--ipv6]) until interrupted or its lifetime ends.
"""
import errno
import http.client
import json
import socket
import socketserver
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler

LOOPBACK = ("127.0.0.1", "::1")
MAX_BODY = 4 << 20      # bytes of one request body
MAX_HANG = 60.0         # seconds one "hang" answer may last
IDLE_TIMEOUT = 10.0     # seconds an idle keep-alive connection is kept
MAX_LIFETIME = 600.0    # seconds before the server stops by itself
MODES = ("ok", "hang", "close", "reset", "down")


class Request:
    """One request as received: method, path, headers (case-insensitive
    get), body (bytes), time (time.time() once the body was read), answer
    (what it was answered with) and client (host, port)."""

    def __init__(self, method, path, headers, body, when, answer, client):
        self.method, self.path, self.headers, self.body = method, path, headers, body
        self.time, self.answer, self.client = when, answer, client

    def header(self, name, default=None):
        return self.headers.get(name, default)

    def json(self):
        """The body parsed as strict UTF-8 JSON (raises ValueError if it is not)."""
        return json.loads(self.body.decode("utf-8"))

    def delivery_id(self):
        return self.headers.get("X-Mtalert-Delivery")

    def __repr__(self):
        return "<%s %s %.3f %s %s %dB>" % (self.method, self.path, self.time, self.answer,
                                          self.delivery_id(), len(self.body))


def _answer_of(spec):
    """A mode or script item -> (mode, options)."""
    if isinstance(spec, tuple):
        mode, opts = spec
    else:
        mode, opts = spec, {}
    mode = str(mode)
    if mode not in MODES and not (mode.isdigit() and 100 <= int(mode) <= 599):
        raise ValueError("unknown receiver mode %r" % mode)
    if mode == "down":
        raise ValueError("'down' is a state of the receiver, not an answer")
    return mode, dict(opts)


class _Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    allow_reuse_address = True
    daemon_threads = True
    block_on_close = False
    request_queue_size = 64

    def __init__(self, owner, addr, family):
        self.address_family = family
        self.owner = owner
        super().__init__(addr, _Handler)

    def process_request(self, request, client_address):
        self.owner._track(request, True)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        self.owner._track(request, False)
        super().shutdown_request(request)

    def handle_error(self, request, client_address):
        # A client that went away (a timeout, a reset) is part of the tests.
        if isinstance(sys.exc_info()[1], (OSError, ValueError)):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mtalert-test-receiver/1"
    timeout = IDLE_TIMEOUT

    def log_message(self, fmt, *args):
        pass

    def do_POST(self):
        self._handle()

    do_GET = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_POST

    def _read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            body = b""
            while True:
                size = int(self.rfile.readline(64).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(8192) not in (b"\r\n", b"\n", b""):
                        pass
                    return body
                if len(body) + size > MAX_BODY:
                    return None
                body += self.rfile.read(size)
                self.rfile.readline(8)
        n = int(self.headers.get("Content-Length") or 0)
        if n > MAX_BODY:
            return None
        return self.rfile.read(n) if n else b""

    def _handle(self):
        owner = self.server.owner
        body = self._read_body()
        if body is None:
            self._send(413, b"body too large\n")
            self.close_connection = True
            return
        mode, opts = owner._next_answer()
        owner._record(Request(self.command, self.path, self.headers, body, time.time(),
                              mode, self.client_address[:2]))
        if mode == "ok":
            self._send(200, opts.get("body", b"ok\n"))
        elif mode.isdigit():
            extra = {}
            if opts.get("retry_after") is not None:
                extra["Retry-After"] = str(opts["retry_after"])
            default = b"" if mode == "204" else ("answer %s from the test receiver\n" % mode).encode()
            self._send(int(mode), opts.get("body", default), extra)
        elif mode == "hang":
            # Read it all, answer nothing; close when released or after the hang.
            owner._release.wait(min(float(opts.get("hang", 30)), MAX_HANG))
            self.close_connection = True
        elif mode == "close":
            # A response cut in the middle: the status and headers promise
            # 64 bytes of body, 7 come, then the connection closes.
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                             b"Content-Length: 64\r\n\r\npartial")
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        elif mode == "reset":
            self.close_connection = True
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.connection.close()

    def _send(self, status, body, extra=None):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD" and status not in (204, 304):
            self.wfile.write(body)


class Receiver:
    def __init__(self, host="127.0.0.1", port=0, mode="ok", max_lifetime=MAX_LIFETIME, **opts):
        if host not in LOOPBACK:
            raise ValueError("the test receiver listens on loopback only, not %r" % host)
        self.host = host
        self.family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._reqs = []
        self._script = []
        self._mode = _answer_of(mode) if mode != "down" else ("ok", {})
        self._conns = set()
        self._release = threading.Event()   # set: hanging handlers return at once
        self._server = None
        self._thread = None
        self._stopped = False
        self.port = port
        self._listen()
        self.port = self._server.server_address[1]
        if mode == "down":
            self.down()
        else:
            self._mode = _answer_of((mode, opts))
        self._timer = threading.Timer(max_lifetime, self.stop)
        self._timer.daemon = True
        self._timer.start()

    # -- the server's life

    def _listen(self, timeout=5.0):
        deadline = time.time() + timeout
        while True:
            try:
                self._server = _Server(self, (self.host, self.port), self.family)
                break
            except OSError as e:
                if e.errno != errno.EADDRINUSE or time.time() > deadline:
                    raise
                time.sleep(0.05)
        self._release.clear()
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def _track(self, sock, add):
        with self._lock:
            if add:
                self._conns.add(sock)
            else:
                self._conns.discard(sock)

    def is_up(self):
        return self._server is not None

    def down(self):
        """Stop listening and drop every open connection: connecting is refused."""
        with self._lock:
            server, self._server = self._server, None
            conns, self._conns = list(self._conns), set()
        if server is None:
            return
        self._release.set()
        server.shutdown()
        server.server_close()
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._thread.join(5)

    def up(self):
        """Listen again on the same port."""
        if self._stopped:
            raise RuntimeError("the receiver was stopped")
        if self._server is None:
            self._listen()

    def stop(self):
        """Stop for good (also called by the lifetime timer)."""
        self._stopped = True
        self.down()
        self._timer.cancel()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    # -- what it answers

    def set_mode(self, mode, **opts):
        """How to answer from now on: "ok", a status ("500", "429" with
        retry_after=N, "400" with body=...), "hang" (hang=seconds), "close",
        "reset"; "down" stops listening, any other mode listens again."""
        if mode == "down":
            self.down()
            return
        ans = _answer_of((mode, opts))
        with self._lock:
            self._mode = ans
        self._release.set()            # a hang that was going on ends
        self._release.clear()
        self.up()

    def script(self, answers):
        """The next requests get these answers in order (modes or (mode, opts)), then the mode."""
        items = [_answer_of(a) for a in answers]
        with self._lock:
            self._script.extend(items)

    def _next_answer(self):
        with self._lock:
            if self._script:
                return self._script.pop(0)
            return self._mode

    def _record(self, req):
        with self._cond:
            self._reqs.append(req)
            self._cond.notify_all()

    # -- what it received

    def url(self, path="/hook"):
        h = "[%s]" % self.host if ":" in self.host else self.host
        return "http://%s:%d%s" % (h, self.port, path)

    def requests(self, method=None, path=None):
        with self._lock:
            return [r for r in self._reqs if (method is None or r.method == method) and
                    (path is None or r.path == path)]

    def wait_requests(self, n, timeout=10.0, method=None, path=None):
        """True once at least n requests (of method, to path) were received."""
        deadline = time.time() + min(timeout, MAX_LIFETIME)
        with self._cond:
            while True:
                got = sum(1 for r in self._reqs if (method is None or r.method == method) and
                          (path is None or r.path == path))
                left = deadline - time.time()
                if got >= n:
                    return True
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.5))

    def wait_for(self, pred, timeout=10.0):
        """True once pred(requests()) is true."""
        deadline = time.time() + min(timeout, MAX_LIFETIME)
        with self._cond:
            while True:
                if pred(list(self._reqs)):
                    return True
                left = deadline - time.time()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.5))

    def wait_quiet(self, quiet, timeout=30.0):
        """True once no request came for quiet seconds."""
        deadline = time.time() + min(timeout, MAX_LIFETIME)
        while time.time() < deadline:
            with self._lock:
                last = self._reqs[-1].time if self._reqs else 0
            if time.time() - last >= quiet:
                return True
            time.sleep(0.05)
        return False


# -- checking the receiver on its own --------------------------------------


def _post(url_host, port, path="/hook", body=b"{}", timeout=30.0, headers=None):
    c = http.client.HTTPConnection(url_host, port, timeout=timeout)
    try:
        c.request("POST", path, body=body, headers=dict({"Content-Type": "application/json"},
                                                        **(headers or {})))
        r = c.getresponse()
        return r.status, dict(r.getheaders()), r.read()
    finally:
        c.close()


def self_test():
    """Exercise every mode with http.client; returns a list of (ok, name, detail)."""
    out = []

    def check(cond, name, detail=""):
        out.append((bool(cond), name, detail))

    for host in LOOPBACK:
        try:
            r = Receiver(host, max_lifetime=120)
        except OSError as e:
            check(host == "::1", "%s: receiver starts" % host, e)   # no IPv6 is not our failure
            continue
        tag = host
        try:
            st, _, body = _post(host, r.port, body=b'{"a":1}', headers={"X-Mtalert-Delivery": "d1"})
            reqs = r.requests()
            check(st == 200 and body == b"ok\n" and len(reqs) == 1 and reqs[0].json() == {"a": 1}
                  and reqs[0].delivery_id() == "d1" and reqs[0].path == "/hook"
                  and reqs[0].header("content-type") == "application/json",
                  "%s: ok answers 200 and records method, path, headers, body" % tag, reqs)
            r.set_mode("500")
            st, _, _ = _post(host, r.port)
            check(st == 500, "%s: 500" % tag, st)
            r.set_mode("429", retry_after=2)
            st, hdr, _ = _post(host, r.port)
            check(st == 429 and hdr.get("Retry-After") == "2", "%s: 429 with Retry-After" % tag, hdr)
            r.set_mode("400", body="bad payload: marker-400")
            st, _, body = _post(host, r.port)
            check(st == 400 and body == b"bad payload: marker-400", "%s: 400 with a body" % tag, body)
            r.set_mode("204")
            st, _, body = _post(host, r.port)
            check(st == 204 and body == b"", "%s: 204" % tag, (st, body))
            r.set_mode("ok")
            r.script(["500", ("429", {"retry_after": 1})])
            sts = [_post(host, r.port)[0] for _ in range(3)]
            check(sts == [500, 429, 200], "%s: a script, then the mode" % tag, sts)
            r.set_mode("hang", hang=3)
            t0 = time.time()
            try:
                _post(host, r.port, timeout=0.5)
                hung = False
            except (socket.timeout, TimeoutError):
                hung = True
            # The client's own timeout (a timeout, not the server's close 3 s later): never
            # sooner than asked; how much later depends on the machine's load.
            check(hung and 0.4 < time.time() - t0, "%s: hang makes the client time out" % tag)
            r.set_mode("close")
            try:
                _post(host, r.port)
                cut = False
            except http.client.IncompleteRead:
                cut = True
            except (http.client.HTTPException, OSError):
                cut = True
            check(cut, "%s: close cuts the response in the middle" % tag)
            r.set_mode("reset")
            try:
                _post(host, r.port)
                reset = False
            except (ConnectionResetError, http.client.RemoteDisconnected, BrokenPipeError):
                reset = True
            check(reset, "%s: reset gives the client a connection reset" % tag)
            # A keep-alive connection survives several requests; "down" drops it.
            r.set_mode("ok")
            c = http.client.HTTPConnection(host, r.port, timeout=30)
            c.request("POST", "/k", body=b"1")
            s1 = c.getresponse().read()
            c.request("POST", "/k", body=b"2")
            s2 = c.getresponse().read()
            check(s1 == s2 == b"ok\n" and [x.body for x in r.requests(path="/k")] == [b"1", b"2"],
                  "%s: keep-alive" % tag)
            port = r.port
            r.set_mode("down")
            try:
                c.request("POST", "/k", body=b"3")
                c.getresponse().read()
                dropped = False
            except (OSError, http.client.HTTPException):
                dropped = True
            c.close()
            try:
                _post(host, port, timeout=1)
                refused = False
            except ConnectionRefusedError:
                refused = True
            check(dropped and refused and not r.is_up(),
                  "%s: down drops open connections and refuses new ones" % tag, (dropped, refused))
            r.set_mode("ok")
            st, _, _ = _post(host, port)
            check(st == 200 and r.port == port, "%s: back up on the same port" % tag)
            big = b"x" * (2 << 20)
            st, _, _ = _post(host, port, body=big, headers={"Expect": "100-continue"})
            check(st == 200 and r.requests()[-1].body == big, "%s: a 2 MiB body" % tag)
            n0 = len(r.requests())
            check(not r.wait_requests(n0 + 1, timeout=0.3) and r.wait_requests(n0, timeout=0.1),
                  "%s: wait_requests is bounded" % tag)
        finally:
            r.stop()
        try:
            _post(host, r.port, timeout=1)
            gone = False
        except OSError:
            gone = True
        check(gone, "%s: stopped for good" % tag)
    r = Receiver(max_lifetime=0.5)
    deadline = time.time() + 30
    while r.is_up() and time.time() < deadline:  # its timer thread may run late
        time.sleep(0.05)
    check(not r.is_up(), "stops by itself after its maximum lifetime")
    try:
        Receiver("0.0.0.0")
        check(False, "refuses a non-loopback address")
    except ValueError:
        check(True, "refuses a non-loopback address")
    return out


def main(argv):
    if "--self-test" in argv:
        res = self_test()
        for i, (good, name, detail) in enumerate(res, 1):
            print(("ok" if good else "not ok") + " %d - %s" % (i, name))
            if not good and detail != "":
                print("# %r" % (detail,))
        print("1..%d" % len(res))
        return 0 if all(g for g, _, _ in res) else 1
    if "--serve" in argv:
        port = int(argv[argv.index("--port") + 1]) if "--port" in argv else 0
        mode = argv[argv.index("--mode") + 1] if "--mode" in argv else "ok"
        r = Receiver("::1" if "--ipv6" in argv else "127.0.0.1", port, mode)
        print("listening on %s" % r.url("/"), file=sys.stderr)
        seen = 0
        try:
            while r.is_up():
                r.wait_requests(seen + 1, timeout=1)
                for q in r.requests()[seen:]:
                    print(json.dumps({"time": q.time, "method": q.method, "path": q.path,
                                      "answer": q.answer, "headers": dict(q.headers.items()),
                                      "body": q.body.decode("utf-8", "replace")}), flush=True)
                seen = len(r.requests())
        except KeyboardInterrupt:
            pass
        r.stop()
        return 0
    print(__doc__.strip(), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
