#!/usr/bin/env python3
"""test_poll_kill.py - `ddbhost poll` against moto_server, killed with SIGKILL at random points
of reading 5,000 changes and started again with the same --state: every change is delivered,
in order per key, and the only duplicates are the batch in flight at each kill; the same with
parallelization_factor 4 over 2,000 changes, where each lane keeps its own checkpoint. The
random seed is printed; POLL_KILL_SEED sets it. Skips, saying why, where moto_server is not
installed.

usage: test_poll_kill.py DDBHOST PROBE_SO"""
import os
import random
import signal
import sys
import time
import unittest

import pollmoto
from pollmoto import Poll, create_table, item, put_batch, stream_records

WRITES, LANES_WRITES, KEYS, KILLS, BATCH = 5000, 2000, 97, 12, 50


class KillTest(unittest.TestCase):
    def kill_at_random_points(self, table, writes, stream):
        """writes changes, and poll (the route's stream settings) killed with SIGKILL KILLS
        times at random points, then run to the end. Returns the stream's records and what
        the probe saw delivered, in order."""
        seed = int(os.environ.get("POLL_KILL_SEED", random.randrange(1 << 32)))
        print("\nPOLL_KILL_SEED=%d" % seed, file=sys.stderr)
        rng = random.Random(seed)
        create_table(table)
        t = time.monotonic()
        put_batch(table, [item("k%d" % (i % KEYS), n=i) for i in range(writes)])
        print("%d writes (BatchWriteItem) in %.1f s" % (writes, time.monotonic() - t),
              file=sys.stderr)
        records = stream_records(table)
        seqs = [r["dynamodb"]["SequenceNumber"] for r in records]
        self.assertEqual(len(seqs), writes)
        # 1 ms per record, so that most kills land inside a batch.
        p = Poll(self, table, stream=stream, config={"sleep_ms": 1})
        points = sorted(rng.sample(range(1, writes), KILLS))
        t = time.monotonic()
        for point in points:
            p.start()
            p.wait_for(lambda: len(p.lines()) >= point)
            time.sleep(rng.random() * 0.02)
            self.assertEqual(p.stop(signal.SIGKILL), -signal.SIGKILL)
        found = p.stderr().count("poll: table %s: stream" % table)
        p.start()
        # SIGTERM once it runs (it has found the stream), not while it starts.
        p.wait_for(lambda: p.stderr().count("poll: table %s: stream" % table) > found and
                   set(p.lines()) >= set(seqs))
        self.assertEqual(p.stop(), 0)
        print("poll, killed %d times: %.1f s" % (KILLS, time.monotonic() - t), file=sys.stderr)
        got = p.lines()
        print("%d records delivered again after the kills" % (len(got) - len(seqs)),
              file=sys.stderr)
        self.assertEqual(set(got), set(seqs), "every change delivered, none lost")
        self.assertLessEqual(len(got) - len(seqs), KILLS * BATCH,
                             "at most the batch in flight again per kill")
        return records, got

    def test_with_four_lanes_each_key_keeps_its_order_across_kills(self):
        records, got = self.kill_at_random_points(
            "Killed9Lanes", LANES_WRITES, {"batch_size": BATCH, "parallelization_factor": 4})
        # The lanes take turns, so the stream's order holds only per key: each key's changes
        # come in order, a change again only from its lane's batch in flight at a kill.
        n = {r["dynamodb"]["SequenceNumber"]: int(r["dynamodb"]["NewImage"]["n"]["N"])
             for r in records}
        seen = {}
        for s in got:
            k, v = n[s] % KEYS, n[s] // KEYS
            last = seen.get(k, -1)
            self.assertTrue(v == last + 1 or last - BATCH < v <= last,
                            "key k%d: change %d after %d" % (k, v, last))
            seen[k] = max(last, v)
        self.assertEqual(sum(v + 1 for v in seen.values()), LANES_WRITES)

    def test_sigkill_at_random_points_loses_nothing_and_redelivers_only_the_batch_in_flight(self):
        records, got = self.kill_at_random_points("Killed9", WRITES, {"batch_size": BATCH})
        seqs = [r["dynamodb"]["SequenceNumber"] for r in records]
        # Each record comes right after the one before it, or again after a kill: then from
        # within the batch in flight (one batch back at most).
        index = {s: i for i, s in enumerate(seqs)}
        last = -1
        for s in got:
            i = index[s]
            self.assertTrue(i == last + 1 or last - BATCH < i <= last, "order broken at %s" % s)
            last = max(last, i)
        # In order per key: each key's changes arrive with increasing n, apart from the
        # batch taken again after a kill.
        n = {r["dynamodb"]["SequenceNumber"]: int(r["dynamodb"]["NewImage"]["n"]["N"])
             for r in records}
        first = []
        for s in got:
            if not first or index[s] > index[first[-1]]:
                first.append(s)
        self.assertEqual(first, seqs)
        by_key = {}
        for s in first:
            by_key.setdefault(n[s] % KEYS, []).append(n[s])
        for k, ns in by_key.items():
            self.assertEqual(ns, sorted(ns), "key k%d out of order" % k)


if __name__ == "__main__":
    sys.exit(pollmoto.main(sys.argv[1], sys.argv[2]))
