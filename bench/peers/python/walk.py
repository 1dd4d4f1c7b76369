#!/usr/bin/env python3
"""walk.py - peer: a Python handler with the standard library only. json.loads the event from
its bytes, then a typed walk over the DynamoDB JSON of every record's Keys, NewImage and
OldImage, with the coverage and the value count of bench/plugins/walk/walk.c.

Per type, what a careful handler does: S is touched whole (zlib.crc32 of its UTF-8 bytes); N
becomes a decimal.Decimal, which keeps all 38 digits (a float would round them); B and BS
elements are base64-decoded; M, L and sets are walked. A map counts 1 value, plus 1 per
attribute value and per set element inside it, as in walk.c.

Usage: python3 walk.py EVENT_FILE REPS
Prints: median_ms=.. min_ms=.. records=.. values=..
"""
import base64
import json
import statistics
import sys
import time
import zlib
from decimal import Decimal


class Totals:
    __slots__ = ("records", "values", "crc", "mix")

    def __init__(self):
        self.records = 0
        self.values = 0
        self.crc = 0  # zlib.crc32 over every string and decoded binary
        self.mix = 0  # every Decimal's exponent and every BOOL


def walk_members(t, m):
    for name, value in m.items():
        t.crc = zlib.crc32(name.encode(), t.crc)
        walk_value(t, value)


def walk_value(t, av):
    t.values += 1
    for kind, v in av.items():
        if kind == "S":
            t.crc = zlib.crc32(v.encode(), t.crc)
        elif kind == "N":
            t.mix += Decimal(v).adjusted()
        elif kind == "B":
            t.crc = zlib.crc32(base64.b64decode(v), t.crc)
        elif kind == "M":
            walk_members(t, v)
        elif kind == "L":
            for e in v:
                walk_value(t, e)
        elif kind == "SS":
            t.values += len(v)
            for e in v:
                t.crc = zlib.crc32(e.encode(), t.crc)
        elif kind == "NS":
            t.values += len(v)
            for e in v:
                t.mix += Decimal(e).adjusted()
        elif kind == "BS":
            t.values += len(v)
            for e in v:
                t.crc = zlib.crc32(base64.b64decode(e), t.crc)
        elif kind == "BOOL":
            t.mix += v is True
        elif kind != "NULL":
            raise ValueError(f"unknown attribute type {kind!r}")


def rep(data):
    t = Totals()
    event = json.loads(data)
    for record in event["Records"]:
        d = record["dynamodb"]
        t.records += 1
        t.crc = zlib.crc32(d["SequenceNumber"].encode(), t.crc)
        for image in ("Keys", "NewImage", "OldImage"):
            if image in d:
                t.values += 1  # the image map itself, as in walk.c
                walk_members(t, d[image])
    return t


def main(argv):
    if len(argv) != 3 or not argv[2].isdigit() or int(argv[2]) < 1:
        sys.stderr.write(f"usage: python3 {argv[0]} EVENT_FILE REPS\n")
        return 2
    with open(argv[1], "rb") as f:
        data = f.read()
    times = []
    first = None
    for i in range(int(argv[2])):
        start = time.perf_counter_ns()
        t = rep(data)
        times.append((time.perf_counter_ns() - start) / 1e6)
        now = (t.records, t.values, t.crc, t.mix)
        if first is not None and now != first:
            sys.stderr.write(f"walk.py: error: rep {i + 1} walked {t.values} values, rep 1 walked "
                             f"{first[1]}: the walk is not deterministic\n")
            return 1
        first = now
    print(f"median_ms={statistics.median(times):.3f} min_ms={min(times):.3f} "
          f"records={t.records} values={t.values}")
    sys.stderr.write(f"walk.py: {t.records} records, {t.values} values, checksum {t.crc:08x}\n")
    return 0

if __name__ == "__main__":
    sys.exit(main(sys.argv))
