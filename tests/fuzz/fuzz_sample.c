/* fuzz_sample.c - libFuzzer target for `ddbhost event`'s item reader (host/tools/sample.c): any
 * bytes as the --new / --old item, and as the --state of a tumbling-window event. It must refuse them with one line or write an event,
 * and every event it writes must be one the host's own decoder accepts, with the records
 * asked for. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "sample.h"

static void fuzz_check(bool ok, const char *what, const char *detail)
{
    if (ok) return;
    fprintf(stderr, "fuzz_sample: broken promise: %s\n%s\n", what, detail ? detail : "");
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static event_decoder *decoder;
    if (!decoder && !(decoder = event_decoder_new())) return 0;
    char *item = malloc(size + 1);
    if (!item) return 0;
    memcpy(item, data, size);
    item[size] = '\0';
    const ddb_event_name names[] = {DDB_INSERT, DDB_MODIFY, DDB_REMOVE};
    for (size_t i = 0; i < 3; i++) {
        sample_spec spec = {.event_name = names[i], .table = "Orders", .count = 2};
        if (names[i] != DDB_REMOVE) spec.new_item = item;
        if (names[i] != DDB_INSERT) spec.old_item = item;
        char err[512] = "";
        size_t len = 0;
        char *event = sample_event(&spec, &len, err, sizeof err);
        if (!event) {
            fuzz_check(err[0] != '\0' && !strchr(err, '\n'), "a refusal is one non-empty line", err);
            continue;
        }
        fuzz_check(len == strlen(event), "the event's length is its text's", NULL);
        char *copy = malloc(len + 1);
        if (!copy) {
            free(event);
            break;
        }
        memcpy(copy, event, len);
        event_batch batch;
        bool ok = event_decode(decoder, copy, len, &batch);
        fuzz_check(ok, "ddbhost accepts every event 'ddbhost event' writes", event_error(decoder));
        fuzz_check(batch.count == 2, "--count 2 writes two records", event);
        fuzz_check(batch.records[0].event_name == names[i], "the event name asked for", event);
        free(copy);
        free(event);
    }
    sample_spec spec = {.event_name = DDB_INSERT, .table = "Orders", .new_item = "{\"id\": \"o-1\"}", .count = 1,
                        .window = 60, .state = item};
    char err[512] = "";
    size_t len = 0;
    char *event = sample_event(&spec, &len, err, sizeof err);
    if (!event) {
        fuzz_check(err[0] != '\0' && !strchr(err, '\n'), "a refusal is one non-empty line", err);
    } else {
        event_batch batch;
        bool ok = event_decode(decoder, event, len, &batch);
        fuzz_check(ok, "ddbhost accepts every window event 'ddbhost event' writes", event_error(decoder));
        fuzz_check(batch.tumbling_window && batch.window.state_object, "--window writes a window with a state object",
                   event);
        fuzz_check(batch.window.end_ms - batch.window.start_ms == 60000, "--window 60 is 60 s long", event);
        free(event);
    }
    free(item);
    return 0;
}
