/* test_bind_manifest.c - the manifest's side of bindings: what a "library" handler with "bind"
 * yields (call, arguments, paths, types, return) and, for every rule it breaks, the exact
 * one-line error naming the key. Works on manifest text in a temporary directory; never
 * loads a library (test_bind.c does, through the real binary). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
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
    char path[256];
    if (fixture_make_dir("ddb-bind-manifest") != 0) return -1;
    fixture_write("libnext.so", "not really a library");
    snprintf(path, sizeof path, "%s/lib", dir);
    return mkdir(path, 0700);
}

/* A manifest whose "Orders" route is one bound handler with these "bind" members. */
static const char *bound(const char *bind)
{
    static char buf[8192];
    snprintf(buf, sizeof buf, "{'tables': {'Orders': {'library': 'libbilling.so', 'bind': {%s}}}}",
             bind);
    return dq(buf);
}

/* A manifest binding on_insert to f with these arguments (a JSON array's inside). */
static const char *with_args(const char *args)
{
    static char buf[4096];
    snprintf(buf, sizeof buf, "'on_insert': {'call': 'f', 'args': [%s], 'returns': 'int'}", args);
    return bound(buf);
}


/* The json given is already in double quotes (dq). */
#define assert_refused(json, ...) assert_refused_text(json, strlen(json), __VA_ARGS__)

#define ARG_AT "tables.Orders.bind.on_insert.args[0]: "
#define TYPES "string, bytes, int32, int64, uint64, double, bool, json, with an optional trailing ?"
#define SOURCES                                                                               \
    "Keys, NewImage, OldImage, table, eventName, SequenceNumber, eventID, record or image:NewImage"

/* ---- what a valid binding yields ------------------------------------------------------- */

static void test_the_issue_example_yields_its_call_arguments_and_return(void **state)
{
    (void)state;
    manifest m = parse_ok(dq("{'tables': {'Orders': {'library': 'libbilling.so', 'bind': "
                             "{'on_insert': {'call': 'billing_record', 'args': "
                             "['NewImage.customer:string', 'NewImage.total:int64'], "
                             "'returns': 'int'}}}}}"));
    const manifest_handler *h = &m.routes[0].handlers[0];
    assert_null(h->plugin);
    assert_null(h->config);
    assert_string_equal(h->library, "libbilling.so"); /* no such file here: dlopen searches */
    assert_string_equal(h->at, "tables.Orders");
    assert_int_equal(h->events, MANIFEST_ALL_EVENTS);
    assert_null(h->bind[DDB_MODIFY].call);
    assert_null(h->bind[DDB_REMOVE].call);
    const manifest_binding *b = &h->bind[DDB_INSERT];
    assert_string_equal(b->call, "billing_record");
    assert_int_equal(b->returns, MANIFEST_RETURNS_INT);
    assert_int_equal(b->nargs, 2);
    assert_string_equal(b->args[0].text, "NewImage.customer:string");
    assert_int_equal(b->args[0].path_len, strlen("NewImage.customer"));
    assert_int_equal(b->args[0].source, MANIFEST_SRC_NEW_IMAGE);
    assert_int_equal(b->args[0].nsteps, 1);
    assert_string_equal(b->args[0].steps[0].name, "customer");
    assert_int_equal(b->args[0].steps[0].name_len, 8);
    assert_int_equal(b->args[0].type, MANIFEST_ARG_STRING);
    assert_false(b->args[0].optional);
    assert_int_equal(b->args[1].type, MANIFEST_ARG_INT64);
    manifest_free(&m);
}

static void test_paths_take_names_quoted_names_and_list_indexes(void **state)
{
    (void)state;
    manifest m = parse_ok(with_args("'OldImage.items[2].sku:string?', "
                                    "'Keys[\\'a.b\\'][\\'it\\\\\\'s\\'].c:json', "
                                    "'NewImage[\\'x:y\\'][4294967295]:bool'"));
    const manifest_arg *a = m.routes[0].handlers[0].bind[DDB_INSERT].args;
    assert_int_equal(a[0].source, MANIFEST_SRC_OLD_IMAGE);
    assert_int_equal(a[0].nsteps, 3);
    assert_string_equal(a[0].steps[0].name, "items");
    assert_null(a[0].steps[1].name);
    assert_int_equal(a[0].steps[1].index, 2);
    assert_string_equal(a[0].steps[2].name, "sku");
    assert_true(a[0].optional);
    assert_int_equal(a[0].path_len, strlen("OldImage.items[2].sku"));

    assert_int_equal(a[1].source, MANIFEST_SRC_KEYS);
    assert_int_equal(a[1].nsteps, 3);
    assert_string_equal(a[1].steps[0].name, "a.b");
    assert_string_equal(a[1].steps[1].name, "it's"); /* the backslash escapes the quote */
    assert_int_equal(a[1].steps[1].name_len, 4);
    assert_string_equal(a[1].steps[2].name, "c");
    assert_int_equal(a[1].type, MANIFEST_ARG_JSON);

    assert_int_equal(a[2].nsteps, 2);
    assert_string_equal(a[2].steps[0].name, "x:y");
    assert_int_equal(a[2].steps[1].index, 4294967295u);
    assert_int_equal(a[2].type, MANIFEST_ARG_BOOL);
    manifest_free(&m);
}

static void test_every_type_record_fact_and_whole_image_is_accepted(void **state)
{
    (void)state;
    manifest m = parse_ok(with_args(
        "'NewImage.a:string', 'NewImage.a:bytes', 'NewImage.a:int32', 'NewImage.a:int64', "
        "'NewImage.a:uint64', 'NewImage.a:double', 'NewImage.a:bool', 'NewImage.a:json', "
        "'table:string', 'eventName:bytes', 'SequenceNumber:string', 'eventID:string?', "
        "'record', 'image:NewImage', 'image:OldImage?', 'Keys:json'"));
    const manifest_binding *b = &m.routes[0].handlers[0].bind[DDB_INSERT];
    static const manifest_arg_type types[] = {
        MANIFEST_ARG_STRING, MANIFEST_ARG_BYTES,  MANIFEST_ARG_INT32,  MANIFEST_ARG_INT64,
        MANIFEST_ARG_UINT64, MANIFEST_ARG_DOUBLE, MANIFEST_ARG_BOOL,   MANIFEST_ARG_JSON,
        MANIFEST_ARG_STRING, MANIFEST_ARG_BYTES,  MANIFEST_ARG_STRING, MANIFEST_ARG_STRING,
        MANIFEST_ARG_RECORD, MANIFEST_ARG_JSON,   MANIFEST_ARG_JSON,   MANIFEST_ARG_JSON};
    static const manifest_arg_source sources[] = {
        MANIFEST_SRC_NEW_IMAGE, MANIFEST_SRC_NEW_IMAGE,       MANIFEST_SRC_NEW_IMAGE,
        MANIFEST_SRC_NEW_IMAGE, MANIFEST_SRC_NEW_IMAGE,       MANIFEST_SRC_NEW_IMAGE,
        MANIFEST_SRC_NEW_IMAGE, MANIFEST_SRC_NEW_IMAGE,       MANIFEST_SRC_TABLE,
        MANIFEST_SRC_EVENT_NAME, MANIFEST_SRC_SEQUENCE_NUMBER, MANIFEST_SRC_EVENT_ID,
        MANIFEST_SRC_RECORD,    MANIFEST_SRC_NEW_IMAGE,       MANIFEST_SRC_OLD_IMAGE,
        MANIFEST_SRC_KEYS};
    assert_int_equal(b->nargs, MANIFEST_MAX_BIND_ARGS);
    for (size_t i = 0; i < b->nargs; i++) {
        assert_int_equal(b->args[i].type, types[i]);
        assert_int_equal(b->args[i].source, sources[i]);
        assert_int_equal(b->args[i].optional, i == 11 || i == 14);
    }
    assert_int_equal(b->args[13].nsteps, 0);
    assert_string_equal(manifest_arg_type_name(MANIFEST_ARG_UINT64), "uint64");
    manifest_free(&m);
}

static void test_each_event_binds_its_own_function_and_events_still_filter(void **state)
{
    (void)state;
    manifest m = parse_ok(dq("{'tables': {'Orders': [{'plugin': 'libnext.so'}, {'library': "
                             "'libnext.so', 'events': ['MODIFY', 'REMOVE'], 'isolation': "
                             "'process', 'bind': {'on_remove': {'call': 'gone', 'args': "
                             "['Keys.id:string'], 'returns': 'void'}, 'on_modify': {'call': "
                             "'changed', 'args': [], 'returns': 'bool'}}}]}}"));
    const manifest_handler *plugin = &m.routes[0].handlers[0], *h = &m.routes[0].handlers[1];
    char next[256];
    snprintf(next, sizeof next, "%s/libnext.so", dir);
    assert_string_equal(plugin->plugin, next); /* other handlers stay plugins */
    assert_null(plugin->library);
    assert_string_equal(h->library, next); /* a bare name next to the manifest is that file */
    assert_string_equal(h->at, "tables.Orders[1]");
    assert_true(h->isolated);
    assert_int_equal(h->events, 1u << DDB_MODIFY | 1u << DDB_REMOVE);
    assert_null(h->bind[DDB_INSERT].call);
    assert_string_equal(h->bind[DDB_MODIFY].call, "changed");
    assert_int_equal(h->bind[DDB_MODIFY].nargs, 0);
    assert_int_equal(h->bind[DDB_MODIFY].returns, MANIFEST_RETURNS_BOOL);
    assert_string_equal(h->bind[DDB_REMOVE].call, "gone");
    assert_int_equal(h->bind[DDB_REMOVE].returns, MANIFEST_RETURNS_VOID);
    manifest_free(&m);
}

static void test_a_library_path_with_a_slash_starts_from_the_manifest(void **state)
{
    (void)state;
    char want[256];
    manifest m = parse_ok(dq("{'tables': {'Orders': {'library': './libnext.so', 'bind': "
                             "{'on_insert': {'call': 'f', 'args': [], 'returns': 'int'}}}}}"));
    snprintf(want, sizeof want, "%s/libnext.so", dir);
    assert_string_equal(m.routes[0].handlers[0].library, want);
    manifest_free(&m);
    char text[512];
    snprintf(text, sizeof text, "{'tables': {'Orders': {'library': '%s', 'bind': {'on_insert': "
             "{'call': 'f', 'args': [], 'returns': 'int'}}}}}", want);
    m = parse_ok(dq(text));
    assert_string_equal(m.routes[0].handlers[0].library, want); /* absolute: kept */
    manifest_free(&m);
}

/* ---- what is refused, and how it is said --------------------------------------------- */

static void test_a_library_path_that_is_not_a_file_is_refused_but_a_bare_name_is_searched(void **state)
{
    (void)state;
    /* Not next to the manifest (lib is a directory there): left to dlopen's search. */
    manifest m = parse_ok(dq("{'tables': {'Orders': {'library': 'lib', 'bind': {'on_insert': "
                             "{'call': 'f', 'args': [], 'returns': 'int'}}}}}"));
    assert_string_equal(m.routes[0].handlers[0].library, "lib");
    manifest_free(&m);
    assert_refused(dq("{'tables': {'Orders': {'library': 'lib/libgone.so', 'bind': {'on_insert': "
                      "{'call': 'f', 'args': [], 'returns': 'int'}}}}}"),
                   "tables.Orders.library: no such file \"%s/lib/libgone.so\" (hint: a relative "
                   "library path starts from the manifest's directory)", dir);
    assert_refused(dq("{'tables': {'Orders': {'library': '/nonexistent/libgone.so', 'bind': "
                      "{'on_insert': {'call': 'f', 'args': [], 'returns': 'int'}}}}}"),
                   "tables.Orders.library: no such file \"/nonexistent/libgone.so\"");
    assert_refused(dq("{'tables': {'Orders': {'library': './lib', 'bind': {'on_insert': "
                      "{'call': 'f', 'args': [], 'returns': 'int'}}}}}"),
                   "tables.Orders.library: \"%s/lib\" is not a regular file", dir);
    assert_refused(dq("{'tables': {'Orders': {'library': 7, 'bind': {'on_insert': "
                      "{'call': 'f', 'args': [], 'returns': 'int'}}}}}"),
                   "tables.Orders.library: expected the path or file name of a shared library, "
                   "found a number");
    assert_refused(dq("{'tables': {'Orders': {'library': '', 'bind': {'on_insert': "
                      "{'call': 'f', 'args': [], 'returns': 'int'}}}}}"),
                   "tables.Orders.library: expected the path or file name of a shared library, "
                   "found an empty string");
}

static void test_a_handler_is_a_plugin_or_a_bound_library_never_both(void **state)
{
    (void)state;
    assert_refused(dq("{'tables': {'Orders': {'plugin': 'libnext.so', 'library': 'libnext.so', "
                      "'bind': {}}}}"),
                   "tables.Orders: \"plugin\" beside \"library\": a handler is either a plugin or "
                   "a bound library (\"library\" and \"bind\", see docs/BINDINGS.md)");
    assert_refused(dq("{'tables': {'Orders': {'plugin': 'libnext.so', 'bind': {}}}}"),
                   "tables.Orders: \"plugin\" beside \"bind\": a handler is either a plugin or "
                   "a bound library (\"library\" and \"bind\", see docs/BINDINGS.md)");
    assert_refused(dq("{'tables': {'Orders': {'library': 'libx.so', 'config': {}}}}"),
                   "tables.Orders: a bound library takes no \"config\": its functions get what "
                   "\"bind\" passes them");
    assert_refused(dq("{'tables': {'Orders': {'library': 'libx.so', 'bnid': {}}}}"),
                   "tables.Orders: unknown key \"bnid\" (expected \"library\", \"bind\", "
                   "\"events\" or \"isolation\")");
    assert_refused(dq("{'tables': {'Orders': {'library': 'libx.so'}}}"),
                   "tables.Orders: missing key \"bind\" (the library function each event calls: "
                   "{\"on_insert\": {\"call\": ...}})");
    assert_refused(dq("{'tables': {'Orders': {'bind': {}}}}"),
                   "tables.Orders: missing key \"library\" (the shared library whose functions "
                   "\"bind\" calls)");
}

static void test_bind_must_map_event_callbacks_to_bindings(void **state)
{
    (void)state;
    const char *want = "tables.Orders.bind: expected an object binding \"on_insert\", "
                       "\"on_modify\" or \"on_remove\" to a function ({\"on_insert\": "
                       "{\"call\": ...}}), found %s";
    assert_refused(bound(""), want, "an empty object");
    assert_refused(dq("{'tables': {'Orders': {'library': 'libx.so', 'bind': 'f'}}}"), want,
                   "a string");
    assert_refused(bound("'on_update': {}"),
                   "tables.Orders.bind: unknown key \"on_update\" (expected \"on_insert\", "
                   "\"on_modify\" or \"on_remove\")");
    assert_refused(bound("'on_insert': []"),
                   "tables.Orders.bind.on_insert: expected a binding object ({\"call\": "
                   "\"function\", \"args\": [...], \"returns\": \"int\"}), found an empty array");
    assert_refused(dq("{'tables': {'Orders': {'library': 'libx.so', 'events': ['MODIFY'], 'bind': "
                      "{'on_insert': {'call': 'f', 'args': [], 'returns': 'int'}}}}}"),
                   "tables.Orders.bind.on_insert: INSERT is not among the handler's \"events\", "
                   "so this binding would never be called (hint: add \"INSERT\" to \"events\" or "
                   "remove the binding)");
}

static void test_a_binding_needs_a_call_its_args_and_a_return_type(void **state)
{
    (void)state;
    assert_refused(bound("'on_insert': {'args': [], 'returns': 'int'}"),
                   "tables.Orders.bind.on_insert: missing key \"call\" (the name of the library "
                   "function to call)");
    assert_refused(bound("'on_insert': {'call': 'f', 'returns': 'int'}"),
                   "tables.Orders.bind.on_insert: missing key \"args\" (the function's arguments, "
                   "in order, e.g. [\"NewImage.id:string\"]; [] for none)");
    assert_refused(bound("'on_insert': {'call': 'f', 'args': []}"),
                   "tables.Orders.bind.on_insert: missing key \"returns\" (\"int\": 0 is success, "
                   "\"bool\": true is success, or \"void\")");
    assert_refused(bound("'on_insert': {'call': 'f', 'args': [], 'returns': 'int', 'then': 1}"),
                   "tables.Orders.bind.on_insert: unknown key \"then\" (expected \"call\", "
                   "\"args\" or \"returns\")");
    assert_refused(bound("'on_insert': {'call': 'billing-record', 'args': [], 'returns': 'int'}"),
                   "tables.Orders.bind.on_insert.call: expected the name of an exported C "
                   "function, found \"billing-record\"");
    assert_refused(bound("'on_insert': {'call': 7, 'args': [], 'returns': 'int'}"),
                   "tables.Orders.bind.on_insert.call: expected the name of an exported C "
                   "function, found a number");
    assert_refused(bound("'on_insert': {'call': 'f', 'args': 'NewImage.id:string', 'returns': "
                         "'int'}"),
                   "tables.Orders.bind.on_insert.args: expected an array of arguments (e.g. "
                   "[\"NewImage.id:string\"]; [] for none), found a string");
    assert_refused(bound("'on_insert': {'call': 'f', 'args': [], 'returns': 'long'}"),
                   "tables.Orders.bind.on_insert.returns: expected \"int\", \"bool\" or \"void\", "
                   "found \"long\"");
    assert_refused(with_args("'record', 'record', 'record', 'record', 'record', 'record', "
                             "'record', 'record', 'record', 'record', 'record', 'record', "
                             "'record', 'record', 'record', 'record', 'record'"),
                   "tables.Orders.bind.on_insert.args: 17 arguments, at most 16");
}

static void test_argument_mistakes_name_the_argument_and_what_is_wrong(void **state)
{
    (void)state;
    static const struct {
        const char *arg, *message;
    } cases[] = {
        {"'NewImage.total:int65'", "unknown type \"int65\" (expected " TYPES ")"},
        {"'NewImage.total:Int64'", "unknown type \"Int64\" (expected " TYPES ") (the case matters)"},
        {"'NewImage.total'",
         "\"NewImage.total\": expected \":TYPE\" after NewImage.total (TYPE is one of " TYPES ")"},
        {"'NewImage.total:int64!'", "\"NewImage.total:int64!\": unexpected \"!\" after the type"},
        {"'NewImage.total:int64?" "?'", "\"NewImage.total:int64?" "?\": unexpected \"?\" after the type"},
        {"'Newimage.total:int64'",
         "\"Newimage.total:int64\": unknown source \"Newimage\" (expected " SOURCES
         ") (the case matters)"},
        {"'Item.total:int64'",
         "\"Item.total:int64\": unknown source \"Item\" (expected " SOURCES ")"},
        {"'NewImage..total:int64'",
         "\"NewImage..total:int64\": expected an attribute name after \".\" (quote other names: "
         "NewImage['a.b']) (at character 10)"},
        {"'NewImage.items[x]:string'",
         "\"NewImage.items[x]:string\": expected a list index or a quoted name after \"[\" (at "
         "character 16)"},
        {"'NewImage.items[2:string'",
         "\"NewImage.items[2:string\": expected \"]\" after the list index (at character 17)"},
        {"'NewImage.items[4294967296]:string'",
         "\"NewImage.items[4294967296]:string\": list index out of range (at most 4294967295) (at "
         "character 16)"},
        {"'NewImage[\\'a.b:string'",
         "\"NewImage['a.b:string\": a quoted name without its closing quote (at character 21)"},
        {"'NewImage[\\'a.b\\'.c:string'",
         "\"NewImage['a.b'.c:string\": expected \"]\" after the quoted name (at character 15)"},
        {"'record:string'",
         "\"record:string\": record is passed as the const ddb_record * itself and takes no "
         "path, type or \"?\" (write \"record\")"},
        {"'image:Item'",
         "\"image:Item\": expected Keys, NewImage or OldImage after \"image:\", found \"Item\""},
        {"'image:table'",
         "\"image:table\": expected Keys, NewImage or OldImage after \"image:\", found \"table\""},
        {"'eventName:int32'", "eventName is text: it is passed as string or bytes, not int32"},
        {"'table.name:string'",
         "\"table.name:string\": expected \":TYPE\" after table (TYPE is one of " TYPES ")"},
        {"'NewImage:string'",
         "NewImage is a whole map: it is passed as json (image:NewImage), not string (hint: name "
         "an attribute, e.g. NewImage.id:string)"},
        {"''",
         "expected an argument such as \"NewImage.total:int64\", found an empty string"},
        {"7", "expected an argument such as \"NewImage.total:int64\", found a number"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_refused(with_args(cases[i].arg), ARG_AT "%s", cases[i].message);
    /* The index names which argument. */
    assert_refused(with_args("'NewImage.customer:string', 'NewImage.total:int65'"),
                   "tables.Orders.bind.on_insert.args[1]: unknown type \"int65\" (expected " TYPES
                   ")");
}

static void test_manifest_error_reads_like_every_manifest_message(void **state)
{
    (void)state;
    char err[256];
    manifest_error(err, sizeof err, "dir/m.json", "tables.Orders.library", "cannot load \"%s\"",
                   "libx.so");
    assert_string_equal(err, "manifest \"dir/m.json\": tables.Orders.library: cannot load "
                             "\"libx.so\"");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_issue_example_yields_its_call_arguments_and_return),
        cmocka_unit_test(test_paths_take_names_quoted_names_and_list_indexes),
        cmocka_unit_test(test_every_type_record_fact_and_whole_image_is_accepted),
        cmocka_unit_test(test_each_event_binds_its_own_function_and_events_still_filter),
        cmocka_unit_test(test_a_library_path_with_a_slash_starts_from_the_manifest),
        cmocka_unit_test(test_a_library_path_that_is_not_a_file_is_refused_but_a_bare_name_is_searched),
        cmocka_unit_test(test_a_handler_is_a_plugin_or_a_bound_library_never_both),
        cmocka_unit_test(test_bind_must_map_event_callbacks_to_bindings),
        cmocka_unit_test(test_a_binding_needs_a_call_its_args_and_a_return_type),
        cmocka_unit_test(test_argument_mistakes_name_the_argument_and_what_is_wrong),
        cmocka_unit_test(test_manifest_error_reads_like_every_manifest_message),
    };
    return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
