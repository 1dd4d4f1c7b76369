#!/usr/bin/env python3
"""sink_sqlite.py - the SQLite mirror a team writes today in a Python Lambda handler, for the
sinks benchmark: the standard library's sqlite3, one transaction per batch, per-row
statements with the same sequence rule and tombstones as ddbhost's sqlite sink, WAL and
synchronous=NORMAL (the same durability).

usage: sink_sqlite.py DB EVENT_FILE...   prints: ms=<handler time, all events> records=<n>"""
import json
import sqlite3
import sys
import time

UPSERT = ('INSERT INTO "Items" ("pk", "sk", "item", "seq") SELECT ?, ?, ?, ? WHERE NOT EXISTS '
          '(SELECT 1 FROM "Items_tombstones" WHERE "seq" >= ? AND "pk" = ? AND "sk" = ?) '
          'ON CONFLICT ("pk", "sk") DO UPDATE SET "item" = excluded."item", "seq" = excluded."seq" '
          'WHERE excluded."seq" > "Items"."seq"')
CLEAR_TOMB = 'DELETE FROM "Items_tombstones" WHERE "seq" < ? AND "pk" = ? AND "sk" = ?'
REMOVE = 'DELETE FROM "Items" WHERE "seq" < ? AND "pk" = ? AND "sk" = ?'
TOMB = ('INSERT INTO "Items_tombstones" ("pk", "sk", "seq", "removed_at") SELECT ?, ?, ?, ? '
        'WHERE NOT EXISTS (SELECT 1 FROM "Items" WHERE "pk" = ? AND "sk" = ?) '
        'ON CONFLICT ("pk", "sk") DO UPDATE SET "seq" = excluded."seq", '
        '"removed_at" = excluded."removed_at" WHERE excluded."seq" > "Items_tombstones"."seq"')


def handler(conn, event):
    """One invocation: every record in one transaction, a failed record reported."""
    failures = []
    conn.execute("BEGIN")
    now = int(time.time())
    for r in event["Records"]:
        d = r["dynamodb"]
        pk, sk = d["Keys"]["pk"]["S"], d["Keys"]["sk"]["N"]
        seq = d["SequenceNumber"].rjust(40, "0")  # 40 digits: text order is number order
        try:
            if r["eventName"] == "REMOVE":
                conn.execute(REMOVE, (seq, pk, sk))
                conn.execute(TOMB, (pk, sk, seq, now, pk, sk))
            else:
                item = json.dumps(d["NewImage"], separators=(",", ":"), ensure_ascii=False)
                conn.execute(UPSERT, (pk, sk, item, seq, seq, pk, sk))
                conn.execute(CLEAR_TOMB, (seq, pk, sk))
        except sqlite3.Error:
            failures.append({"itemIdentifier": d["SequenceNumber"]})
    conn.execute("COMMIT")
    return {"batchItemFailures": failures}


def main():
    conn = sqlite3.connect(sys.argv[1], isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute('CREATE TABLE IF NOT EXISTS "Items" ("pk" TEXT NOT NULL, "sk" TEXT NOT NULL, '
                 '"item" TEXT, "seq" TEXT NOT NULL, PRIMARY KEY ("pk", "sk"))')
    conn.execute('CREATE TABLE IF NOT EXISTS "Items_tombstones" ("pk" TEXT NOT NULL, "sk" TEXT NOT '
                 'NULL, "seq" TEXT NOT NULL, "removed_at" INTEGER NOT NULL, PRIMARY KEY ("pk", "sk"))')
    texts = []
    for path in sys.argv[2:]:
        with open(path, encoding="utf-8") as f:
            texts.append(f.read())
    records = 0
    t0 = time.perf_counter()
    for text in texts:
        event = json.loads(text)  # what the Python runtime does before calling the handler
        handler(conn, event)
        records += len(event["Records"])
    print(f"ms={(time.perf_counter() - t0) * 1000:.3f} records={records}")


if __name__ == "__main__":
    main()
