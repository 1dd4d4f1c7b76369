"""pollmoto.py - what the end-to-end tests of `ddbhost poll` share: moto_server started on a
loopback port (or the one line of a skip where it is missing), calls to it, tables and a
`ddbhost poll` process of their own. Python standard library only: moto does not check
signatures, so the calls made here carry an unchecked Authorization header.

A test script calls pollmoto.main(HOST, PLUGIN) and then reads pollmoto.ENDPOINT."""
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
HOST = None
PROBE = None
ENDPOINT = None
MOTO = shutil.which("moto_server")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


def item(pk, **attrs):
    out = {"pk": {"S": pk}}
    for k, v in attrs.items():
        out[k] = {"BOOL": v} if isinstance(v, bool) else {"N": str(v)}
    return out


def put(table, pk, **attrs):
    call("DynamoDB_20120810.PutItem", {"TableName": table, "Item": item(pk, **attrs)})


def put_batch(table, items):
    """Writes items with BatchWriteItem, 25 to a call (what DynamoDB allows)."""
    for i in range(0, len(items), 25):
        left = {table: [{"PutRequest": {"Item": it}} for it in items[i:i + 25]]}
        while left:
            left = call("DynamoDB_20120810.BatchWriteItem",
                        {"RequestItems": left}).get("UnprocessedItems")


def stream_records(table):
    """Every record of the table's stream, in order, as moto serves them."""
    arn = call("DynamoDB_20120810.DescribeTable", {"TableName": table})["Table"]["LatestStreamArn"]
    shard = call("DynamoDBStreams_20120810.DescribeStream",
                 {"StreamArn": arn})["StreamDescription"]["Shards"][0]["ShardId"]
    it = call("DynamoDBStreams_20120810.GetShardIterator", {
        "StreamArn": arn, "ShardId": shard, "ShardIteratorType": "TRIM_HORIZON"})["ShardIterator"]
    records = []
    while True:
        page = call("DynamoDBStreams_20120810.GetRecords", {"ShardIterator": it, "Limit": 1000})
        records += page["Records"]
        if not page["Records"]:
            return records
        it = page["NextShardIterator"]


def stream_seqs(table):
    """Every SequenceNumber of the table's stream, in order, as moto serves them."""
    return [r["dynamodb"]["SequenceNumber"] for r in stream_records(table)]


class Poll:
    """ddbhost poll on a manifest of its own, in a directory of its own. endpoint (default:
    moto's), secret and log_level change how it is started."""

    def __init__(self, case, table, stream=None, config=None, state=True, plugin=None):
        self.dir = tempfile.mkdtemp(prefix="poll-")
        case.addCleanup(shutil.rmtree, self.dir, True)
        self.out = os.path.join(self.dir, "out.txt")
        self.state = os.path.join(self.dir, "state") if state else None
        if self.state:
            os.mkdir(self.state)
        self.manifest = os.path.join(self.dir, "manifest.json")
        self.table = table
        self.write_manifest(plugin or PROBE, dict(config or {}, path=self.out), stream)
        self.proc = None
        self.err = os.path.join(self.dir, "stderr.txt")
        self.endpoint = None
        self.secret = "test"
        self.log_level = None
        self.json = False  # True: started with --json, its stdout kept in json.txt
        self.json_path = os.path.join(self.dir, "json.txt")

    def write_manifest(self, plugin, config, stream=None):
        route = {"handlers": [{"plugin": plugin, "config": config}]}
        if stream:
            route["stream"] = stream
        tmp = self.manifest + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"tables": {self.table: route}}, f)
        os.replace(tmp, self.manifest)

    def start(self):
        args = [HOST, "poll", "--manifest", self.manifest, "--endpoint",
                self.endpoint or ENDPOINT, "--region", "us-east-1"]
        if self.state:
            args += ["--state", self.state]
        if self.log_level:
            args += ["--log-level", self.log_level]
        if self.json:
            args.append("--json")
        env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY=self.secret)
        self.runs = self.stderr().count(self.running_line())
        with open(self.err, "a") as err, open(self.json_path, "a") as out:
            self.proc = subprocess.Popen(args, env=env, stdout=out if self.json else
                                         subprocess.DEVNULL, stderr=err)

    def events(self, kind=None):
        """The --json lines so far (those of kind, when given), as objects."""
        out = []
        for line in self.raw_lines(self.json_path):
            try:
                o = json.loads(line)
            except ValueError:
                continue  # a line a plugin printed, or one being written
            if isinstance(o, dict) and "event" in o and (kind is None or o["event"] == kind):
                out.append(o)
        return out

    def raw_lines(self, path=None):
        try:
            with open(path or self.out) as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    def lines(self, path=None):
        return [l.split("\t")[0] for l in self.raw_lines(path)]

    def wait_for(self, cond):
        """Waits, with no limit of time (ctest's TIMEOUT is the one), until cond() holds."""
        while not cond():
            self.check_running()
            time.sleep(0.05)

    def check_running(self):
        if self.proc.poll() is not None:
            raise AssertionError("poll exited %d:\n%s" % (self.proc.returncode, self.stderr()))

    def stderr(self):
        try:
            with open(self.err) as f:
                return f.read()
        except FileNotFoundError:
            return ""  # not started yet

    def running_line(self):
        """What poll logs once it runs: its signal handlers are set by then."""
        return "poll: table %s: stream " % self.table

    def stop(self, sig=signal.SIGTERM):
        """Sends sig and returns the exit status. SIGTERM and SIGINT wait until poll runs: a
        process that has not yet set its handlers dies of them, as any process would."""
        if sig in (signal.SIGTERM, signal.SIGINT):
            self.wait_for(lambda: self.stderr().count(self.running_line()) > self.runs)
        self.proc.send_signal(sig)
        return self.proc.wait()

    def checkpoint(self):
        with open(os.path.join(self.state, self.table + ".checkpoint.json")) as f:
            return json.load(f)


def main(host, probe):
    """Starts moto_server, runs the unittest cases of __main__ against it, stops it; the exit
    status (77 with one line where moto_server is missing)."""
    global HOST, PROBE, ENDPOINT
    HOST, PROBE = host, probe
    if not MOTO:
        print("skipped: moto_server is not installed (pip install 'moto[server]'), so there "
              "is no DynamoDB Streams endpoint to poll")
        return SKIP
    port = free_port()
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
