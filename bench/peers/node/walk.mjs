// walk.mjs - what the Node.js peers share: the walk over unmarshalled items, with the same
// coverage and the same value count as bench/plugins/walk/walk.c, and the timing loop of the
// peer contract (read the event once, parse it from the in-memory string every rep, print
// `median_ms=.. min_ms=.. records=.. values=..` on stdout).
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { NumberValueImpl as NumberValue } from '@aws-sdk/util-dynamodb';

// unmarshall hands B and BS over as the event's base64 text (the SDK client decodes binary
// on the wire; a Lambda event never passes through it), so after unmarshall a B is a string
// like any S. A handler knows which attributes of its table are binary and decodes those;
// these are the binary attributes of the Orders table that bench/eventgen writes.
const BINARY_ATTRIBUTES = new Set(['blob', 'chunks']);

export function newTotals() {
    return { records: 0, values: 0, sum: 0 };
}

function touchString(t, s) {
    let h = t.sum;
    for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
    t.sum = h;
}

function touchBytes(t, b) {
    let h = t.sum;
    for (let i = 0; i < b.length; i++) h = (Math.imul(h, 31) + b[i]) | 0;
    t.sum = h;
}

function walkValue(t, v) {
    t.values++;
    switch (typeof v) {
    case 'string': touchString(t, v); return;
    case 'number': t.sum = (Math.imul(t.sum, 31) + (v | 0)) | 0; return;
    case 'bigint': t.sum = (Math.imul(t.sum, 31) + Number(BigInt.asIntN(32, v))) | 0; return;
    case 'boolean': t.sum = (t.sum + (v ? 1 : 0)) | 0; return;
    default: break;
    }
    if (v === null) return;
    if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) walkValue(t, v[i]);
    } else if (v instanceof Set) {
        // A set element counts as a value, as in walk.c.
        for (const e of v) walkValue(t, e);
    } else if (v instanceof Uint8Array) {
        touchBytes(t, v);
    } else if (v instanceof NumberValue) {
        touchString(t, v.value);
    } else {
        for (const k in v) {
            touchString(t, k);
            walkValue(t, v[k]);
        }
    }
}

function walkBinary(t, v) {
    t.values++;
    if (typeof v === 'string') {
        touchBytes(t, Buffer.from(v, 'base64'));
    } else {
        for (const e of v) {
            t.values++;
            touchBytes(t, Buffer.from(e, 'base64'));
        }
    }
}

// One unmarshalled image (Keys, NewImage or OldImage): the map itself counts as a value.
export function walkItem(t, item) {
    t.values++;
    for (const k in item) {
        touchString(t, k);
        if (BINARY_ATTRIBUTES.has(k)) walkBinary(t, item[k]);
        else walkValue(t, item[k]);
    }
}

export function walkSequenceNumber(t, s) {
    t.records++;
    touchString(t, s);
}

function usage() {
    process.stderr.write(`usage: node ${process.argv[1]} EVENT_FILE REPS\n`);
    process.exit(2);
}

// Runs `rep(text)` REPS times; each call parses `text` and walks every record, and returns
// its totals. The event is kept as bytes and decoded to a string inside the timed part, as
// Lambda's Node.js runtime does with every invocation body it receives (and as the C and
// Python peers parse from bytes). Prints the contract's line; the checksum goes to stderr
// so that it is used.
export async function runPeer(name, rep) {
    const [file, repsText] = process.argv.slice(2);
    if (!file || !repsText || process.argv.length !== 4) usage();
    const reps = Number.parseInt(repsText, 10);
    if (!(reps > 0)) usage();
    const bytes = readFileSync(file);
    const times = [];
    let last = null;
    for (let i = 0; i < reps; i++) {
        const start = performance.now();
        const t = await rep(bytes.toString('utf8'));
        times.push(performance.now() - start);
        if (last && (t.values !== last.values || t.records !== last.records || t.sum !== last.sum)) {
            process.stderr.write(`${name}: error: rep ${i + 1} walked ${t.values} values, ` +
                                 `rep 1 walked ${last.values}: the walk is not deterministic\n`);
            process.exit(1);
        }
        last = t;
    }
    times.sort((a, b) => a - b);
    const mid = times.length >> 1;
    const median = times.length % 2 ? times[mid] : (times[mid - 1] + times[mid]) / 2;
    process.stdout.write(`median_ms=${median.toFixed(3)} min_ms=${times[0].toFixed(3)} ` +
                         `records=${last.records} values=${last.values}\n`);
    process.stderr.write(`${name}: ${last.records} records, ${last.values} values, ` +
                         `checksum ${(last.sum >>> 0).toString(16).padStart(8, '0')}\n`);
}
