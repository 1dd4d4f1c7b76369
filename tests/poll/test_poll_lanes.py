#!/usr/bin/env python3
"""test_poll_lanes.py - `ddbhost poll` with parallelization_factor, against moto_server: a
shard's records go to lanes by partition key, a record failing forever holds back only its
lane, each key keeps its order, the checkpoint never passes the failing record, and a restart
does not deliver again what the other lanes did. Skips, saying why, where moto_server is not
installed.

usage: test_poll_lanes.py DDBHOST PROBE_SO"""
import sys
import unittest

import pollmoto
from pollmoto import Poll, create_table, item, put_batch, stream_records

KEYS, VERSIONS, FACTOR, BAD = 40, 5, 4, "k7"


def lane_of(pk, factor):
    """The lane poll gives a partition key: FNV-1a (64 bits) of its value's JSON text."""
    h = 0xcbf29ce484222325
    for b in ('{"S":"%s"}' % pk).encode():
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h % factor


def fill(table):
    """KEYS keys written VERSIONS times, key after key in each round; the second version of
    BAD fails in the probe. Returns the stream's records as (seq, pk, v)."""
    create_table(table)
    put_batch(table, [item("k%d" % k, v=v, fail=(k == 7 and v == 1))
                      for v in range(VERSIONS) for k in range(KEYS)])
    return [(r["dynamodb"]["SequenceNumber"], r["dynamodb"]["Keys"]["pk"]["S"],
             int(r["dynamodb"]["NewImage"]["v"]["N"])) for r in stream_records(table)]


class LanesTest(unittest.TestCase):
    @staticmethod
    def stream(factor):
        return {"parallelization_factor": factor, "batch_size": 10, "max_retries": -1,
                "bisect_on_error": False}

    def start(self, table, factor):
        p = Poll(self, table, stream=self.stream(factor))
        p.json = True
        p.start()
        return p

    def assert_in_order_per_key(self, got, records):
        """Each key's deliveries: its versions in stream order, a version again only right
        after itself (the failing record retried)."""
        pk_of = {s: (pk, v) for s, pk, v in records}
        last = {}
        for s in got:
            pk, v = pk_of[s]
            self.assertIn(v, (last.get(pk, -1) + 1, last.get(pk, -1)),
                          "key %s: version %d after %d" % (pk, v, last.get(pk, -1)))
            last[pk] = v

    def test_a_record_failing_forever_holds_back_only_its_lane_and_a_restart_redoes_nothing(self):
        records = fill("Lanes4")
        bad = next(s for s, pk, v in records if pk == BAD and v == 1)
        bad_lane = lane_of(BAD, FACTOR)
        free = {s for s, pk, v in records if lane_of(pk, FACTOR) != bad_lane}
        held = [s for s, pk, v in records if lane_of(pk, FACTOR) == bad_lane]
        self.assertTrue(free and len(held) < len(records), "the keys spread over the lanes")
        # Of the bad lane, what comes before the bad record is delivered; nothing after it.
        before = set(held[:held.index(bad)])
        p = self.start("Lanes4", FACTOR)
        p.wait_for(lambda: set(p.lines()) >= free | before | {bad} and
                   p.lines().count(bad) >= 3)
        self.assertEqual(p.stop(), 0)
        run1 = p.lines()
        self.assertEqual(set(run1), free | before | {bad},
                         "every record of the other lanes, none after the bad one in its lane")
        seqs = [s for s, pk, v in records]
        self.assertTrue(any(seqs.index(s) > seqs.index(bad) for s in run1),
                        "records after the bad one in the stream were delivered")
        self.assert_in_order_per_key(run1, records)
        (shard,) = p.checkpoint()["shards"].values()
        self.assertLess(int(shard["sequenceNumber"]), int(bad),
                        "the checkpoint never passes a record a lane still retries")
        lanes = {e["lane"] for e in p.events("batch")}
        self.assertTrue(len(lanes) >= 2 and lanes <= set(range(FACTOR)), lanes)

        # Restart, nothing failing now: the rest, and nothing done before again.
        p.write_manifest(pollmoto.PROBE, {"path": p.out, "fail_attr": "never"},
                         self.stream(FACTOR))
        p.start()
        everything = {s for s, pk, v in records}
        p.wait_for(lambda: set(p.lines()) >= everything)
        self.assertEqual(p.stop(), 0)
        run2 = p.lines()[len(run1):]
        self.assertEqual(sorted(set(run2) & set(run1)), [bad],
                         "only the record that failed is delivered again")
        self.assertEqual(len(run2), len(set(run2)), "each record once")
        self.assert_in_order_per_key(run1 + run2, records)

    def test_with_one_lane_nothing_after_a_record_failing_forever_is_delivered(self):
        records = fill("Lanes1")
        seqs = [s for s, pk, v in records]
        bad = next(s for s, pk, v in records if pk == BAD and v == 1)
        p = self.start("Lanes1", 1)
        p.wait_for(lambda: p.lines().count(bad) >= 3)
        self.assertEqual(p.stop(), 0)
        self.assertEqual(set(p.lines()), set(seqs[:seqs.index(bad) + 1]))
        self.assertEqual({e["lane"] for e in p.events("batch")}, {0})


if __name__ == "__main__":
    sys.exit(pollmoto.main(sys.argv[1], sys.argv[2]))
