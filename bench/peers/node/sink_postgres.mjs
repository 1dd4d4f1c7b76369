// sink_postgres.mjs - the PostgreSQL mirror a team writes today in a Node.js Lambda handler,
// for the sinks benchmark: the pg client (pinned in package.json), one transaction per batch,
// a statement per record inside a savepoint with the same sequence rule and tombstones as
// ddbhost's postgres sink (the same SQL), the item as plain JSON in jsonb with every digit of
// its numbers, PostgreSQL's default durability.
//
// usage: node sink_postgres.mjs CONNINFO TABLE EVENT_FILE...   creates TABLE and
// TABLE_tombstones as the sink does (mirror mode, key pk S and sk N); prints:
// ms=<handler time, all events> records=<n>
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import pg from 'pg';

const ident = (name) => '"' + name.replaceAll('"', '""') + '"';

// A DynamoDB value as plain JSON text: N with its digits as they came, B as base64 text.
function plain(v) {
  const [t, x] = Object.entries(v)[0];
  switch (t) {
    case 'N': return x;
    case 'S': case 'B': case 'SS': case 'BS': return JSON.stringify(x);
    case 'NS': return '[' + x.join(',') + ']';
    case 'BOOL': return x ? 'true' : 'false';
    case 'NULL': return 'null';
    case 'M': return '{' + Object.entries(x).map(([k, e]) => JSON.stringify(k) + ':' + plain(e)).join(',') + '}';
    default: return '[' + x.map(plain).join(',') + ']'; // L
  }
}

// One invocation: every record in one transaction, a failed record reported.
async function handler(client, sql, event) {
  const failures = [];
  await client.query('BEGIN');
  for (const r of event.Records) {
    const d = r.dynamodb;
    const pk = d.Keys.pk.S, sk = d.Keys.sk.N, seq = d.SequenceNumber;
    await client.query('SAVEPOINT record');
    try {
      if (r.eventName === 'REMOVE') {
        await client.query({ name: 'remove', text: sql.remove, values: [pk, sk, seq] });
      } else {
        const item = '{' + Object.entries(d.NewImage).map(([k, v]) => JSON.stringify(k) + ':' + plain(v)).join(',') + '}';
        await client.query({ name: 'apply', text: sql.apply, values: [pk, sk, seq, item] });
      }
      await client.query('RELEASE SAVEPOINT record');
    } catch (e) {
      await client.query('ROLLBACK TO SAVEPOINT record');
      failures.push({ itemIdentifier: seq });
    }
  }
  await client.query('COMMIT');
  return { batchItemFailures: failures };
}

const [conninfo, table, ...files] = process.argv.slice(2);
const t = ident(table), tomb = ident(table + '_tombstones');
const sql = {
  apply: `WITH cleared AS (DELETE FROM ${tomb} WHERE pk = $1 AND sk = $2::numeric AND seq < $3::numeric) ` +
    `INSERT INTO ${t} AS t (pk, sk, item, seq) SELECT $1, $2::numeric, $4::jsonb, $3::numeric ` +
    `WHERE NOT EXISTS (SELECT FROM ${tomb} d WHERE d.pk = $1 AND d.sk = $2::numeric AND d.seq > $3::numeric) ` +
    'ON CONFLICT (pk, sk) DO UPDATE SET item = excluded.item, seq = excluded.seq WHERE excluded.seq > t.seq',
  remove: `WITH gone AS (DELETE FROM ${t} WHERE pk = $1 AND sk = $2::numeric AND seq < $3::numeric) ` +
    `INSERT INTO ${tomb} AS d (pk, sk, seq, at) SELECT $1, $2::numeric, $3::numeric, now() ` +
    `WHERE NOT EXISTS (SELECT FROM ${t} WHERE pk = $1 AND sk = $2::numeric AND seq > $3::numeric) ` +
    'ON CONFLICT (pk, sk) DO UPDATE SET seq = excluded.seq, at = excluded.at WHERE excluded.seq > d.seq',
};
// pg takes key=value strings only as URLs: the socket directory and the rest go as fields.
const fields = Object.fromEntries(conninfo.split(/\s+/).filter(Boolean).map((kv) => kv.split('=')));
const client = new pg.Client({ host: fields.host, port: Number(fields.port), user: fields.user,
  database: fields.dbname });
await client.connect();
await client.query(`CREATE TABLE IF NOT EXISTS ${t} (pk text NOT NULL, sk numeric NOT NULL, item jsonb, ` +
  'seq numeric NOT NULL, PRIMARY KEY (pk, sk))');
await client.query(`CREATE TABLE IF NOT EXISTS ${tomb} (pk text NOT NULL, sk numeric NOT NULL, ` +
  'seq numeric NOT NULL, at timestamptz NOT NULL, PRIMARY KEY (pk, sk))');
const texts = files.map((f) => readFileSync(f, 'utf8'));
let records = 0;
const t0 = performance.now();
for (const text of texts) {
  const event = JSON.parse(text); // what the Node.js runtime does before calling the handler
  await handler(client, sql, event);
  records += event.Records.length;
}
console.log(`ms=${(performance.now() - t0).toFixed(3)} records=${records}`);
await client.end();
