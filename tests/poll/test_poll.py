#!/usr/bin/env python3
"""test_poll.py - `ddbhost poll` end to end against moto_server, a real DynamoDB Streams
implementation started on a loopback port by pollmoto.py (Python standard library only).
Skips, saying why, where moto_server is not installed.

usage: test_poll.py DDBHOST PROBE_SO"""
import json
import os
import signal
import sys
import time
import unittest

import pollmoto
from pollmoto import Poll, call, create_table, put, stream_seqs


def a_failing_b(table):
    """A table whose stream holds a, b and c, b failing in the probe; the stream's sequence
    numbers."""
    create_table(table)
    put(table, "a", n=1)
    put(table, "b", n=2, fail=True)
    put(table, "c", n=3)
    return stream_seqs(table)


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

    def test_latest_skips_what_came_before_the_start_and_a_restart_resumes_its_checkpoint(self):
        create_table("Latest")
        put("Latest", "before", n=0)
        p = Poll(self, "Latest", stream={"starting_position": "LATEST"})
        p.start()
        # Written until poll delivers one: its iterator may be taken after the first writes.
        n = 1
        while not p.lines():
            put("Latest", "after", n=n)
            n += 1
            p.check_running()
            time.sleep(0.2)
        seqs = stream_seqs("Latest")
        p.wait_for(lambda: p.lines()[-1:] == seqs[-1:])
        self.assertEqual(p.stop(), 0)
        got = p.lines()
        self.assertNotIn(seqs[0], got, "the record written before the start is not delivered")
        self.assertEqual(got, seqs[seqs.index(got[0]):], "from there on, everything in order")
        # Written while poll is stopped: the checkpoint, not LATEST, says where to go on.
        put("Latest", "stopped", n=n)
        p.start()
        p.wait_for(lambda: len(p.lines()) > len(got))
        self.assertEqual(p.stop(), 0)
        self.assertEqual(p.lines(), got + stream_seqs("Latest")[-1:])

    def test_max_batching_window_s_gathers_records_into_one_batch(self):
        create_table("Gathered")
        p = Poll(self, "Gathered", stream={"batch_size": 10, "max_batching_window_s": 3})
        p.json = True
        p.start()
        p.wait_for(lambda: p.events("start"))
        # The window opens when poll reads the first record; without it, that record would
        # go alone, as soon as read (poll reads every 250 ms when idle).
        put("Gathered", "k0", n=0)
        time.sleep(0.6)
        for i in range(1, 4):
            put("Gathered", "k%d" % i, n=i)
        p.wait_for(lambda: len(p.lines()) >= 4)
        self.assertEqual(p.stop(), 0)
        self.assertEqual([b["records"] for b in p.events("batch")], [4], "one batch of four")
        self.assertEqual(p.lines(), stream_seqs("Gathered"))

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
        seqs = a_failing_b("Failing")
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

    def test_a_file_on_failure_destination_gets_lambdas_on_failure_record(self):
        seqs = a_failing_b("Dead")
        arn = call("DynamoDB_20120810.DescribeTable", {"TableName": "Dead"})["Table"][
            "LatestStreamArn"]
        p = Poll(self, "Dead")
        dlq = os.path.join(p.dir, "discarded.jsonl")
        p.write_manifest(pollmoto.PROBE, {"path": p.out}, {
            "batch_size": 10, "max_retries": 1, "bisect_on_error": True,
            "on_failure": "file://" + dlq})
        p.start()
        p.wait_for(lambda: os.path.exists(dlq) and seqs[2] in p.lines())
        self.assertEqual(p.stop(), 0)
        with open(dlq) as f:
            lines = f.read().splitlines()
        self.assertEqual(len(lines), 1, "one on-failure record, one line")
        o = json.loads(lines[0])
        self.assertEqual(o["requestContext"]["condition"], "RetryAttemptsExhausted")
        self.assertEqual(o["requestContext"]["approximateInvokeCount"], 2, "a try, a retry")
        self.assertEqual(o["version"], "1.0")
        self.assertRegex(o["timestamp"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
        info = o["DDBStreamBatchInfo"]
        self.assertEqual((info["startSequenceNumber"], info["endSequenceNumber"],
                          info["batchSize"], info["streamArn"]), (seqs[1], seqs[1], 1, arn))
        self.assertTrue(info["shardId"].startswith("shardId-"))
        for k in ("approximateArrivalOfFirstRecord", "approximateArrivalOfLastRecord"):
            self.assertRegex(info[k], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
        self.assertNotIn("on-failure record", p.stderr(), "written to the file, not the log")
        self.assertEqual(p.lines().count(seqs[2]), 1, "the record after it delivered once")

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
