// unmarshall.mjs - peer: plain JSON.parse + `unmarshall` from @aws-sdk/util-dynamodb, the
// smallest Node.js handler for a DynamoDB Streams batch, with no batch utility around it.
// Usage: node unmarshall.mjs EVENT_FILE REPS
//
// Numbers: unmarshall's default is kept. It gives a Number where one is exact enough and a
// BigInt for an integer beyond 2^53, so the event's 38-digit integers pass; it throws on a
// fraction beyond 2^53 and rounds other long fractions silently. A table holding such numbers
// needs { wrapNumbers: true } (every N then stays text in a NumberValue).
// Binary: unmarshall leaves B as base64 text; the walk decodes the table's binary attributes
// with Buffer.from(text, 'base64'), as a handler would (see walk.mjs).
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { newTotals, runPeer, walkItem, walkSequenceNumber } from './walk.mjs';

await runPeer('unmarshall', (text) => {
    const t = newTotals();
    const event = JSON.parse(text);
    for (const record of event.Records) {
        const d = record.dynamodb;
        walkSequenceNumber(t, d.SequenceNumber);
        if (d.Keys) walkItem(t, unmarshall(d.Keys));
        if (d.NewImage) walkItem(t, unmarshall(d.NewImage));
        if (d.OldImage) walkItem(t, unmarshall(d.OldImage));
    }
    return t;
});
