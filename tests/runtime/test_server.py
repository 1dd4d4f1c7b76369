#!/usr/bin/env python3
"""test_server.py - the local Runtime API server against the protocol it stands in for:
status codes, headers and refusals as Lambda documents them, and the log the runtime
tests read. Run by ctest (runtime_server); standard library only."""

import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, "server.py")
API = "/2018-06-01/runtime"
EVENT = b'{"Records": []}'


class ServerTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)

    def start(self, *args, events=(EVENT,)):
        files = []
        for i, body in enumerate(events):
            path = os.path.join(self.tmp.name, "e%d.json" % i)
            with open(path, "wb") as f:
                f.write(body)
            files += ["--event", path]
        self.state = os.path.join(self.tmp.name, "state.jsonl")
        self.proc = subprocess.Popen(
            [sys.executable, SERVER, "--state", self.state, *args, *files],
            stdout=subprocess.PIPE)
        self.addCleanup(self.stop)
        line = self.proc.stdout.readline().decode()
        self.assertRegex(line, r"^PORT \d+\n$")
        self.port = int(line.split()[1])
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait(10)
        self.proc.stdout.close()
        self.conn.close()

    def request(self, method, path, body=None, headers=None):
        self.conn.request(method, API + path, body=body, headers=headers or {})
        r = self.conn.getresponse()
        return r.status, r.getheaders(), r.read()

    def next(self):
        status, headers, body = self.request("GET", "/invocation/next")
        self.assertEqual(status, 200, body)
        return {k.lower(): v for k, v in headers}, body

    def log(self):
        with open(self.state, encoding="utf-8") as f:
            return [json.loads(line) for line in f]

    def error(self, request_id, error_type, doc=None, header=None):
        doc = {"errorMessage": "it broke", "errorType": error_type} if doc is None else doc
        headers = {"Lambda-Runtime-Function-Error-Type": header or error_type}
        path = "/init/error" if request_id is None else "/invocation/%s/error" % request_id
        return self.request("POST", path, json.dumps(doc), headers)

    # ---- next ------------------------------------------------------------------------

    def test_next_hands_out_the_event_with_the_four_lambda_headers(self):
        self.start("--timeout-ms", "3000")
        before = int(time.time() * 1000)
        headers, body = self.next()
        self.assertEqual(body, EVENT)
        self.assertRegex(headers["lambda-runtime-aws-request-id"],
                         r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
        deadline = int(headers["lambda-runtime-deadline-ms"])
        self.assertTrue(before + 3000 <= deadline <= int(time.time() * 1000) + 3000)
        self.assertRegex(headers["lambda-runtime-invoked-function-arn"],
                         r"^arn:aws:lambda:[a-z0-9-]+:\d{12}:function:")
        self.assertRegex(headers["lambda-runtime-trace-id"],
                         r"^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=[01]$")

    def test_each_event_gets_the_timeout_named_before_it(self):
        self.start("--timeout-ms", "1000", "--event", os.devnull, "--timeout-ms", "90000",
                   events=(EVENT,))
        for want in (1000, 90000):
            headers, _ = self.next()
            left = int(headers["lambda-runtime-deadline-ms"]) - int(time.time() * 1000)
            self.assertTrue(want - 5000 < left <= want, (want, left))
            rid = headers["lambda-runtime-aws-request-id"]
            self.assertEqual(self.request("POST", "/invocation/%s/response" % rid, "{}")[0], 202)

    def test_next_before_answering_is_refused(self):
        self.start(events=(EVENT, EVENT))
        self.next()
        status, _, body = self.request("GET", "/invocation/next")
        self.assertEqual((status, json.loads(body)["errorType"]), (403, "InvalidStateTransition"))

    # ---- response --------------------------------------------------------------------

    def test_a_response_is_accepted_once(self):
        self.start()
        rid = self.next()[0]["lambda-runtime-aws-request-id"]
        status, _, body = self.request("POST", "/invocation/%s/response" % rid, '{"a":1}',
                                       {"Content-Type": "application/json"})
        self.assertEqual((status, json.loads(body)), (202, {"status": "OK"}))
        for what in ("response", "error"):
            status, _, body = (self.request("POST", "/invocation/%s/response" % rid, "{}")
                               if what == "response" else self.error(rid, "Runtime.Late"))
            self.assertEqual((status, json.loads(body)["errorType"]),
                             (403, "InvalidStateTransition"), what)
        answers = [e for e in self.log() if e["kind"] == "response"]
        self.assertEqual(len(answers), 1)
        self.assertEqual(answers[0]["body"], '{"a":1}')
        self.assertEqual(answers[0]["content_type"], "application/json")
        self.assertFalse(answers[0]["late"])
        self.assertEqual([e["status"] for e in self.log() if e["kind"] == "refused"], [403, 403])

    def test_an_unknown_request_id_gets_400(self):
        self.start()
        self.next()
        for path in ("/invocation/nope/response", "/invocation/nope/error"):
            status, _, body = self.request("POST", path, "{}")
            self.assertEqual((status, json.loads(body)["errorType"]), (400, "InvalidRequestID"))

    def test_a_response_over_6_mb_gets_413_and_ends_the_invocation(self):
        self.start(events=(EVENT, EVENT))
        rid = self.next()[0]["lambda-runtime-aws-request-id"]
        status, _, body = self.request("POST", "/invocation/%s/response" % rid,
                                       b"x" * (6291456 + 1))
        self.assertEqual((status, json.loads(body)["errorType"]), (413, "RequestEntityTooLarge"))
        rid = self.next()[0]["lambda-runtime-aws-request-id"]
        status, _, _ = self.request("POST", "/invocation/%s/response" % rid, b"x" * 6291456)
        self.assertEqual(status, 202)

    def test_a_chunked_response_is_read_whole(self):
        self.start()
        rid = self.next()[0]["lambda-runtime-aws-request-id"]
        self.conn.putrequest("POST", API + "/invocation/%s/response" % rid)
        self.conn.putheader("Transfer-Encoding", "chunked")
        self.conn.endheaders()
        for part in (b'{"batchItem', b'Failures":[]}'):
            self.conn.send(b"%x\r\n%s\r\n" % (len(part), part))
        self.conn.send(b"0\r\n\r\n")
        self.assertEqual(self.conn.getresponse().status, 202)
        self.assertEqual([e["body"] for e in self.log() if e["kind"] == "response"],
                         ['{"batchItemFailures":[]}'])

    # ---- errors ----------------------------------------------------------------------

    def test_an_invocation_error_is_accepted_and_logged(self):
        self.start()
        rid = self.next()[0]["lambda-runtime-aws-request-id"]
        status, _, body = self.error(rid, "Runtime.InvalidEvent")
        self.assertEqual((status, json.loads(body)), (202, {"status": "OK"}))
        entry = [e for e in self.log() if e["kind"] == "error"][0]
        self.assertEqual((entry["request_id"], entry["error_type"], entry["error_message"]),
                         (rid, "Runtime.InvalidEvent", "it broke"))

    def test_an_error_type_outside_the_documented_form_gets_400(self):
        self.start()
        rid = self.next()[0]["lambda-runtime-aws-request-id"]
        for bad in ("InvalidEvent", "runtime.InvalidEvent", "Runtime.invalidEvent",
                    "Runtime.Invalid Event", "Runtime.", "Handler.Failed"):
            status, _, _ = self.error(rid, bad)
            self.assertEqual(status, 400, bad)
        status, _, _ = self.request("POST", "/invocation/%s/error" % rid, "{}")
        self.assertEqual(status, 400, "no header at all")

    def test_an_error_body_must_carry_message_and_the_same_type(self):
        self.start()
        rid = self.next()[0]["lambda-runtime-aws-request-id"]
        for doc in ({"errorType": "Runtime.Broken"}, {"errorMessage": "m"}, ["m"],
                    {"errorMessage": "m", "errorType": "Runtime.Other"}):
            self.assertEqual(self.error(rid, "Runtime.Broken", doc)[0], 400, doc)
        status, _, _ = self.request("POST", "/invocation/%s/error" % rid, "not json",
                                    {"Lambda-Runtime-Function-Error-Type": "Runtime.Broken"})
        self.assertEqual(status, 400)
        self.assertEqual(self.error(rid, "Runtime.Broken")[0], 202, "the invocation is still open")

    def test_init_error_is_accepted_before_the_first_invocation_only(self):
        self.start(events=(EVENT, EVENT))
        status, _, body = self.error(None, "Runtime.InvalidManifest")
        self.assertEqual((status, json.loads(body)), (202, {"status": "OK"}))
        self.next()
        self.assertEqual(self.error(None, "Runtime.InvalidManifest")[0], 403)
        entry = [e for e in self.log() if e["kind"] == "init_error"]
        self.assertEqual([(e["error_type"], e["error_message"]) for e in entry],
                         [("Runtime.InvalidManifest", "it broke")])

    def test_unknown_paths_get_404(self):
        self.start()
        self.assertEqual(self.request("GET", "/invocation/next/x")[0], 404)
        self.assertEqual(self.request("POST", "/invocation/next", "{}")[0], 404)

    # ---- the control interface -------------------------------------------------------

    def test_it_exits_when_every_event_is_answered_and_next_comes_again(self):
        self.start("--exit-when-done", "--repeat", "2")
        for _ in range(2):
            rid = self.next()[0]["lambda-runtime-aws-request-id"]
            self.request("POST", "/invocation/%s/response" % rid, "{}")
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionError)):
            self.request("GET", "/invocation/next")
        self.assertEqual(self.proc.wait(10), 0)
        kinds = [e["kind"] for e in self.log()]
        self.assertEqual(kinds, ["listening", "next", "response", "next", "response", "done"])

    def test_it_samples_the_rss_of_a_process_after_every_n_answers(self):
        pid_file = os.path.join(self.tmp.name, "pid")
        with open(pid_file, "w") as f:
            f.write("%d\n" % os.getpid())
        self.start("--exit-when-done", "--repeat", "4", "--rss-every", "2",
                   "--rss-pid-file", pid_file)
        for _ in range(4):
            rid = self.next()[0]["lambda-runtime-aws-request-id"]
            self.request("POST", "/invocation/%s/response" % rid, "{}")
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionError)):
            self.request("GET", "/invocation/next")
        rss = [e for e in self.log() if e["kind"] == "rss"]
        self.assertEqual([e["answered"] for e in rss], [2, 4])
        self.assertTrue(all(e["vm_rss_kb"] > 0 and e["pid"] == os.getpid() for e in rss))

    def test_sigterm_stops_it_while_next_waits(self):
        self.start()
        rid = self.next()[0]["lambda-runtime-aws-request-id"]
        self.request("POST", "/invocation/%s/response" % rid, "{}")
        self.conn.putrequest("GET", API + "/invocation/next")
        self.conn.endheaders()
        time.sleep(0.2)
        self.proc.terminate()
        self.assertEqual(self.proc.wait(10), 0)
        self.assertEqual(self.log()[-1]["kind"], "stopped")


if __name__ == "__main__":
    unittest.main()
