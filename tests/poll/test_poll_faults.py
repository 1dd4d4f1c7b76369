#!/usr/bin/env python3
"""test_poll_faults.py - `ddbhost poll` against moto_server through faultproxy.py: throttling
and HTTP 500 answers are tried again and nothing changes in what is delivered; a service that
always fails stops poll with one line naming the call; a wrong secret key is refused by the
proxy's own SigV4 check with one line, the right one accepted (poll's signatures are right);
an expired iterator is taken again and nothing is lost. Skips, saying why, where moto_server
is not installed.

usage: test_poll_faults.py DDBHOST PROBE_SO"""
import json
import os
import sys
import unittest

import pollmoto
from faultproxy import FaultProxy
from pollmoto import Poll, create_table, item, put_batch, stream_seqs


def proxy(case, **kw):
    p = FaultProxy(pollmoto.ENDPOINT, **kw)
    case.addCleanup(p.close)
    return p


def fill(table, n):
    create_table(table)
    put_batch(table, [item("k%d" % (i % 7), n=i) for i in range(n)])
    return stream_seqs(table)


class FaultTest(unittest.TestCase):
    def test_throttling_and_500s_are_retried_and_everything_is_delivered_once_in_order(self):
        create_table("Throttled")
        fp = proxy(self, throttle=0.2, error500=0.1, seed=1)
        p = Poll(self, "Throttled", stream={"batch_size": 10})
        p.endpoint, p.log_level = fp.endpoint, "debug"
        p.start()
        # Written in rounds while poll reads, until each kind of fault was answered.
        kinds = ("ProvisionedThroughputExceededException", "ThrottlingException",
                 "InternalServerError")
        r = 0
        while r < 4 or any(k not in fp.injected for k in kinds):
            put_batch("Throttled", [item("k%d" % i, n=r) for i in range(30)])
            r += 1
            p.wait_for(lambda: len(p.lines()) >= 30 * r)
        self.assertEqual(p.stop(), 0)
        self.assertEqual(p.lines(), stream_seqs("Throttled"),
                         "everything, once, in order, as without faults")
        err = p.stderr()
        for t in kinds:
            self.assertIn(t, err)
        retries = [l for l in err.splitlines() if "trying again" in l]
        self.assertEqual(len(retries), sum(fp.injected.values()), "each fault logged once")
        self.assertNotIn("error:", err)

    def test_a_service_that_always_answers_500_stops_poll_with_one_line(self):
        create_table("Down")
        fp = proxy(self, error500=1.0)
        p = Poll(self, "Down")
        p.endpoint = fp.endpoint
        p.start()
        self.assertEqual(p.proc.wait(), 1)
        self.assertEqual(p.stderr().splitlines(), [
            "ddbhost: poll: DynamoDB DescribeTable: InternalServerError: Internal server error "
            "(attempt %d of 10, trying again)" % n for n in range(1, 10)] + [
            "ddbhost: error: DynamoDB DescribeTable: InternalServerError: Internal server error"])
        self.assertEqual(fp.injected, {"InternalServerError": 10}, "10 attempts, then stop")

    def test_a_wrong_secret_key_is_one_line_naming_the_call_and_the_right_one_works(self):
        seqs = fill("Signed", 30)
        fp = proxy(self, secret="the-right-secret")
        p = Poll(self, "Signed", stream={"batch_size": 7})
        p.endpoint, p.secret = fp.endpoint, "a-wrong-secret"
        p.start()
        self.assertEqual(p.proc.wait(), 1)
        self.assertEqual(p.stderr().splitlines(), [
            "ddbhost: error: DynamoDB DescribeTable: InvalidSignatureException: The request "
            "signature we calculated does not match the signature you provided. Check your AWS "
            "Secret Access Key and signing method. Consult the service documentation for "
            "details."])
        self.assertEqual(p.lines(), [])
        p.secret = "the-right-secret"
        p.start()
        p.wait_for(lambda: len(p.lines()) >= len(seqs))
        self.assertEqual(p.stop(), 0)
        self.assertEqual(p.lines(), seqs)
        self.assertEqual(fp.injected, {"InvalidSignatureException": 1})
        for call in ("DescribeTable", "DescribeStream", "GetShardIterator", "GetRecords"):
            self.assertTrue(any(t.endswith("." + call) for t in fp.targets), call)

    def test_records_older_than_max_record_age_s_go_to_on_failure_never_delivered(self):
        # Records read two hours after they were made (the proxy says so), past a limit of
        # 60 s: Lambda sends them to on_failure without invoking; so does poll.
        seqs = fill("Aged", 5)
        fp = proxy(self, age_s=7200)
        p = Poll(self, "Aged")
        dlq = os.path.join(p.dir, "discarded.jsonl")
        p.write_manifest(pollmoto.PROBE, {"path": p.out}, {
            "batch_size": 10, "max_record_age_s": 60, "on_failure": "file://" + dlq})
        p.endpoint = fp.endpoint
        p.start()
        p.wait_for(lambda: os.path.exists(dlq) and
                   sum(json.loads(l)["DDBStreamBatchInfo"]["batchSize"]
                       for l in p.raw_lines(dlq)) >= len(seqs))
        put_batch("Aged", [item("k9", n=99)])  # aged as well: the limit holds for every record
        p.wait_for(lambda: sum(json.loads(l)["DDBStreamBatchInfo"]["batchSize"]
                               for l in p.raw_lines(dlq)) > len(seqs))
        self.assertEqual(p.stop(), 0)
        self.assertEqual(p.lines(), [], "none delivered")
        records = [json.loads(l) for l in p.raw_lines(dlq)]
        self.assertEqual({r["requestContext"]["condition"] for r in records},
                         {"RecordAgeExceeded"})
        self.assertEqual({r["requestContext"]["approximateInvokeCount"] for r in records}, {0},
                         "never invoked")
        self.assertEqual(records[0]["DDBStreamBatchInfo"]["startSequenceNumber"], seqs[0])
        self.assertEqual(records[-1]["DDBStreamBatchInfo"]["endSequenceNumber"],
                         stream_seqs("Aged")[-1])

    def test_an_expired_iterator_is_taken_again_and_nothing_is_lost(self):
        # Written in rounds while poll reads, so that records arrive while an iterator is
        # expired: one taken again at LATEST, or from the start, would show.
        create_table("Expired")
        fp = proxy(self, expire_every=2)
        p = Poll(self, "Expired", stream={"batch_size": 10})
        p.endpoint = fp.endpoint
        p.start()
        for r in range(8):
            put_batch("Expired", [item("k%d" % i, n=r) for i in range(15)])
            p.wait_for(lambda: len(p.lines()) >= 15 * (r + 1))
        self.assertEqual(p.stop(), 0)
        seqs = stream_seqs("Expired")
        self.assertEqual(p.lines(), seqs, "everything, once, in order")
        self.assertGreater(fp.injected.get("ExpiredIteratorException", 0), 3)
        self.assertNotIn("error:", p.stderr())


if __name__ == "__main__":
    sys.exit(pollmoto.main(sys.argv[1], sys.argv[2]))
