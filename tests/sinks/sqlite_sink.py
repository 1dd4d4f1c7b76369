"""sqlite_sink.py - the sqlite sink (plugins/sqlite) as driver.py's Sink: its handler object
for a manifest, and a strict comparison of its database, read with Python's sqlite3 module,
with what the changes leave: every row's key columns, item (exact DynamoDB JSON text), seq,
projected columns (typed values, exact JSON text) and the row count; in mirror mode the
tombstones too, in log mode one row per change. Expected values are computed here, in Python,
apart from the plugin's C."""

import base64
import datetime
import decimal
import json
import os
import sqlite3

import changes

# The projection the tests ask for: one column of each type the sink offers.
COLUMNS = {"title": "TEXT", "amount": "NUMERIC", "flag": "INTEGER", "blob": "BLOB",
           "meta": "JSON", "scores": "JSON", "data": "JSON"}
# A REAL column must take every N, whatever its type elsewhere: "amount" again, as REAL, is
# not possible (one column per attribute), so the log table projects it as REAL instead.
LOG_COLUMNS = {"title": "TEXT", "amount": "REAL", "flag": "NUMERIC", "chunks": "JSON"}


def seq40(seq):
    """A SequenceNumber as the sink's seq column holds it."""
    return seq.rjust(40, "0")


def item_text(image):
    """An image as the sink's exact DynamoDB JSON: members in event order, no spaces, UTF-8
    unescaped, the escapes JSON requires (control characters as \\u00xx)."""
    return json.dumps(image, ensure_ascii=False, separators=(",", ":"))


def plain_json(v):
    """A DynamoDB value as plain JSON text, as a JSON column holds it."""
    (t, x), = v.items()
    if t == "S":
        return json.dumps(x, ensure_ascii=False)
    if t == "N":
        return x
    if t == "B":
        return json.dumps(x)
    if t == "BOOL":
        return "true" if x else "false"
    if t == "NULL":
        return "null"
    if t == "M":
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + plain_json(e)
                              for k, e in x.items()) + "}"
    if t == "L":
        return "[" + ",".join(plain_json(e) for e in x) + "]"
    return "[" + ",".join(plain_json({t[0]: e}) for e in x) + "]"


def number(text, integers):
    """An N as NUMERIC (integers: an integer when it is one of 64 bits, else the nearest
    double) or REAL (the nearest double) holds it."""
    d = decimal.Decimal(text)
    if integers and d == d.to_integral_value() and -2**63 <= d < 2**63:
        return int(d)
    return float(text)


def column_value(image, name, ctype):
    """What column name of type ctype holds for image (None: NULL)."""
    v = (image or {}).get(name)
    if v is None or "NULL" in v:
        return None
    (t, x), = v.items()
    if ctype == "JSON":
        return plain_json(v)
    if ctype == "TEXT":
        return x
    if ctype == "BLOB":
        return base64.b64decode(x)
    if t == "BOOL":
        return int(x)
    return number(x, ctype != "REAL")


def at_text(seconds):
    """ApproximateCreationDateTime (whole seconds here) as the log's at column holds it."""
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.000Z")


class SqliteSink:
    """plugins/sqlite in mode "mirror" or "log", writing table changes.TABLE of db_path."""

    def __init__(self, plugin, db_path, mode="mirror"):
        self.plugin, self.db_path, self.mode = plugin, db_path, mode
        self.columns = COLUMNS if mode == "mirror" else LOG_COLUMNS

    def handler(self):
        return {"plugin": self.plugin,
                "config": {"db": self.db_path, "mode": self.mode, "columns": self.columns}}

    def reset(self):
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(self.db_path + suffix):
                os.unlink(self.db_path + suffix)

    def rows(self, sql):
        con = sqlite3.connect(self.db_path)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()

    def check(self, records, label):
        if self.mode == "mirror":
            self._check_mirror(records, label)
        else:
            self._check_log(records, label)

    def _compare(self, label, what, got, want):
        missing = [k for k in want if k not in got]
        extra = [k for k in got if k not in want]
        if missing or extra:
            raise AssertionError("%s: %s: %d rows, expected %d; missing %s; unexpected %s"
                                 % (label, what, len(got), len(want), missing[:3], extra[:3]))
        for k, row in want.items():
            if got[k] != row:
                diff = [(i, g, w) for i, (g, w) in enumerate(zip(got[k], row)) if g != w or type(g) != type(w)]
                raise AssertionError("%s: %s: row %s differs at (column, got, expected) %s"
                                     % (label, what, k, diff[:3]))
            if any(type(g) != type(w) for g, w in zip(got[k], row)):
                raise AssertionError("%s: %s: row %s has a value of another type: %r, expected %r"
                                     % (label, what, k, got[k], row))

    def _names(self):
        return ", ".join('"%s"' % c for c in self.columns)

    def _check_mirror(self, records, label):
        want = {}
        for keys, item, seq in changes.final_state(records).values():
            k = (keys["pk"]["S"], keys["sk"]["N"])
            want[k] = (item_text(item), seq40(seq)) + tuple(
                column_value(item, c, t) for c, t in self.columns.items())
        got = {}
        for row in self.rows('SELECT pk, sk, item, seq, %s FROM "%s"' % (self._names(), changes.TABLE)):
            if (row[0], row[1]) in got:
                raise AssertionError("%s: key %r twice" % (label, row[:2]))
            got[(row[0], row[1])] = tuple(row[2:])
        self._compare(label, "mirror", got, want)
        tombs = {}
        for rec in changes.last_changes(records).values():
            if rec["eventName"] == "REMOVE":
                keys = rec["dynamodb"]["Keys"]
                tombs[(keys["pk"]["S"], keys["sk"]["N"])] = (seq40(rec["dynamodb"]["SequenceNumber"]),)
        got = {(r[0], r[1]): (r[2],) for r in
               self.rows('SELECT pk, sk, seq FROM "%s_tombstones"' % changes.TABLE)}
        self._compare(label, "tombstones", got, tombs)

    def _check_log(self, records, label):
        want = {}
        for rec in records:
            ddb = rec["dynamodb"]
            new, old = ddb.get("NewImage"), ddb.get("OldImage")
            want[seq40(ddb["SequenceNumber"])] = (
                ddb["Keys"]["pk"]["S"], ddb["Keys"]["sk"]["N"], rec["eventName"],
                int("userIdentity" in rec), item_text(old) if old else None,
                item_text(new) if new else None, at_text(ddb["ApproximateCreationDateTime"])) + tuple(
                column_value(new or old, c, t) for c, t in self.columns.items())
        got = {}
        for row in self.rows('SELECT seq, pk, sk, event, ttl_delete, old, new, at, %s FROM "%s"'
                             % (self._names(), changes.TABLE)):
            got[row[0]] = tuple(row[1:])
        self._compare(label, "log", got, want)
