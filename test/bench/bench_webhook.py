#!/usr/bin/env python3
"""Benchmark of webhook delivery, printed as figures:

  latency     from a line's write to its notification arriving at a receiver
              on loopback (group_wait 0: every line is a new group), p50/p99
  throughput  notifications/s through the webhook sink for a burst of lines
              with distinct relays (one notification each), next to the
              daemon's alert rate on stdout in the same run for reference

usage: bench_webhook.py MTALERTD SIGNATURES_DIR [--quick]
"""
import http.server
import os
import shutil
import signal
import socketserver
import subprocess
import sys
import tempfile
import threading
import time

EXE, SIGS = sys.argv[1], sys.argv[2]
QUICK = "--quick" in sys.argv
N_LAT = 50 if QUICK else 1000
N_BURST = 200 if QUICK else 5000

arrivals = []
lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0))
        self.rfile.read(n)
        with lock:
            arrivals.append(time.perf_counter())
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def line(i):
    return ("Nov 23 06:00:03 mx1 postfix/smtp[2110]: 4F2A31C0A1: to=<bob@example.net>, "
            "relay=mx%d.example.net[203.0.113.25]:25, delay=1.2, delays=0.1/0/0.5/0.6, dsn=4.7.0, "
            "status=deferred (host mx%d.example.net[203.0.113.25] said: 421 4.7.0 Service not "
            "available, closing transmission channel (in reply to MAIL FROM command))\n" % (i, i))


def main():
    srv = Server(("127.0.0.1", 0), Handler)
    port = srv.server_address[1]
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    tmp = tempfile.mkdtemp(prefix="mt-bench-wh-")
    log = os.path.join(tmp, "mail.log")
    open(log, "w").close()
    conf = os.path.join(tmp, "c.yaml")
    with open(conf, "w") as f:
        # The lines restate one queue id: the correlation stage (issue 12) would fold
        # them as repeats of the first; this measures the webhook sink.
        # timeout 60s: a receiver slowed down by a loaded machine is not a failed
        # attempt, whose retry would be counted as one more notification.
        f.write("""state_directory: %s/state
correlate: {enabled: false}
inputs:
  - path: %s
alerting:
  stdout: {enabled: false}
  syslog: {enabled: false}
  grouping: {by: relay, group_wait: 0s, resolve_after: 0s, max_groups: 100000}
  webhooks:
    - name: bench
      url: http://127.0.0.1:%d/hook
      format: json
      min_severity: info
      max_per_minute: 100000
      timeout: 60s
  max_per_minute: 1000000
""" % (tmp, log, port))
    os.chmod(conf, 0o600)
    err = open(os.path.join(tmp, "err.log"), "wb")
    p = subprocess.Popen([EXE, "-c", conf, "-s", SIGS], stdout=subprocess.DEVNULL, stderr=err)
    # Wait for the daemon to say it is following the log, not for a fixed time: under ASan
    # on two loaded cores loading the catalog can take seconds, and a line written before
    # the tail is positioned would be measured as lost.
    errpath = os.path.join(tmp, "err.log")
    deadline = time.time() + 120
    while time.time() < deadline and p.poll() is None:
        with open(errpath, "rb") as f:
            if b"started:" in f.read():
                break
        time.sleep(0.02)
    fd = os.open(log, os.O_WRONLY | os.O_APPEND)

    # Latency: one line at a time, wait for its POST.
    lat = []
    for i in range(N_LAT):
        with lock:
            before = len(arrivals)
        t0 = time.perf_counter()
        os.write(fd, line(i).encode())
        deadline = t0 + (60 if QUICK else 5)
        while time.perf_counter() < deadline:
            with lock:
                if len(arrivals) > before:
                    lat.append((arrivals[before] - t0) * 1000)
                    break
            time.sleep(0.0002)
    lat.sort()

    # Throughput: a burst of distinct relays, one notification each.
    with lock:
        arrivals.clear()
    t0 = time.perf_counter()
    os.write(fd, "".join(line(100000 + i) for i in range(N_BURST)).encode())
    deadline = t0 + 120
    while time.perf_counter() < deadline:
        with lock:
            if len(arrivals) >= N_BURST:
                break
        time.sleep(0.01)
    with lock:
        got = len(arrivals)
        last = arrivals[-1] if arrivals else t0
    os.close(fd)
    p.send_signal(signal.SIGTERM)
    status = p.wait(60)
    srv.shutdown()
    with open(errpath, "rb") as f:
        errlog = f.read().decode("utf-8", "replace")
    shutil.rmtree(tmp)
    q = lambda x: lat[min(len(lat) - 1, int(x * len(lat)))] if lat else float("nan")
    print("webhook delivery benchmark%s" % (" (--quick: figures not meaningful)" if QUICK else ""))
    print("latency, line written -> notification received (json format, loopback, group_wait 0), "
          "%d lines: p50 %.2f ms, p99 %.2f ms, max %.2f ms" % (len(lat), q(0.5), q(0.99), lat[-1] if lat else 0))
    print("throughput: %d notifications of %d delivered in %.2f s = %.0f notifications/s "
          "(4 requests in flight per webhook; json: one request per notification, where the "
          "chat formats batch a burst into digests of up to 10)"
          % (got, N_BURST, last - t0, got / max(last - t0, 1e-9)))
    if QUICK:
        good = got == N_BURST and len(lat) == N_LAT and status == 0
        print("1..1\n%s 1 - webhook benchmark runs" % ("ok" if good else "not ok"))
        if not good:
            print("# latency lines answered %d of %d, burst notifications %d of %d, exit status %s"
                  % (len(lat), N_LAT, got, N_BURST, status))
            for l in errlog.splitlines()[-20:]:
                print("# daemon: " + l)
        sys.exit(0 if good else 1)


main()
