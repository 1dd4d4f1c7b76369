#!/usr/bin/env python3
"""poll.py - records per second through `ddbhost poll` from moto_server (a real local DynamoDB
Streams, tests/poll/test_poll.py), into the walk plugin, and what poll adds per batch to the
same events run through `ddbhost --invoke`.

N records are written first, then poll is timed from its start until its debug lines say every
record is done; it is stopped with SIGTERM. Where the time goes: the time from one batch done
to the next against moto's GetRecords alone (read here by a plain client over the same stream
in batches of the same size) and the session (the same batch through `--invoke`). As a module: section(build) gives the report's lines; as a
command: poll.py BUILD_DIR prints them."""
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

RECORDS, BATCH, ROUNDS = 2000, 100, 3
TIMEOUT_S = 600  # a poll run that takes longer is stuck
PAGE = 1000  # the Limit of poll's GetRecords (POLLER_GET_LIMIT in host/poll/poller.c)
TABLE = "Bench"
DONE = re.compile(r"poll: table \S+, shard \S+, lane \d+: (\d+) of (\d+) records done")
AUTH = ("AWS4-HMAC-SHA256 Credential=test/20200101/us-east-1/dynamodb/aws4_request, "
        "SignedHeaders=host, Signature=0")  # moto checks no signature


class Moto:
    """moto_server on a free loopback port, stopped by close()."""

    def __init__(self, path):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([path, "-H", "127.0.0.1", "-p", str(port)],
                                     stdout=self.log, stderr=self.log)
        self.endpoint = f"http://127.0.0.1:{port}"
        while True:
            if self.proc.poll() is not None:
                self.log.seek(0)
                raise RuntimeError("moto_server exited: " + self.log.read().decode(errors="replace"))
            try:
                with socket.create_connection(("127.0.0.1", port)):
                    return
            except OSError:
                time.sleep(0.05)

    def call(self, target, body):
        req = urllib.request.Request(self.endpoint + "/", data=json.dumps(body).encode(),
                                     method="POST")
        req.add_header("Content-Type", "application/x-amz-json-1.0")
        req.add_header("X-Amz-Target", target)
        req.add_header("Authorization", AUTH)
        with urllib.request.urlopen(req) as r:
            return json.loads(r.read() or b"{}")

    def close(self):
        self.proc.terminate()
        self.proc.wait()


def fill(moto, n):
    """A table with a stream, and n writes to it: 250 keys, INSERTs then MODIFYs, items of
    every type."""
    moto.call("DynamoDB_20120810.CreateTable", {
        "TableName": TABLE, "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}})
    for i in range(n):
        item = {"pk": {"S": f"user#{i % 250}"}, "n": {"N": str(i)}, "price": {"N": "19.99"},
                "name": {"S": "Zürich 東京 " * (1 + i % 3)}, "ok": {"BOOL": i % 2 == 0},
                "blob": {"B": "3q2+7w=="}, "tags": {"SS": ["a", "b", f"t{i % 7}"]},
                "meta": {"M": {"nested": {"L": [{"N": "1"}, {"S": "x"}, {"NULL": True}]},
                               "when": {"S": "2024-05-01T12:00:00Z"}}}}
        moto.call("DynamoDB_20120810.PutItem", {"TableName": TABLE, "Item": item})


def read_stream(moto):
    """The stream's records in pages of PAGE, as poll asks for them, read by a plain client;
    and the ms of each GetRecords call that returned records."""
    arn = moto.call("DynamoDB_20120810.DescribeTable", {"TableName": TABLE})["Table"]["LatestStreamArn"]
    shard = moto.call("DynamoDBStreams_20120810.DescribeStream",
                      {"StreamArn": arn})["StreamDescription"]["Shards"][0]["ShardId"]
    it = moto.call("DynamoDBStreams_20120810.GetShardIterator", {
        "StreamArn": arn, "ShardId": shard, "ShardIteratorType": "TRIM_HORIZON"})["ShardIterator"]
    batches, times = [], []
    while True:
        t0 = time.perf_counter()
        page = moto.call("DynamoDBStreams_20120810.GetRecords", {"ShardIterator": it, "Limit": PAGE})
        if not page["Records"]:
            return batches, times
        times.append((time.perf_counter() - t0) * 1000)
        batches.append(page["Records"])
        it = page["NextShardIterator"]


def poll_once(host, walk, moto, work, n, batch):
    """Seconds from poll's start until every record is done, the times (perf_counter) its
    debug lines said a batch was done, as read here, and walk's count of records (printed at
    its on_fini)."""
    manifest = os.path.join(work, "poll.json")
    with open(manifest, "w") as f:
        json.dump({"tables": {TABLE: {"handlers": [{"plugin": walk}],
                                      "stream": {"batch_size": batch}}}}, f)
    env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test")
    t0 = time.perf_counter()
    proc = subprocess.Popen([host, "poll", "--manifest", manifest, "--endpoint", moto.endpoint,
                             "--region", "us-east-1", "--log-level", "debug"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    done, marks, log = 0, [], []
    # A poll that stops saying records are done (its debug line changed, say) ends the bench
    # with the error below instead of holding it forever.
    watchdog = threading.Timer(TIMEOUT_S, proc.kill)
    watchdog.start()
    for line in proc.stderr:
        log.append(line)
        m = DONE.search(line)
        if m:
            done += int(m[1])
            marks.append(time.perf_counter())
        if done >= n:
            break
    elapsed = time.perf_counter() - t0
    watchdog.cancel()
    proc.send_signal(signal.SIGTERM)
    rest = proc.stderr.read()
    if proc.wait() != 0 or done < n:
        tail = (log + rest.splitlines(True))[-3:]
        raise RuntimeError(f"poll delivered {done} of {n} records, exit status {proc.returncode}: "
                           + "".join(tail).strip())
    walked = re.search(r"walk: (\d+) records", rest)
    return elapsed, marks, int(walked[1]) if walked else None


def bursts(marks):
    """ms per batch while poll works through a page it holds: the batches done between two
    GetRecords calls (a gap of over 20 ms), first to last, over their number, as read from the
    pipe of its debug lines; the median over the pages."""
    pages, start = [], 0
    for i in range(1, len(marks) + 1):
        if i == len(marks) or marks[i] - marks[i - 1] > 0.02:
            if i - start > 1:
                pages.append((marks[i - 1] - marks[start]) * 1000 / (i - 1 - start))
            start = i
    return statistics.median(pages) if pages else float("nan")


def invoke_ms(host, walk, event, reps=20):
    """The median ms of one batch through `ddbhost --invoke`, repeated in one process."""
    p = subprocess.run([host, "--repeat", str(reps), "--invoke", walk, event],
                       capture_output=True, text=True, check=True)
    return float(re.search(r"repeat: \d+ runs of \d+ records .*?median ([0-9.]+) ms", p.stderr)[1])


def section(build):
    title = ["### Poll: records per second from a local DynamoDB Streams (moto_server)", ""]
    moto_path = shutil.which("moto_server")
    if not moto_path:
        return title + ["- not measured: moto_server is not installed, so there is no DynamoDB "
                        "Streams endpoint to poll"]
    host = os.path.join(build, "bin", "ddbhost")
    walk = os.path.join(build, "bench", "walk.so")
    moto = Moto(moto_path)
    try:
        fill(moto, RECORDS)
        with tempfile.TemporaryDirectory() as work:
            pages, get_ms = read_stream(moto)
            n = sum(len(b) for b in pages)
            event = os.path.join(work, "batch.json")
            one = os.path.join(work, "one.json")
            with open(event, "w") as f:  # batches of the first records, as Lambda delivers them
                json.dump({"Records": pages[0][:BATCH]}, f)
            with open(one, "w") as f:
                json.dump({"Records": pages[0][:1]}, f)
            runs = {BATCH: [], 1: []}
            invokes = {BATCH: [], 1: []}
            for _ in range(ROUNDS):
                for b, path in ((BATCH, event), (1, one)):
                    runs[b].append(poll_once(host, walk, moto, work, n, b))
                    invokes[b].append(invoke_ms(host, walk, path))
    finally:
        moto.close()
    med = {}
    for b, rs in runs.items():
        rs.sort(key=lambda r: r[0])
        med[b] = rs[len(rs) // 2]
        if med[b][2] != n:
            raise RuntimeError(f"walk.so counted {med[b][2]} records of {n} (batch_size {b})")
    inv = {b: statistics.median(v) for b, v in invokes.items()}
    get = sum(get_ms)
    (big, mbig, _), (small, msmall, _) = med[BATCH], med[1]
    per = bursts(msmall)
    lines = title + ["| subject | records | batches | ms | records/s | ms per batch |",
                     "|---|--:|--:|--:|--:|--:|"]
    for b, (elapsed, marks, _) in med.items():
        lines.append(f"| `ddbhost poll` into walk.so, batch_size {b}: start to the last batch done "
                     f"| {n} | {len(marks)} | {elapsed * 1000:.0f} | {n / elapsed:,.0f} | "
                     f"{bursts(marks):.3f} |")
    lines += [
        *(f"| `ddbhost --repeat 20 --invoke walk.so`: a batch of {b} as Lambda delivers it "
          f"(median) | {b} | 1 | | | {inv[b]:.3f} |" for b in (1, BATCH)),
        f"| moto's GetRecords alone: a Python client reading the stream in pages of {PAGE}, as "
        f"poll does ({len(get_ms)} calls) | {n} | | {get:.0f} | {n / get * 1000:,.0f} | |",
        "", f"{RECORDS} writes (250 keys, items of every type) are in the stream before poll starts; "
        "poll (--log-level debug) is timed from its start until its debug lines count every "
        f"record done, then stopped with SIGTERM; the median of {ROUNDS} runs of each batch "
        "size, interleaved, each from TRIM_HORIZON; walk.so counted every record. *ms per batch* "
        "is poll's pace through a page it already holds (from one GetRecords to the next): the "
        "time from its first to its last batch-done line of the page, as read from its stderr "
        f"here, over the batches; with batch_size 1, {per:.3f} ms a batch against "
        f"{inv[1]:.3f} ms for the same 1-record batch through --invoke (the session alone), "
        f"so poll adds about {per - inv[1]:.3f} ms a batch (its queue and log lines; no --state, "
        f"so no checkpoint file). At batch_size {BATCH} a page is {PAGE // BATCH} lines, too "
        "few for this reading: there the --invoke row is the session's time. moto's GetRecords "
        f"takes {get:.0f} ms of poll's "
        f"{big * 1000:.0f} ms at batch_size {BATCH} (as a plain client measures it, and it "
        "varies by hundreds of ms from call to call): poll's time is moto's."]
    return lines


if __name__ == "__main__":
    build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "build-bench"))
    print("\n".join(section(build)))
