"""driver.py - delivers a History (changes.py) to a sink through the real ddbhost binary as
Lambda does: `ddbhost --manifest M --invoke EVENT` per batch, and on a partial batch response
the batch again from its lowest failed record, until none fails. The replay scenarios every
sink must pass live here too, written against a small Sink interface (below), so that each
sink's test only says how to configure the sink and how to read its store back.
Python standard library only; knows nothing of any particular sink."""

import json
import os
import random
import shlex
import signal
import subprocess
import time

import changes


class DeliveryError(Exception):
    pass


class Result:
    """One invocation: exit status (negative: killed by that signal), failed SequenceNumbers
    in the order the response lists them, and what the host printed."""

    def __init__(self, status, failures, stdout, stderr):
        self.status, self.failures, self.stdout, self.stderr = status, failures, stdout, stderr


class Host:
    """The ddbhost binary, run in work_dir. DDB_HOST_WRAPPER in the environment (as for the C
    tests, e.g. valgrind) runs the host under it."""

    def __init__(self, ddbhost, work_dir):
        self.ddbhost = ddbhost
        self.work_dir = work_dir
        self.wrapper = shlex.split(os.environ.get("DDB_HOST_WRAPPER", ""))
        self.invocations = 0
        self.records_sent = 0

    def write_manifest(self, name, handlers, on_failure="stop"):
        """Writes work_dir/NAME: a manifest routing table changes.TABLE to handlers (handler
        objects, in order); returns its path."""
        path = os.path.join(self.work_dir, name)
        with open(path, "w", encoding="utf-8") as f:
            json.dump({"tables": {changes.TABLE: handlers}, "on_failure": on_failure}, f)
        return path

    def _command(self, manifest, records):
        event = os.path.join(self.work_dir, "event.json")
        with open(event, "wb") as f:
            f.write(changes.event_text(records, ascii_only=self.invocations % 2 == 1))
        self.invocations += 1
        self.records_sent += len(records)
        return self.wrapper + [self.ddbhost, "--quiet", "--manifest", manifest, "--invoke", event]

    def start(self, manifest, records):
        """The host started on records, not waited for (a crash test kills it)."""
        return subprocess.Popen(self._command(manifest, records), cwd=self.work_dir,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    @staticmethod
    def result(proc, timeout=300):
        out, err = proc.communicate(timeout=timeout)
        out, err = out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
        failures = []
        if proc.returncode == 0:
            lines = out.rstrip("\n").split("\n")
            response = json.loads(lines[-1])
            failures = [f["itemIdentifier"] for f in response["batchItemFailures"]]
        return Result(proc.returncode, failures, out, err)

    def invoke(self, manifest, records):
        return self.result(self.start(manifest, records))

    def deliver(self, manifest, records, max_attempts=200):
        """Delivers records (one event) as Lambda does with ReportBatchItemFailures: again from
        the lowest failed record while any fails. manifest is a path, or a function of the
        attempt number (0, 1, ...) that returns one. Returns the number of attempts."""
        for attempt in range(max_attempts):
            m = manifest(attempt) if callable(manifest) else manifest
            r = self.invoke(m, records)
            if r.status != 0:
                raise DeliveryError("ddbhost exited with status %d on %d records\n%s%s"
                                    % (r.status, len(records), r.stdout, r.stderr))
            if not r.failures:
                return attempt + 1
            seqs = [rec["dynamodb"]["SequenceNumber"] for rec in records]
            unknown = [f for f in r.failures if f not in seqs]
            if unknown:
                raise DeliveryError("batchItemFailures names %s, not in the batch" % unknown)
            # Lambda takes the lowest SequenceNumber: records come in order, so the earliest.
            records = records[min(seqs.index(f) for f in r.failures):]
        raise DeliveryError("records still failing after %d attempts" % max_attempts)


class Sink:
    """What the scenarios need of a sink's test. handler(): the sink's handler object for a
    manifest ({"plugin": ..., "config": {...}}). reset(): an empty store. check(records,
    label): raises AssertionError, saying what differs and labelled, unless the store is
    exactly what records (the changes in effect, in order) leave; changes.final_state and
    changes.last_changes compute that."""

    def handler(self):
        raise NotImplementedError

    def reset(self):
        raise NotImplementedError

    def check(self, records, label):
        raise NotImplementedError


def flaky_handler(flaky_so, seed, per_mille):
    return {"plugin": flaky_so, "config": {"seed": seed, "fail_per_mille": per_mille}}


def say(text):
    print(text, flush=True)


# ---- the scenarios: each starts from an empty store and ends with check() -------------------

def in_order_then_again(host, sink, history, batch=100):
    """Every batch in order (the store checked after each), then every batch again: the
    second pass changes nothing."""
    sink.reset()
    m = host.write_manifest("in-order.json", [sink.handler()])
    batches = history.batches(batch)
    t = time.monotonic()
    for i, b in enumerate(batches):
        host.deliver(m, b)
        if i % 10 == 9 or i == len(batches) - 1:
            sink.check(history.records[:(i + 1) * batch], "in order, after batch %d" % i)
    rate = len(history.records) / (time.monotonic() - t)
    for b in batches:
        host.deliver(m, b)
    sink.check(history.records, "every batch delivered twice")
    say("in order, then again: %d batches twice, store exact (%.0f records/s the first time, "
        "checks included)" % (len(batches), rate))


def earlier_after_later(host, sink, history, seed, batch=100):
    """Batches in order, and after each, with some luck, a random earlier one again (Lambda
    replaying a batch it had already been answered for): the store is checked after every
    batch and must be what the changes so far leave."""
    rng = random.Random(seed)
    sink.reset()
    m = host.write_manifest("earlier.json", [sink.handler()])
    batches = history.batches(batch)
    replays = 0
    for i, b in enumerate(batches):
        host.deliver(m, b)
        if i and rng.random() < 0.4:
            host.deliver(m, batches[rng.randrange(i)])
            replays += 1
        sink.check(history.records[:(i + 1) * batch], "earlier batches replayed, after batch %d" % i)
    say("earlier after later: %d earlier batches replayed, store exact after every batch" % replays)


def with_failures(host, sink, history, flaky_so, seed, placement, on_failure, per_mille=10, batch=100):
    """Every batch with a flaky plugin before the sink, after it, or both, failing records at
    random (per_mille of them at each, a new draw each attempt), retried as Lambda retries:
    the store ends exact."""
    sink.reset()
    draws = [seed * 100000]

    def manifest(attempt):
        draws[0] += 1
        before = [flaky_handler(flaky_so, draws[0], per_mille)] if placement in ("before", "both") else []
        after = [flaky_handler(flaky_so, draws[0] + 7919, per_mille)] if placement in ("after", "both") else []
        return host.write_manifest("flaky.json", before + [sink.handler()] + after, on_failure)

    attempts = 0
    batches = history.batches(batch)
    for i, b in enumerate(batches):
        attempts += host.deliver(manifest, b)
        if i % 25 == 24:
            sink.check(history.records[:(i + 1) * batch], "flaky %s the sink, on_failure %s, after batch %d"
                       % (placement, on_failure, i))
    sink.check(history.records, "flaky %s the sink, on_failure %s" % (placement, on_failure))
    say("failures %s the sink, on_failure %s: %d invocations for %d batches, store exact"
        % ("before and after" if placement == "both" else placement, on_failure, attempts, len(batches)))


def run_all(host, sink, history, flaky_so, seed):
    """Every scenario above, in turn."""
    in_order_then_again(host, sink, history)
    earlier_after_later(host, sink, history, seed)
    for placement, on_failure in (("before", "stop"), ("after", "stop"), ("after", "continue"),
                                  ("both", "continue")):
        with_failures(host, sink, history, flaky_so, seed, placement, on_failure)


def kill(proc):
    """SIGKILL proc if it still runs, and reap it."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.communicate()
