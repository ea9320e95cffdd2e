"""A loopback SMTP server for the end-to-end tests: it greets, then answers
MAIL FROM with `421 4.7.0 Service not available, closing transmission
channel`, as an overloaded or throttling receiver does.  Once accepting is
set it takes mail instead (250 to everything, the message read to its final
dot), as a receiver that recovered.  Bounded: it stops after two minutes,
or when done is set."""
import socket
import threading
import time

class Refuser(threading.Thread):
    """An SMTP server that greets, then answers MAIL FROM with 421."""

    def __init__(self, port=0):
        super().__init__(daemon=True)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.port = self.sock.getsockname()[1]
        self.sock.listen(5)
        self.sock.settimeout(0.5)
        self.done = threading.Event()
        self.accepting = threading.Event()
        self.sessions = 0
        self.accepted = 0

    def run(self):
        deadline = time.time() + 120
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
                    if not line:
                        break
                    cmd = line[:4].upper()
                    if cmd in (b"EHLO", b"HELO"):
                        c.sendall(b"250 mx.example.net\r\n")
                    elif cmd == b"MAIL" and not self.accepting.is_set():
                        c.sendall(b"421 4.7.0 Service not available, closing transmission channel\r\n")
                        break
                    elif cmd == b"DATA":
                        c.sendall(b"354 go ahead\r\n")
                        while True:
                            body = f.readline()
                            if not body or body in (b".\r\n", b".\n"):
                                break
                        if not body:
                            break
                        self.accepted += 1
                        c.sendall(b"250 2.0.0 queued as TEST%d\r\n" % self.accepted)
                    elif cmd == b"QUIT":
                        c.sendall(b"221 2.0.0 bye\r\n")
                        break
                    else:
                        c.sendall(b"250 2.0.0 ok\r\n")
            except OSError:
                pass
            c.close()
        self.sock.close()
