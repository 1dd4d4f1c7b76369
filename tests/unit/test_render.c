/* test_render.c - values as JSON text, as a sink or a json binding argument receives them:
 * every image of the conformance corpus rendered as DynamoDB JSON is the image the event
 * carried, and each type has its plain JSON form, exact. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <json-c/json.h>
#include <string.h>

#include "event_fixture.h"
#include "render.h"

#define ALL_TYPES "{\"s\":{\"S\":\"caf\\u00e9" ALL_TYPES_AFTER_E
#define ALL_TYPES_AFTER_E                                                                      \
    " \\\"q\\\" \\n\\u0001\"},\"n\":{\"N\":\"-12.50E+3\"},"                                  \
    "\"big\":{\"N\":\"12345678901234567890123456789012345678\"},"                            \
    "\"b\":{\"B\":\"AAEC/w==\"},\"b1\":{\"B\":\"QQ==\"},\"b2\":{\"B\":\"QUI=\"},"            \
    "\"b0\":{\"B\":\"\"},\"t\":{\"BOOL\":true},\"f\":{\"BOOL\":false},\"z\":{\"NULL\":true}," \
    "\"m\":{\"M\":{\"in\":{\"L\":[{\"N\":\"1\"},{\"S\":\"x\"},{\"M\":{}}]}}},"               \
    "\"ss\":{\"SS\":[\"a\",\"b\"]},\"ns\":{\"NS\":[\"1\",\"0.5\"]},\"bs\":{\"BS\":[\"QQ==\"]}}"

static char *format(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = fixture_vformat(fmt, ap);
    va_end(ap);
    return s;
}

static const ddb_record *decode_one(fixture *f, const char *image)
{
    char *text = format(EVENT("{\"eventName\":\"INSERT\",\"eventSource\":\"aws:dynamodb\",\"eventSourceARN\":\"" ORDERS_ARN
                                      "\",\"dynamodb\":{\"Keys\":{\"id\":{\"S\":\"1\"}},"
                                      "\"NewImage\":%s,\"SequenceNumber\":\"1\"}}"),
                                image);
    if (!fixture_decode(f, text, strlen(text), 'x')) fail_msg("%s", event_error(f->d));
    free(text);
    assert_int_equal(f->batch.count, 1);
    return &f->batch.records[0];
}

static void test_an_item_of_every_type_renders_as_the_dynamodb_json_it_came_from(void **state)
{
    const ddb_record *r = decode_one(*state, ALL_TYPES);
    render_buf b = {0};
    assert_true(render_item(&b, r->new_image));
    /* the same text, but for the one escape that needed none: \u00e9 is written as itself */
    static const char want[] = "{\"s\":{\"S\":\"caf\xc3\xa9" ALL_TYPES_AFTER_E;
    assert_string_equal(b.text, want);
    assert_int_equal(b.len, sizeof want - 1);
    render_free(&b);
}

static void test_plain_json_keeps_every_digit_and_spells_binary_in_base64(void **state)
{
    const ddb_record *r = decode_one(*state, ALL_TYPES);
    render_buf b = {0};
    assert_true(render_plain(&b, r->new_image));
    assert_string_equal(b.text,
                        "{\"s\":\"caf\xc3\xa9 \\\"q\\\" \\n\\u0001\",\"n\":-12.50E+3,"
                        "\"big\":12345678901234567890123456789012345678,\"b\":\"AAEC/w==\","
                        "\"b1\":\"QQ==\",\"b2\":\"QUI=\",\"b0\":\"\",\"t\":true,\"f\":false,"
                        "\"z\":null,\"m\":{\"in\":[1,\"x\",{}]},\"ss\":[\"a\",\"b\"],"
                        "\"ns\":[1,0.5],\"bs\":[\"QQ==\"]}");
    /* and it is JSON */
    json_object *o = json_tokener_parse(b.text);
    assert_non_null(o);
    json_object_put(o);
    render_free(&b);
}

static void test_numbers_json_would_refuse_are_respelled_not_rounded(void **state)
{
    (void)state;
    static const char *const cases[][2] = {{"+5", "5"},      {".5", "0.5"},     {"5.", "5"},
                                           {"007", "7"},     {"-0.50", "-0.50"}, {"1E+2", "1E+2"},
                                           {"-.5e-3", "-0.5e-3"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        render_buf b = {0};
        assert_true(render_number(&b, cases[i][0], strlen(cases[i][0])));
        assert_string_equal(b.text, cases[i][1]);
        render_free(&b);
    }
}

/* Keys, NewImage and OldImage of every record of the corpus, rendered, equal the event's. */
static void test_every_image_of_the_corpus_renders_as_the_event_carried_it(void **state)
{
    fixture *f = *state;
    size_t images = 0;
    DIR *d = opendir(DDB_SOURCE_DIR "/tests/conformance/corpus/events");
    assert_non_null(d);
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        size_t n = strlen(e->d_name), len = 0;
        if (n < 5 || strcmp(e->d_name + n - 5, ".json") != 0) continue;
        char name[600];
        snprintf(name, sizeof name, "events/%s", e->d_name);
        char *text = fixture_corpus(name, &len);
        char *copy = strndup(text, len); /* json-c reads up to a NUL */
        assert_non_null(copy);
        json_object *doc = json_tokener_parse(copy), *records;
        free(copy);
        if (!doc || !json_object_object_get_ex(doc, "Records", &records) ||
            !fixture_decode(f, text, len, ' ')) {
            json_object_put(doc);
            free(text);
            continue; /* the corpus's refusals are test_corpus's business */
        }
        for (size_t i = 0; i < f->batch.count; i++) {
            json_object *ddb;
            assert_true(json_object_object_get_ex(json_object_array_get_idx(records, i), "dynamodb", &ddb));
            const ddb_record *r = &f->batch.records[i];
            const char *names[] = {"Keys", "NewImage", "OldImage"};
            const ddb_value *maps[] = {r->keys, r->new_image, r->old_image};
            for (int k = 0; k < 3; k++) {
                json_object *want;
                if (!maps[k] || !json_object_object_get_ex(ddb, names[k], &want)) continue;
                render_buf b = {0};
                assert_true(render_item(&b, maps[k]));
                json_object *got = json_tokener_parse(b.text);
                if (!got || !json_object_equal(got, want))
                    fail_msg("%s record %zu %s: rendered %s, the event has %s", e->d_name, i, names[k],
                             b.text, json_object_to_json_string(want));
                json_object_put(got);
                render_free(&b);
                images++;
            }
        }
        json_object_put(doc);
        free(text);
    }
    closedir(d);
    print_message("%zu images compared\n", images);
    assert_true(images > 50);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_an_item_of_every_type_renders_as_the_dynamodb_json_it_came_from, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plain_json_keeps_every_digit_and_spells_binary_in_base64, setup, teardown),
        cmocka_unit_test_setup_teardown(test_numbers_json_would_refuse_are_respelled_not_rounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_image_of_the_corpus_renders_as_the_event_carried_it, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
