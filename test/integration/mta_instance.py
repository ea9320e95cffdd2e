"""A private Postfix or Exim for the end-to-end tests (test_postfix.py,
test_exim.py, test_correlate_postfix.py, test_correlate_exim.py).

Each instance has its own configuration, queue and log in the test's
temporary directory, listens on loopback only and relays every message to a
loopback port the test names (a server of the test, smtp_refuser.py, or a
port nobody listens on).  need_postfix() and need_exim() skip a test loudly
when the machine cannot run the MTA, and fail it under CI=true, where it is
required.  Bounded: every wait gives up after its timeout.
"""
import os
import pwd
import shutil
import subprocess
import sys
import time

from daemon_harness import free_port


def wait_for(cond, timeout=60):
    """cond()'s first true value within timeout seconds, else its last value."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.1)
    return cond()


def skip(name, why):
    """Skip the whole test (a TAP plan of 0), or fail it under CI=true."""
    print("# SKIP %s: %s" % (name, why))
    if os.environ.get("CI") == "true":
        print("not ok 1 - %s (required in CI): %s" % (name, why))
        print("1..1")
        sys.exit(1)
    print("1..0 # SKIP " + why)
    sys.exit(0)


def need_postfix(name):
    """Skip test name unless this is root with Debian's postfix installed."""
    if os.geteuid() != 0:
        skip(name, "needs root to run a Postfix instance")
    if not shutil.which("postfix") and not os.path.exists("/usr/sbin/postfix"):
        skip(name, "Debian's postfix is not installed (apt-get install postfix)")
    try:
        pwd.getpwnam("postfix")
    except KeyError:
        skip(name, "no postfix user")


def need_exim(name):
    """The Exim binary to run (MT_EXIM_BIN, else Debian's); skip test name
    without root or without a binary.  Creates the Debian-exim user if missing."""
    exim = os.environ.get("MT_EXIM_BIN") or (
        "/usr/sbin/exim4" if os.path.exists("/usr/sbin/exim4") else "")
    if os.geteuid() != 0:
        skip(name, "needs root (Exim is setuid by design and refuses to deliver as an "
             "ordinary user here)")
    if not exim or not os.path.exists(exim):
        skip(name, "no Exim binary (scripts/test extracts one; or set MT_EXIM_BIN)")
    try:
        pwd.getpwnam("Debian-exim")
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
                        "--shell", "/usr/sbin/nologin", "Debian-exim"], check=False)
    return exim


class Postfix:
    """A Postfix instance under tmp: conf/, queue/, data/ and its maillog_file
    postfix.log.  It takes mail on 127.0.0.1:submit_port (no listener on port
    25) and relays it to relayhost [127.0.0.1]:relay_port (configure())."""

    def __init__(self, tmp, hostname):
        self.tmp, self.hostname = tmp, hostname
        self.conf, self.queue, self.data = (os.path.join(tmp, x) for x in ("conf", "queue", "data"))
        for p in (self.conf, self.queue, self.data):
            os.mkdir(p)
        shutil.chown(self.data, "postfix")
        self.maillog = os.path.join(tmp, "postfix.log")
        self.submit_port = free_port()
        self.cmd = ["postfix", "-c", self.conf]
        master = open("/etc/postfix/master.cf").read().splitlines()
        with open(os.path.join(self.conf, "master.cf"), "w") as f:
            for line in master:
                # No listener on port 25: only our loopback submission port.
                f.write(("#" + line if line.startswith("smtp      inet") else line) + "\n")
            f.write("127.0.0.1:%d inet n - n - - smtpd\n" % self.submit_port)

    def configure(self, relay_port, extra=""):
        """(Re)write main.cf: relay to relay_port; extra: more main.cf lines."""
        with open(os.path.join(self.conf, "main.cf"), "w") as f:
            f.write("""compatibility_level = 3.6
queue_directory = {q}
data_directory = {d}
maillog_file = {log}
maillog_file_prefixes = /var, /dev/stdout, {tmp}
myhostname = {host}
mydestination =
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost = [127.0.0.1]:{relay}
smtp_tls_security_level = none
alias_maps =
alias_database =
""".format(q=self.queue, d=self.data, log=self.maillog, tmp=self.tmp, host=self.hostname,
           relay=relay_port) + extra)

    def log_text(self):
        if not os.path.exists(self.maillog):
            return ""
        with open(self.maillog, "rb") as f:
            return f.read().decode(errors="replace")

    def start(self, timeout=60):
        """Start it and wait for its master's "daemon started": (started, postfix's output)."""
        before = self.log_text().count("daemon started")
        r = subprocess.run(self.cmd + ["start"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        started = wait_for(lambda: self.log_text().count("daemon started") > before, timeout)
        return bool(started), r.stdout.decode(errors="replace")

    def flush(self):
        subprocess.run(self.cmd + ["flush"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self):
        subprocess.run(self.cmd + ["stop"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class Exim:
    """An Exim configuration under tmp: spool/ and log/ (mainlog created,
    owned by Debian-exim) and exim.conf, a manualroute smarthost that sends
    every message to 127.0.0.1:relay_port.  options: more main-section
    lines; retry: more retry rules, before the default * * F,1h,5m."""

    def __init__(self, exe, tmp, relay_port, options="", retry=""):
        self.exe = exe
        self.spool, self.logdir = os.path.join(tmp, "spool"), os.path.join(tmp, "log")
        for p in (self.spool, self.logdir):
            os.mkdir(p)
            shutil.chown(p, "Debian-exim", "Debian-exim")
        self.conf = os.path.join(tmp, "exim.conf")
        with open(self.conf, "w") as f:
            f.write("""keep_environment =
exim_path = {exim}
primary_hostname = mt-exim.localdomain
spool_directory = {spool}
log_file_path = {log}/%slog
{options}exim_user = Debian-exim
exim_group = Debian-exim
trusted_users = root
begin routers
smarthost:
  driver = manualroute
  domains = *
  transport = remote_smtp
  route_list = * 127.0.0.1::{port}
  self = send
  no_more
begin transports
remote_smtp:
  driver = smtp
begin retry
{retry}* * F,1h,5m
""".format(exim=exe, spool=self.spool, log=self.logdir, port=relay_port, options=options,
           retry=retry))
        self.mainlog = self.log_file("mainlog")

    def log_file(self, name):
        """An empty log of Exim's in log/, owned by Debian-exim (Exim writes it too)."""
        path = os.path.join(self.logdir, name)
        open(path, "w").close()
        shutil.chown(path, "Debian-exim", "Debian-exim")
        return path

    def log_text(self):
        with open(self.mainlog, errors="replace") as f:
            return f.read()

    def send(self, *rcpts, sender="alice@example.org", body=b"Subject: e2e\n\nhello\n"):
        """Submit one message and deliver it in the foreground (-odf)."""
        return subprocess.run([self.exe, "-C", self.conf, "-odf", "-f", sender] + list(rcpts),
                              input=body, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=60)

    def queue_run(self, flags="-q"):
        return subprocess.run([self.exe, "-C", self.conf, flags], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=60)
