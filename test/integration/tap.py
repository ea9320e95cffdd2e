"""TAP for the integration tests: ok() records one check, done() prints the
plan and exits non-zero if any check failed.  The detail of a failed check
(its last lines) goes out as TAP comments."""
import sys

_count = 0
_failed = 0


def ok(cond, name, detail="", lines=30):
    global _count, _failed
    _count += 1
    print(("ok" if cond else "not ok") + " %d - %s" % (_count, name))
    if not cond:
        _failed += 1
        for line in str(detail).splitlines()[-lines:]:
            print("# " + line)
    sys.stdout.flush()
    return cond


def todo(name, why):
    """A check that cannot pass yet: TAP TODO, not a failure."""
    global _count
    _count += 1
    print("not ok %d - %s # TODO %s" % (_count, name, why))
    sys.stdout.flush()


def skip(name, why):
    """A check not run here, said loudly."""
    global _count
    _count += 1
    print("ok %d - %s # SKIP %s" % (_count, name, why))
    sys.stdout.flush()


def failures():
    return _failed


def done():
    print("1..%d" % _count)
    sys.stdout.flush()
    sys.exit(1 if _failed else 0)
