"""Scripted SMTP receivers for the scenario farm.

A Peer listens on ADDR:25 inside the farm's network namespace and answers
each phase of the SMTP dialogue as its script says.  Phases: banner, ehlo,
helo, starttls, auth, mail, rcpt, data, eod (the reply after the final
dot), rset, quit.  A phase's value is either a reply, single- or multi-line
("550-5.7.1 first\\n550 5.7.1 last", sent with CRLF as written), or an
action: "close" (close the connection), "reset" (close with a TCP RST),
"hang" (read on, never answer), "stall" (send half a reply, then hang).
Phases not in the script get a plain positive reply.  With tls (a dict of
cert, key and optional min/max version and ciphers) EHLO offers STARTTLS and
the peer does the handshake with that certificate.  Bounded: every peer stops
when the farm sets done, and each session ends after 120 s."""
import socket
import ssl
import struct
import threading
import time

OK = {
    "banner": "220 {name} ESMTP",
    "helo": "250 {name}",
    "starttls": "220 2.0.0 Ready to start TLS",
    "auth": "235 2.7.0 Authentication successful",
    "mail": "250 2.1.0 Ok",
    "rcpt": "250 2.1.5 Ok",
    "data": "354 End data with <CR><LF>.<CR><LF>",
    "eod": "250 2.0.0 Ok: queued",
    "rset": "250 2.0.0 Ok",
    "quit": "221 2.0.0 Bye",
    "noop": "250 2.0.0 Ok",
}
ACTIONS = ("close", "reset", "hang", "stall")


class Peer(threading.Thread):
    def __init__(self, addr, name, script=None, tls=None, port=25):
        super().__init__(daemon=True)
        self.addr, self.name = addr, name
        self.script = dict(script or {})
        self.tls = tls
        self.done = threading.Event()
        self.sessions = 0
        self.transcript = []
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((addr, port))
        self.sock.listen(16)
        self.sock.settimeout(0.3)

    def _reply(self, phase):
        r = self.script.get(phase)
        if r is None:
            if phase == "ehlo":
                lines = ["250-" + self.name, "250-PIPELINING", "250-SIZE 52428800"]
                if self.tls and not self.script.get("no_starttls_offer"):
                    lines.append("250-STARTTLS")
                if self.script.get("auth_offer"):
                    lines.append("250-AUTH PLAIN LOGIN")
                lines.append("250 8BITMIME")
                return "\n".join(lines)
            r = OK[phase]
        return r.format(name=self.name)

    def _send(self, c, phase):
        """Answer one phase; False when the session is over."""
        r = self._reply(phase)
        self.transcript.append((phase, r))
        if r == "close":
            return False
        if r == "reset":
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return False
        if r in ("hang", "stall"):
            if r == "stall":
                c.sendall(b"250-" + self.name.encode() + b" still working\r\n")
            c.settimeout(0.5)
            end = time.time() + 120
            while not self.done.is_set() and time.time() < end:
                try:
                    got = c.recv(4096)
                except socket.timeout:
                    continue
                except OSError as e:
                    self.transcript.append(("hang-error", str(e)))
                    break
                if not got:
                    # The client half-closed (Exim pipelines QUIT after the
                    # final dot, then shuts down its side): a hung server
                    # still never answers nor closes.
                    time.sleep(0.5)
            return False
        c.sendall(r.replace("\n", "\r\n").encode() + b"\r\n")
        return not (phase == "quit" or r[:3] == "421")

    def _session(self, c):
        c.settimeout(60)
        f = c.makefile("rb")
        deadline = time.time() + 120
        if not self._send(c, "banner"):
            return
        in_data = False
        while not self.done.is_set() and time.time() < deadline:
            try:
                line = f.readline(4096)
            except (OSError, ssl.SSLError):
                return
            if not line:
                return
            if in_data:
                if line in (b".\r\n", b".\n"):
                    in_data = False
                    if not self._send(c, "eod"):
                        return
                continue
            cmd = line[:4].upper()
            phase = {b"EHLO": "ehlo", b"HELO": "helo", b"STAR": "starttls", b"AUTH": "auth",
                     b"MAIL": "mail", b"RCPT": "rcpt", b"DATA": "data", b"RSET": "rset",
                     b"QUIT": "quit", b"NOOP": "noop"}.get(cmd)
            if phase is None:
                c.sendall(b"502 5.5.2 Error: command not recognized\r\n")
                continue
            if phase == "helo" and "helo" not in self.script and "ehlo" in self.script:
                phase = "ehlo"
            if phase == "ehlo" and cmd == b"HELO" and "helo" not in self.script:
                phase = "helo"
            if not self._send(c, phase):
                return
            reply = self._reply(phase)
            if phase == "data" and reply[:1] == "3":
                in_data = True
            if phase == "starttls" and reply[:1] == "2" and self.tls:
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                ctx.load_cert_chain(self.tls["cert"], self.tls["key"])
                if self.tls.get("min"):
                    ctx.minimum_version = getattr(ssl.TLSVersion, self.tls["min"])
                if self.tls.get("max"):
                    ctx.maximum_version = getattr(ssl.TLSVersion, self.tls["max"])
                if self.tls.get("ciphers"):
                    ctx.set_ciphers(self.tls["ciphers"])
                try:
                    c.settimeout(20)
                    c = ctx.wrap_socket(c, server_side=True)
                    c.settimeout(60)
                except (ssl.SSLError, OSError) as e:
                    self.transcript.append(("tls", str(e)))
                    return
                f = c.makefile("rb")

    def run(self):
        while not self.done.is_set():
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            self.sessions += 1
            threading.Thread(target=self._one, args=(c,), daemon=True).start()
        self.sock.close()

    def _one(self, c):
        try:
            self._session(c)
        except (OSError, ssl.SSLError):
            pass
        try:
            c.close()
        except OSError:
            pass

    def stop(self):
        self.done.set()
        self.join(5)
