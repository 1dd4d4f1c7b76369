/* test_echo.c - the echo plugin against a small fake host: the test dlopens echo.so, builds
 * records and value trees by hand, calls the callbacks with output sent to a temp file
 * through config "path", and asserts the exact bytes of every line. Uses nothing of the
 * real host but its config accessors (api_table), so a failure here is echo's own. */
#include <dlfcn.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "api.h"

/* ---- the fake host ------------------------------------------------------------------- */

typedef ddb_status (*record_fn)(const ddb_record *, void *);

static struct {
    void *dl;
    record_fn on_record[4]; /* indexed by ddb_event_name */
    ddb_status (*on_init)(const ddb_init *, void **);
    void (*on_fini)(void *);
} echo_so;

typedef struct fixture {
    char path[512];      /* the temp file echo appends to */
    json_object *config; /* {"path": path} */
    void *state;
} fixture;

static int load_echo(void **unused)
{
    (void)unused;
    echo_so.dl = dlopen(DDB_BINARY_DIR "/plugins/echo.so", RTLD_NOW | RTLD_LOCAL);
    if (!echo_so.dl) {
        fprintf(stderr, "cannot load echo.so: %s\n", dlerror());
        return -1;
    }
    echo_so.on_record[DDB_INSERT] = (record_fn)dlsym(echo_so.dl, "on_insert");
    echo_so.on_record[DDB_MODIFY] = (record_fn)dlsym(echo_so.dl, "on_modify");
    echo_so.on_record[DDB_REMOVE] = (record_fn)dlsym(echo_so.dl, "on_remove");
    echo_so.on_init = (ddb_status(*)(const ddb_init *, void **))dlsym(echo_so.dl, "on_init");
    echo_so.on_fini = (void (*)(void *))dlsym(echo_so.dl, "on_fini");
    return echo_so.on_record[1] && echo_so.on_record[2] && echo_so.on_record[3]
                   && echo_so.on_init && echo_so.on_fini
               ? 0
               : -1;
}

static int unload_echo(void **unused)
{
    (void)unused;
    dlclose(echo_so.dl);
    return 0;
}

/* Runs echo's on_init as the host would; error receives its message on failure. */
static ddb_status init_echo(json_object *config, void **state, char *error, size_t cap)
{
    static const struct ddb_handle self = {"echo", "*", NULL, NULL};
    ddb_init init = {
        .size = sizeof init,
        .host = api_table(),
        .self = &self,
        .config = api_config(config),
        .config_json = config ? json_object_to_json_string(config) : "null",
        .plugin_path = DDB_BINARY_DIR "/plugins/echo.so",
        .route = "*",
        .error = error,
        .error_cap = cap,
    };
    error[0] = '\0';
    return echo_so.on_init(&init, state);
}

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    char error[256];
    int fd;
    if (!fx) return -1;
    snprintf(fx->path, sizeof fx->path, "%s/echo-test-XXXXXX", DDB_BINARY_DIR);
    fd = mkstemp(fx->path);
    if (fd < 0) return -1;
    close(fd);
    fx->config = json_object_new_object();
    json_object_object_add(fx->config, "path", json_object_new_string(fx->path));
    if (init_echo(fx->config, &fx->state, error, sizeof error) != DDB_OK) {
        fprintf(stderr, "echo on_init failed: %s\n", error);
        return -1;
    }
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    if (fx->state) echo_so.on_fini(fx->state);
    json_object_put(fx->config);
    unlink(fx->path);
    free(fx);
    return 0;
}

static ddb_status deliver(fixture *fx, const ddb_record *rec)
{
    return echo_so.on_record[rec->event_name](rec, fx->state);
}

/* The whole file, NUL-terminated; echo never writes a raw NUL, so strlen must match. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    rewind(f);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    assert_int_equal(strlen(buf), (size_t)n);
    return buf;
}

static void assert_output(const fixture *fx, const char *expected)
{
    char *got = slurp(fx->path);
    assert_string_equal(got, expected);
    free(got);
}

/* ---- value and record builders ------------------------------------------------------- */

static ddb_value scalar(ddb_type t, const void *p, size_t len)
{
    ddb_value v = {(uint8_t)t, 0, 0, (uint32_t)len, p};
    return v;
}

static ddb_value boolean(bool b)
{
    ddb_value v = {DDB_BOOL, b, 0, 0, NULL};
    return v;
}

/* Literals keep their embedded NULs: the length comes from sizeof, not strlen. */
#define S(lit) scalar(DDB_S, lit, sizeof lit - 1)
#define N(lit) scalar(DDB_N, lit, sizeof lit - 1)
#define B(lit) scalar(DDB_B, lit, sizeof lit - 1)
#define NUL_V scalar(DDB_NULL, NULL, 0)
#define COUNT(arr) (sizeof arr / sizeof arr[0])
#define MAP(members) scalar(DDB_M, members, COUNT(members))
#define LIST(t, values) scalar(t, values, COUNT(values))
#define MEMBER(lit, v) {lit, sizeof lit - 1, 0, v}
#define STR(lit) ((ddb_str){lit, sizeof lit - 1})

static ddb_record record(ddb_event_name name, const ddb_value *keys, const ddb_value *new_image,
                         const ddb_value *old_image)
{
    ddb_record rec = {
        .size = sizeof rec,
        .event_name = name,
        .view_type = DDB_VIEW_NEW_AND_OLD_IMAGES,
        .size_bytes = 42,
        .event_id = STR("7de3041dd709b024af6f29e4fa13d34c"),
        .table = STR("Orders"),
        .sequence_number = STR("111000000000000000000001"),
        .region = STR("eu-west-1"),
        .keys = keys,
        .new_image = new_image,
        .old_image = old_image,
    };
    return rec;
}

#define LINE_HEAD(name)                                                                       \
    "{\"eventName\":\"" name "\",\"eventID\":\"7de3041dd709b024af6f29e4fa13d34c\","            \
    "\"table\":\"Orders\",\"SequenceNumber\":\"111000000000000000000001\","
#define ORDER_KEYS "\"Keys\":{\"orderId\":{\"S\":\"o-1\"}}"

static const ddb_member order_key[] = {{"orderId", 7, 0, {DDB_S, 0, 0, 3, "o-1"}}};

/* ---- what a user sees ---------------------------------------------------------------- */

static void test_insert_prints_keys_and_new_image_and_omits_the_absent_old_image(void **state)
{
    fixture *fx = *state;
    ddb_value keys = MAP(order_key);
    ddb_member img[] = {MEMBER("orderId", S("o-1")), MEMBER("total", N("19.99"))};
    ddb_value new_image = MAP(img);
    ddb_record rec = record(DDB_INSERT, &keys, &new_image, NULL);

    assert_int_equal(deliver(fx, &rec), DDB_OK);
    assert_output(fx, LINE_HEAD("INSERT") ORDER_KEYS
                  ",\"NewImage\":{\"orderId\":{\"S\":\"o-1\"},\"total\":{\"N\":\"19.99\"}}}\n");
}

static void test_each_callback_prints_one_line_named_after_the_record_event(void **state)
{
    fixture *fx = *state;
    ddb_value keys = MAP(order_key);
    ddb_member img[] = {MEMBER("status", S("NEW"))};
    ddb_value image = MAP(img);
    ddb_record insert = record(DDB_INSERT, &keys, &image, NULL);
    ddb_record modify = record(DDB_MODIFY, &keys, &image, &image);
    ddb_record remove = record(DDB_REMOVE, &keys, NULL, &image);

    assert_int_equal(deliver(fx, &insert), DDB_OK);
    assert_int_equal(deliver(fx, &modify), DDB_OK);
    assert_int_equal(deliver(fx, &remove), DDB_OK);
    assert_output(fx,
                  LINE_HEAD("INSERT") ORDER_KEYS ",\"NewImage\":{\"status\":{\"S\":\"NEW\"}}}\n"
                  LINE_HEAD("MODIFY") ORDER_KEYS ",\"NewImage\":{\"status\":{\"S\":\"NEW\"}},"
                  "\"OldImage\":{\"status\":{\"S\":\"NEW\"}}}\n"
                  LINE_HEAD("REMOVE") ORDER_KEYS ",\"OldImage\":{\"status\":{\"S\":\"NEW\"}}}\n");
}

static void test_every_type_is_written_back_as_dynamodb_json(void **state)
{
    fixture *fx = *state;
    ddb_value ss[] = {S("red"), S("")};
    ddb_value ns[] = {N("1"), N("-2.5E-3")};
    ddb_value bs[] = {B("\x01"), B("")};
    ddb_member inner[] = {MEMBER("city", S("Z\xc3\xbcrich")), MEMBER("empty", NUL_V)};
    ddb_value inner_list[] = {N("7"), boolean(false)};
    ddb_value list[] = {S("a"), MAP(inner), LIST(DDB_L, inner_list), scalar(DDB_M, NULL, 0),
                        scalar(DDB_L, NULL, 0)};
    ddb_member img[] = {
        MEMBER("s", S("text")),
        MEMBER("n", N("12345678901234567890123456789012345678")),
        MEMBER("b", B("\x00\xff")),
        MEMBER("t", boolean(true)),
        MEMBER("f", boolean(false)),
        MEMBER("nothing", NUL_V),
        MEMBER("ss", LIST(DDB_SS, ss)),
        MEMBER("ns", LIST(DDB_NS, ns)),
        MEMBER("bs", LIST(DDB_BS, bs)),
        MEMBER("m", MAP(inner)),
        MEMBER("l", LIST(DDB_L, list)),
        MEMBER("em", scalar(DDB_M, NULL, 0)),
        MEMBER("el", scalar(DDB_L, NULL, 0)),
    };
    ddb_value keys = MAP(order_key), image = MAP(img);
    ddb_record rec = record(DDB_INSERT, &keys, &image, NULL);

    assert_int_equal(deliver(fx, &rec), DDB_OK);
    assert_output(fx, LINE_HEAD("INSERT") ORDER_KEYS ",\"NewImage\":{"
                  "\"s\":{\"S\":\"text\"},"
                  "\"n\":{\"N\":\"12345678901234567890123456789012345678\"},"
                  "\"b\":{\"B\":\"AP8=\"},"
                  "\"t\":{\"BOOL\":true},"
                  "\"f\":{\"BOOL\":false},"
                  "\"nothing\":{\"NULL\":true},"
                  "\"ss\":{\"SS\":[\"red\",\"\"]},"
                  "\"ns\":{\"NS\":[\"1\",\"-2.5E-3\"]},"
                  "\"bs\":{\"BS\":[\"AQ==\",\"\"]},"
                  "\"m\":{\"M\":{\"city\":{\"S\":\"Zürich\"},\"empty\":{\"NULL\":true}}},"
                  "\"l\":{\"L\":[{\"S\":\"a\"},"
                  "{\"M\":{\"city\":{\"S\":\"Zürich\"},\"empty\":{\"NULL\":true}}},"
                  "{\"L\":[{\"N\":\"7\"},{\"BOOL\":false}]},{\"M\":{}},{\"L\":[]}]},"
                  "\"em\":{\"M\":{}},"
                  "\"el\":{\"L\":[]}}}\n");
}

static void test_strings_escape_only_what_json_requires(void **state)
{
    fixture *fx = *state;
    ddb_member img[] = {
        MEMBER("quote\"and\\backslash", S("say \"hi\" C:\\dir")),
        MEMBER("controls", S("\b\f\n\r\t\x01\x1f\x7f")),
        MEMBER("nul", S("a\0b")),
        MEMBER("unicode", S("東京 Zürich \xe2\x80\xa8 end")),
    };
    ddb_value keys = MAP(order_key), image = MAP(img);
    ddb_record rec = record(DDB_INSERT, &keys, &image, NULL);

    assert_int_equal(deliver(fx, &rec), DDB_OK);
    assert_output(fx, LINE_HEAD("INSERT") ORDER_KEYS ",\"NewImage\":{"
                  "\"quote\\\"and\\\\backslash\":{\"S\":\"say \\\"hi\\\" C:\\\\dir\"},"
                  "\"controls\":{\"S\":\"\\b\\f\\n\\r\\t\\u0001\\u001f\x7f\"},"
                  "\"nul\":{\"S\":\"a\\u0000b\"},"
                  "\"unicode\":{\"S\":\"東京 Zürich \xe2\x80\xa8 end\"}}}\n");
}

static void test_binary_is_standard_base64_with_padding(void **state)
{
    fixture *fx = *state;
    ddb_member img[] = {
        MEMBER("b0", B("")),
        MEMBER("b1", B("\xff")),
        MEMBER("b2", B("\x00\xff")),
        MEMBER("b3", B("\xfb\xff\xbf")),
        MEMBER("b4", B("\x00\x00\x00\x00")),
    };
    ddb_value keys = MAP(order_key), image = MAP(img);
    ddb_record rec = record(DDB_INSERT, &keys, &image, NULL);

    assert_int_equal(deliver(fx, &rec), DDB_OK);
    assert_output(fx, LINE_HEAD("INSERT") ORDER_KEYS ",\"NewImage\":{"
                  "\"b0\":{\"B\":\"\"},\"b1\":{\"B\":\"/w==\"},\"b2\":{\"B\":\"AP8=\"},"
                  "\"b3\":{\"B\":\"+/+/\"},\"b4\":{\"B\":\"AAAAAA==\"}}}\n");
}

static void test_record_without_table_or_images_prints_null_table_and_only_keys(void **state)
{
    fixture *fx = *state;
    ddb_value keys = MAP(order_key);
    ddb_record rec = record(DDB_REMOVE, &keys, NULL, NULL);
    rec.table = (ddb_str){NULL, 0};

    assert_int_equal(deliver(fx, &rec), DDB_OK);
    assert_output(fx, "{\"eventName\":\"REMOVE\",\"eventID\":\"7de3041dd709b024af6f29e4fa13d34c\","
                      "\"table\":null,\"SequenceNumber\":\"111000000000000000000001\","
                      ORDER_KEYS "}\n");
}

static void test_lines_are_appended_after_what_the_file_already_holds(void **state)
{
    fixture *fx = *state;
    ddb_value keys = MAP(order_key);
    ddb_record rec = record(DDB_REMOVE, &keys, NULL, NULL);
    char error[256];
    FILE *f = fopen(fx->path, "w");

    assert_non_null(f);
    fputs("earlier run\n", f);
    fclose(f);
    echo_so.on_fini(fx->state); /* reopen, as a new invocation of the host would */
    fx->state = NULL;
    assert_int_equal(init_echo(fx->config, &fx->state, error, sizeof error), DDB_OK);

    assert_int_equal(deliver(fx, &rec), DDB_OK);
    assert_output(fx, "earlier run\n" LINE_HEAD("REMOVE") ORDER_KEYS "}\n");
}

static void test_without_config_lines_go_to_stdout(void **state)
{
    fixture *fx = *state;
    ddb_value keys = MAP(order_key);
    ddb_record rec = record(DDB_REMOVE, &keys, NULL, NULL);
    void *echo_state = NULL;
    char error[256];
    int saved, fd;
    ddb_status st;

    fflush(stdout);
    saved = dup(STDOUT_FILENO);
    fd = open(fx->path, O_WRONLY | O_TRUNC);
    assert_true(saved >= 0 && fd >= 0);
    dup2(fd, STDOUT_FILENO);
    close(fd);
    st = init_echo(NULL, &echo_state, error, sizeof error);
    if (st == DDB_OK) st = echo_so.on_record[DDB_REMOVE](&rec, echo_state);
    echo_so.on_fini(echo_state);
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);

    assert_int_equal(st, DDB_OK);
    assert_output(fx, LINE_HEAD("REMOVE") ORDER_KEYS "}\n");
}

static void test_init_fails_with_the_reason_when_the_file_cannot_be_opened(void **state)
{
    json_object *config = json_object_new_object();
    void *echo_state = NULL;
    char error[256];
    (void)state;

    json_object_object_add(config, "path", json_object_new_string("/nonexistent/echo.jsonl"));
    assert_int_equal(init_echo(config, &echo_state, error, sizeof error), DDB_ERR_FAILED);
    assert_string_equal(error,
                        "cannot open \"/nonexistent/echo.jsonl\": No such file or directory");
    assert_null(echo_state);
    json_object_put(config);

    config = json_object_new_object();
    json_object_object_add(config, "path", json_object_new_string(DDB_BINARY_DIR));
    assert_int_equal(init_echo(config, &echo_state, error, sizeof error), DDB_ERR_FAILED);
    assert_string_equal(error, "cannot open \"" DDB_BINARY_DIR "\": Is a directory");
    json_object_put(config);
}

static void test_init_refuses_a_path_that_is_not_a_string(void **state)
{
    json_object *config = json_object_new_object();
    void *echo_state = NULL;
    char error[256];
    (void)state;

    json_object_object_add(config, "path", json_object_new_boolean(1));
    assert_int_equal(init_echo(config, &echo_state, error, sizeof error), DDB_ERR_FAILED);
    assert_string_equal(error, "config \"path\" must be a string: the file to append records to");
    json_object_put(config);
}

static void test_value_of_unknown_type_fails_the_record_and_prints_nothing(void **state)
{
    fixture *fx = *state;
    ddb_value bad_elem[] = {N("1")};
    ddb_member unknown[] = {MEMBER("x", scalar((ddb_type)42, "?", 1))};
    ddb_member none[] = {MEMBER("x", scalar(DDB_NONE, NULL, 0))};
    ddb_member set_of_wrong_type[] = {MEMBER("x", LIST(DDB_SS, bad_elem))};
    ddb_member null_data[] = {MEMBER("x", scalar(DDB_S, NULL, 3))};
    ddb_value keys = MAP(order_key), image;
    ddb_value not_a_map = S("o-1");
    ddb_record rec = record(DDB_INSERT, &keys, &image, NULL);

    image = MAP(unknown);
    assert_int_equal(deliver(fx, &rec), DDB_ERR_FAILED);
    image = MAP(none);
    assert_int_equal(deliver(fx, &rec), DDB_ERR_FAILED);
    image = MAP(set_of_wrong_type);
    assert_int_equal(deliver(fx, &rec), DDB_ERR_FAILED);
    image = MAP(null_data);
    assert_int_equal(deliver(fx, &rec), DDB_ERR_FAILED);
    rec.new_image = &not_a_map;
    assert_int_equal(deliver(fx, &rec), DDB_ERR_FAILED);
    rec.event_name = (ddb_event_name)9;
    assert_int_equal(echo_so.on_record[DDB_INSERT](&rec, fx->state), DDB_ERR_FAILED);
    assert_int_equal(echo_so.on_record[DDB_INSERT](NULL, fx->state), DDB_ERR_INVALID);
    assert_output(fx, "");
}

static void test_a_value_nested_in_itself_fails_instead_of_overflowing_the_stack(void **state)
{
    fixture *fx = *state;
    ddb_value loop = {DDB_L, 0, 0, 1, NULL};
    ddb_member img[] = {MEMBER("loop", loop)};
    ddb_value keys = MAP(order_key), image = MAP(img);
    ddb_record rec = record(DDB_INSERT, &keys, &image, NULL);
    img[0].value.ptr = &img[0].value;

    assert_int_equal(deliver(fx, &rec), DDB_ERR_FAILED);
    assert_output(fx, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_insert_prints_keys_and_new_image_and_omits_the_absent_old_image, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_each_callback_prints_one_line_named_after_the_record_event, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_type_is_written_back_as_dynamodb_json, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_strings_escape_only_what_json_requires, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_binary_is_standard_base64_with_padding, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_record_without_table_or_images_prints_null_table_and_only_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_lines_are_appended_after_what_the_file_already_holds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_without_config_lines_go_to_stdout, setup, teardown),
        cmocka_unit_test(test_init_fails_with_the_reason_when_the_file_cannot_be_opened),
        cmocka_unit_test(test_init_refuses_a_path_that_is_not_a_string),
        cmocka_unit_test_setup_teardown(
            test_value_of_unknown_type_fails_the_record_and_prints_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_a_value_nested_in_itself_fails_instead_of_overflowing_the_stack, setup, teardown),
    };
    return cmocka_run_group_tests(tests, load_echo, unload_echo);
}
