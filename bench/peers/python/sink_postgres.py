#!/usr/bin/env python3
"""sink_postgres.py - the PostgreSQL mirror a team writes today in a Python Lambda handler, for
the sinks benchmark: psycopg2 (Debian's python3-psycopg2), one transaction per batch, a
statement per record with the same sequence rule and tombstones as ddbhost's postgres sink
(the same SQL), the item as plain JSON in jsonb with every digit of its numbers, PostgreSQL's
default durability.

usage: sink_postgres.py CONNINFO TABLE EVENT_FILE...   creates TABLE and TABLE_tombstones as
the sink does (mirror mode, key pk S and sk N); prints: ms=<handler time, all events> records=<n>"""
import json
import sys
import time

import psycopg2
from psycopg2 import sql

APPLY = ('WITH cleared AS (DELETE FROM {tomb} WHERE pk = %(pk)s AND sk = %(sk)s::numeric '
         'AND seq < %(seq)s::numeric) '
         'INSERT INTO {table} AS t (pk, sk, item, seq) '
         'SELECT %(pk)s, %(sk)s::numeric, %(item)s::jsonb, %(seq)s::numeric '
         'WHERE NOT EXISTS (SELECT FROM {tomb} d WHERE d.pk = %(pk)s AND d.sk = %(sk)s::numeric '
         'AND d.seq > %(seq)s::numeric) '
         'ON CONFLICT (pk, sk) DO UPDATE SET item = excluded.item, seq = excluded.seq '
         'WHERE excluded.seq > t.seq')
REMOVE = ('WITH gone AS (DELETE FROM {table} WHERE pk = %(pk)s AND sk = %(sk)s::numeric '
          'AND seq < %(seq)s::numeric) '
          'INSERT INTO {tomb} AS d (pk, sk, seq, at) '
          'SELECT %(pk)s, %(sk)s::numeric, %(seq)s::numeric, now() '
          'WHERE NOT EXISTS (SELECT FROM {table} WHERE pk = %(pk)s AND sk = %(sk)s::numeric '
          'AND seq > %(seq)s::numeric) '
          'ON CONFLICT (pk, sk) DO UPDATE SET seq = excluded.seq, at = excluded.at '
          'WHERE excluded.seq > d.seq')


def plain(v):
    """A DynamoDB value as plain JSON text: N with its digits as they came, B as base64 text."""
    (t, x), = v.items()
    if t == "N":
        return x
    if t in ("S", "B", "SS", "BS"):
        return json.dumps(x, ensure_ascii=False)
    if t == "NS":
        return "[" + ",".join(x) + "]"
    if t == "BOOL":
        return "true" if x else "false"
    if t == "NULL":
        return "null"
    if t == "M":
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + plain(e)
                              for k, e in x.items()) + "}"
    return "[" + ",".join(plain(e) for e in x) + "]"  # L


def handler(conn, statements, event):
    """One invocation: every record in one transaction, a failed record reported."""
    apply, remove = statements
    failures = []
    with conn.cursor() as cur:
        for r in event["Records"]:
            d = r["dynamodb"]
            args = {"pk": d["Keys"]["pk"]["S"], "sk": d["Keys"]["sk"]["N"],
                    "seq": d["SequenceNumber"]}
            cur.execute("SAVEPOINT record")
            try:
                if r["eventName"] == "REMOVE":
                    cur.execute(remove, args)
                else:
                    args["item"] = "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + plain(v)
                                                  for k, v in d["NewImage"].items()) + "}"
                    cur.execute(apply, args)
                cur.execute("RELEASE SAVEPOINT record")
            except psycopg2.Error:
                cur.execute("ROLLBACK TO SAVEPOINT record")
                failures.append({"itemIdentifier": d["SequenceNumber"]})
    conn.commit()
    return {"batchItemFailures": failures}


def main():
    conninfo, table, files = sys.argv[1], sys.argv[2], sys.argv[3:]
    conn = psycopg2.connect(conninfo)
    names = {"table": sql.Identifier(table), "tomb": sql.Identifier(table + "_tombstones")}
    with conn.cursor() as cur:
        cur.execute(sql.SQL('CREATE TABLE IF NOT EXISTS {table} (pk text NOT NULL, sk numeric NOT '
                            'NULL, item jsonb, seq numeric NOT NULL, PRIMARY KEY (pk, sk))').format(**names))
        cur.execute(sql.SQL('CREATE TABLE IF NOT EXISTS {tomb} (pk text NOT NULL, sk numeric NOT '
                            'NULL, seq numeric NOT NULL, at timestamptz NOT NULL, PRIMARY KEY '
                            '(pk, sk))').format(**names))
    conn.commit()
    statements = (sql.SQL(APPLY).format(**names).as_string(conn),
                  sql.SQL(REMOVE).format(**names).as_string(conn))
    texts = []
    for path in files:
        with open(path, encoding="utf-8") as f:
            texts.append(f.read())
    records = 0
    t0 = time.perf_counter()
    for text in texts:
        event = json.loads(text)  # what the Python runtime does before calling the handler
        handler(conn, statements, event)
        records += len(event["Records"])
    print(f"ms={(time.perf_counter() - t0) * 1000:.3f} records={records}")
    conn.close()


if __name__ == "__main__":
    main()
