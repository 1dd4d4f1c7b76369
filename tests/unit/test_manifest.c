/* test_manifest.c - what a user sees from the manifest: the routes it yields and, for every
 * rule it breaks, the exact one-line error. Works in a temporary directory holding dummy
 * plugin files; never loads a plugin. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ddb/plugin.h>

#include "../support/manifest_fixture.h"


static int make_dir(void **state)
{
    (void)state;
    char sub[256];
    if (fixture_make_dir("ddb-manifest") != 0) return -1;
    snprintf(sub, sizeof sub, "%s/plugins", dir);
    mkdir(sub, 0700);
    snprintf(sub, sizeof sub, "%s/plugins/dir.so", dir);
    mkdir(sub, 0700);
    snprintf(sub, sizeof sub, "%s/sub", dir);
    mkdir(sub, 0700);
    fixture_write("a.so", "not really a plugin");
    fixture_write("plugins/a.so", "not really a plugin");
    fixture_write("plugins/b.so", "not really a plugin");
    return 0;
}

#define assert_refused(json, ...) assert_refused_text(dq(json), strlen(json), __VA_ARGS__)

#define TOP_LEVEL_KEYS \
    "\"tables\", \"on_failure\", \"deadline_margin_ms\", \"metrics\", \"function\", " \
    "\"isolation\" or \"record_timeout_ms\""
#define STREAM_KEYS                                                                           \
    "\"batch_size\", \"max_batching_window_s\", \"bisect_on_error\", \"max_retries\", "      \
    "\"max_record_age_s\", \"on_failure\", \"starting_position\", "                          \
    "\"parallelization_factor\", \"tumbling_window_s\" or \"filters\""

/* ---- what a valid manifest yields ----------------------------------------------------- */

static void test_a_table_with_one_handler_gets_that_plugin_for_every_event(void **state)
{
    (void)state;
    manifest m = parse_ok(dq("{'tables': {'Orders': {'plugin': 'plugins/a.so'}}}"));
    char want[256];
    snprintf(want, sizeof want, "%s/plugins/a.so", dir);
    assert_string_equal(m.path, mpath);
    assert_int_equal(m.count, 1);
    assert_string_equal(m.routes[0].table, "Orders");
    assert_int_equal(m.routes[0].count, 1);
    assert_string_equal(m.routes[0].handlers[0].plugin, want);
    assert_null(m.routes[0].handlers[0].config);
    assert_int_equal(m.routes[0].handlers[0].events, MANIFEST_ALL_EVENTS);
    assert_int_equal(MANIFEST_ALL_EVENTS, 1u << DDB_INSERT | 1u << DDB_MODIFY | 1u << DDB_REMOVE);
    assert_int_equal(m.on_failure, MANIFEST_STOP);
    manifest_free(&m);
}

static void test_a_list_of_handlers_is_kept_in_manifest_order(void **state)
{
    (void)state;
    manifest m = parse_ok(dq("{'tables': {'*': [{'plugin': 'plugins/b.so'}, {'plugin': 'a.so'},"
                             " {'plugin': 'plugins/a.so'}]}}"));
    char b[256], a[256], pa[256];
    snprintf(b, sizeof b, "%s/plugins/b.so", dir);
    snprintf(a, sizeof a, "%s/a.so", dir);
    snprintf(pa, sizeof pa, "%s/plugins/a.so", dir);
    assert_int_equal(m.count, 1);
    assert_string_equal(m.routes[0].table, "*");
    assert_int_equal(m.routes[0].count, 3);
    assert_string_equal(m.routes[0].handlers[0].plugin, b);
    assert_string_equal(m.routes[0].handlers[1].plugin, a);
    assert_string_equal(m.routes[0].handlers[2].plugin, pa);
    manifest_free(&m);
}

static void test_routes_are_kept_in_manifest_order(void **state)
{
    (void)state;
    manifest m = parse_ok(dq("{'tables': {'Users': {'plugin': 'a.so'}, '*': {'plugin': 'a.so'},"
                             " 'my.orders-2024_v1': {'plugin': 'a.so'},"
                             " 'Abc': {'plugin': 'a.so'}}}"));
    assert_int_equal(m.count, 4);
    assert_string_equal(m.routes[0].table, "Users");
    assert_string_equal(m.routes[1].table, "*");
    assert_string_equal(m.routes[2].table, "my.orders-2024_v1");
    assert_string_equal(m.routes[3].table, "Abc");
    manifest_free(&m);
}

static void test_events_select_only_the_listed_event_names(void **state)
{
    (void)state;
    manifest m = parse_ok(dq("{'tables': {'Orders': [{'plugin': 'a.so', 'events': ['REMOVE']},"
                             " {'plugin': 'a.so', 'events': ['MODIFY', 'INSERT']},"
                             " {'plugin': 'a.so', 'events': ['INSERT', 'MODIFY', 'REMOVE']}]}}"));
    assert_int_equal(m.routes[0].handlers[0].events, 1u << DDB_REMOVE);
    assert_int_equal(m.routes[0].handlers[1].events, 1u << DDB_INSERT | 1u << DDB_MODIFY);
    assert_int_equal(m.routes[0].handlers[2].events, MANIFEST_ALL_EVENTS);
    manifest_free(&m);
}

static void test_config_is_kept_as_given_for_the_plugin(void **state)
{
    (void)state;
    manifest m = parse_ok(dq("{'tables': {'Orders': [{'plugin': 'a.so', 'config': {'path':"
                             " 'out.jsonl', 'limit': 3, 'deep': {'list': [1, true, null]}}},"
                             " {'plugin': 'a.so', 'config': 'just text'},"
                             " {'plugin': 'a.so', 'config': null}, {'plugin': 'a.so'}]}}"));
    const manifest_handler *h = m.routes[0].handlers;
    assert_non_null(h[0].config);
    assert_string_equal(json_object_to_json_string_ext(h[0].config, JSON_C_TO_STRING_PLAIN),
                        "{\"path\":\"out.jsonl\",\"limit\":3,\"deep\":{\"list\":[1,true,null]}}");
    assert_string_equal(json_object_get_string(h[1].config), "just text");
    assert_null(h[2].config);
    assert_null(h[3].config);
    manifest_free(&m);
}

static void test_config_outlives_the_parse_and_is_released_by_manifest_free(void **state)
{
    (void)state;
    manifest m = parse_ok(dq("{'tables': {'Orders': {'plugin': 'a.so', 'config': {'k': 'v'}}}}"));
    json_object *cfg = json_object_get(m.routes[0].handlers[0].config);
    manifest_free(&m);
    /* Ours is now the only reference: the manifest gave its own back, and the text is gone. */
    assert_string_equal(json_object_get_string(json_object_object_get(cfg, "k")), "v");
    assert_int_equal(json_object_put(cfg), 1);
}

static void test_on_failure_defaults_to_stop_and_accepts_continue(void **state)
{
    (void)state;
    manifest m = parse_ok(dq("{'on_failure': 'continue', 'tables': {'*': {'plugin': 'a.so'}}}"));
    assert_int_equal(m.on_failure, MANIFEST_CONTINUE);
    manifest_free(&m);
    m = parse_ok(dq("{'tables': {'*': {'plugin': 'a.so'}}, 'on_failure': 'stop'}"));
    assert_int_equal(m.on_failure, MANIFEST_STOP);
    manifest_free(&m);
}

static void test_relative_plugin_paths_start_from_the_manifest_directory(void **state)
{
    (void)state;
    char sub[256], want[256];
    snprintf(sub, sizeof sub, "%s/sub/m.json", dir);
    const char *json =
        dq("{'tables': {'*': [{'plugin': '../plugins/a.so'}, {'plugin': './../a.so'}]}}");
    manifest m;
    char err[512];
    assert_true(manifest_parse(json, strlen(json), sub, &m, err, sizeof err));
    snprintf(want, sizeof want, "%s/sub/../plugins/a.so", dir);
    assert_string_equal(m.routes[0].handlers[0].plugin, want);
    snprintf(want, sizeof want, "%s/sub/../a.so", dir);
    assert_string_equal(m.routes[0].handlers[1].plugin, want);
    manifest_free(&m);
}

static void test_absolute_plugin_paths_are_kept(void **state)
{
    (void)state;
    char json[512], want[256];
    snprintf(want, sizeof want, "%s/plugins/b.so", dir);
    snprintf(json, sizeof json, "{\"tables\": {\"*\": {\"plugin\": \"%s\"}}}", want);
    manifest m = parse_ok(json);
    assert_string_equal(m.routes[0].handlers[0].plugin, want);
    manifest_free(&m);
}

static void test_a_manifest_named_without_a_directory_resolves_from_the_cwd(void **state)
{
    (void)state;
    char cwd[PATH_MAX], err[512];
    manifest m;
    const char *json = dq("{'tables': {'*': [{'plugin': 'a.so'}, {'plugin': 'plugins/b.so'}]}}");
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(dir), 0);
    bool ok = manifest_parse(json, strlen(json), "m.json", &m, err, sizeof err);
    assert_int_equal(chdir(cwd), 0);
    assert_true(ok);
    /* "./" so that dlopen takes it as a path, not a name to search for */
    assert_string_equal(m.routes[0].handlers[0].plugin, "./a.so");
    assert_string_equal(m.routes[0].handlers[1].plugin, "plugins/b.so");
    manifest_free(&m);
}

static void test_a_leading_byte_order_mark_is_accepted(void **state)
{
    (void)state;
    manifest m = parse_ok(dq("\xEF\xBB\xBF{'tables': {'*': {'plugin': 'a.so'}}}"));
    assert_int_equal(m.count, 1);
    manifest_free(&m);
}

static void test_load_reads_the_manifest_file(void **state)
{
    (void)state;
    char err[512];
    manifest m;
    fixture_write("m.json", dq("{'tables': {'Orders': {'plugin': 'plugins/a.so'}}}\n"));
    assert_true(manifest_load(mpath, &m, err, sizeof err));
    assert_string_equal(m.path, mpath);
    assert_string_equal(m.routes[0].table, "Orders");
    manifest_free(&m);
}

static void test_load_reads_a_manifest_of_any_size(void **state)
{
    (void)state;
    char err[512];
    static char text[40000];
    manifest m;
    int n = snprintf(text, sizeof text, "{\"tables\": {\"*\": {\"plugin\": \"a.so\", "
                     "\"config\": {\"blob\": \"");
    memset(text + n, 'x', 30000);
    snprintf(text + n + 30000, sizeof text - (size_t)n - 30000, "\"}}}}\n");
    fixture_write("m.json", text);
    assert_true(manifest_load(mpath, &m, err, sizeof err));
    json_object *blob = json_object_object_get(m.routes[0].handlers[0].config, "blob");
    assert_int_equal(json_object_get_string_len(blob), 30000);
    manifest_free(&m);
}

static void test_single_routes_every_table_to_the_plugin_as_given(void **state)
{
    (void)state;
    char plugin[256], err[512];
    manifest m;
    snprintf(plugin, sizeof plugin, "%s/a.so", dir);
    assert_true(manifest_single(plugin, &m, err, sizeof err));
    assert_int_equal(m.count, 1);
    assert_string_equal(m.routes[0].table, "*");
    assert_int_equal(m.routes[0].count, 1);
    assert_string_equal(m.routes[0].handlers[0].plugin, plugin);
    assert_null(m.routes[0].handlers[0].config);
    assert_int_equal(m.routes[0].handlers[0].events, MANIFEST_ALL_EVENTS);
    assert_int_equal(m.on_failure, MANIFEST_STOP);
    manifest_free(&m);
    manifest_free(&m); /* freeing twice is harmless: free leaves an empty manifest */
}

static void assert_default_stream(const manifest_stream *s)
{
    assert_int_equal(s->batch_size, 100);
    assert_int_equal(s->max_batching_window_s, 0);
    assert_true(s->bisect_on_error);
    assert_int_equal(s->max_retries, -1);
    assert_int_equal(s->starting_position, MANIFEST_TRIM_HORIZON);
    assert_int_equal(s->parallelization_factor, 1);
    assert_int_equal(s->max_record_age_s, -1);
    assert_int_equal(s->tumbling_window_s, 0);
    assert_null(s->on_failure);
    assert_null(s->filters);
}

static void assert_defaults(const manifest *m)
{
    assert_int_equal(m->on_failure, MANIFEST_STOP);
    assert_int_equal(m->deadline_margin_ms, 1000);
    assert_false(m->metrics);
    assert_null(m->function.name);
    assert_int_equal(m->function.memory_mb, 256);
    assert_int_equal(m->function.timeout_s, 60);
    assert_int_equal(m->function.architecture, MANIFEST_X86_64);
    assert_int_equal(m->function.log_retention_days, 30);
    assert_int_equal(m->function.log_level, DDB_LOG_INFO);
    assert_null(m->function.policy);
    assert_null(m->function.managed_policies);
    for (size_t i = 0; i < m->count; i++) assert_default_stream(&m->routes[i].stream);
}

static void test_every_runtime_and_deploy_setting_has_a_default(void **state)
{
    (void)state;
    char plugin[256], err[512];
    manifest m = parse_ok(dq("{'tables': {'Orders': {'plugin': 'a.so'}, '*': {'plugin': 'a.so'}}}"));
    assert_defaults(&m);
    manifest_free(&m);
    snprintf(plugin, sizeof plugin, "%s/a.so", dir);
    assert_true(manifest_single(plugin, &m, err, sizeof err));
    assert_defaults(&m);
    manifest_free(&m);
}

static void test_top_level_settings_are_read(void **state)
{
    (void)state;
    manifest m = parse_ok(dq("{'deadline_margin_ms': 2500, 'metrics': true, 'tables': {'*': "
                             "{'plugin': 'a.so'}}, 'function': {'name': 'orders-audit_2', "
                             "'memory_mb': 10240, 'timeout_s': 900, 'architecture': 'arm64'}}"));
    assert_int_equal(m.deadline_margin_ms, 2500);
    assert_true(m.metrics);
    assert_string_equal(m.function.name, "orders-audit_2");
    assert_int_equal(m.function.memory_mb, 10240);
    assert_int_equal(m.function.timeout_s, 900);
    assert_int_equal(m.function.architecture, MANIFEST_ARM64);
    manifest_free(&m);
    m = parse_ok(dq("{'deadline_margin_ms': 0, 'metrics': false, 'function': {'memory_mb': 128,"
                    " 'timeout_s': 1, 'architecture': 'x86_64'}, 'tables': {'*': {'plugin': 'a.so'}}}"));
    assert_int_equal(m.deadline_margin_ms, 0);
    assert_false(m.metrics);
    assert_null(m.function.name);
    assert_int_equal(m.function.memory_mb, 128);
    assert_int_equal(m.function.timeout_s, 1);
    assert_int_equal(m.function.architecture, MANIFEST_X86_64);
    manifest_free(&m);
    m = parse_ok(dq("{'deadline_margin_ms': 900000, 'function': {}, 'tables': {'*': {'plugin': 'a.so'}}}"));
    assert_int_equal(m.deadline_margin_ms, 900000);
    assert_int_equal(m.function.memory_mb, 256);
    manifest_free(&m);
}

static void test_a_route_with_stream_settings_lists_its_handlers_under_handlers(void **state)
{
    (void)state;
    char a[256], b[256];
    snprintf(a, sizeof a, "%s/a.so", dir);
    snprintf(b, sizeof b, "%s/plugins/b.so", dir);
    manifest m = parse_ok(dq(
        "{'tables': {"
        "'Orders': {'handlers': [{'plugin': 'a.so', 'events': ['INSERT']}, {'plugin': 'plugins/b.so'}],"
        " 'stream': {'batch_size': 10000, 'max_batching_window_s': 300, 'bisect_on_error': false,"
        " 'max_retries': 10000, 'starting_position': 'LATEST', 'parallelization_factor': 10}},"
        "'Users': {'stream': {'batch_size': 1, 'max_retries': 0}, 'handlers': {'plugin': 'a.so'}},"
        "'Carts': {'handlers': {'plugin': 'a.so'}},"
        "'Plain': {'plugin': 'a.so'}}}"));
    assert_int_equal(m.count, 4);
    const manifest_route *r = &m.routes[0];
    assert_string_equal(r->table, "Orders");
    assert_int_equal(r->count, 2);
    assert_string_equal(r->handlers[0].plugin, a);
    assert_int_equal(r->handlers[0].events, 1u << DDB_INSERT);
    assert_string_equal(r->handlers[1].plugin, b);
    assert_int_equal(r->stream.batch_size, 10000);
    assert_int_equal(r->stream.max_batching_window_s, 300);
    assert_false(r->stream.bisect_on_error);
    assert_int_equal(r->stream.max_retries, 10000);
    assert_int_equal(r->stream.starting_position, MANIFEST_LATEST);
    assert_int_equal(r->stream.parallelization_factor, 10);
    r = &m.routes[1];
    assert_int_equal(r->count, 1);
    assert_string_equal(r->handlers[0].plugin, a);
    assert_int_equal(r->stream.batch_size, 1);
    assert_int_equal(r->stream.max_retries, 0);
    assert_true(r->stream.bisect_on_error);
    assert_int_equal(r->stream.starting_position, MANIFEST_TRIM_HORIZON);
    assert_default_stream(&m.routes[2].stream);
    assert_int_equal(m.routes[2].count, 1);
    assert_default_stream(&m.routes[3].stream);
    manifest_free(&m);
    m = parse_ok(dq("{'tables': {'*': {'handlers': {'plugin': 'a.so'}}}}"));
    assert_int_equal(m.routes[0].count, 1);
    manifest_free(&m);
}

/* ---- errors: reading ------------------------------------------------------------------ */

static void test_load_names_a_missing_manifest_file(void **state)
{
    (void)state;
    char err[512], path[256], want[512];
    manifest m;
    snprintf(path, sizeof path, "%s/nope.json", dir);
    snprintf(want, sizeof want, "cannot read manifest \"%s\": No such file or directory", path);
    assert_false(manifest_load(path, &m, err, sizeof err));
    assert_string_equal(err, want);
    snprintf(path, sizeof path, "%s/plugins", dir);
    snprintf(want, sizeof want, "cannot read manifest \"%s\": Is a directory", path);
    assert_false(manifest_load(path, &m, err, sizeof err));
    assert_string_equal(err, want);
}

static void test_load_reports_errors_in_the_file_it_read(void **state)
{
    (void)state;
    char err[512], want[512];
    manifest m;
    fixture_write("m.json", dq("{'tables': {}}"));
    snprintf(want, sizeof want,
             "manifest \"%s\": tables: expected at least one table, found an empty object", mpath);
    assert_false(manifest_load(mpath, &m, err, sizeof err));
    assert_string_equal(err, want);
}

static void test_single_names_a_plugin_that_is_not_there(void **state)
{
    (void)state;
    char err[512], path[256], want[512];
    manifest m;
    assert_false(manifest_single("x.so", &m, err, sizeof err));
    assert_string_equal(err, "cannot open plugin \"x.so\": No such file or directory");
    snprintf(path, sizeof path, "%s/plugins/dir.so", dir);
    snprintf(want, sizeof want, "cannot open plugin \"%s\": Is a directory", path);
    assert_false(manifest_single(path, &m, err, sizeof err));
    assert_string_equal(err, want);
}

/* ---- errors: JSON --------------------------------------------------------------------- */

static void test_invalid_json_is_located_by_line_and_column(void **state)
{
    (void)state;
    assert_refused("{\n  'tables': {\n    'Orders' {'plugin': 'a.so'}\n  }\n}",
                   "invalid JSON at line 3, column 14: "
                   "object property name separator ':' expected");
    assert_refused("{'tables': {'Orders': {'plugin': 'a.so'}}",
                   "invalid JSON at line 1, column 42: unexpected end of data");
    assert_refused("", "invalid JSON at line 1, column 1: unexpected end of data");
    assert_refused("{'tables': {'*': {'plugin': 'a.so'},}}",
                   "invalid JSON at line 1, column 37: unexpected character");
    assert_refused("{'tables': {'*': {'plugin': 'a.so'}}} {}",
                   "invalid JSON at line 1, column 39: unexpected character");
    /* columns count characters, not bytes */
    assert_refused("{'tables': {'*': {'plugin': 'ä.so' x}}}",
                   "invalid JSON at line 1, column 36: object value separator ',' expected");
}

static void test_text_that_is_not_utf8_or_holds_a_nul_byte_is_refused(void **state)
{
    (void)state;
    assert_refused("{'tables': {'\xff': 1}}",
                   "invalid JSON at line 1, column 14: invalid utf-8 string");
    assert_refused_text("{\"tables\"\0: {}}", 15,
                        "invalid JSON at line 1, column 10: unexpected NUL byte");
}

static void test_keys_must_be_in_double_quotes(void **state)
{
    (void)state;
    const char *json = "{\"tables\": {'Orders': {\"plugin\": \"a.so\"}}}";
    assert_refused_text(json, strlen(json),
                        "invalid JSON at line 1, column 13: object keys must be in double quotes");
}

static void test_a_key_given_twice_is_refused_wherever_it_is(void **state)
{
    (void)state;
    assert_refused("{'tables': {\n  'Orders': {'plugin': 'a.so'},\n"
                   "  'Orders': {'plugin': 'b.so'}}}",
                   "tables: duplicate key \"Orders\" at line 3, column 3 "
                   "(first at line 2, column 3): each key may appear only once");
    assert_refused("{'tables': {'*': {'plugin': 'a.so'}}, 'tables': {}}",
                   "duplicate key \"tables\" at line 1, column 39 (first at line 1, column 2): "
                   "each key may appear only once");
    assert_refused("{'tables': {'*': [{'plugin': 'a.so',"
                   " 'config': {'x': [{'a': 1, '\\u0061': 2}]}}]}}",
                   "tables.*[0].config.x[0]: duplicate key \"a\" at line 1, column 64 (first at "
                   "line 1, column 56): each key may appear only once");
}

static void test_the_top_level_must_be_an_object(void **state)
{
    (void)state;
    assert_refused("[]", "expected an object at the top level, found an empty array");
    assert_refused("null", "expected an object at the top level, found null");
    assert_refused("'tables'", "expected an object at the top level, found a string");
}

static void test_too_large_a_manifest_is_refused(void **state)
{
    (void)state;
    size_t len = (16u << 20) + 1;
    char *big = malloc(len);
    assert_non_null(big);
    memset(big, ' ', len);
    assert_refused_text(big, len, "too large (16777217 bytes; the limit is 16 MiB)");
    free(big);
}

/* ---- errors: keys and values ---------------------------------------------------------- */

static void test_an_unknown_top_level_key_is_named(void **state)
{
    (void)state;
    assert_refused("{'tabels': {'*': {'plugin': 'a.so'}}}",
                   "unknown key \"tabels\" (expected %s)", TOP_LEVEL_KEYS);
    /* a key that would break the line is escaped, as JSON writes it */
    assert_refused("{'tables': {'*': {'plugin': 'a.so'}}, 'x\\ny\\\"': 1}",
                   "unknown key \"x\\ny\\\"\" (expected %s)", TOP_LEVEL_KEYS);
}

static void test_a_long_key_is_cut_short_in_the_message(void **state)
{
    (void)state;
    char json[2048], key[1001];
    memset(key, 'k', 1000);
    key[1000] = '\0';
    snprintf(json, sizeof json, "{\"%s\": 1}", key);
    key[314] = '\0'; /* a quoted string in a message fills its 320 bytes: 314, "...", quotes, NUL */
    assert_refused_text(json, strlen(json), "unknown key \"%s...\" (expected %s)", key,
                        TOP_LEVEL_KEYS);
}

static void test_tables_must_be_a_non_empty_object(void **state)
{
    (void)state;
    assert_refused("{'on_failure': 'stop'}",
                   "missing key \"tables\" (it maps table names to handlers)");
    assert_refused("{'tables': [{'plugin': 'a.so'}]}",
                   "tables: expected an object mapping table names to handlers, found an array");
    assert_refused("{'tables': {}}", "tables: expected at least one table, found an empty object");
}

static void test_a_table_name_must_be_star_or_a_dynamodb_table_name(void **state)
{
    (void)state;
    const char *want = "tables: invalid table name %s (expected \"*\" or a DynamoDB table name: "
                       "3 to 255 characters among a-z A-Z 0-9 _ - .)";
    assert_refused("{'tables': {'ab': {'plugin': 'a.so'}}}", want, "\"ab\"");
    assert_refused("{'tables': {'Orders/x': {'plugin': 'a.so'}}}", want, "\"Orders/x\"");
    assert_refused("{'tables': {'**': {'plugin': 'a.so'}}}", want, "\"**\"");
    assert_refused("{'tables': {'': {'plugin': 'a.so'}}}", want, "\"\"");
    char json[512], name[257];
    memset(name, 'x', 256);
    name[256] = '\0';
    snprintf(json, sizeof json, "{\"tables\": {\"%s\": {\"plugin\": \"a.so\"}}}", name);
    char quoted[300];
    snprintf(quoted, sizeof quoted, "\"%s\"", name);
    assert_refused_text(json, strlen(json), want, quoted);
    name[255] = '\0'; /* 255 is still a name */
    snprintf(json, sizeof json, "{\"tables\": {\"%s\": {\"plugin\": \"a.so\"}}}", name);
    manifest m = parse_ok(json);
    manifest_free(&m);
}

static void test_a_route_must_be_a_handler_or_a_non_empty_list_of_handlers(void **state)
{
    (void)state;
    assert_refused("{'tables': {'Orders': 'a.so'}}",
                   "tables.Orders: expected a handler object or an array of them, found a string");
    assert_refused("{'tables': {'Orders': []}}",
                   "tables.Orders: expected at least one handler, found an empty array");
    assert_refused("{'tables': {'Orders': [{'plugin': 'a.so'}, 'b.so']}}",
                   "tables.Orders[1]: expected a handler object ({\"plugin\": ...}), "
                   "found a string");
    assert_refused("{'tables': {'my.table': [{'plugin': 'a.so'}, {'plugin': 'a.so', 'x': 1}]}}",
                   "tables[\"my.table\"][1]: unknown key \"x\" (expected \"plugin\", \"config\", \"events\" or "
                   "\"isolation\")");
}

static void test_a_handler_needs_a_plugin_path(void **state)
{
    (void)state;
    assert_refused("{'tables': {'Orders': {'config': {}}}}",
                   "tables.Orders: missing key \"plugin\" (the path of the handler's .so file)");
    assert_refused("{'tables': {'Orders': {'plugin': 7}}}",
                   "tables.Orders.plugin: expected a string (the path of the handler's .so file), "
                   "found a number");
    assert_refused("{'tables': {'Orders': {'plugin': ''}}}",
                   "tables.Orders.plugin: expected the path of the handler's .so file, found an "
                   "empty string");
    assert_refused("{'tables': {'Orders': {'plugin': 'a.so\\u0000.txt'}}}",
                   "tables.Orders.plugin: the path \"a.so\" contains a NUL character");
}

static void test_a_plugin_file_that_is_not_there_is_named_with_its_resolved_path(void **state)
{
    (void)state;
    assert_refused("{'tables': {'Orders': {'plugin': 'dir/x.so'}}}",
                   "tables.Orders.plugin: no such file \"%s/dir/x.so\" (hint: a relative plugin "
                   "path starts from the manifest's directory)", dir);
    assert_refused("{'tables': {'Orders': [{'plugin': 'a.so'}, {'plugin': '/nonexistent/x.so'}]}}",
                   "tables.Orders[1].plugin: no such file \"/nonexistent/x.so\"");
    assert_refused("{'tables': {'*': {'plugin': 'plugins/dir.so'}}}",
                   "tables.*.plugin: \"%s/plugins/dir.so\" is not a regular file", dir);
    assert_refused("{'tables': {'*': {'plugin': 'a.so/x.so'}}}",
                   "tables.*.plugin: cannot access \"%s/a.so/x.so\": Not a directory", dir);
}

static void test_events_must_be_distinct_event_names(void **state)
{
    (void)state;
    assert_refused("{'tables': {'Orders': [{'plugin': 'a.so'}, {'plugin': 'a.so', 'events': "
                   "['INSERT', 'DELETE']}]}}",
                   "tables.Orders[1].events[1]: expected \"INSERT\", \"MODIFY\" or \"REMOVE\", "
                   "found \"DELETE\"");
    assert_refused("{'tables': {'Orders': {'plugin': 'a.so', 'events': ['insert']}}}",
                   "tables.Orders.events[0]: expected \"INSERT\", \"MODIFY\" or \"REMOVE\", found "
                   "\"insert\" (event names are upper case)");
    assert_refused("{'tables': {'Orders': {'plugin': 'a.so', 'events': [1]}}}",
                   "tables.Orders.events[0]: expected \"INSERT\", \"MODIFY\" or \"REMOVE\", found "
                   "a number");
    assert_refused("{'tables': {'Orders': {'plugin': 'a.so', 'events': ['REMOVE', 'REMOVE']}}}",
                   "tables.Orders.events[1]: \"REMOVE\" is listed twice");
    assert_refused("{'tables': {'Orders': {'plugin': 'a.so', 'events': []}}}",
                   "tables.Orders.events: expected a non-empty array of \"INSERT\", \"MODIFY\" or "
                   "\"REMOVE\", found an empty array");
    assert_refused("{'tables': {'Orders': {'plugin': 'a.so', 'events': 'INSERT'}}}",
                   "tables.Orders.events: expected a non-empty array of \"INSERT\", \"MODIFY\" or "
                   "\"REMOVE\", found a string");
}

static void test_on_failure_must_be_stop_or_continue(void **state)
{
    (void)state;
    assert_refused("{'tables': {'*': {'plugin': 'a.so'}}, 'on_failure': 'halt'}",
                   "on_failure: expected \"stop\" or \"continue\", found \"halt\"");
    assert_refused("{'tables': {'*': {'plugin': 'a.so'}}, 'on_failure': true}",
                   "on_failure: expected \"stop\" or \"continue\", found a boolean");
}

static void test_deadline_margin_must_be_milliseconds_up_to_fifteen_minutes(void **state)
{
    (void)state;
    const char *want = "deadline_margin_ms: expected an integer from 0 to 900000, found %s";
    assert_refused("{'deadline_margin_ms': -1, 'tables': {'*': {'plugin': 'a.so'}}}", want, "-1");
    assert_refused("{'deadline_margin_ms': 900001, 'tables': {'*': {'plugin': 'a.so'}}}", want,
                   "900001");
    assert_refused("{'deadline_margin_ms': 1.5, 'tables': {'*': {'plugin': 'a.so'}}}", want, "1.5");
    assert_refused("{'deadline_margin_ms': 1e3, 'tables': {'*': {'plugin': 'a.so'}}}", want, "1e3");
    assert_refused("{'deadline_margin_ms': '1000', 'tables': {'*': {'plugin': 'a.so'}}}", want,
                   "a string");
    assert_refused("{'deadline_margin_ms': null, 'tables': {'*': {'plugin': 'a.so'}}}", want,
                   "null");
    assert_refused("{'deadline_margin_ms': 99999999999999999999, 'tables': {'*': {'plugin': "
                   "'a.so'}}}", want, "a number far out of range");
    assert_refused("{'deadline_margin_ms': -9999999999999999999, 'tables': {'*': {'plugin': "
                   "'a.so'}}}", want, "a number far out of range");
}

static void test_metrics_must_be_a_boolean(void **state)
{
    (void)state;
    assert_refused("{'metrics': 'yes', 'tables': {'*': {'plugin': 'a.so'}}}",
                   "metrics: expected true or false, found a string");
    assert_refused("{'metrics': 1, 'tables': {'*': {'plugin': 'a.so'}}}",
                   "metrics: expected true or false, found a number");
}

static void test_function_settings_are_checked_against_lambdas_limits(void **state)
{
    (void)state;
    assert_refused("{'function': 'f', 'tables': {'*': {'plugin': 'a.so'}}}",
                   "function: expected an object describing the Lambda function "
                   "({\"memory_mb\": ...}), found a string");
    assert_refused("{'function': {'memory': 512}, 'tables': {'*': {'plugin': 'a.so'}}}",
                   "function: unknown key \"memory\" (expected \"name\", \"memory_mb\", "
                   "\"timeout_s\", \"architecture\", \"log_retention_days\", \"log_level\", "
                   "\"policy\" or \"managed_policies\")");
    const char *name = "function.name: expected a Lambda function name (1 to 64 characters among "
                       "a-z A-Z 0-9 _ -), found %s";
    assert_refused("{'function': {'name': 'my function'}, 'tables': {'*': {'plugin': 'a.so'}}}",
                   name, "\"my function\"");
    assert_refused("{'function': {'name': ''}, 'tables': {'*': {'plugin': 'a.so'}}}", name, "\"\"");
    assert_refused("{'function': {'name': 7}, 'tables': {'*': {'plugin': 'a.so'}}}", name,
                   "a number");
    assert_refused("{'function': {'name': 'a\\u0000b'}, 'tables': {'*': {'plugin': 'a.so'}}}", name,
                   "\"a\"");
    char json[512], long_name[66];
    memset(long_name, 'f', 65);
    long_name[65] = '\0';
    snprintf(json, sizeof json, "{'function': {'name': '%s'}, 'tables': {'*': {'plugin': 'a.so'}}}",
             long_name);
    char quoted[80];
    snprintf(quoted, sizeof quoted, "\"%s\"", long_name);
    assert_refused(json, name, quoted);
    long_name[64] = '\0'; /* 64 is still a name */
    snprintf(json, sizeof json, "{'function': {'name': '%s'}, 'tables': {'*': {'plugin': 'a.so'}}}",
             long_name);
    manifest m = parse_ok(dq(json));
    assert_string_equal(m.function.name, long_name);
    manifest_free(&m);
    assert_refused("{'function': {'memory_mb': 127}, 'tables': {'*': {'plugin': 'a.so'}}}",
                   "function.memory_mb: expected an integer from 128 to 10240, found 127");
    assert_refused("{'function': {'memory_mb': 10241}, 'tables': {'*': {'plugin': 'a.so'}}}",
                   "function.memory_mb: expected an integer from 128 to 10240, found 10241");
    assert_refused("{'function': {'timeout_s': 0}, 'tables': {'*': {'plugin': 'a.so'}}}",
                   "function.timeout_s: expected an integer from 1 to 900, found 0");
    assert_refused("{'function': {'timeout_s': 901}, 'tables': {'*': {'plugin': 'a.so'}}}",
                   "function.timeout_s: expected an integer from 1 to 900, found 901");
    assert_refused("{'function': {'architecture': 'amd64'}, 'tables': {'*': {'plugin': 'a.so'}}}",
                   "function.architecture: expected \"x86_64\" or \"arm64\", found \"amd64\"");
    assert_refused("{'function': {'architecture': 'ARM64'}, 'tables': {'*': {'plugin': 'a.so'}}}",
                   "function.architecture: expected \"x86_64\" or \"arm64\", found \"ARM64\" "
                   "(the case matters)");
    assert_refused("{'function': {'architecture': ['arm64']}, 'tables': {'*': {'plugin': 'a.so'}}}",
                   "function.architecture: expected \"x86_64\" or \"arm64\", found an array");
}

static void test_a_route_with_stream_settings_needs_handlers_and_no_plugin_beside_them(void **state)
{
    (void)state;
    assert_refused("{'tables': {'Orders': {'plugin': 'a.so', 'stream': {'batch_size': 10}}}}",
                   "tables.Orders: \"plugin\" beside \"handlers\" or \"stream\": a route with "
                   "stream settings lists its handlers under \"handlers\" ({\"handlers\": "
                   "{\"plugin\": ...}, \"stream\": {...}})");
    assert_refused("{'tables': {'Orders': {'stream': {}}}}",
                   "tables.Orders: missing key \"handlers\" (the handler object, or the array of "
                   "them, that serves this table)");
    assert_refused("{'tables': {'Orders': {'handlers': {'plugin': 'a.so'}, 'config': {}}}}",
                   "tables.Orders: unknown key \"config\" (expected \"handlers\" or \"stream\")");
    assert_refused("{'tables': {'Orders': {'handlers': []}}}",
                   "tables.Orders.handlers: expected at least one handler, found an empty array");
    assert_refused("{'tables': {'Orders': {'handlers': 'a.so'}}}",
                   "tables.Orders.handlers: expected a handler object or an array of them, found a "
                   "string");
    assert_refused("{'tables': {'my.table': {'handlers': [{'plugin': 'a.so'}, {'plugin': 'x.so'}],"
                   " 'stream': {}}}}",
                   "tables[\"my.table\"].handlers[1].plugin: no such file \"%s/x.so\" (hint: a "
                   "relative plugin path starts from the manifest's directory)", dir);
    assert_refused("{'tables': {'Orders': {'handlers': {'plugin': 'a.so', 'events': ['insert']}}}}",
                   "tables.Orders.handlers.events[0]: expected \"INSERT\", \"MODIFY\" or "
                   "\"REMOVE\", found \"insert\" (event names are upper case)");
}

static void test_a_star_route_takes_no_stream_settings(void **state)
{
    (void)state;
    assert_refused("{'tables': {'*': {'handlers': {'plugin': 'a.so'}, 'stream': {'batch_size': 5}}}}",
                   "tables.*.stream: a \"*\" route is not an event source and takes no stream "
                   "settings (hint: give each table a route of its own)");
}

static void test_stream_settings_are_checked_against_lambdas_limits(void **state)
{
    (void)state;
    const char *json = "{'tables': {'Orders': {'handlers': {'plugin': 'a.so'}, 'stream': %s}}}";
    char text[512];
#define STREAM(value) (snprintf(text, sizeof text, json, value), text)
    assert_refused(STREAM("[]"), "tables.Orders.stream: expected an object of event source "
                   "settings ({\"batch_size\": ...}), found an empty array");
    assert_refused(STREAM("{'batchSize': 10}"),
                   "tables.Orders.stream: unknown key \"batchSize\" (expected %s)", STREAM_KEYS);
    assert_refused(STREAM("{'batch_size': 0}"),
                   "tables.Orders.stream.batch_size: expected an integer from 1 to 10000, found 0");
    assert_refused(STREAM("{'batch_size': 10001}"), "tables.Orders.stream.batch_size: expected an "
                   "integer from 1 to 10000, found 10001");
    assert_refused(STREAM("{'batch_size': '100'}"), "tables.Orders.stream.batch_size: expected an "
                   "integer from 1 to 10000, found a string");
    assert_refused(STREAM("{'max_batching_window_s': -1}"),
                   "tables.Orders.stream.max_batching_window_s: expected an integer from 0 to 300, "
                   "found -1");
    assert_refused(STREAM("{'max_batching_window_s': 301}"),
                   "tables.Orders.stream.max_batching_window_s: expected an integer from 0 to 300, "
                   "found 301");
    assert_refused(STREAM("{'bisect_on_error': 'true'}"),
                   "tables.Orders.stream.bisect_on_error: expected true or false, found a string");
    assert_refused(STREAM("{'max_retries': -2}"), "tables.Orders.stream.max_retries: expected an "
                   "integer from -1 to 10000, found -2");
    assert_refused(STREAM("{'max_retries': 10001}"), "tables.Orders.stream.max_retries: expected "
                   "an integer from -1 to 10000, found 10001");
    assert_refused(STREAM("{'starting_position': 'AT_TIMESTAMP'}"),
                   "tables.Orders.stream.starting_position: expected \"TRIM_HORIZON\" or "
                   "\"LATEST\", found \"AT_TIMESTAMP\"");
    assert_refused(STREAM("{'starting_position': 'latest'}"),
                   "tables.Orders.stream.starting_position: expected \"TRIM_HORIZON\" or "
                   "\"LATEST\", found \"latest\" (the case matters)");
    assert_refused(STREAM("{'parallelization_factor': 0}"),
                   "tables.Orders.stream.parallelization_factor: expected an integer from 1 to 10, "
                   "found 0");
    assert_refused(STREAM("{'parallelization_factor': 11}"),
                   "tables.Orders.stream.parallelization_factor: expected an integer from 1 to 10, "
                   "found 11");
    assert_refused(STREAM("{'parallelization_factor': 2.0}"),
                   "tables.Orders.stream.parallelization_factor: expected an integer from 1 to 10, "
                   "found 2.0");
    assert_refused(STREAM("{'max_record_age_s': 59}"), "tables.Orders.stream.max_record_age_s: "
                   "expected -1 (no limit) or an integer from 60 to 604800, found 59");
    assert_refused(STREAM("{'max_record_age_s': 604801}"), "tables.Orders.stream.max_record_age_s: "
                   "expected an integer from -1 to 604800, found 604801");
    assert_refused(STREAM("{'tumbling_window_s': 901}"), "tables.Orders.stream.tumbling_window_s: "
                   "expected an integer from 0 to 900, found 901");
#undef STREAM
}

static void test_on_failure_names_an_sqs_queue_sns_topic_or_s3_bucket(void **state)
{
    (void)state;
    const char *json = "{'tables': {'Orders': {'handlers': {'plugin': 'a.so'}, 'stream': "
                       "{'on_failure': %s}}}}";
    char text[512];
#define DEST(value) (snprintf(text, sizeof text, json, value), text)
    manifest m = parse_ok(dq(DEST("'arn:aws:sqs:eu-west-1:123456789012:orders-dlq'")));
    assert_string_equal(m.routes[0].stream.on_failure, "arn:aws:sqs:eu-west-1:123456789012:orders-dlq");
    assert_int_equal(m.routes[0].stream.on_failure_kind, MANIFEST_DEST_SQS);
    manifest_free(&m);
    m = parse_ok(dq(DEST("'arn:aws-cn:sns:cn-north-1:123456789012:failed'")));
    assert_int_equal(m.routes[0].stream.on_failure_kind, MANIFEST_DEST_SNS);
    manifest_free(&m);
    m = parse_ok(dq(DEST("'arn:aws:s3:::orders-failures'")));
    assert_int_equal(m.routes[0].stream.on_failure_kind, MANIFEST_DEST_S3);
    manifest_free(&m);
    /* a template's pseudo parameters hold colons of their own */
    m = parse_ok(dq(DEST("'arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:dlq'")));
    assert_int_equal(m.routes[0].stream.on_failure_kind, MANIFEST_DEST_SQS);
    manifest_free(&m);

    /* `ddbhost poll` writes Lambda's on-failure records to a local file */
    m = parse_ok(dq(DEST("'file:///var/tmp/orders-discarded.jsonl'")));
    assert_string_equal(m.routes[0].stream.on_failure, "file:///var/tmp/orders-discarded.jsonl");
    assert_int_equal(m.routes[0].stream.on_failure_kind, MANIFEST_DEST_FILE);
    manifest_free(&m);
    assert_refused(DEST("'file://'"), "tables.Orders.stream.on_failure: file:// names no file "
                   "(expected file://PATH)");

    const char *expected = "tables.Orders.stream.on_failure: expected the ARN of an SQS queue, SNS "
                           "topic or S3 bucket (arn:aws:sqs:REGION:ACCOUNT:QUEUE, "
                           "arn:aws:sns:REGION:ACCOUNT:TOPIC or arn:aws:s3:::BUCKET), found %s";
    assert_refused(DEST("'orders-dlq'"), expected, "\"orders-dlq\"");
    assert_refused(DEST("42"), expected, "a number");
    assert_refused(DEST("'https://sqs.eu-west-1.amazonaws.com/123456789012/dlq'"), expected,
                   "\"https://sqs.eu-west-1.amazonaws.com/123456789012/dlq\"");
    assert_refused(DEST("'arn:aws:lambda:eu-west-1:123456789012:function:f'"),
                   "tables.Orders.stream.on_failure: Lambda records the batches it discards from a "
                   "DynamoDB stream only in an SQS queue, an SNS topic or an S3 bucket, and "
                   "\"arn:aws:lambda:eu-west-1:123456789012:function:f\" is the ARN of a lambda "
                   "resource");
    assert_refused(DEST("'arn:aws:s3:::orders-failures/discarded'"),
                   "tables.Orders.stream.on_failure: \"arn:aws:s3:::orders-failures/discarded\" is "
                   "not the ARN of an S3 bucket (expected arn:aws:s3:::BUCKET: the bucket itself, "
                   "with no key prefix)");
    assert_refused(DEST("'arn:aws:sqs:eu-west-1:1234:dlq/x'"),
                   "tables.Orders.stream.on_failure: \"arn:aws:sqs:eu-west-1:1234:dlq/x\" is not "
                   "the ARN of an SQS queue (expected arn:aws:sqs:REGION:ACCOUNT:QUEUE)");
#undef DEST
}

static void test_filters_are_lambda_filter_patterns_on_a_stream_record(void **state)
{
    (void)state;
    const char *json = "{'tables': {'Orders': {'handlers': {'plugin': 'a.so'}, 'stream': "
                       "{'filters': %s}}}}";
    char text[6000];
#define FILTERS(value) (snprintf(text, sizeof text, json, value), text)
    manifest m = parse_ok(dq(FILTERS("[{'dynamodb': {'NewImage': {'status': {'S': ['shipped']}}}},"
                                     " {'eventName': ['REMOVE']}]")));
    assert_int_equal(json_object_array_length(m.routes[0].stream.filters), 2);
    manifest_free(&m);
    assert_refused(FILTERS("{'eventName': ['INSERT']}"), "tables.Orders.stream.filters: expected an "
                   "array of 1 to 10 filter patterns (Lambda allows 5 per event source mapping, 10 "
                   "with a quota increase), found an object");
    assert_refused(FILTERS("[{}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}]"),
                   "tables.Orders.stream.filters: expected an array of 1 to 10 filter patterns "
                   "(Lambda allows 5 per event source mapping, 10 with a quota increase), found "
                   "more than 10");
    assert_refused(FILTERS("['eventName']"),
                   "tables.Orders.stream.filters[0]: expected a filter pattern object "
                   "({\"dynamodb\": {\"NewImage\": {\"status\": {\"S\": [\"shipped\"]}}}}), "
                   "found a string");
    assert_refused(FILTERS("[{'NewImage': {'status': {'S': ['shipped']}}}]"),
                   "tables.Orders.stream.filters[0]: \"NewImage\" is not a field of a stream "
                   "record, so the pattern would match nothing (hint: keys, images and the sequence "
                   "number are under \"dynamodb\": {\"dynamodb\": {\"NewImage\": ...}})");
    assert_refused(FILTERS("[{'dynamodb': {'NewImage': {'status': {'S': 'shipped'}}}}]"),
                   "tables.Orders.stream.filters[0].dynamodb.NewImage.status.S: expected an array "
                   "of values to match (a filter rule lists what it accepts: {\"S\": "
                   "[\"shipped\"]}), found a string");
    /* The operators are checked by the matcher poll uses (filter.c), at check time. */
    manifest m2 = parse_ok(dq(FILTERS("[{'dynamodb': {'NewImage': {'total': {'N': [{'numeric': "
                                      "['>', 100]}]}, 'sku': {'S': [{'prefix': 'A-'}]}}}}]")));
    manifest_free(&m2);
    assert_refused(FILTERS("[{'dynamodb': {'NewImage': {'total': {'N': [{'gt': 100}]}}}}]"),
                   "tables.Orders.stream.filters: pattern 0: dynamodb.NewImage.total.N[0]: unknown "
                   "operator \"gt\" (expected \"prefix\", \"suffix\", \"equals-ignore-case\", "
                   "\"anything-but\", \"numeric\" or \"exists\")");
    /* {"eventID":["x..."]}: 16 characters around the value */
    char big[4200];
    memset(big, 'x', 4090);
    big[4090] = '\0';
    snprintf(text, sizeof text, "{\"tables\": {\"Orders\": {\"handlers\": {\"plugin\": \"a.so\"}, "
             "\"stream\": {\"filters\": [{\"eventID\": [\"%s\"]}]}}}}", big);
    assert_refused_text(text, strlen(text), "tables.Orders.stream.filters[0]: the pattern is 4106 "
                        "characters as JSON, and Lambda takes at most 4096");
#undef FILTERS
}

static void test_the_role_takes_iam_statements_and_managed_policies(void **state)
{
    (void)state;
    manifest m = parse_ok(dq(
        "{'tables': {'*': {'plugin': 'a.so'}}, 'function': {'log_retention_days': 365, "
        "'log_level': 'warn', 'policy': [{'Sid': 'WriteArchive', 'Effect': 'Allow', 'Action': "
        "'s3:PutObject', 'Resource': ['arn:aws:s3:::orders-archive/*']}, {'Effect': 'Deny', "
        "'NotAction': ['s3:Get*'], 'Resource': '*', 'Condition': {'Bool': "
        "{'aws:SecureTransport': 'false'}}}], 'managed_policies': "
        "['arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess']}}"));
    assert_int_equal(m.function.log_retention_days, 365);
    assert_int_equal(m.function.log_level, DDB_LOG_WARN);
    assert_int_equal(json_object_array_length(m.function.policy), 2);
    assert_int_equal(json_object_array_length(m.function.managed_policies), 1);
    manifest_free(&m);

    const char *json = "{'tables': {'*': {'plugin': 'a.so'}}, 'function': %s}";
    char text[1024];
#define FN(value) (snprintf(text, sizeof text, json, value), text)
    assert_refused(FN("{'log_retention_days': 31}"), "function.log_retention_days: CloudWatch Logs "
                   "keeps logs 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, "
                   "1096, 1827, 2192, 2557, 2922, 3288 or 3653 days, not 31");
    assert_refused(FN("{'log_level': 'trace'}"), "function.log_level: expected \"error\", "
                   "\"warn\", \"info\" or \"debug\", found \"trace\"");
    assert_refused(FN("{'policy': {'Effect': 'Allow'}}"), "function.policy: expected a non-empty "
                   "array of IAM policy statements, found an object");
    assert_refused(FN("{'policy': [{'Action': 's3:PutObject', 'Resource': '*'}]}"),
                   "function.policy[0]: missing key \"Effect\" (\"Allow\" or \"Deny\")");
    assert_refused(FN("{'policy': [{'Effect': 'allow', 'Action': 's3:PutObject', 'Resource': '*'}]}"),
                   "function.policy[0].Effect: expected \"Allow\" or \"Deny\", found \"allow\" "
                   "(the case matters)");
    assert_refused(FN("{'policy': [{'Effect': 'Allow', 'Resource': '*'}]}"),
                   "function.policy[0]: missing key \"Action\" (or \"NotAction\")");
    assert_refused(FN("{'policy': [{'Effect': 'Allow', 'Action': 's3:PutObject'}]}"),
                   "function.policy[0]: missing key \"Resource\" (or \"NotResource\")");
    assert_refused(FN("{'policy': [{'Effect': 'Allow', 'Action': ['s3:PutObject', 'PutObject'], "
                      "'Resource': '*'}]}"),
                   "function.policy[0].Action[1]: expected an IAM action (\"s3:PutObject\", "
                   "\"s3:Get*\" or \"*\"), found \"PutObject\"");
    assert_refused(FN("{'policy': [{'Effect': 'Allow', 'Action': 's3:PutObject', 'Resource': "
                      "'orders-archive'}]}"),
                   "function.policy[0].Resource: expected an ARN (\"arn:aws:s3:::bucket/*\") or "
                   "\"*\", found \"orders-archive\"");
    assert_refused(FN("{'policy': [{'Effect': 'Allow', 'Principal': '*', 'Action': 's3:PutObject', "
                      "'Resource': '*'}]}"),
                   "function.policy[0]: a statement of the function's role takes no "
                   "\"Principal\": the role is the principal");
    assert_refused(FN("{'managed_policies': ['AmazonS3ReadOnlyAccess']}"),
                   "function.managed_policies[0]: expected a managed policy ARN "
                   "(arn:aws:iam::aws:policy/NAME or arn:aws:iam::ACCOUNT:policy/NAME), found "
                   "\"AmazonS3ReadOnlyAccess\"");
#undef FN
}

static void test_an_error_message_is_cut_to_the_callers_buffer(void **state)
{
    (void)state;
    const char *json = dq("{'tabels': {}}");
    char err[16];
    manifest m;
    assert_false(manifest_parse(json, strlen(json), "m.json", &m, err, sizeof err));
    assert_string_equal(err, "manifest \"m.jso");
}

static void test_isolation_is_inherited_from_the_manifest_and_set_per_handler(void **state)
{
    (void)state;
    manifest m = parse_ok(dq("{'isolation': 'process', 'record_timeout_ms': 2500, 'tables': "
                             "{'Orders': [{'plugin': 'a.so'}, {'plugin': 'a.so', "
                             "'isolation': 'none'}]}}"));
    assert_true(m.isolated);
    assert_int_equal(m.record_timeout_ms, 2500);
    assert_true(m.routes[0].handlers[0].isolated);
    assert_false(m.routes[0].handlers[1].isolated);
    manifest_free(&m);
    m = parse_ok(dq("{'tables': {'Orders': [{'plugin': 'a.so', 'isolation': 'process'}, "
                    "{'plugin': 'a.so'}]}}"));
    assert_false(m.isolated);
    assert_int_equal(m.record_timeout_ms, 30000);
    assert_true(m.routes[0].handlers[0].isolated);
    assert_false(m.routes[0].handlers[1].isolated);
    manifest_free(&m);
}

static void test_an_unknown_isolation_is_refused(void **state)
{
    (void)state;
    assert_refused("{'isolation': 'thread', 'tables': {'Orders': {'plugin': 'a.so'}}}",
                   "isolation: expected \"none\" or \"process\", found \"thread\"");
    assert_refused("{'record_timeout_ms': 0, 'tables': {'Orders': {'plugin': 'a.so'}}}",
                   "record_timeout_ms: expected an integer from 1 to 900000, found 0");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_isolation_is_inherited_from_the_manifest_and_set_per_handler),
        cmocka_unit_test(test_an_unknown_isolation_is_refused),
        cmocka_unit_test(test_a_table_with_one_handler_gets_that_plugin_for_every_event),
        cmocka_unit_test(test_a_list_of_handlers_is_kept_in_manifest_order),
        cmocka_unit_test(test_routes_are_kept_in_manifest_order),
        cmocka_unit_test(test_events_select_only_the_listed_event_names),
        cmocka_unit_test(test_config_is_kept_as_given_for_the_plugin),
        cmocka_unit_test(test_config_outlives_the_parse_and_is_released_by_manifest_free),
        cmocka_unit_test(test_on_failure_defaults_to_stop_and_accepts_continue),
        cmocka_unit_test(test_relative_plugin_paths_start_from_the_manifest_directory),
        cmocka_unit_test(test_absolute_plugin_paths_are_kept),
        cmocka_unit_test(test_a_manifest_named_without_a_directory_resolves_from_the_cwd),
        cmocka_unit_test(test_a_leading_byte_order_mark_is_accepted),
        cmocka_unit_test(test_load_reads_the_manifest_file),
        cmocka_unit_test(test_load_reads_a_manifest_of_any_size),
        cmocka_unit_test(test_single_routes_every_table_to_the_plugin_as_given),
        cmocka_unit_test(test_every_runtime_and_deploy_setting_has_a_default),
        cmocka_unit_test(test_top_level_settings_are_read),
        cmocka_unit_test(test_a_route_with_stream_settings_lists_its_handlers_under_handlers),
        cmocka_unit_test(test_load_names_a_missing_manifest_file),
        cmocka_unit_test(test_load_reports_errors_in_the_file_it_read),
        cmocka_unit_test(test_single_names_a_plugin_that_is_not_there),
        cmocka_unit_test(test_invalid_json_is_located_by_line_and_column),
        cmocka_unit_test(test_text_that_is_not_utf8_or_holds_a_nul_byte_is_refused),
        cmocka_unit_test(test_keys_must_be_in_double_quotes),
        cmocka_unit_test(test_a_key_given_twice_is_refused_wherever_it_is),
        cmocka_unit_test(test_the_top_level_must_be_an_object),
        cmocka_unit_test(test_too_large_a_manifest_is_refused),
        cmocka_unit_test(test_an_unknown_top_level_key_is_named),
        cmocka_unit_test(test_a_long_key_is_cut_short_in_the_message),
        cmocka_unit_test(test_tables_must_be_a_non_empty_object),
        cmocka_unit_test(test_a_table_name_must_be_star_or_a_dynamodb_table_name),
        cmocka_unit_test(test_a_route_must_be_a_handler_or_a_non_empty_list_of_handlers),
        cmocka_unit_test(test_a_handler_needs_a_plugin_path),
        cmocka_unit_test(test_a_plugin_file_that_is_not_there_is_named_with_its_resolved_path),
        cmocka_unit_test(test_events_must_be_distinct_event_names),
        cmocka_unit_test(test_on_failure_must_be_stop_or_continue),
        cmocka_unit_test(test_deadline_margin_must_be_milliseconds_up_to_fifteen_minutes),
        cmocka_unit_test(test_metrics_must_be_a_boolean),
        cmocka_unit_test(test_function_settings_are_checked_against_lambdas_limits),
        cmocka_unit_test(test_a_route_with_stream_settings_needs_handlers_and_no_plugin_beside_them),
        cmocka_unit_test(test_a_star_route_takes_no_stream_settings),
        cmocka_unit_test(test_stream_settings_are_checked_against_lambdas_limits),
        cmocka_unit_test(test_on_failure_names_an_sqs_queue_sns_topic_or_s3_bucket),
        cmocka_unit_test(test_filters_are_lambda_filter_patterns_on_a_stream_record),
        cmocka_unit_test(test_the_role_takes_iam_statements_and_managed_policies),
        cmocka_unit_test(test_an_error_message_is_cut_to_the_callers_buffer),
    };
    return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
