#!/usr/bin/env python3
"""test_poll.py - `ddbhost poll` end to end against moto_server, a real DynamoDB Streams
implementation started on a loopback port by pollmoto.py (Python standard library only).
Skips, saying why, where moto_server is not installed.

usage: test_poll.py DDBHOST PROBE_SO"""
import os
import signal
import sys
import unittest

import pollmoto
from pollmoto import Poll, create_table, put, stream_seqs


class PollTest(unittest.TestCase):
    def test_every_record_is_delivered_in_order_and_sigterm_checkpoints_and_exits_0(self):
        create_table("Delivered")
        for i in range(7):
            put("Delivered", "k%d" % (i % 3), n=i)
        seqs = stream_seqs("Delivered")
        p = Poll(self, "Delivered", stream={"batch_size": 3})
        p.start()
        p.wait_for(lambda: len(p.lines()) >= len(seqs))
        self.assertEqual(p.stop(), 0)
        self.assertEqual(p.lines(), seqs)
        shards = p.checkpoint()["shards"]
        self.assertEqual([s["sequenceNumber"] for s in shards.values()], [seqs[-1]])
        self.assertIn("poll: stopped; checkpoints are written", p.stderr())
        # Started again, it delivers nothing twice and then what is new.
        put("Delivered", "new", n=1)
        p.start()
        p.wait_for(lambda: len(p.lines()) > len(seqs))
        self.assertEqual(p.stop(), 0)
        self.assertEqual(p.lines(), stream_seqs("Delivered"))

    def test_filter_patterns_drop_records_as_lambda_does_and_the_checkpoint_passes_them(self):
        create_table("Filtered")
        for i, n in enumerate([3, 7, 1, 12, 0, 2]):
            put("Filtered", "k%d" % i, n=n)
        seqs = stream_seqs("Filtered")
        # n >= 5 (a number rule on the N text) or the key k4: records 1, 3 and 4 of 6
        p = Poll(self, "Filtered", stream={"batch_size": 10, "filters": [
            {"dynamodb": {"NewImage": {"n": {"N": [{"numeric": [">=", 5]}]}}}},
            {"dynamodb": {"Keys": {"pk": {"S": ["k4"]}}}}]})
        p.start()
        p.wait_for(lambda: len(p.lines()) >= 3)

        def checkpointed():
            try:
                return [s.get("sequenceNumber") for s in p.checkpoint()["shards"].values()]
            except (FileNotFoundError, ValueError):
                return []  # not written yet
        p.wait_for(lambda: checkpointed() == [seqs[-1]])
        self.assertEqual(p.stop(), 0)
        self.assertEqual(p.lines(), [seqs[1], seqs[3], seqs[4]])
        self.assertNotIn("filter patterns are not applied", p.stderr())
        # Started again: the dropped records at the end are not read again, nothing is delivered.
        put("Filtered", "k9", n=40)
        p.start()
        p.wait_for(lambda: len(p.lines()) >= 4)
        self.assertEqual(p.stop(), 0)
        self.assertEqual(p.lines(), [seqs[1], seqs[3], seqs[4], stream_seqs("Filtered")[-1]])

    def test_kill_9_at_any_moment_loses_nothing_and_redelivers_at_most_a_batch(self):
        create_table("Killed")
        for i in range(600):
            put("Killed", "k%d" % (i % 50), n=i)
        seqs = stream_seqs("Killed")
        p = Poll(self, "Killed", stream={"batch_size": 25}, config={"sleep_ms": 1})
        kills = 0
        while True:
            p.start()
            seen = len(p.lines())
            if seen >= len(seqs):
                break
            p.wait_for(lambda: len(p.lines()) >= min(len(seqs), seen + 40 + 17 * kills))
            p.stop(signal.SIGKILL)
            kills += 1
        p.wait_for(lambda: set(p.lines()) >= set(seqs))
        self.assertEqual(p.stop(), 0)
        got = p.lines()
        self.assertGreater(kills, 3)
        self.assertEqual(set(got), set(seqs), "every change delivered, none lost")
        # In order: each record comes after the one before it, except where a restart took
        # back at most the batch in flight (25 records).
        last = -1
        for s in got:
            i = seqs.index(s)
            self.assertTrue(i == last + 1 or last - 25 < i <= last, "order broken at %s" % s)
            last = max(last, i)

    def test_a_failing_record_is_bisected_retried_then_discarded_and_the_rest_delivered(self):
        create_table("Failing")
        put("Failing", "a", n=1)
        put("Failing", "b", n=2, fail=True)
        put("Failing", "c", n=3)
        seqs = stream_seqs("Failing")
        arn = "arn:aws:sqs:us-east-1:123456789012:dlq"
        p = Poll(self, "Failing", stream={"batch_size": 10, "max_retries": 2,
                                          "on_failure": arn})
        p.start()
        p.wait_for(lambda: p.lines().count(seqs[2]) >= 1)
        self.assertEqual(p.stop(), 0)
        got = p.lines()
        self.assertEqual(got.count(seqs[0]), 1, "the record before the failure is done once")
        self.assertEqual(got.count(seqs[1]), 3, "the failing record: 1 try and 2 retries")
        self.assertEqual(got.count(seqs[2]), 1, "bisected away from the failure, done once")
        err = p.stderr()
        self.assertIn("1 record discarded (RetryAttemptsExhausted), SequenceNumber %s" % seqs[1], err)
        self.assertIn('"condition":"RetryAttemptsExhausted"', err)
        self.assertEqual(list(p.checkpoint()["shards"].values())[0]["sequenceNumber"], seqs[2])

    def test_sighup_swaps_the_plugin_and_a_refused_one_keeps_the_old(self):
        create_table("Swapped")
        put("Swapped", "a", n=1)
        p = Poll(self, "Swapped")
        p.start()
        p.wait_for(lambda: len(p.lines()) == 1)
        # A plugin that cannot load: refused, the old one keeps running.
        p.write_manifest(os.path.join(p.dir, "missing.so"), {"path": p.out})
        p.proc.send_signal(signal.SIGHUP)
        p.wait_for(lambda: "reload (SIGHUP) refused" in p.stderr())
        put("Swapped", "b", n=2)
        p.wait_for(lambda: len(p.lines()) == 2)
        # A new version (here: the probe writing elsewhere) takes over between two batches.
        out2 = os.path.join(p.dir, "out2.txt")
        p.write_manifest(pollmoto.PROBE, {"path": out2})
        p.proc.send_signal(signal.SIGHUP)
        p.wait_for(lambda: "poll: reloaded" in p.stderr())
        put("Swapped", "c", n=3)
        p.wait_for(lambda: len(p.lines(out2)) == 1)
        self.assertEqual(p.stop(), 0)
        seqs = stream_seqs("Swapped")
        self.assertEqual(p.lines(), seqs[:2], "the old plugin handled nothing after the swap")
        self.assertEqual(p.lines(out2), seqs[2:])
        refused = [l for l in p.stderr().splitlines() if "refused" in l]
        self.assertEqual(len(refused), 1)
        self.assertIn("missing.so", refused[0])

    def test_a_table_without_a_stream_is_one_line_with_the_hint(self):
        create_table("NoStream", view=None)
        p = Poll(self, "NoStream")
        p.start()
        self.assertEqual(p.proc.wait(), 1)
        self.assertEqual(p.stderr().strip().splitlines()[-1],
                         'ddbhost: error: table "NoStream" has no stream enabled; hint: aws '
                         "dynamodb update-table --table-name NoStream --stream-specification "
                         "StreamEnabled=true,StreamViewType=NEW_AND_OLD_IMAGES")


if __name__ == "__main__":
    sys.exit(pollmoto.main(sys.argv[1], sys.argv[2]))
