"""A small authoritative DNS server for the scenario farm (stdlib only).

It runs inside the farm's network namespace on 127.0.0.53:53 (UDP and TCP)
and is the only resolver the MTAs there know (/etc/netns/NAME/resolv.conf).
Zones are a dict: name -> {"A": [ip], "MX": [(pref, host)], "PTR": [name],
"TXT": [text]} or a fault: {"fault": "nxdomain" | "servfail" | "timeout" |
"refused"}.  A name not in the dict is NXDOMAIN; a name that exists without
the asked type gets an empty NOERROR answer (NODATA).  Names are compared
case-insensitively without the final dot."""
import socket
import struct
import threading

TYPES = {1: "A", 15: "MX", 12: "PTR", 16: "TXT", 28: "AAAA", 5: "CNAME", 6: "SOA", 33: "SRV",
         52: "TLSA", 99: "SPF", 255: "ANY"}


def _name(data, off):
    labels, jumped, end = [], False, off
    for _ in range(128):
        n = data[off]
        if n == 0:
            off += 1
            break
        if n & 0xC0 == 0xC0:
            ptr = struct.unpack(">H", data[off:off + 2])[0] & 0x3FFF
            if not jumped:
                end = off + 2
            jumped, off = True, ptr
            continue
        labels.append(data[off + 1:off + 1 + n].decode("ascii", "replace"))
        off += 1 + n
    return ".".join(labels).lower(), (end if jumped else off)


def _enc(name):
    out = b""
    for part in name.rstrip(".").split("."):
        if part:
            out += bytes([len(part)]) + part.encode()
    return out + b"\0"


class DNS:
    def __init__(self, zones, addr="127.0.0.53"):
        self.zones = {k.lower().rstrip("."): v for k, v in zones.items()}
        self.addr = addr
        self.queries = []
        self.done = threading.Event()
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind((addr, 53))
        self.udp.settimeout(0.3)
        self.tcp = socket.socket()
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind((addr, 53))
        self.tcp.listen(8)
        self.tcp.settimeout(0.3)

    def answer(self, q):
        """The reply to one query, or None to stay silent (a timeout)."""
        if len(q) < 12:
            return None
        qid, flags, qd = struct.unpack(">HHH", q[:6])
        if qd < 1:
            return None
        name, off = _name(q, 12)
        qtype, qclass = struct.unpack(">HH", q[off:off + 4])
        question = q[12:off + 4]
        self.queries.append((name, TYPES.get(qtype, str(qtype))))
        rd = flags & 0x0100
        z = self.zones.get(name)
        rcode, answers = 0, []
        if z is None:
            rcode = 3
        elif "fault" in z:
            fault = z["fault"]
            if fault == "timeout":
                return None
            rcode = {"nxdomain": 3, "servfail": 2, "refused": 5}[fault]
        else:
            t = TYPES.get(qtype)
            for ip in z.get("A", []) if t in ("A", "ANY") else []:
                answers.append((1, socket.inet_aton(ip)))
            for pref, host in z.get("MX", []) if t in ("MX", "ANY") else []:
                answers.append((15, struct.pack(">H", pref) + _enc(host)))
            for ptr in z.get("PTR", []) if t in ("PTR", "ANY") else []:
                answers.append((12, _enc(ptr)))
            for txt in z.get("TXT", []) if t in ("TXT", "ANY") else []:
                b = txt.encode()
                answers.append((16, b"".join(bytes([len(b[i:i + 255])]) + b[i:i + 255]
                                             for i in range(0, max(len(b), 1), 255))))
        hdr = struct.pack(">HHHHHH", qid, 0x8000 | 0x0400 | rd | 0x0080 | rcode, 1, len(answers), 0, 0)
        body = b""
        for typ, rdata in answers:
            body += b"\xc0\x0c" + struct.pack(">HHIH", typ, 1, 60, len(rdata)) + rdata
        return hdr + question + body

    def _serve_tcp(self):
        while not self.done.is_set():
            try:
                c, _ = self.tcp.accept()
            except OSError:
                continue
            c.settimeout(5)
            try:
                n = struct.unpack(">H", c.recv(2))[0]
                q = b""
                while len(q) < n:
                    chunk = c.recv(n - len(q))
                    if not chunk:
                        break
                    q += chunk
                r = self.answer(q)
                if r is not None:
                    c.sendall(struct.pack(">H", len(r)) + r)
            except (OSError, struct.error):
                pass
            c.close()

    def _serve_udp(self):
        while not self.done.is_set():
            try:
                q, peer = self.udp.recvfrom(4096)
            except OSError:
                continue
            try:
                r = self.answer(q)
            except (IndexError, struct.error, KeyError):
                r = None
            if r is not None:
                self.udp.sendto(r, peer)

    def start(self):
        for fn in (self._serve_udp, self._serve_tcp):
            threading.Thread(target=fn, daemon=True).start()
        return self

    def stop(self):
        self.done.set()
        self.udp.close()
        self.tcp.close()
