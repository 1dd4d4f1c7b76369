// sink_sqlite.mjs - the SQLite mirror a team writes today in a Node.js Lambda handler, for the
// sinks benchmark: the sqlite3 package (pinned in package.json), one transaction per batch,
// per-row statements with the same sequence rule and tombstones as ddbhost's sqlite sink (the
// SQL of peers/python/sink_sqlite.py), WAL and synchronous=NORMAL (the same durability).
//
// usage: node sink_sqlite.mjs DB EVENT_FILE...   prints: ms=<handler time, all events> records=<n>
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import sqlite3 from 'sqlite3';

const UPSERT = 'INSERT INTO "Items" ("pk", "sk", "item", "seq") SELECT ?, ?, ?, ? WHERE NOT EXISTS ' +
  '(SELECT 1 FROM "Items_tombstones" WHERE "seq" >= ? AND "pk" = ? AND "sk" = ?) ' +
  'ON CONFLICT ("pk", "sk") DO UPDATE SET "item" = excluded."item", "seq" = excluded."seq" ' +
  'WHERE excluded."seq" > "Items"."seq"';
const CLEAR_TOMB = 'DELETE FROM "Items_tombstones" WHERE "seq" < ? AND "pk" = ? AND "sk" = ?';
const REMOVE = 'DELETE FROM "Items" WHERE "seq" < ? AND "pk" = ? AND "sk" = ?';
const TOMB = 'INSERT INTO "Items_tombstones" ("pk", "sk", "seq", "removed_at") SELECT ?, ?, ?, ? ' +
  'WHERE NOT EXISTS (SELECT 1 FROM "Items" WHERE "pk" = ? AND "sk" = ?) ' +
  'ON CONFLICT ("pk", "sk") DO UPDATE SET "seq" = excluded."seq", ' +
  '"removed_at" = excluded."removed_at" WHERE excluded."seq" > "Items_tombstones"."seq"';

const exec = (db, sql) => new Promise((ok, fail) => db.exec(sql, (e) => (e ? fail(e) : ok())));
const run = (stmt, args) => new Promise((ok, fail) => stmt.run(args, (e) => (e ? fail(e) : ok())));

// One invocation: every record in one transaction, a failed record reported.
async function handler(db, stmts, event) {
  const failures = [];
  await exec(db, 'BEGIN');
  const now = Math.floor(Date.now() / 1000);
  for (const r of event.Records) {
    const d = r.dynamodb;
    const pk = d.Keys.pk.S, sk = d.Keys.sk.N;
    const seq = d.SequenceNumber.padStart(40, '0'); // 40 digits: text order is number order
    try {
      if (r.eventName === 'REMOVE') {
        await run(stmts.remove, [seq, pk, sk]);
        await run(stmts.tomb, [pk, sk, seq, now, pk, sk]);
      } else {
        await run(stmts.upsert, [pk, sk, JSON.stringify(d.NewImage), seq, seq, pk, sk]);
        await run(stmts.clearTomb, [seq, pk, sk]);
      }
    } catch (e) {
      failures.push({ itemIdentifier: d.SequenceNumber });
    }
  }
  await exec(db, 'COMMIT');
  return { batchItemFailures: failures };
}

const [path, ...files] = process.argv.slice(2);
const db = new sqlite3.Database(path);
await exec(db, 'PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; ' +
  'CREATE TABLE IF NOT EXISTS "Items" ("pk" TEXT NOT NULL, "sk" TEXT NOT NULL, "item" TEXT, ' +
  '"seq" TEXT NOT NULL, PRIMARY KEY ("pk", "sk")); ' +
  'CREATE TABLE IF NOT EXISTS "Items_tombstones" ("pk" TEXT NOT NULL, "sk" TEXT NOT NULL, ' +
  '"seq" TEXT NOT NULL, "removed_at" INTEGER NOT NULL, PRIMARY KEY ("pk", "sk"));');
const stmts = { upsert: db.prepare(UPSERT), clearTomb: db.prepare(CLEAR_TOMB),
  remove: db.prepare(REMOVE), tomb: db.prepare(TOMB) };
const texts = files.map((f) => readFileSync(f, 'utf8'));
let records = 0;
const t0 = performance.now();
for (const text of texts) {
  const event = JSON.parse(text); // what the Node.js runtime does before calling the handler
  await handler(db, stmts, event);
  records += event.Records.length;
}
console.log(`ms=${(performance.now() - t0).toFixed(3)} records=${records}`);
for (const s of Object.values(stmts)) s.finalize();
db.close();
