#!/usr/bin/env python3
"""Refresh signatures/mta-messages.tsv from an MTA source tree.

usage: extract_mta_messages.py postfix POSTFIX_SRC_DIR TSV
       extract_mta_messages.py exim EXIM_SRC_DIR TSV
       extract_mta_messages.py sendmail SENDMAIL_SRC_DIR TSV

POSTFIX_SRC_DIR is the src/ folder of the Postfix source (Debian: apt-get
source postfix, outside the repository). Every msg_fatal, msg_fatal_status,
msg_panic, msg_error and msg_warn call with a literal format string in the
daemons an administrator runs becomes one row (program, level, first source
location, format string); a leading "%s" fed with the function's myname is
replaced by that name, as it appears in the log. Code under #ifdef TEST is
skipped, and so are *_test.c and *_tester.c (test
drivers, not daemons). Calls whose format is not a literal are
reported on stderr. For Exim (EXIM_SRC_DIR is src/ of apt-get source exim4),
every log_write() whose flags carry LOG_PANIC (level "panic": written to the
panic log, Exim goes on) or LOG_PANIC_DIE (level "panic_die": Exim exits) in
the exim binary's sources becomes a row; LOG_CONFIG* calls get the
"Exim configuration error ..." prefix log_write() adds. For Sendmail
(SENDMAIL_SRC_DIR is the top of apt-get source sendmail) every syserr() in
sendmail/*.c is a row of level "syserr", as it is logged after "SYSERR(user): ". The columns "note" and "sample" of rows already in TSV
are kept: note is "benign: REASON" where no alert is wanted, sample the text
to scan instead of the filled-in format string when the %s values decide the
meaning (a library's reason text). Only the gravest levels (fatal, panic,
panic_die, syserr) are written unless --all is given, which adds msg_error and
msg_warn (the shipped list has them for Postfix).
"""
import os
import re
import sys

DAEMONS = ["smtp", "smtpd", "postscreen", "qmgr", "cleanup", "local", "virtual", "pipe", "bounce",
           "master", "postdrop", "pickup", "tlsmgr", "tlsproxy", "anvil", "dnsblog", "verify",
           "trivial-rewrite", "proxymap"]
CALL = re.compile(r'\bmsg_(fatal|panic|error|warn)(_status)?\s*\(')
STR = re.compile(r'"((?:[^"\\]|\\.)*)"')
HEADER = "# mta\tprogram\tlevel\tsource\tformat\tnote\tsample\n"


def strip_test(src):
    """Blank comments and #ifdef TEST regions, keeping line numbers."""
    src = re.sub(r'/\*.*?\*/', lambda m: re.sub(r'[^\n]', ' ', m.group(0)), src, flags=re.S)
    out, depth = [], 0
    for line in src.split("\n"):
        s = line.strip()
        if depth:
            if re.match(r'#\s*if', s):
                depth += 1
            elif re.match(r'#\s*endif', s):
                depth -= 1
            out.append("")
        elif re.match(r'#\s*if(?:def\s+TEST\b|\s+defined\s*\(\s*TEST\s*\))', s):
            depth = 1
            out.append("")
        else:
            out.append(line)
    return "\n".join(out)


def split_args(src, j):
    depth, args, cur = 1, [], ""
    while j < len(src) and depth:
        c = src[j]
        if c == '"':
            m = STR.match(src, j)
            if not m:               # an unbalanced quote: give up on this call
                break
            cur += m.group(0)
            j = m.end()
            continue
        if c == "'":
            k = src.find("'", j + 2 if src[j + 1] == '\\' else j + 1)
            if k < 0:
                break
            cur += src[j:k + 1]
            j = k + 1
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if not depth:
                break
        if c == "," and depth == 1:
            args.append(cur.strip())
            cur = ""
        else:
            cur += c
        j += 1
    args.append(cur.strip())
    return args


def postfix(root):
    rows, missed = [], []
    for d in DAEMONS:
        p = os.path.join(root, d)
        if not os.path.isdir(p):
            continue
        for f in sorted(os.listdir(p)):
            if not f.endswith(".c") or re.search(r"_test(er)?\.c$", f):
                continue
            src = strip_test(open(os.path.join(p, f), encoding="latin-1").read())
            for m in CALL.finditer(src):
                line = src.count("\n", 0, m.start()) + 1
                args = split_args(src, m.end())
                if m.group(2):
                    args = args[1:]
                fmt_arg = args[0] if args else ""
                lits = STR.findall(fmt_arg)
                loc = "src/%s/%s:%d" % (d, f, line)
                if not lits or re.sub(STR, "", fmt_arg).strip():
                    missed.append("%s %s: %s" % (loc, m.group(1), " ".join(fmt_arg.split())[:100]))
                    continue
                fmt = "".join(lits).encode().decode("unicode_escape")
                if fmt.startswith("%s") and args[1:2] == ["myname"]:
                    names = re.findall(r'myname\s*=\s*"([^"]+)"', src[:m.start()])
                    if names:
                        fmt = names[-1].replace("%", "%%") + fmt[2:]
                rows.append(("postfix", d, m.group(1), loc, fmt.replace("\t", "\\t").replace("\n", "\\n")))
    return rows, missed


EXIM_SKIP = re.compile(r"(^|/)(exim_monitor|utils|exim_dbutil\.c|exim_dbmbuild\.c|exim_lock\.c|"
                       r"exim_checkaccess|eximon|buildconfig\.c|macro_predef\.c)")
LOGW = re.compile(r'\blog_write\s*\(')


def exim(root):
    """log_write(selector, flags, format, ...) calls whose flags carry LOG_PANIC(_DIE)."""
    rows, missed = [], []
    files = []
    for d, _, fs in os.walk(root):
        files += [os.path.join(d, f) for f in fs if f.endswith(".c")]
    for path in sorted(files):
        rel = os.path.relpath(path, root)
        if EXIM_SKIP.search(rel):
            continue
        src = strip_test(open(path, encoding="latin-1").read())
        for m in LOGW.finditer(src):
            args = split_args(src, m.end())
            if len(args) < 3 or "LOG_PANIC" not in args[1]:
                continue
            line = src.count("\n", 0, m.start()) + 1
            level = "panic_die" if "LOG_PANIC_DIE" in args[1] else "panic"
            cfg = ("config_in" if "LOG_CONFIG_IN" in args[1] else "config_for" if "LOG_CONFIG_FOR" in args[1]
                   else "config" if "LOG_CONFIG" in args[1] else "")
            fmt_arg = re.sub(r'\b[UC]S\b|\(const char \*\)|\(uschar \*\)', "", args[2])
            lits = STR.findall(fmt_arg)
            loc = "src/%s:%d" % (rel, line)
            if not lits or re.sub(STR, "", fmt_arg).strip():
                missed.append("%s %s: %s" % (loc, level, " ".join(args[2].split())[:100]))
                continue
            fmt = "".join(lits).encode().decode("unicode_escape")
            if fmt.startswith("%s") and args[3:4] == ["loglabel"]:
                label = re.search(r'loglabel\s*=\s*US"([^"]+)"', src)
                if label:
                    fmt = label.group(1) + fmt[2:]
            if cfg:
                fmt = {"config_in": "Exim configuration error in line %d of %s:\n  ",
                       "config_for": "Exim configuration error for ",
                       "config": "Exim configuration error:\n  "}[cfg] + fmt
            rows.append(("exim", "exim", level, loc, fmt.replace("\t", "\\t").replace("\n", "\\n")))
    return rows, missed


SYSERR = re.compile(r'\bsyserr\s*\(')


def sendmail(root):
    """syserr() calls of the sendmail binary (sendmail/*.c): logged as
    "SYSERR(user): TEXT", the leading flags (! @ +) and the SMTP and enhanced
    codes of the format dropped as err.c does."""
    rows, missed = [], []
    p = os.path.join(root, "sendmail")
    for f in sorted(os.listdir(p)):
        if not f.endswith(".c"):
            continue
        src = strip_test(open(os.path.join(p, f), encoding="latin-1").read())
        for m in SYSERR.finditer(src):
            if src[max(0, m.start() - 8):m.start()].strip().endswith(("void", "define")):
                continue
            args = split_args(src, m.end())
            line = src.count("\n", 0, m.start()) + 1
            loc = "sendmail/%s:%d" % (f, line)
            lits = STR.findall(args[0])
            if not lits or re.sub(STR, "", args[0]).strip():
                missed.append("%s syserr: %s" % (loc, " ".join(args[0].split())[:100]))
                continue
            fmt = "".join(lits).encode().decode("unicode_escape").lstrip("!@+")
            fmt = re.sub(r"^\d{3}[ -](?:\d\.\d{1,3}\.\d{1,3} )?", "", fmt)
            rows.append(("sendmail", "sendmail", "syserr", loc, fmt.replace("\t", "\\t").replace("\n", "\\n")))
    return rows, missed


def main():
    args = [a for a in sys.argv[1:] if a != "--all"]
    levels = (("fatal", "panic", "panic_die", "syserr", "error", "warn") if "--all" in sys.argv
              else ("fatal", "panic", "panic_die", "syserr"))
    mta, root, tsv = args
    rows, missed = {"postfix": postfix, "exim": exim, "sendmail": sendmail}[mta](root)
    keep, old = {}, []
    if os.path.exists(tsv):
        for ln in open(tsv, encoding="utf-8"):
            if ln.startswith("#") or not ln.strip():
                continue
            f = ln.rstrip("\n").split("\t") + ["", ""]
            old.append(f)
            keep[(f[0], f[1], f[2], f[4])] = f[5:7]
    out, seen = [r[:7] for r in old if r[0] != mta], set()
    for r in rows:
        key = (r[0], r[1], r[2], r[4])
        if r[2] not in levels or key in seen:
            continue
        seen.add(key)
        out.append(list(r) + keep.get(key, ["", ""]))
    with open(tsv, "w", encoding="utf-8") as fh:
        fh.write(HEADER)
        for r in out:
            fh.write("\t".join(r).rstrip("\t") + "\n")
    for m in missed:
        sys.stderr.write("not a literal format: %s\n" % m)
    print("%s: %d rows written (%s), %d calls without a literal format" % (
        mta, len(seen), "/".join(levels), len(missed)))


main()
