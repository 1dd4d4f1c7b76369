"""postgres_sink.py - the postgres sink (plugins/postgres) as driver.py's Sink: its handler
object for a manifest, a throwaway PostgreSQL server to write to (the pgserver command of
tests/postgres), and a strict comparison of its tables, read with psql as JSON, with what the
changes leave: every row's key columns, item (plain JSON in jsonb, numbers compared as exact
decimals), seq, typed columns and the row count; in mirror mode the tombstones too, in log mode
one row per change. Expected values are computed here, in Python, apart from the plugin's C."""

import base64
import decimal
import glob
import json
import os
import shutil
import subprocess

import changes

# One projected column of each type the sink writes that every value of the attribute fits.
COLUMNS = {"title": "text", "amount": "numeric", "flag": "boolean", "blob": "bytea",
           "tags": "text[]", "scores": "numeric[]", "chunks": "bytea[]", "meta": "jsonb",
           "history": "jsonb", "data": "jsonb"}
LOG_COLUMNS = {"title": "text", "amount": "numeric", "chunks": "bytea[]", "data": "jsonb"}


class Skip(Exception):
    """No PostgreSQL to run: the test is skipped, saying why."""


class Server:
    """A PostgreSQL server of its own for the test: build/bin/pgserver, which stops and removes
    it when its standard input closes (close(), or this process dying)."""

    def __init__(self, build):
        tool = os.path.join(build, "bin", "pgserver")
        if not os.path.exists(tool):
            raise Skip("%s is not built (tests/postgres needs libpq-dev)" % tool)
        self.proc = subprocess.Popen([tool], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        line = self.proc.stdout.readline().decode().rstrip("\n")
        if line.startswith("skipped: "):
            self.proc.wait()
            raise Skip(line[len("skipped: "):])
        if not line:
            self.proc.wait()
            raise RuntimeError("pgserver did not start (exit status %d)" % self.proc.returncode)
        self.conninfo = line
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/psql"),
                       key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
        self.psql = found[-1] if found else shutil.which("psql")
        if not self.psql:
            self.close()
            raise Skip("no psql (Debian's postgresql-client)")

    def query(self, sql):
        """The single value sql returns, as text."""
        r = subprocess.run([self.psql, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                            "-d", self.conninfo, "-c", sql], capture_output=True)
        if r.returncode != 0:
            raise RuntimeError("psql: %s: %s" % (sql, r.stderr.decode("utf-8", "replace")))
        return r.stdout.decode("utf-8").rstrip("\n")

    def rows(self, columns, table):
        """The rows of table, columns (SQL expressions) each, as JSON arrays (numbers as exact
        decimals)."""
        text = self.query("SELECT coalesce(json_agg(json_build_array(%s)), '[]') FROM \"%s\""
                          % (columns, table))
        return json.loads(text, parse_float=decimal.Decimal)

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()


def plain(v):
    """A DynamoDB value as plain JSON would parse: numbers as decimals, B as base64 text."""
    (t, x), = v.items()
    if t == "N":
        return decimal.Decimal(x)
    if t == "NULL":
        return None
    if t == "M":
        return {k: plain(e) for k, e in x.items()}
    if t == "L":
        return [plain(e) for e in x]
    if t in ("SS", "NS", "BS"):
        return [plain({t[0]: e}) for e in x]
    return x  # S, B (its base64 text), BOOL


def item(image):
    return {k: plain(v) for k, v in image.items()} if image is not None else None


def column_value(image, name, ctype):
    """What column name of type ctype holds for image, as the query below reads it back."""
    v = (image or {}).get(name)
    if v is None or "NULL" in v:
        return None
    (t, x), = v.items()
    if ctype == "numeric":
        return decimal.Decimal(x)
    if ctype == "numeric[]":
        return [decimal.Decimal(e) for e in x]
    if ctype == "bytea":
        return base64.b64decode(x).hex()
    if ctype == "bytea[]":
        return [base64.b64decode(e).hex() for e in x]
    if ctype == "jsonb":
        return plain(v)
    return x  # text, text[], boolean


def read_back(name, ctype):
    """The SQL that reads column name back as column_value computes it (exact decimals as
    text, bytes as hex)."""
    col = '"%s"' % name
    if ctype in ("numeric", "numeric[]"):
        return "%s::text%s" % (col, "[]" if ctype.endswith("[]") else "")
    if ctype == "bytea":
        return "encode(%s, 'hex')" % col
    if ctype == "bytea[]":
        return "(SELECT array_agg(encode(e, 'hex') ORDER BY n) FROM unnest(%s) WITH ORDINALITY u(e, n))" % col
    return col


def decimals(v, ctype):
    """A value read back with numeric text made decimal."""
    if v is None:
        return None
    if ctype == "numeric":
        return decimal.Decimal(v)
    if ctype == "numeric[]":
        return [decimal.Decimal(e) for e in v]
    return v


def key(pk, sk):
    return (pk, decimal.Decimal(sk))


class PostgresSink:
    """plugins/postgres in mode "mirror" or "log", writing table changes.TABLE of server."""

    def __init__(self, plugin, server, mode="mirror"):
        self.plugin, self.server, self.mode = plugin, server, mode
        self.columns = COLUMNS if mode == "mirror" else LOG_COLUMNS
        self.table = changes.TABLE if mode == "mirror" else changes.TABLE + "_log"

    def handler(self):
        return {"plugin": self.plugin,
                "config": {"conninfo": self.server.conninfo, "table": self.table, "mode": self.mode,
                           "key": {"pk": "S", "sk": "N"}, "columns": self.columns}}

    def reset(self):
        self.server.query('DROP TABLE IF EXISTS "%s", "%s_tombstones"' % (self.table, self.table))

    def check(self, records, label):
        if self.mode == "mirror":
            self._check_mirror(records, label)
        else:
            self._check_log(records, label)

    def _columns(self):
        return ", ".join(read_back(c, t) for c, t in self.columns.items())

    def _typed(self, values):
        return tuple(decimals(v, t) for v, t in zip(values, self.columns.values()))

    @staticmethod
    def _compare(label, what, got, want):
        missing = [k for k in want if k not in got]
        extra = [k for k in got if k not in want]
        if missing or extra:
            raise AssertionError("%s: %s: %d rows, expected %d; missing %s; unexpected %s"
                                 % (label, what, len(got), len(want), missing[:3], extra[:3]))
        for k, row in want.items():
            if got[k] != row:
                diff = [(i, g, w) for i, (g, w) in enumerate(zip(got[k], row)) if g != w]
                raise AssertionError("%s: %s: row %s differs at (column, got, expected) %s"
                                     % (label, what, k, diff[:3]))

    def _check_mirror(self, records, label):
        want = {}
        for keys, image, seq in changes.final_state(records).values():
            want[key(keys["pk"]["S"], keys["sk"]["N"])] = (item(image), seq) + tuple(
                column_value(image, c, t) for c, t in self.columns.items())
        got = {}
        for row in self.server.rows("pk, sk::text, item, seq::text, " + self._columns(), self.table):
            k = key(row[0], row[1])
            if k in got:
                raise AssertionError("%s: key %r twice" % (label, k))
            got[k] = (row[2], row[3]) + self._typed(row[4:])
        self._compare(label, "mirror", got, want)
        tombs = {}
        for rec in changes.last_changes(records).values():
            if rec["eventName"] == "REMOVE":
                keys = rec["dynamodb"]["Keys"]
                tombs[key(keys["pk"]["S"], keys["sk"]["N"])] = (rec["dynamodb"]["SequenceNumber"],)
        got = {key(r[0], r[1]): (r[2],) for r in
               self.server.rows("pk, sk::text, seq::text", self.table + "_tombstones")}
        self._compare(label, "tombstones", got, tombs)

    def _check_log(self, records, label):
        want = {}
        for rec in records:
            ddb = rec["dynamodb"]
            new, old = ddb.get("NewImage"), ddb.get("OldImage")
            want[ddb["SequenceNumber"]] = (
                key(ddb["Keys"]["pk"]["S"], ddb["Keys"]["sk"]["N"]), rec["eventName"],
                "userIdentity" in rec, item(old), item(new), ddb["ApproximateCreationDateTime"]) + tuple(
                column_value(new or old, c, t) for c, t in self.columns.items())
        got = {}
        for row in self.server.rows("seq::text, pk, sk::text, event, ttl_delete, old, new, "
                                    "extract(epoch FROM at)::bigint, " + self._columns(), self.table):
            got[row[0]] = (key(row[1], row[2]),) + tuple(row[3:8]) + self._typed(row[8:])
        self._compare(label, "log", got, want)
