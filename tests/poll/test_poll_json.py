#!/usr/bin/env python3
"""test_poll_json.py - what `ddbhost poll` tells of its work, end to end against moto_server
(started by pollmoto.py): the --json lines on stdout account for every record
written, "metrics": true gives one Embedded Metric Format line per batch with its counts, and
stderr shows the progress view on a terminal only, with log lines whole around it. Skips,
saying why, where moto_server is not installed.

usage: test_poll_json.py DDBHOST PROBE_SO"""
import json
import os
import pty
import re
import signal
import subprocess
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pollmoto as base  # noqa: E402  (its helpers, and its main() that starts moto_server)

ERASE = re.compile(r"\x1b\[\d+A\r\x1b\[J")
TOKEN = re.compile(r"\x1b\[(\d+)A|\x1b\[J|\r\n|\r|\n|[^\x1b\r\n]+")


def screen(text):
    """The lines a terminal shows after text (enough of one for what poll writes: lines,
    carriage returns, cursor up, erase to the end of the screen), scrolled-off lines kept."""
    lines, row, col = [""], 0, 0
    for m in TOKEN.finditer(text):
        t = m.group(0)
        if m.group(1):
            row, col = max(0, row - int(m.group(1))), col
        elif t == "\x1b[J":
            lines[row] = lines[row][:col]
            del lines[row + 1:]
        elif t in ("\r\n", "\n"):
            row, col = row + 1, 0
            if row == len(lines):
                lines.append("")
        elif t == "\r":
            col = 0
        else:
            lines[row] = lines[row][:col] + t + lines[row][col + len(t):]
            col += len(t)
    return lines


class JsonPoll(base.Poll):
    """ddbhost poll --json, its stdout kept; the manifest says "metrics": true."""

    def write_manifest(self, plugin, config, stream=None):
        super().write_manifest(plugin, config, stream)
        with open(self.manifest) as f:
            m = json.load(f)
        m["metrics"] = True
        with open(self.manifest, "w") as f:
            json.dump(m, f)

    def start(self, extra=("--json",), stderr=None):
        self.stdout = os.path.join(self.dir, "stdout.jsonl")
        args = [base.HOST, "poll", "--manifest", self.manifest, "--endpoint", base.ENDPOINT,
                "--region", "us-east-1", "--state", self.state] + list(extra)
        env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test")
        env.pop("AWS_LAMBDA_FUNCTION_NAME", None)
        # stop() waits for the line poll logs once it runs; with stderr elsewhere (a
        # terminal) the caller waits for poll's output there instead.
        self.runs = self.stderr().count(self.running_line()) if stderr is None else -1
        with open(self.stdout, "a") as out, open(self.err, "a") as err:
            self.proc = subprocess.Popen(args, env=env, stdout=out,
                                         stderr=stderr if stderr is not None else err)

    def json_lines(self):
        with open(self.stdout) as f:
            text = f.read()
        # only whole lines: the last may still be being written
        return [json.loads(l) for l in text.split("\n")[:-1]]

    def events(self, kind):
        return [o for o in self.json_lines() if o["event"] == kind]

    def accounted(self):
        """Records done by batches plus records discarded: every record once."""
        return (sum(b["done"] for b in self.events("batch")) +
                sum(d["records"] for d in self.events("discard")))

    def emf_lines(self):
        return [json.loads(l) for l in self.stderr().splitlines() if l.startswith('{"_aws":')]


class PollJsonTest(unittest.TestCase):
    def test_json_lines_account_for_every_record_and_each_batch_has_one_emf_line(self):
        base.create_table("JsonLines")
        for i in range(23):
            base.put("JsonLines", "k%d" % (i % 4), n=i)
        seqs = base.stream_seqs("JsonLines")
        p = JsonPoll(self, "JsonLines", stream={"batch_size": 5})
        p.start()
        p.wait_for(lambda: p.accounted() >= len(seqs))
        self.assertEqual(p.stop(), 0)
        lines = p.json_lines()
        self.assertEqual(lines[0], {"event": "start", "manifest": p.manifest,
                                    "tables": ["JsonLines"]})
        self.assertEqual(lines[-1]["event"], "stop")
        self.assertEqual(lines[-1]["status"], 0)
        self.assertEqual(lines[-1]["done"], len(seqs))
        batches = p.events("batch")
        self.assertEqual(lines[-1]["batches"], len(batches))
        # The batches' ranges, in order, are the stream's records, each once.
        covered = []
        for b in batches:
            self.assertEqual((b["table"], b["failed"], b["discarded"]), ("JsonLines", 0, 0))
            first, last = seqs.index(b["first_sequence_number"]), seqs.index(b["last_sequence_number"])
            self.assertEqual(b["records"], last - first + 1)
            self.assertEqual(b["done"], b["records"])
            self.assertLessEqual(b["records"], 5)
            self.assertIsInstance(b["iterator_age_ms"], int)
            self.assertGreaterEqual(b["iterator_age_ms"], 0)
            self.assertGreaterEqual(b["duration_ms"], 0)
            covered += seqs[first:last + 1]
        self.assertEqual(covered, seqs)
        # One EMF line per batch, the batch's counts, Lambda's names and dimension.
        emf = p.emf_lines()
        self.assertEqual([e["Records"] for e in emf], [b["records"] for b in batches])
        self.assertEqual([e["Records.JsonLines"] for e in emf], [b["records"] for b in batches])
        for e in emf:
            directive = e["_aws"]["CloudWatchMetrics"][0]
            self.assertEqual(directive["Namespace"], "ddbhost")
            self.assertEqual(directive["Dimensions"], [["FunctionName"]])
            self.assertEqual(e["FunctionName"], "ddbhost")
            self.assertEqual(e["Failed"], 0)

    def test_a_discarded_record_is_counted_in_its_batch_and_in_a_discard_line(self):
        base.create_table("JsonDiscard")
        base.put("JsonDiscard", "a", n=1)
        base.put("JsonDiscard", "b", n=2, fail=True)
        base.put("JsonDiscard", "c", n=3)
        seqs = base.stream_seqs("JsonDiscard")
        p = JsonPoll(self, "JsonDiscard", stream={
            "batch_size": 10, "max_retries": 1, "bisect_on_error": True,
            "on_failure": "arn:aws:sqs:us-east-1:123456789012:dlq"})
        p.start()
        p.wait_for(lambda: p.accounted() >= len(seqs))
        self.assertEqual(p.stop(), 0)
        lines = p.json_lines()
        discards = p.events("discard")
        self.assertEqual(len(discards), 1)
        d = discards[0]
        self.assertEqual((d["condition"], d["records"], d["first_sequence_number"],
                          d["last_sequence_number"]),
                         ("RetryAttemptsExhausted", 1, seqs[1], seqs[1]))
        # The batch that exhausted the retries says so, on the line before.
        before = lines[lines.index(d) - 1]
        self.assertEqual((before["event"], before["discarded"], before["failed"]), ("batch", 1, 1))
        self.assertEqual(p.accounted(), len(seqs))
        self.assertEqual(lines[-1]["discarded"], 1)
        emf = p.emf_lines()
        self.assertEqual(len(emf), len(p.events("batch")))
        self.assertEqual([e["Failed"] for e in emf], [b["failed"] for b in p.events("batch")])

    def test_without_a_terminal_stderr_has_the_log_lines_and_no_view(self):
        base.create_table("JsonNoView")
        for i in range(4):
            base.put("JsonNoView", "k%d" % i, n=i)
        p = JsonPoll(self, "JsonNoView", stream={"batch_size": 2})
        p.start(extra=())
        p.wait_for(lambda: len(p.lines()) == 4)
        self.assertEqual(p.stop(), 0)
        err = p.stderr()
        self.assertIn("ddbhost: 2 records: 2 delivered", err)
        self.assertNotIn("poll up ", err)
        self.assertNotIn("\x1b[", err)

    def test_on_a_terminal_stderr_shows_the_view_and_log_lines_stay_whole(self):
        base.create_table("JsonView")
        for i in range(6):
            base.put("JsonView", "k%d" % i, n=i)
        p = JsonPoll(self, "JsonView", stream={"batch_size": 2}, config={"log": True})
        master, slave = pty.openpty()
        chunks = []

        def drain():
            while True:
                try:
                    data = os.read(master, 65536)
                except OSError:
                    return
                if not data:
                    return
                chunks.append(data)

        reader = threading.Thread(target=drain, daemon=True)
        reader.start()
        p.start(extra=(), stderr=slave)
        os.close(slave)
        text = lambda: b"".join(chunks).decode(errors="replace")
        p.wait_for(lambda: "3 batches: 6 done" in text())
        self.assertEqual(p.stop(signal.SIGINT), 0)
        reader.join()
        os.close(master)
        out = text()
        with open(p.stdout) as f:
            self.assertEqual(f.read(), "", "without --json, nothing on stdout")
        self.assertIn("TABLE ", out)
        self.assertRegex(out, r"JsonView +6 +0 +0 +\S+ +reading +\S+")
        self.assertTrue(ERASE.search(out), "the view is redrawn in place")
        # What the terminal shows at the end: every log line whole (the probe logs one per
        # record), none overwritten by a view, and the view once, last.
        shown = screen(out)
        logged = [l for l in shown if l.startswith("ddbhost: ") and "probe" in l]
        self.assertEqual(len(logged), 6, "\n".join(shown))
        self.assertEqual(len([l for l in shown if l.startswith("poll up ")]), 1, "\n".join(shown))
        self.assertEqual(shown[-5], "ddbhost: poll: stopped; checkpoints are written")
        self.assertTrue(shown[-4].startswith("poll up "), "\n".join(shown))
        self.assertEqual(shown[-1], "")


if __name__ == "__main__":
    sys.exit(base.main(sys.argv[1], sys.argv[2]))
