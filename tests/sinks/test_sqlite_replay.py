#!/usr/bin/env python3
"""test_sqlite_replay.py BUILD_DIR - the sqlite sink, mirror and log, under every replay Lambda
can make (driver.py's scenarios): 10,000 changes over 500 keys (DDB_SINK_CHANGES asks for
fewer: the sanitized builds replay 2,000) in batches of 100, in order and again, earlier
batches after later ones, records failed around the sink and retried; the database must hold
exactly what the changes leave, every time. DDB_SINK_SEED picks another history (the seed is
printed)."""

import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import changes  # noqa: E402
import driver  # noqa: E402
from sqlite_sink import SqliteSink  # noqa: E402


def main():
    build = os.path.abspath(sys.argv[1])
    plugin = os.path.join(build, "plugins", "sqlite.so")
    flaky = os.path.join(build, "tests", "sinks", "flaky.so")
    if not os.path.exists(plugin):
        print("skipped: %s is not built (plugins/sqlite needs libsqlite3-dev)" % plugin)
        return 77
    seed = int(os.environ.get("DDB_SINK_SEED", "13"))
    print("seed %d" % seed, flush=True)
    work = tempfile.mkdtemp(prefix="ddbhost-sqlite-replay-")
    try:
        history = changes.History(seed=seed, **changes.replay_size())
        host = driver.Host(os.path.join(build, "bin", "ddbhost"), work)
        mirror = SqliteSink(plugin, os.path.join(work, "mirror.db"))
        driver.run_all(host, mirror, history, flaky, seed)
        log = SqliteSink(plugin, os.path.join(work, "log.db"), "log")
        driver.in_order_then_again(host, log, history)
        driver.earlier_after_later(host, log, history, seed)
        driver.with_failures(host, log, history, flaky, seed, "both", "continue")
        print("%d invocations, %d records delivered" % (host.invocations, host.records_sent))
    finally:
        shutil.rmtree(work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
