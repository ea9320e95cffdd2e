"""Loopback SMTP servers for the end-to-end tests.

SmtpServer holds the sessions: it listens on 127.0.0.1, greets each client,
and answers each command line with its reply() method, which subclasses
override for the commands they answer otherwise.  Bounded: it stops after
lifetime seconds, or when done is set.

Refuser greets, then answers MAIL FROM with `421 4.7.0 Service not
available, closing transmission channel`, as an overloaded or throttling
receiver does.  Once accepting is set it takes mail instead (250 to
everything, the message read to its final dot), as a receiver that
recovered.

Standalone (test/package/test_package.sh copies this file alone)."""
import socket
import threading
import time


class SmtpServer(threading.Thread):
    """An SMTP server whose replies a subclass gives (reply())."""

    def __init__(self, port=0, lifetime=120):
        super().__init__(daemon=True)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.port = self.sock.getsockname()[1]
        self.sock.listen(5)
        self.sock.settimeout(0.5)
        self.lifetime = lifetime
        self.done = threading.Event()
        self.sessions = 0

    def reply(self, c, f, line):
        """Answer one command line on connection c (f: its reader); False ends the
        session.  Here what every server of the tests says: EHLO/HELO and QUIT
        answered, 250 to anything else.  Subclasses answer their commands first."""
        cmd = line[:4].upper()
        if cmd in (b"EHLO", b"HELO"):
            c.sendall(b"250 mx.example.net\r\n")
        elif cmd == b"QUIT":
            c.sendall(b"221 2.0.0 bye\r\n")
            return False
        else:
            c.sendall(b"250 2.0.0 ok\r\n")
        return True

    def run(self):
        deadline = time.time() + self.lifetime
        while not self.done.is_set() and time.time() < deadline:
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            self.sessions += 1
            c.settimeout(10)
            try:
                c.sendall(b"220 mx.example.net ESMTP test\r\n")
                f = c.makefile("rb")
                while True:
                    line = f.readline()
                    if not line or not self.reply(c, f, line):
                        break
            except OSError:
                pass
            c.close()
        self.sock.close()


class Refuser(SmtpServer):
    """An SMTP server that greets, then answers MAIL FROM with 421."""

    def __init__(self, port=0):
        super().__init__(port)
        self.accepting = threading.Event()
        self.accepted = 0

    def reply(self, c, f, line):
        cmd = line[:4].upper()
        if cmd == b"MAIL" and not self.accepting.is_set():
            c.sendall(b"421 4.7.0 Service not available, closing transmission channel\r\n")
            return False
        if cmd != b"DATA":
            return super().reply(c, f, line)
        c.sendall(b"354 go ahead\r\n")
        while True:
            body = f.readline()
            if not body or body in (b".\r\n", b".\n"):
                break
        if not body:
            return False
        self.accepted += 1
        c.sendall(b"250 2.0.0 queued as TEST%d\r\n" % self.accepted)
        return True
