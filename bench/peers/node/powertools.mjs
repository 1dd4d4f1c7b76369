// powertools.mjs - peer: what a Powertools for AWS Lambda (TypeScript) user runs for a
// DynamoDB Streams batch: BatchProcessor(EventType.DynamoDBStreams) + processPartialResponse,
// with a record handler that unmarshalls Keys, NewImage and OldImage (@aws-sdk/util-dynamodb)
// and walks every value. Each rep parses the event with JSON.parse, as the Node.js runtime
// does, then builds the partial batch response. Usage: node powertools.mjs EVENT_FILE REPS
//
// The processor keeps its default, processing records concurrently (processInParallel).
// Numbers: unmarshall's default is kept. It gives a Number where one is exact enough and a
// BigInt for an integer beyond 2^53, so the event's 38-digit integers pass; it throws on a
// fraction beyond 2^53 (the record would then be reported failed) and rounds other long
// fractions silently. A table holding such numbers needs { wrapNumbers: true }.
// Binary: unmarshall leaves B as base64 text; the walk decodes the table's binary attributes
// with Buffer.from(text, 'base64'), as a handler would (see walk.mjs).
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { newTotals, runPeer, walkItem, walkSequenceNumber } from './walk.mjs';

const processor = new BatchProcessor(EventType.DynamoDBStreams);
let totals = newTotals();

const recordHandler = async (record) => {
    const d = record.dynamodb;
    walkSequenceNumber(totals, d.SequenceNumber);
    if (d.Keys) walkItem(totals, unmarshall(d.Keys));
    if (d.NewImage) walkItem(totals, unmarshall(d.NewImage));
    if (d.OldImage) walkItem(totals, unmarshall(d.OldImage));
};

// A failed record is a broken peer, not a result: stop with its first error.
function fail(count, error) {
    process.stderr.write(`powertools: error: ${count} records failed, the first with: ${error}\n`);
    process.exit(1);
}

await runPeer('powertools', async (text) => {
    totals = newTotals();
    const event = JSON.parse(text);
    let response;
    try {
        response = await processPartialResponse(event, recordHandler, processor);
    } catch (error) {
        // Every record failed: processPartialResponse throws a FullBatchFailureError.
        fail(event.Records.length, error.recordErrors?.[0] ?? error);
    }
    const failed = response.batchItemFailures.length;
    if (failed) fail(failed, processor.errors[0]);
    return totals;
});
