#!/usr/bin/env python3
"""changes.py - a table's history for the sink tests: a seeded run of INSERT, MODIFY and REMOVE
changes over a fixed set of keys, with every DynamoDB type in the items, as the Lambda events a
DynamoDB stream delivers (real-shaped records, SequenceNumber increasing across a change of
digit count), and the final item state computed from the changes alone, apart from the sinks.
Python standard library only. Shared by every sink's tests; knows nothing of any sink.

As a command: changes.py OUT_DIR [--seed N] [--changes N] [--keys N] [--batch N] writes
OUT_DIR/batch-0000.json ... and OUT_DIR/expected.json (the final items, in DynamoDB JSON)."""

import argparse
import base64
import json
import os
import random

TABLE = "Items"
REGION = "eu-west-1"
ACCOUNT = "123456789012"
STREAM_LABEL = "2024-05-01T12:00:00.000"
# 39 digits, 7,500 below 10**39: the run crosses into 40 digits about halfway, where a text
# comparison of unpadded sequence numbers would put every later change before the earlier ones.
SEQ_START = 10**39 - 7500
FIRST_TIME = 1714566000  # ApproximateCreationDateTime of the first change, in seconds

# Attributes whose type never changes, so that a sink can project them into typed columns;
# "data" holds a value of any type, nested. The keys are "pk" (S) and "sk" (N).
FIXED = {"title": "S", "amount": "N", "blob": "B", "flag": "BOOL", "gone": "NULL",
         "tags": "SS", "scores": "NS", "chunks": "BS", "meta": "M", "history": "L"}

STRINGS = ["", "a", "plain text", "Zürich", "東京", "emoji \U0001F642 and \U0001D11E",
           "quote \" and backslash \\", "new\nline\ttab\rcr", "ctrl \x01\x1f\x7f",
           "slash / and <tag>", "\u2028 line separator", "x" * 300, "ünïcödé " * 20]
NUMBERS = ["0", "1", "-1", "42", "3.14", "-273.15", "0.000001", "1000000",
           "12345678901234567890123456789012345678",
           "-12345678901234567890123456789012345678",
           "0.12345678901234567890123456789012345678",
           "1E-130", "-1E-130", "9.9999999999999999999999999999999999999E+125",
           "-9.9999999999999999999999999999999999999E+125", "1.5E+3", "2.5E-7",
           "9223372036854775807", "9223372036854775808", "-9223372036854775808", "19.99", "0.1"]


def replay_size():
    """The replay tests' history size, as History's keyword arguments: 10,000 changes over 500
    keys, or DDB_SINK_CHANGES changes over keys in the same proportion (the sanitized builds
    ask for 2,000: the same scenarios and code paths in a fifth of the time; the Release build
    replays all 10,000)."""
    n = int(os.environ.get("DDB_SINK_CHANGES", "10000"))
    return {"changes": n, "keys": max(1, n // 20)}


class History:
    """The changes of one seeded run: records (dicts as the event carries them), in order."""

    def __init__(self, seed=1, changes=10000, keys=500, table=TABLE):
        self.rng = random.Random(seed)
        self.table = table
        self.keys = []
        while len(self.keys) < keys:
            k = self._key(len(self.keys))
            if k not in self.keys:
                self.keys.append(k)
        self.records = []
        live = {}
        seq = SEQ_START
        for n in range(changes):
            k = self.rng.randrange(keys)
            seq += self.rng.randint(1, 2)
            at = FIRST_TIME + n // 7
            old = live.get(k)
            if old is None:
                new = self._item(k)
                rec = self._record("INSERT", k, seq, at, new, None)
                live[k] = new
            elif self.rng.random() < 0.2:
                rec = self._record("REMOVE", k, seq, at, None, old, ttl=self.rng.random() < 0.3)
                del live[k]
            else:
                new = self._item(k)
                rec = self._record("MODIFY", k, seq, at, new, old)
                live[k] = new
            self.records.append(rec)

    def _key(self, i):
        pk = self.rng.choice(["user#", "ключ-", "κ\"q\\", "tab\t", "東-", "\U0001F642-"]) + str(i // 2)
        sk = self.rng.choice(["0", "1", "-7", "3.5", "12345678901234567890123456789012345678",
                              "1E-130", "9.99E+125"]) if i % 2 else str(i)
        return {"pk": {"S": pk}, "sk": {"N": sk}}

    def _scalar(self, t):
        r = self.rng
        if t == "S":
            return r.choice(STRINGS)
        if t == "N":
            return r.choice(NUMBERS)
        return base64.b64encode(bytes(r.randrange(256) for _ in range(r.randrange(0, 40)))).decode()

    def _value(self, t, depth):
        r = self.rng
        if t in ("S", "N", "B"):
            return {t: self._scalar(t)}
        if t == "BOOL":
            return {"BOOL": r.random() < 0.5}
        if t == "NULL":
            return {"NULL": True}
        if t in ("SS", "NS", "BS"):
            elems = []
            for _ in range(r.randint(1, 5)):
                e = self._scalar(t[0])
                if t == "BS" and e == "":
                    e = "AA=="
                if e not in elems:
                    elems.append(e)
            return {t: elems}
        if t == "M":
            return {"M": {name: self._any(depth + 1) for name in
                          r.sample(["a", "b", "c", "nested", "é", "with space", ""], r.randint(0, 4))}}
        return {"L": [self._any(depth + 1) for _ in range(r.randint(0, 4))]}

    def _any(self, depth):
        types = ["S", "N", "B", "BOOL", "NULL", "SS", "NS", "BS"]
        if depth < 3:
            types += ["M", "L"]
        return self._value(self.rng.choice(types), depth)

    def _item(self, k):
        item = dict(self.keys[k])
        for name in self.rng.sample(sorted(FIXED), self.rng.randint(0, len(FIXED))):
            item[name] = self._value(FIXED[name], 1)
        if self.rng.random() < 0.7:
            item["data"] = self._any(1)
        return item

    def _record(self, event, k, seq, at, new, old, ttl=False):
        ddb = {"ApproximateCreationDateTime": at, "Keys": self.keys[k]}
        if new is not None:
            ddb["NewImage"] = new
        if old is not None:
            ddb["OldImage"] = old
        ddb["SequenceNumber"] = str(seq)
        ddb["SizeBytes"] = len(json.dumps(new or old))
        ddb["StreamViewType"] = "NEW_AND_OLD_IMAGES"
        rec = {"eventID": "%032x" % self.rng.getrandbits(128), "eventName": event,
               "eventVersion": "1.1", "eventSource": "aws:dynamodb", "awsRegion": REGION,
               "dynamodb": ddb,
               "eventSourceARN": "arn:aws:dynamodb:%s:%s:table/%s/stream/%s"
                                 % (REGION, ACCOUNT, self.table, STREAM_LABEL)}
        if ttl:
            rec["userIdentity"] = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
        return rec

    def batches(self, size=100):
        """The records cut into Lambda events of size records each, in order."""
        return [self.records[i:i + size] for i in range(0, len(self.records), size)]


def key_of(rec):
    """A record's key as a hashable value: its Keys as canonical JSON text."""
    return json.dumps(rec["dynamodb"]["Keys"], sort_keys=True, ensure_ascii=False)


def final_state(records):
    """What the table holds after records, computed from the changes alone: key (key_of) to
    (Keys, item, SequenceNumber of the last change) for every live item."""
    state = {}
    for rec in records:
        ddb = rec["dynamodb"]
        if rec["eventName"] == "REMOVE":
            state.pop(key_of(rec), None)
        else:
            state[key_of(rec)] = (ddb["Keys"], ddb["NewImage"], ddb["SequenceNumber"])
    return state


def last_changes(records):
    """key (key_of) to the last record of that key among records."""
    last = {}
    for rec in records:
        last[key_of(rec)] = rec
    return last


def event_text(records, ascii_only=False):
    """A Lambda event of records as its bytes (UTF-8): raw non-ASCII text, or, with ascii_only,
    every non-ASCII character as a \\u escape (surrogate pairs beyond the BMP), as some writers
    do; the decoder must read both the same."""
    return json.dumps({"Records": records}, ensure_ascii=ascii_only, indent=1).encode("utf-8")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out_dir")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--changes", type=int, default=10000)
    p.add_argument("--keys", type=int, default=500)
    p.add_argument("--batch", type=int, default=100)
    a = p.parse_args()
    h = History(a.seed, a.changes, a.keys)
    os.makedirs(a.out_dir, exist_ok=True)
    for i, batch in enumerate(h.batches(a.batch)):
        with open(os.path.join(a.out_dir, "batch-%04d.json" % i), "wb") as f:
            f.write(event_text(batch, ascii_only=i % 2 == 1))
    expected = [{"Keys": keys, "Item": item, "SequenceNumber": seq}
                for keys, item, seq in final_state(h.records).values()]
    with open(os.path.join(a.out_dir, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(expected, f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
