#!/usr/bin/env python3
"""test_sqlite_crash.py BUILD_DIR - the sqlite sink's ddbhost killed with SIGKILL mid-batch:
the database left behind is intact and holds exactly what some prefix of the changes leaves,
and delivering the batch again completes it. The kill comes from inside (flaky.so after the
sink kills its own process at a chosen record) and from outside (SIGKILL at a random moment
while a batch is being applied slowly). DDB_SINK_SEED picks another history."""

import os
import random
import shutil
import sqlite3
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import changes  # noqa: E402
import driver  # noqa: E402
from sqlite_sink import SqliteSink  # noqa: E402


def prefix_left(sink, records, start, end, label):
    """The n in [start, end] such that the database holds exactly what records[:n] leave (the
    first such), after checking that SQLite finds the file intact; AssertionError when none."""
    con = sqlite3.connect(sink.db_path)
    try:
        integrity = con.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        con.close()
    if integrity != "ok":
        raise AssertionError("%s: the database is damaged: %s" % (label, integrity))
    for n in range(start, end + 1):
        try:
            sink.check(records[:n], label)
            return n
        except AssertionError:
            continue
    sink.check(records[:start], label + " (no prefix of the changes matches; shown against the batch's start)")
    raise AssertionError("unreachable")


def main():
    build = os.path.abspath(sys.argv[1])
    plugin = os.path.join(build, "plugins", "sqlite.so")
    flaky = os.path.join(build, "tests", "sinks", "flaky.so")
    if not os.path.exists(plugin):
        print("skipped: %s is not built (plugins/sqlite needs libsqlite3-dev)" % plugin)
        return 77
    seed = int(os.environ.get("DDB_SINK_SEED", "29"))
    rng = random.Random(seed)
    print("seed %d" % seed, flush=True)
    work = tempfile.mkdtemp(prefix="ddbhost-sqlite-crash-")
    try:
        history = changes.History(seed=seed, changes=4000, keys=300)
        host = driver.Host(os.path.join(build, "bin", "ddbhost"), work)
        sink = SqliteSink(plugin, os.path.join(work, "crash.db"))
        sink.reset()
        plain = host.write_manifest("plain.json", [sink.handler()])
        batches = history.batches(100)
        inside = outside = running = 0
        slow = host.write_manifest("slow.json", [sink.handler(),
                                                 {"plugin": flaky, "config": {"delay_us": 400}}])
        t = time.monotonic()
        host.deliver(slow, batches[0])
        span = time.monotonic() - t  # how long a slow batch takes, start to end
        for i, b in enumerate(batches[1:], 1):
            start, end = i * 100, i * 100 + len(b)
            if i % 2:
                at = rng.randrange(len(b))
                m = host.write_manifest("kill.json", [sink.handler(),
                                                      {"plugin": flaky, "config": {"kill_at": at}}])
                r = host.invoke(m, b)
                if r.status != -9:
                    raise AssertionError("batch %d: ddbhost was to kill itself at record %d, exited %d\n%s"
                                         % (i, at, r.status, r.stderr))
                n = prefix_left(sink, history.records, start, end, "killed at record %d of batch %d" % (at, i))
                inside += 1
            else:
                proc = host.start(slow, b)
                time.sleep(rng.uniform(0, span * 1.1))
                running += proc.poll() is None
                driver.kill(proc)
                n = prefix_left(sink, history.records, start, end, "killed from outside in batch %d" % i)
                outside += 1
            host.deliver(plain, b)
            sink.check(history.records[:end], "batch %d delivered again after the kill" % i)
            if n not in (start, end):
                raise AssertionError("batch %d: a kill left %d of its records applied: the batch "
                                     "is one transaction" % (i, n - start))
        print("%d processes killed by themselves mid-batch, %d from outside (%d of them still "
              "running when killed): each left a prefix of the changes, and delivering the batch "
              "again completed it" % (inside, outside, running))
    finally:
        shutil.rmtree(work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
