/* test_api.c - the host service table as a plugin sees it: its size and version, log lines
 * attributed to the handler, typed config lookups that answer with a status instead of
 * guessing (an integer is not a double, a string is not a bool), and the tumbling-window state
 * a handler sets (copied, a JSON object or refused). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "log.h"

static const char config_text[] =
    "{\"path\": \"/tmp/orders.db\", \"batch\": 500, \"offset\": -5, \"ratio\": 2.0,"
    " \"max\": 9223372036854775807, \"over\": 9223372036854775808,"
    " \"far_over\": 100000000000000000000000, \"on\": true, \"off\": false,"
    " \"flag_text\": \"true\", \"none\": null, \"nested\": {\"depth\": 1}}";

static int config_setup(void **state)
{
    *state = json_tokener_parse(config_text);
    return *state ? 0 : -1;
}

static int config_teardown(void **state)
{
    json_object_put(*state);
    return 0;
}

static void test_table_states_its_own_size_and_abi_version(void **state)
{
    const ddb_host_api *api = api_table();
    (void)state;
    assert_int_equal(api->size, sizeof(ddb_host_api));
    assert_int_equal(api->abi_major, DDB_ABI_MAJOR);
    assert_int_equal(api->abi_minor, DDB_ABI_MINOR);
    assert_non_null(api->log);
    assert_non_null(api->config_string);
    assert_non_null(api->config_int64);
    assert_non_null(api->config_bool);
}

static void test_config_string_returns_strings_only(void **state)
{
    const ddb_config *cfg = api_config(*state);
    const ddb_host_api *api = api_table();
    assert_string_equal(api->config_string(cfg, "path"), "/tmp/orders.db");
    assert_null(api->config_string(cfg, "batch"));
    assert_null(api->config_string(cfg, "none"));
    assert_null(api->config_string(cfg, "depth")); /* top-level keys only */
    assert_null(api->config_string(cfg, "absent"));
    assert_null(api->config_string(NULL, "path"));
    assert_null(api->config_string(cfg, NULL));
}

static void test_config_int64_reads_integers_and_refuses_everything_else(void **state)
{
    const ddb_config *cfg = api_config(*state);
    const ddb_host_api *api = api_table();
    int64_t n = 42;
    assert_int_equal(api->config_int64(cfg, "batch", &n), DDB_OK);
    assert_int_equal(n, 500);
    assert_int_equal(api->config_int64(cfg, "offset", &n), DDB_OK);
    assert_int_equal(n, -5);
    assert_int_equal(api->config_int64(cfg, "max", &n), DDB_OK);
    assert_true(n == INT64_MAX);
    n = 42;
    assert_int_equal(api->config_int64(cfg, "ratio", &n), DDB_ERR_TYPE); /* 2.0 is a double */
    assert_int_equal(api->config_int64(cfg, "path", &n), DDB_ERR_TYPE);
    assert_int_equal(api->config_int64(cfg, "on", &n), DDB_ERR_TYPE);
    assert_int_equal(api->config_int64(cfg, "none", &n), DDB_ERR_TYPE);
    assert_int_equal(api->config_int64(cfg, "over", &n), DDB_ERR_RANGE);
    assert_int_equal(api->config_int64(cfg, "far_over", &n), DDB_ERR_RANGE);
    assert_int_equal(api->config_int64(cfg, "absent", &n), DDB_ERR_NOT_FOUND);
    assert_int_equal(n, 42); /* untouched unless DDB_OK */
    assert_int_equal(api->config_int64(NULL, "batch", &n), DDB_ERR_NOT_FOUND);
    assert_int_equal(api->config_int64(cfg, "batch", NULL), DDB_ERR_INVALID);
    assert_int_equal(api->config_int64(cfg, NULL, &n), DDB_ERR_INVALID);
}

static void test_config_bool_reads_json_booleans_only(void **state)
{
    const ddb_config *cfg = api_config(*state);
    const ddb_host_api *api = api_table();
    bool b = false;
    assert_int_equal(api->config_bool(cfg, "on", &b), DDB_OK);
    assert_true(b);
    assert_int_equal(api->config_bool(cfg, "off", &b), DDB_OK);
    assert_false(b);
    assert_int_equal(api->config_bool(cfg, "flag_text", &b), DDB_ERR_TYPE);
    assert_int_equal(api->config_bool(cfg, "batch", &b), DDB_ERR_TYPE);
    assert_int_equal(api->config_bool(cfg, "none", &b), DDB_ERR_TYPE);
    assert_int_equal(api->config_bool(cfg, "absent", &b), DDB_ERR_NOT_FOUND);
    assert_int_equal(api->config_bool(NULL, "on", &b), DDB_ERR_NOT_FOUND);
    assert_int_equal(api->config_bool(cfg, "on", NULL), DDB_ERR_INVALID);
}

static void test_config_that_is_not_an_object_has_no_keys(void **state)
{
    struct json_object *list = json_tokener_parse("[\"path\", 1]");
    const ddb_host_api *api = api_table();
    int64_t n;
    (void)state;
    assert_null(api->config_string(api_config(list), "path"));
    assert_int_equal(api->config_int64(api_config(list), "path", &n), DDB_ERR_NOT_FOUND);
    json_object_put(list);
}

/* What the log function wrote to stderr while fn ran. */
static char *stderr_of(void (*fn)(void))
{
    char path[] = "/tmp/ddbtest-api-XXXXXX";
    int fd = mkstemp(path), saved = dup(2);
    static char text[4096];
    ssize_t n;
    assert_true(fd >= 0 && saved >= 0);
    unlink(path);
    fflush(stderr);
    dup2(fd, 2);
    fn();
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    n = pread(fd, text, sizeof text - 1, 0);
    close(fd);
    text[n > 0 ? n : 0] = '\0';
    return text;
}

static void log_as_orders_audit(void)
{
    const ddb_handle self = {"orders-audit", "Orders", NULL, NULL};
    const ddb_host_api *api = api_table();
    log_set_level(DDB_LOG_INFO);
    api->log(&self, DDB_LOG_INFO, "wrote %d rows", 3);
    api->log(&self, DDB_LOG_WARN, "slow commit: %s", "12 s");
    api->log(&self, DDB_LOG_DEBUG, "not shown at the info level");
    api->log(&self, DDB_LOG_ERROR, "two\nlines");
    api->log(NULL, DDB_LOG_INFO, "anonymous");
    api->log(&self, (ddb_log_level)99, "unknown level");
    api->log(&self, DDB_LOG_INFO, NULL);
}

static void test_log_lines_name_the_handler_and_respect_the_level(void **state)
{
    (void)state;
    assert_string_equal(stderr_of(log_as_orders_audit),
                        "ddbhost: orders-audit: wrote 3 rows\n"
                        "ddbhost: warning: orders-audit: slow commit: 12 s\n"
                        "ddbhost: error: orders-audit: two lines\n"
                        "ddbhost: plugin: anonymous\n");
}

static void test_outside_an_invocation_there_is_no_request_id_nor_deadline(void **state)
{
    (void)state;
    const ddb_handle self = {"p", "*", NULL, NULL};
    const ddb_host_api *api = api_table();
    assert_true(api->size >= offsetof(ddb_host_api, remaining_ms) + sizeof api->remaining_ms);
    assert_null(api->request_id(&self));
    assert_null(api->function_arn(&self));
    assert_int_equal(api->remaining_ms(&self), -1);
    assert_null(api->request_id(NULL));
}

static void test_a_plugin_sees_the_invocation_it_serves(void **state)
{
    (void)state;
    api_invocation inv = {"8476a536-e9f4-11e8-9739-2dfe598c3fcd",
                          "arn:aws:lambda:eu-west-1:123456789012:function:orders",
                          api_now_ms() + 60000};
    const ddb_handle self = {"p", "Orders", &inv, NULL};
    const ddb_host_api *api = api_table();
    assert_string_equal(api->request_id(&self), inv.request_id);
    assert_string_equal(api->function_arn(&self), inv.function_arn);
    int64_t left = api->remaining_ms(&self);
    assert_true(left > 50000 && left <= 60000);
    inv.deadline_ms = api_now_ms() - 5; /* already past: never negative */
    assert_int_equal(api->remaining_ms(&self), 0);
}

/* ---- tumbling windows ------------------------------------------------------------------ */

#define SET(self, lit) api_table()->set_window_state((self), (lit), sizeof(lit) - 1)

static void test_outside_a_tumbling_window_there_is_no_state_to_set(void **state)
{
    (void)state;
    const ddb_handle self = {"p", "*", NULL, NULL};
    const ddb_host_api *api = api_table();
    assert_true(api->size >= offsetof(ddb_host_api, set_window_state) + sizeof api->set_window_state);
    assert_int_equal(SET(&self, "{}"), DDB_ERR_NOT_FOUND);
    assert_int_equal(SET(NULL, "{}"), DDB_ERR_INVALID);
}

static void test_a_state_set_is_copied_and_shown_on_the_window(void **state)
{
    (void)state;
    api_window w;
    memset(&w, 0, sizeof w);
    ddb_handle self = {"p", "Orders", NULL, &w};
    assert_true(api_window_text(&w, "{}", 2));
    assert_string_equal(w.view.state.ptr, "{}");
    char json[] = " {\"sum\": \"12\"} ";
    assert_int_equal(api_table()->set_window_state(&self, json, strlen(json)), DDB_OK);
    json[3] = 'X'; /* copied: the plugin's text is its own again */
    assert_true(w.set);
    assert_string_equal(w.view.state.ptr, " {\"sum\": \"12\"} ");
    assert_int_equal(w.view.state.len, strlen(json));
    assert_string_equal(w.error, "");
    /* the state it reads back, set again, shorter and then longer */
    assert_int_equal(api_table()->set_window_state(&self, w.view.state.ptr + 1, 13), DDB_OK);
    assert_string_equal(w.view.state.ptr, "{\"sum\": \"12\"}");
    assert_int_equal(SET(&self, "{\"sum\":\"123456789012345678901234567890\",\"n\":[1,2,3]}"), DDB_OK);
    assert_string_equal(w.text, "{\"sum\":\"123456789012345678901234567890\",\"n\":[1,2,3]}");
    free(w.text);
}

/* The first reason is the one the invocation fails with; the state stays as it was. */
static void test_a_state_that_is_not_a_json_object_is_refused_with_its_reason(void **state)
{
    (void)state;
    api_window w;
    memset(&w, 0, sizeof w);
    ddb_handle self = {"p", "Orders", NULL, &w};
    assert_true(api_window_text(&w, "{\"a\":1}", 7));
    assert_int_equal(SET(&self, "[1]"), DDB_ERR_INVALID);
    assert_int_equal(SET(&self, "{\"a\":"), DDB_ERR_INVALID);
    assert_int_equal(api_table()->set_window_state(&self, NULL, 3), DDB_ERR_INVALID);
    assert_false(w.set);
    assert_string_equal(w.view.state.ptr, "{\"a\":1}");
    assert_string_equal(w.error, "set a tumbling-window state that is not a JSON object: "
                                 "expected a JSON object, found an array");
    free(w.text);
}

/* host->json: snprintf's contract, every form, a value of any type, never a crash. */
static void test_json_writes_a_value_in_each_form_as_far_as_it_fits(void **state)
{
    (void)state;
    const ddb_host_api *api = api_table();
    ddb_value n = {.type = DDB_N, .len = 5, .ptr = "12.50"};
    ddb_value s = {.type = DDB_S, .len = 3, .ptr = "a\"b"};
    ddb_member members[2] = {{.name = "total", .name_len = 5, .value = n},
                             {.name = "id", .name_len = 2, .value = s}};
    ddb_value item = {.type = DDB_M, .len = 2, .ptr = members};
    char out[64];
    assert_int_equal(api->json(&item, DDB_JSON_PLAIN, out, sizeof out), 27);
    assert_string_equal(out, "{\"total\":12.50,\"id\":\"a\\\"b\"}");
    assert_int_equal(api->json(&item, DDB_JSON_ITEM, out, sizeof out), 41);
    assert_string_equal(out, "{\"total\":{\"N\":\"12.50\"},\"id\":{\"S\":\"a\\\"b\"}}");
    assert_int_equal(api->json(&n, DDB_JSON_DYNAMODB, out, sizeof out), 13);
    assert_string_equal(out, "{\"N\":\"12.50\"}");
    /* too small: cut, terminated, and the whole length returned */
    char small[8];
    assert_int_equal(api->json(&item, DDB_JSON_PLAIN, small, sizeof small), 27);
    assert_string_equal(small, "{\"total");
    assert_int_equal(api->json(&item, DDB_JSON_PLAIN, NULL, 0), 27);
    /* an item of a value that is no map, or of none, is null */
    assert_int_equal(api->json(&n, DDB_JSON_ITEM, out, sizeof out), 4);
    assert_string_equal(out, "null");
    assert_int_equal(api->json(NULL, DDB_JSON_PLAIN, out, sizeof out), 4);
    assert_string_equal(out, "null");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_writes_a_value_in_each_form_as_far_as_it_fits),
        cmocka_unit_test(test_outside_an_invocation_there_is_no_request_id_nor_deadline),
        cmocka_unit_test(test_a_plugin_sees_the_invocation_it_serves),
        cmocka_unit_test(test_table_states_its_own_size_and_abi_version),
        cmocka_unit_test_setup_teardown(test_config_string_returns_strings_only, config_setup,
                                        config_teardown),
        cmocka_unit_test_setup_teardown(
            test_config_int64_reads_integers_and_refuses_everything_else, config_setup,
            config_teardown),
        cmocka_unit_test_setup_teardown(test_config_bool_reads_json_booleans_only, config_setup,
                                        config_teardown),
        cmocka_unit_test(test_config_that_is_not_an_object_has_no_keys),
        cmocka_unit_test(test_log_lines_name_the_handler_and_respect_the_level),
        cmocka_unit_test(test_outside_a_tumbling_window_there_is_no_state_to_set),
        cmocka_unit_test(test_a_state_set_is_copied_and_shown_on_the_window),
        cmocka_unit_test(test_a_state_that_is_not_a_json_object_is_refused_with_its_reason),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
