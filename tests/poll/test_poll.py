#!/usr/bin/env python3
"""test_poll.py - `ddbhost poll` end to end against moto_server, a real DynamoDB Streams
implementation started here on a loopback port (Python standard library only: moto does not
check signatures, so requests carry an unchecked Authorization header naming the service).
Skips, saying why, where moto_server is not installed.

usage: test_poll.py DDBHOST PROBE_SO"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

SKIP = 77
HOST, PROBE = sys.argv[1], sys.argv[2]
MOTO = shutil.which("moto_server")
ENDPOINT = None


def call(target, body):
    """One JSON 1.0 call to moto; the answer as an object."""
    req = urllib.request.Request(ENDPOINT + "/", data=json.dumps(body).encode(), method="POST")
    req.add_header("Content-Type", "application/x-amz-json-1.0")
    req.add_header("X-Amz-Target", target)
    req.add_header("Authorization", "AWS4-HMAC-SHA256 Credential=test/20200101/us-east-1/"
                   "dynamodb/aws4_request, SignedHeaders=host, Signature=0")
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read() or b"{}")


def create_table(name, view="NEW_AND_OLD_IMAGES"):
    spec = {"StreamEnabled": True, "StreamViewType": view} if view else {"StreamEnabled": False}
    call("DynamoDB_20120810.CreateTable", {
        "TableName": name, "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "StreamSpecification": spec})


def put(table, pk, **attrs):
    item = {"pk": {"S": pk}}
    for k, v in attrs.items():
        item[k] = {"BOOL": v} if isinstance(v, bool) else {"N": str(v)}
    call("DynamoDB_20120810.PutItem", {"TableName": table, "Item": item})


def stream_seqs(table):
    """Every SequenceNumber of the table's stream, in order, as moto serves them."""
    arn = call("DynamoDB_20120810.DescribeTable", {"TableName": table})["Table"]["LatestStreamArn"]
    shard = call("DynamoDBStreams_20120810.DescribeStream",
                 {"StreamArn": arn})["StreamDescription"]["Shards"][0]["ShardId"]
    it = call("DynamoDBStreams_20120810.GetShardIterator", {
        "StreamArn": arn, "ShardId": shard, "ShardIteratorType": "TRIM_HORIZON"})["ShardIterator"]
    seqs = []
    while True:
        page = call("DynamoDBStreams_20120810.GetRecords", {"ShardIterator": it, "Limit": 1000})
        seqs += [r["dynamodb"]["SequenceNumber"] for r in page["Records"]]
        if not page["Records"]:
            return seqs
        it = page["NextShardIterator"]


class Poll:
    """ddbhost poll on a manifest of its own, in a directory of its own."""

    def __init__(self, case, table, stream=None, config=None, state=True):
        self.dir = tempfile.mkdtemp(prefix="poll-")
        case.addCleanup(shutil.rmtree, self.dir, True)
        self.out = os.path.join(self.dir, "out.txt")
        self.state = os.path.join(self.dir, "state") if state else None
        if self.state:
            os.mkdir(self.state)
        self.manifest = os.path.join(self.dir, "manifest.json")
        self.table = table
        self.write_manifest(PROBE, dict(config or {}, path=self.out), stream)
        self.proc = None
        self.err = os.path.join(self.dir, "stderr.txt")

    def write_manifest(self, plugin, config, stream=None):
        route = {"handlers": [{"plugin": plugin, "config": config}]}
        if stream:
            route["stream"] = stream
        tmp = self.manifest + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"tables": {self.table: route}}, f)
        os.replace(tmp, self.manifest)

    def start(self):
        args = [HOST, "poll", "--manifest", self.manifest, "--endpoint", ENDPOINT,
                "--region", "us-east-1"]
        if self.state:
            args += ["--state", self.state]
        env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test")
        with open(self.err, "a") as err:
            self.proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=err)

    def lines(self, path=None):
        try:
            with open(path or self.out) as f:
                return [l.split("\t")[0] for l in f.read().splitlines()]
        except FileNotFoundError:
            return []

    def wait_for(self, cond):
        """Waits, with no limit of time (ctest's TIMEOUT is the one), until cond() holds."""
        while not cond():
            self.check_running()
            time.sleep(0.05)

    def check_running(self):
        if self.proc.poll() is not None:
            raise AssertionError("poll exited %d:\n%s" % (self.proc.returncode, self.stderr()))

    def stderr(self):
        with open(self.err) as f:
            return f.read()

    def stop(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)
        return self.proc.wait()

    def checkpoint(self):
        with open(os.path.join(self.state, self.table + ".checkpoint.json")) as f:
            return json.load(f)


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
        p.write_manifest(PROBE, {"path": out2})
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


def main():
    global ENDPOINT
    if not MOTO:
        print("skipped: moto_server is not installed (pip install 'moto[server]'), so there "
              "is no DynamoDB Streams endpoint to poll")
        return SKIP
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = tempfile.TemporaryFile()
    moto = subprocess.Popen([MOTO, "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log)
    ENDPOINT = "http://127.0.0.1:%d" % port
    try:
        while True:
            if moto.poll() is not None:
                log.seek(0)
                print("moto_server exited:", log.read().decode(errors="replace"))
                return 1
            try:
                with socket.create_connection(("127.0.0.1", port)):
                    break
            except OSError:
                time.sleep(0.05)
        prog = unittest.main(argv=[sys.argv[0], "-v"], exit=False)
        return 0 if prog.result.wasSuccessful() else 1
    finally:
        moto.terminate()
        moto.wait()


if __name__ == "__main__":
    sys.exit(main())
