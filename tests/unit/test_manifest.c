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

#include "manifest.h"

static char dir[64];           /* the temporary directory */
static char mpath[128];        /* dir/m.json: where the manifests under test claim to be */

static void write_file(const char *rel, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int make_dir(void **state)
{
    (void)state;
    char sub[256];
    snprintf(dir, sizeof dir, "/tmp/ddb-manifest-XXXXXX");
    if (!mkdtemp(dir)) return -1;
    snprintf(mpath, sizeof mpath, "%s/m.json", dir);
    snprintf(sub, sizeof sub, "%s/plugins", dir);
    mkdir(sub, 0700);
    snprintf(sub, sizeof sub, "%s/plugins/dir.so", dir);
    mkdir(sub, 0700);
    snprintf(sub, sizeof sub, "%s/sub", dir);
    mkdir(sub, 0700);
    write_file("a.so", "not really a plugin");
    write_file("plugins/a.so", "not really a plugin");
    write_file("plugins/b.so", "not really a plugin");
    return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static int remove_dir(void **state)
{
    (void)state;
    return nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* Manifests are written with ' for " to keep them readable here. */
static const char *dq(const char *text)
{
    static char buf[4][2048];
    static int next;
    char *out = buf[next++ % 4];
    size_t i = 0;
    for (; text[i] && i + 1 < sizeof buf[0]; i++) out[i] = text[i] == '\'' ? '"' : text[i];
    out[i] = '\0';
    return out;
}

static manifest parse_ok(const char *json)
{
    manifest m;
    char err[1024] = "";
    bool ok = manifest_parse(json, strlen(json), mpath, &m, err, sizeof err);
    if (!ok) fail_msg("unexpected error: %s", err);
    return m;
}

/* Asserts that json is refused with `manifest "dir/m.json": ` + the formatted message and
 * that the output manifest was left untouched. */
static void assert_refused_text(const char *json, size_t len, const char *fmt, ...)
{
    char want[1200], got[1200] = "", tail[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tail, sizeof tail, fmt, ap);
    va_end(ap);
    snprintf(want, sizeof want, "manifest \"%s\": %s", mpath, tail);
    manifest m, before;
    memset(&m, 0xA5, sizeof m);
    before = m;
    assert_false(manifest_parse(json, len, mpath, &m, got, sizeof got));
    assert_string_equal(got, want);
    assert_memory_equal(&m, &before, sizeof m);
}
#define assert_refused(json, ...) assert_refused_text(dq(json), strlen(json), __VA_ARGS__)

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
    write_file("m.json", dq("{'tables': {'Orders': {'plugin': 'plugins/a.so'}}}\n"));
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
    write_file("m.json", text);
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
    write_file("m.json", dq("{'tables': {}}"));
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
                   "unknown key \"tabels\" (expected \"tables\" or \"on_failure\")");
    /* a key that would break the line is escaped */
    assert_refused("{'tables': {'*': {'plugin': 'a.so'}}, 'x\\ny\\\"': 1}",
                   "unknown key \"x\\u000ay\\\"\" (expected \"tables\" or \"on_failure\")");
}

static void test_a_long_key_is_cut_short_in_the_message(void **state)
{
    (void)state;
    char json[2048], key[1001];
    memset(key, 'k', 1000);
    key[1000] = '\0';
    snprintf(json, sizeof json, "{\"%s\": 1}", key);
    key[303] = '\0'; /* a quoted string in a message keeps 303 bytes of it */
    assert_refused_text(json, strlen(json),
                        "unknown key \"%s...\" (expected \"tables\" or \"on_failure\")", key);
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
                   "tables[\"my.table\"][1]: unknown key \"x\" (expected \"plugin\", \"config\" or "
                   "\"events\")");
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

static void test_an_error_message_is_cut_to_the_callers_buffer(void **state)
{
    (void)state;
    const char *json = dq("{'tabels': {}}");
    char err[16];
    manifest m;
    assert_false(manifest_parse(json, strlen(json), "m.json", &m, err, sizeof err));
    assert_string_equal(err, "manifest \"m.jso");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
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
        cmocka_unit_test(test_an_error_message_is_cut_to_the_callers_buffer),
    };
    return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
