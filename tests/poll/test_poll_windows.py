#!/usr/bin/env python3
"""test_poll_windows.py - `ddbhost poll` with tumbling_window_s, against moto_server: each
batch carries its window and the state the last response returned, each window ends with a
final invoke whose state has counted every record of the window exactly once, also when poll
is killed with SIGKILL and started again, and per lane with parallelization_factor. The plugin
is window_sum (tests/cli/fixtures), which sums `amount` into its state. Skips, saying why,
where moto_server is not installed.

usage: test_poll_windows.py DDBHOST WINDOW_SUM_SO"""
import os
import random
import re
import signal
import sys
import threading
import time
import unittest

import pollmoto
from faultproxy import FaultProxy
from pollmoto import Poll, create_table, put, stream_records
from test_poll_lanes import lane_of

W = 2  # seconds
LINE = re.compile(r"window-sum begin (\d+) records: state (\{.*\}), window (\S+)\.\.(\S+) "
                  r"\((\d+)\.\.(\d+) ms\), shard (\S+), final (yes|no), early (yes|no)$")
END = re.compile(r"window-sum end: (\{.*\}) \(ok\)$")


def expected(table, lanes=None):
    """Per window start (s): the sum of amounts and the number of records the stream has (or,
    with lanes, the set of lanes its records go to)."""
    out = {}
    for r in stream_records(table):
        t = int(r["dynamodb"]["ApproximateCreationDateTime"])
        s = t - t % W
        if lanes:
            out.setdefault(s, set()).add(lane_of(r["dynamodb"]["Keys"]["pk"]["S"], lanes))
            continue
        total, n = out.get(s, (0, 0))
        out[s] = (total + int(r["dynamodb"]["NewImage"]["amount"]["N"]), n + 1)
    return out


def state_of(text):
    m = re.match(r'\{"sum":"(-?\d+)","records":"(\d+)"\}$', text)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def writer(table, count, pause):
    """Writes count items (amount 1..count, over a few keys) in a thread, pause s apart."""
    def run():
        for i in range(count):
            put(table, "k%d" % (i % 5), amount=i + 1)
            time.sleep(pause)
    t = threading.Thread(target=run)
    t.start()
    return t


class WindowsTest(unittest.TestCase):
    def poll(self, table, factor=1):
        p = Poll(self, table, plugin=WINDOW_SUM, config={}, stream={
            "tumbling_window_s": W, "batch_size": 4, "parallelization_factor": factor})
        return p

    def hooks(self, p):
        """The begin lines, as (records, state text, start ms, end ms, final), and for each the
        end line after it (its state text, or None when the host was killed before it)."""
        out, lines = [], p.raw_lines()
        for i, line in enumerate(lines):
            m = LINE.match(line)
            if not m:
                continue
            e = END.match(lines[i + 1]) if i + 1 < len(lines) else None
            out.append((int(m.group(1)), m.group(2), int(m.group(5)), int(m.group(6)),
                        m.group(8) == "yes", e.group(1) if e else None))
        return out

    def finals(self, p):
        """Per window start (s): the final states seen, as (sum, records)."""
        out = {}
        for n, state, start, end, final, _ in self.hooks(p):
            if final:
                self.assertEqual(n, 0, "a final invoke has no records")
                out.setdefault(start // 1000, []).append(state_of(state))
        return out

    def wait_for_finals(self, p, want):
        p.wait_for(lambda: set(self.finals(p)) >= set(want))

    def test_each_window_counts_each_record_once_and_ends_with_a_final_invoke(self):
        create_table("Windows")
        p = self.poll("Windows")
        p.start()
        writer("Windows", 24, 0.2).join()
        want = expected("Windows")
        self.assertGreaterEqual(len(want), 2, "the writes span windows")
        self.wait_for_finals(p, want)
        self.assertEqual(p.stop(), 0)
        finals = self.finals(p)
        for start, (total, n) in want.items():
            self.assertEqual(finals[start], [(total, n)], "window %d" % start)
        # Within a window, each batch starts from the state the batch before it ended with.
        last = {}
        for n, state, start, end, final, ended in self.hooks(p):
            self.assertEqual(end - start, W * 1000)
            self.assertEqual(start % (W * 1000), 0, "windows are aligned on the epoch")
            self.assertEqual(state, last.get(start, "{}"))
            last[start] = ended
            if final:
                last.pop(start)

    def test_sigkill_at_random_points_still_counts_each_record_once(self):
        seed = int(os.environ.get("POLL_KILL_SEED", random.randrange(1 << 32)))
        print("\nPOLL_KILL_SEED=%d" % seed, file=sys.stderr)
        rng = random.Random(seed)
        create_table("WindowsKilled")
        p = self.poll("WindowsKilled")
        p.start()
        t = writer("WindowsKilled", 40, 0.1)
        for _ in range(5):
            time.sleep(rng.random() * 0.8)
            self.assertEqual(p.stop(signal.SIGKILL), -signal.SIGKILL)
            p.start()
        t.join()
        want = expected("WindowsKilled")
        self.wait_for_finals(p, want)
        self.assertEqual(p.stop(), 0)
        finals = self.finals(p)
        for start, (total, n) in want.items():
            # A final invoke killed before its checkpoint is made again: the same state.
            self.assertEqual(set(finals[start]), {(total, n)}, "window %d" % start)

    def test_with_two_lanes_each_lane_keeps_its_own_window_state(self):
        create_table("WindowsLanes")
        p = self.poll("WindowsLanes", factor=2)
        p.start()
        writer("WindowsLanes", 24, 0.2).join()
        want = expected("WindowsLanes")
        lanes = expected("WindowsLanes", lanes=2)
        # a final invoke per window and lane that had records in it
        p.wait_for(lambda: all(len(self.finals(p).get(w, [])) >= len(lanes[w]) for w in lanes))
        self.assertEqual(p.stop(), 0)
        finals = self.finals(p)
        for start, (total, n) in want.items():
            self.assertEqual(sum(s for s, _ in finals[start]), total, "window %d" % start)
            self.assertEqual(sum(r for _, r in finals[start]), n, "window %d" % start)
            self.assertEqual(len(finals[start]), len(lanes[start]), "window %d" % start)
        self.assertTrue(any(len(f) == 2 for f in finals.values()), "two lanes, two states")

    def open_window_then_gone(self, table, restart):
        """Ten records (amounts 1 to 10) in a 900 s window (the longest) through faultproxy.py,
        then the proxy says the shard is gone (DynamoDB trims a shard 24 hours after it
        closes): with poll running, or (restart) once poll is stopped, before it starts again.
        The window must still end with a final invoke that counted every record once."""
        create_table(table)
        fp = FaultProxy(pollmoto.ENDPOINT)
        self.addCleanup(fp.close)
        p = Poll(self, table, plugin=WINDOW_SUM, config={},
                 stream={"tumbling_window_s": 900, "batch_size": 4})
        p.endpoint, p.json = fp.endpoint, True
        p.start()
        for i in range(10):
            put(table, "k%d" % (i % 5), amount=i + 1)
        p.wait_for(lambda: sum(h[0] for h in self.hooks(p)) >= 10)
        self.assertEqual(self.finals(p), {}, "the window is open")
        if restart:
            self.assertEqual(p.stop(), 0)  # the window open in the checkpoint
        fp.gone = True
        if restart:
            p.start()
        p.wait_for(lambda: p.events("shard_finished"))
        self.assertEqual(p.stop(), 0)
        finals = self.finals(p)
        # (Two windows only if the writes straddled a quarter hour; each ends once.)
        self.assertTrue(all(len(f) == 1 for f in finals.values()), finals)
        self.assertEqual((sum(f[0][0] for f in finals.values()),
                          sum(f[0][1] for f in finals.values())), (55, 10))
        self.assertEqual([e["gone"] for e in p.events("shard_finished")], [True])
        self.assertEqual([s["finished"] for s in p.checkpoint()["shards"].values()], [True])
        return p.stderr()

    def test_a_shard_gone_from_the_stream_still_ends_its_open_windows(self):
        err = self.open_window_then_gone("WindowsGone", restart=False)
        self.assertIn("is gone from the stream: DynamoDBStreams GetShardIterator: "
                      "ResourceNotFoundException", err)

    def test_a_shard_gone_while_poll_was_stopped_still_ends_the_window_of_its_checkpoint(self):
        # The stream lists the shard no more when poll starts again.
        err = self.open_window_then_gone("WindowsGoneStopped", restart=True)
        self.assertIn("of the checkpoint is gone from the stream", err)

if __name__ == "__main__":
    WINDOW_SUM = sys.argv[2]
    sys.exit(pollmoto.main(sys.argv[1], sys.argv[2]))
