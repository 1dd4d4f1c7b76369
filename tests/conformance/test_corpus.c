/* test_corpus.c - the whole conformance corpus through the real binary and the echo plugin.
 * Every DynamoDB-stream event must come out of echo exactly as it went in (names, numbers as
 * text, decoded bytes, member order); everything else must be refused with one error line.
 * The file list is read at run time so new corpus files are covered without editing this. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run.h"

#define CORPUS_DIR DDB_SOURCE_DIR "/tests/conformance/corpus"
#define ECHO_PLUGIN DDB_BINARY_DIR "/plugins/echo.so"

/* Files in events/ that are not {"Records":[...]} DynamoDB-stream events (SOURCES.md flags
 * them). Listed by hand so that a file the host classifies differently fails a test. */
static const char *const corpus_non_events[] = {
    "aws-lambda-java-libs-dynamo_ddb_stream_record.json",
    "aws-lambda-rust-runtime-example-dynamodb-event-record-with-optional-fields.json",
    "calavera-aws-lambda-events-example-dynamodb-event-record-with-optional-fields.json",
    "powertools-typescript-parser-kinesis-dynamodb-stream.json",
};

/* What the refusal of some files must mention for the user to see what went wrong. */
static const struct {
    const char *file;
    const char *says;
} corpus_refusal_says[] = {
    {"powertools-typescript-parser-kinesis-dynamodb-stream.json", "aws:kinesis"},
    {"aws-lambda-go-dynamodb-event-malformed.2.json", "byte "},
};

typedef struct corpus_case {
    char *path;
    const char *file;      /* points into path */
    const char *must_say;  /* for refusals: a substring the error line must contain */
} corpus_case;

/* ---- reading JSON with json-c (a tree is fine in a test) ------------------------------- */

/* The event text as a json-c tree; a leading UTF-8 BOM is skipped (three fixtures have one)
 * and nothing but whitespace may follow the value. NULL when it is not JSON. */
static json_object *corpus_parse(const char *text, size_t len)
{
    json_tokener *tok = json_tokener_new_ex(128);
    json_object *obj;
    size_t used;
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
        text += 3;
        len -= 3;
    }
    obj = json_tokener_parse_ex(tok, text, (int)len);
    used = (size_t)json_tokener_get_parse_end(tok);
    if (obj && json_tokener_get_error(tok) == json_tokener_success)
        for (; used < len; used++)
            if (!strchr(" \t\r\n", text[used])) {
                json_object_put(obj);
                obj = NULL;
                break;
            }
    json_tokener_free(tok);
    return obj;
}

static json_object *corpus_member(json_object *obj, const char *key)
{
    json_object *v = NULL;
    return json_object_object_get_ex(obj, key, &v) ? v : NULL;
}

/* ---- FORMAT.md §6: the table name from a stream ARN, written independently of the host --- */

static bool corpus_table_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '.' || c == '-';
}

/* Writes the table name of arn into out and returns true, or returns false for "no table". */
static bool corpus_table_from_arn(const char *arn, char *out, size_t cap)
{
    const char *field[6], *p = arn, *name, *slash;
    size_t i, n;
    if (!arn || strncmp(arn, "arn:", 4) != 0) return false;
    field[0] = arn;
    for (i = 1; i < 6; i++) { /* split on ':' at most 5 times: the stream label has colons */
        p = strchr(p, ':');
        if (!p) return false;
        field[i] = ++p;
    }
    n = (size_t)(field[2] - field[1] - 1); /* partition: "aws" or "aws-..." */
    if (!(n == 3 && strncmp(field[1], "aws", 3) == 0) &&
        !(n > 4 && strncmp(field[1], "aws-", 4) == 0))
        return false;
    if (strncmp(field[2], "dynamodb:", 9) != 0) return false;
    if (strncmp(field[5], "table/", 6) != 0) return false;
    name = field[5] + 6;
    slash = strchr(name, '/');
    if (!slash || strncmp(slash, "/stream/", 8) != 0 || slash[8] == '\0') return false;
    n = (size_t)(slash - name);
    if (n < 3 || n > 255 || n >= cap) return false;
    for (i = 0; i < n; i++)
        if (!corpus_table_char(name[i])) return false;
    memcpy(out, name, n);
    out[n] = '\0';
    return true;
}

/* ---- comparing one decoded value with the input, exactly -------------------------------- */

typedef struct corpus_diff {
    char why[1024];
    bool found;
} corpus_diff;

static bool corpus_differs(corpus_diff *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static bool corpus_differs(corpus_diff *d, const char *fmt, ...)
{
    va_list ap;
    if (!d->found) {
        va_start(ap, fmt);
        vsnprintf(d->why, sizeof d->why, fmt, ap);
        va_end(ap);
        d->found = true;
    }
    return false;
}

static int corpus_b64_digit(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* Standard base64 (padding optional) into out, which holds at least len bytes. */
static bool corpus_b64_decode(const char *s, size_t len, unsigned char *out, size_t *out_len)
{
    unsigned acc = 0;
    int bits = 0;
    size_t i, n = 0;
    while (len > 0 && s[len - 1] == '=') len--;
    for (i = 0; i < len; i++) {
        int v = corpus_b64_digit((unsigned char)s[i]);
        if (v < 0) return false;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (unsigned char)(acc >> bits);
        }
    }
    *out_len = n;
    return true;
}

static bool corpus_same_text(json_object *in, json_object *out, const char *path, corpus_diff *d)
{
    if (!json_object_is_type(in, json_type_string))
        return corpus_differs(d, "%s: the input is not a string", path);
    if (!json_object_is_type(out, json_type_string))
        return corpus_differs(d, "%s: echo wrote %s, not a string", path,
                              json_object_to_json_string(out));
    if (json_object_get_string_len(in) != json_object_get_string_len(out) ||
        memcmp(json_object_get_string(in), json_object_get_string(out),
               (size_t)json_object_get_string_len(in)) != 0)
        return corpus_differs(d, "%s: input \"%s\", echo wrote \"%s\"", path,
                              json_object_get_string(in), json_object_get_string(out));
    return true;
}

static bool corpus_same_bytes(json_object *in, json_object *out, const char *path, corpus_diff *d)
{
    size_t in_len, out_len, n_in, n_out;
    unsigned char *a, *b;
    bool same;
    if (!json_object_is_type(in, json_type_string) || !json_object_is_type(out, json_type_string))
        return corpus_differs(d, "%s: binary value is not a base64 string", path);
    in_len = (size_t)json_object_get_string_len(in);
    out_len = (size_t)json_object_get_string_len(out);
    a = malloc(in_len + 1);
    b = malloc(out_len + 1);
    if (!corpus_b64_decode(json_object_get_string(in), in_len, a, &n_in)) {
        free(a), free(b);
        return corpus_differs(d, "%s: the input is not base64", path);
    }
    if (!corpus_b64_decode(json_object_get_string(out), out_len, b, &n_out)) {
        free(a), free(b);
        return corpus_differs(d, "%s: echo wrote \"%s\", not base64", path,
                              json_object_get_string(out));
    }
    same = n_in == n_out && memcmp(a, b, n_in) == 0;
    free(a), free(b);
    if (!same)
        return corpus_differs(d, "%s: input \"%s\" and echo's \"%s\" decode to different bytes",
                              path, json_object_get_string(in), json_object_get_string(out));
    return true;
}

static bool corpus_same_value(json_object *in, json_object *out, const char *path, corpus_diff *d);

/* Two maps: the same member names in the same order, each value the same. */
static bool corpus_same_map(json_object *in, json_object *out, const char *path, corpus_diff *d)
{
    struct json_object_iterator i, i_end, o, o_end;
    if (!json_object_is_type(in, json_type_object))
        return corpus_differs(d, "%s: the input is not an object", path);
    if (!json_object_is_type(out, json_type_object))
        return corpus_differs(d, "%s: echo wrote %s, not an object", path,
                              json_object_to_json_string(out));
    if (json_object_object_length(in) != json_object_object_length(out))
        return corpus_differs(d, "%s: input has %d members, echo wrote %d", path,
                              json_object_object_length(in), json_object_object_length(out));
    i = json_object_iter_begin(in), i_end = json_object_iter_end(in);
    o = json_object_iter_begin(out), o_end = json_object_iter_end(out);
    for (; !json_object_iter_equal(&i, &i_end) && !json_object_iter_equal(&o, &o_end);
         json_object_iter_next(&i), json_object_iter_next(&o)) {
        const char *name = json_object_iter_peek_name(&i);
        char sub[768];
        if (strcmp(name, json_object_iter_peek_name(&o)) != 0)
            return corpus_differs(d, "%s: member \"%s\" of the input came out as \"%s\" (order "
                                  "or name differs)", path, name, json_object_iter_peek_name(&o));
        snprintf(sub, sizeof sub, "%s.%s", path, name);
        if (!corpus_same_value(json_object_iter_peek_value(&i), json_object_iter_peek_value(&o),
                               sub, d))
            return false;
    }
    return true;
}

/* Two arrays of the same length whose elements compare equal by `same` (in order). */
static bool corpus_same_array(json_object *in, json_object *out, const char *path, corpus_diff *d,
                              bool (*same)(json_object *, json_object *, const char *, corpus_diff *))
{
    size_t k, n;
    if (!json_object_is_type(in, json_type_array))
        return corpus_differs(d, "%s: the input is not an array", path);
    if (!json_object_is_type(out, json_type_array))
        return corpus_differs(d, "%s: echo wrote %s, not an array", path,
                              json_object_to_json_string(out));
    n = json_object_array_length(in);
    if (n != json_object_array_length(out))
        return corpus_differs(d, "%s: input has %zu elements, echo wrote %zu", path, n,
                              json_object_array_length(out));
    for (k = 0; k < n; k++) {
        char sub[768];
        if (snprintf(sub, sizeof sub, "%s[%zu]", path, k) >= (int)sizeof sub)
            return corpus_differs(d, "%s: nested too deep to name its elements", path);
        if (!same(json_object_array_get_idx(in, k), json_object_array_get_idx(out, k), sub, d))
            return false;
    }
    return true;
}

/* One AttributeValue: the same single type tag and the same data. */
static bool corpus_same_value(json_object *in, json_object *out, const char *path, corpus_diff *d)
{
    struct json_object_iterator it;
    const char *tag;
    json_object *iv, *ov;
    char sub[768];
    if (!json_object_is_type(in, json_type_object) || json_object_object_length(in) != 1)
        return corpus_differs(d, "%s: the input is not an AttributeValue", path);
    if (!json_object_is_type(out, json_type_object) || json_object_object_length(out) != 1)
        return corpus_differs(d, "%s: echo wrote %s, not one AttributeValue", path,
                              json_object_to_json_string(out));
    it = json_object_iter_begin(in);
    tag = json_object_iter_peek_name(&it);
    iv = json_object_iter_peek_value(&it);
    if (!json_object_object_get_ex(out, tag, &ov))
        return corpus_differs(d, "%s: input type %s, echo wrote %s", path, tag,
                              json_object_to_json_string(out));
    snprintf(sub, sizeof sub, "%s.%s", path, tag);
    if (!strcmp(tag, "S") || !strcmp(tag, "N")) return corpus_same_text(iv, ov, sub, d);
    if (!strcmp(tag, "B")) return corpus_same_bytes(iv, ov, sub, d);
    if (!strcmp(tag, "SS") || !strcmp(tag, "NS"))
        return corpus_same_array(iv, ov, sub, d, corpus_same_text);
    if (!strcmp(tag, "BS")) return corpus_same_array(iv, ov, sub, d, corpus_same_bytes);
    if (!strcmp(tag, "L")) return corpus_same_array(iv, ov, sub, d, corpus_same_value);
    if (!strcmp(tag, "M")) return corpus_same_map(iv, ov, sub, d);
    if (!strcmp(tag, "BOOL") || !strcmp(tag, "NULL")) {
        if (!json_object_is_type(ov, json_type_boolean) ||
            json_object_get_boolean(iv) != json_object_get_boolean(ov) ||
            (!strcmp(tag, "NULL") && !json_object_get_boolean(ov)))
            return corpus_differs(d, "%s: input %s, echo wrote %s", sub,
                                  json_object_to_json_string(iv), json_object_to_json_string(ov));
        return true;
    }
    return corpus_differs(d, "%s: unknown type tag in the input", sub);
}

/* One echo line against its input record. */
static bool corpus_same_record(json_object *rec, json_object *line, corpus_diff *d)
{
    static const char *const texts[] = {"eventName", "eventID"};
    static const char *const images[] = {"Keys", "NewImage", "OldImage"};
    static const char *const allowed[] = {"eventName", "eventID", "table",    "SequenceNumber",
                                          "Keys",      "NewImage", "OldImage"};
    json_object *ddb = corpus_member(rec, "dynamodb"), *arn = corpus_member(rec, "eventSourceARN");
    json_object *table;
    char want[256];
    bool has_table;
    size_t k;

    if (!json_object_is_type(line, json_type_object))
        return corpus_differs(d, "the echo line is not a JSON object");
    json_object_object_foreach(line, key, val) {
        bool known = false;
        (void)val;
        for (k = 0; k < sizeof allowed / sizeof allowed[0]; k++) known |= !strcmp(key, allowed[k]);
        if (!known) return corpus_differs(d, "echo wrote an unexpected member \"%s\"", key);
    }
    for (k = 0; k < 2; k++)
        if (!corpus_same_text(corpus_member(rec, texts[k]), corpus_member(line, texts[k]),
                              texts[k], d))
            return false;
    if (!corpus_same_text(corpus_member(ddb, "SequenceNumber"),
                          corpus_member(line, "SequenceNumber"), "SequenceNumber", d))
        return false;

    has_table = corpus_table_from_arn(
        json_object_is_type(arn, json_type_string) ? json_object_get_string(arn) : NULL, want,
        sizeof want);
    if (!json_object_object_get_ex(line, "table", &table))
        return corpus_differs(d, "echo wrote no \"table\"");
    if (!has_table && table)
        return corpus_differs(d, "table: eventSourceARN \"%s\" names no table, echo wrote %s",
                              json_object_get_string(arn), json_object_to_json_string(table));
    if (has_table && (!json_object_is_type(table, json_type_string) ||
                      strcmp(json_object_get_string(table), want) != 0))
        return corpus_differs(d, "table: expected \"%s\" from \"%s\", echo wrote %s", want,
                              json_object_get_string(arn), json_object_to_json_string(table));

    for (k = 0; k < 3; k++) {
        json_object *in = corpus_member(ddb, images[k]), *out = corpus_member(line, images[k]);
        if (!in && !out) continue;
        if (!in) return corpus_differs(d, "%s: absent from the input, echo wrote one", images[k]);
        if (!out) return corpus_differs(d, "%s: in the input, absent from echo", images[k]);
        if (!corpus_same_map(in, out, images[k], d)) return false;
    }
    return true;
}

/* ---- running the binary ----------------------------------------------------------------- */

static void corpus_run(const char *event, const char *stdin_path, run_output *r)
{
    const char *argv[] = {DDB_HOST_BIN, "--invoke", ECHO_PLUGIN, event, NULL};
    assert_true(run_program(argv, stdin_path, r));
}

/* Prints what the user would have seen, frees it, and fails the test. */
static void corpus_fail_with_output(const corpus_case *c, run_output *r, const char *what)
{
    print_error("%s: %s\n  exit status %d\n  stderr: %s\n  stdout (first 2000 bytes): %.2000s\n",
                c->file, what, r->status, r->err, r->out);
    run_output_free(r);
    fail();
}

/* The input records, or NULL (with the reason in d) when the file is not a DynamoDB-stream
 * event and so does not belong among the events to accept. */
static json_object *corpus_records(const corpus_case *c, json_object *event, corpus_diff *d)
{
    json_object *records;
    size_t i;
    if (!event || !json_object_object_get_ex(event, "Records", &records) ||
        !json_object_is_type(records, json_type_array) || json_object_array_length(records) == 0) {
        corpus_differs(d, "%s is not a {\"Records\":[...]} event: if it is not meant to be "
                       "accepted, add it to corpus_non_events", c->file);
        return NULL;
    }
    for (i = 0; i < json_object_array_length(records); i++) {
        json_object *src = corpus_member(json_object_array_get_idx(records, i), "eventSource");
        if (!src || strcmp(json_object_get_string(src), "aws:dynamodb") != 0) {
            corpus_differs(d, "%s: record %zu is not from aws:dynamodb: if the file is not meant "
                           "to be accepted, add it to corpus_non_events", c->file, i);
            return NULL;
        }
    }
    return records;
}

/* What is wrong with the host's answer to an accepted event, or NULL when nothing is. */
static const char *corpus_check_answer(const run_output *r, const run_lines *out, size_t nrec)
{
    char info[128];
    snprintf(info, sizeof info, "ddbhost: %zu record%s: %zu delivered, 0 failed, 0 skipped\n",
             nrec, nrec == 1 ? "" : "s", nrec);
    if (r->status != 0) return "expected exit status 0";
    if (strstr(r->err, "error")) return "stderr mentions an error";
    if (!strstr(r->err, info)) return "stderr lacks the line \"ddbhost: N records: N delivered, "
                                      "0 failed, 0 skipped\"";
    if (!out->ends_with_newline) return "stdout does not end with a newline";
    if (out->count != nrec + 1) return "expected one echo line per record, then the response";
    return NULL;
}

/* The last line: {"batchItemFailures":[]}, and for a tumbling-window event (one with
 * "state", FORMAT.md §5.2) also "state", handed back as it came: Lambda counts a window
 * invocation whose response lacks it as failed. */
static bool corpus_same_response(json_object *event, const char *line, corpus_diff *d)
{
    json_object *resp = corpus_parse(line, strlen(line)), *failures, *state_in, *state_out;
    bool has_state = json_object_object_get_ex(event, "state", &state_in), ok;
    ok = resp && json_object_is_type(resp, json_type_object) &&
         json_object_object_length(resp) == (has_state ? 2 : 1) &&
         json_object_object_get_ex(resp, "batchItemFailures", &failures) &&
         json_object_is_type(failures, json_type_array) &&
         json_object_array_length(failures) == 0 &&
         (!has_state || (json_object_object_get_ex(resp, "state", &state_out) &&
                         json_object_equal(state_in, state_out)));
    json_object_put(resp);
    if (!ok)
        return corpus_differs(d, "the response %s is not {%s\"batchItemFailures\":[]}", line,
                              has_state ? "\"state\":<the event's state>," : "");
    return true;
}

/* ---- the tests -------------------------------------------------------------------------- */

/* A DynamoDB-stream event: accepted, and every record reaches echo exactly as it was sent. */
static void test_every_record_reaches_the_plugin_unchanged(void **state)
{
    const corpus_case *c = *state;
    size_t len, nrec, i;
    char *text = run_read_file(c->path, &len);
    const char *problem;
    json_object *event, *records;
    run_output r;
    run_lines out;
    corpus_diff d = {.found = false};

    assert_non_null(text);
    event = corpus_parse(text, len);
    free(text);
    records = corpus_records(c, event, &d);
    if (!records) {
        json_object_put(event);
        fail_msg("%s", d.why);
    }
    nrec = json_object_array_length(records);

    corpus_run(c->path, NULL, &r);
    run_split_lines(r.out, r.out_len, &out);
    problem = corpus_check_answer(&r, &out, nrec);
    for (i = 0; !problem && i < nrec; i++) {
        json_object *line = corpus_parse(out.line[i], strlen(out.line[i]));
        if (!line)
            corpus_differs(&d, "the echo line is not JSON: %s", out.line[i]);
        else
            corpus_same_record(json_object_array_get_idx(records, i), line, &d);
        json_object_put(line);
        if (d.found) break;
    }
    if (!problem && !d.found && !corpus_same_response(event, out.line[nrec], &d)) i = nrec;
    run_lines_free(&out);
    json_object_put(event);
    if (problem) corpus_fail_with_output(c, &r, problem);
    run_output_free(&r);
    if (d.found && i == nrec) fail_msg("%s: %s", c->file, d.why);
    if (d.found) fail_msg("%s: record %zu: %s", c->file, i, d.why);
}

/* Not a DynamoDB-stream event: exit 1, one error line naming the file, no response. */
static void test_is_refused_with_one_error_line(void **state)
{
    const corpus_case *c = *state;
    char prefix[4200], mention[128];
    const char *problem = NULL;
    run_output r;
    run_lines err;

    corpus_run(c->path, NULL, &r);
    run_split_lines(r.err, r.err_len, &err);
    snprintf(prefix, sizeof prefix, "ddbhost: error: event \"%s\": ", c->path);
    snprintf(mention, sizeof mention, "the error line does not mention \"%s\"",
             c->must_say ? c->must_say : "");
    if (r.status != 1)
        problem = "expected exit status 1";
    else if (err.count != 1 || !err.ends_with_newline)
        problem = "expected exactly one line on stderr";
    else if (strncmp(err.line[0], prefix, strlen(prefix)) != 0)
        problem = "the error line does not start with: ddbhost: error: event \"FILE\": ";
    else if (c->must_say && !strstr(err.line[0], c->must_say))
        problem = mention;
    else if (r.out_len != 0)
        problem = "expected nothing on stdout";
    run_lines_free(&err);
    if (problem) corpus_fail_with_output(c, &r, problem);
    run_output_free(&r);
}

static void test_every_listed_non_event_is_in_the_corpus(void **state)
{
    size_t i;
    (void)state;
    for (i = 0; i < sizeof corpus_non_events / sizeof corpus_non_events[0]; i++) {
        char path[4096];
        size_t len;
        char *text;
        snprintf(path, sizeof path, "%s/events/%s", CORPUS_DIR, corpus_non_events[i]);
        text = run_read_file(path, &len);
        if (!text) fail_msg("corpus_non_events names %s, which is not in events/", path);
        free(text);
    }
}

/* `-` reads the event from stdin: same stdout, stderr and exit status as from the file. */
static void test_an_event_from_stdin_gives_the_same_output_as_from_its_file(void **state)
{
    static const char *const files[] = {"aws-lambda-dotnet-dynamodb-event.json",
                                        "powertools-java-dynamo_event_big.json"};
    size_t i;
    (void)state;
    for (i = 0; i < 2; i++) {
        char path[4096];
        run_output from_file, from_stdin;
        bool same;
        snprintf(path, sizeof path, "%s/events/%s", CORPUS_DIR, files[i]);
        corpus_run(path, NULL, &from_file);
        corpus_run("-", path, &from_stdin);
        same = from_file.status == 0 && from_stdin.status == 0 &&
               !strcmp(from_stdin.out, from_file.out) && !strcmp(from_stdin.err, from_file.err);
        if (!same)
            print_error("%s\n--- from the file: exit %d, stdout ---\n%s--- stderr ---\n%s"
                        "--- from stdin: exit %d, stdout ---\n%s--- stderr ---\n%s",
                        files[i], from_file.status, from_file.out, from_file.err,
                        from_stdin.status, from_stdin.out, from_stdin.err);
        run_output_free(&from_file);
        run_output_free(&from_stdin);
        if (!same) fail();
    }
}

/* ---- building the test list from the corpus directories --------------------------------- */

static bool corpus_is_non_event(const char *file)
{
    size_t i;
    for (i = 0; i < sizeof corpus_non_events / sizeof corpus_non_events[0]; i++)
        if (!strcmp(file, corpus_non_events[i])) return true;
    return false;
}

static const char *corpus_must_say(const char *file)
{
    size_t i;
    for (i = 0; i < sizeof corpus_refusal_says / sizeof corpus_refusal_says[0]; i++)
        if (!strcmp(file, corpus_refusal_says[i].file)) return corpus_refusal_says[i].says;
    return NULL;
}

static int corpus_json_file(const struct dirent *e)
{
    size_t n = strlen(e->d_name);
    return n > 5 && !strcmp(e->d_name + n - 5, ".json");
}

typedef struct corpus_list {
    struct CMUnitTest *tests;
    corpus_case *cases;
    size_t count, cap;
} corpus_list;

static void corpus_add(corpus_list *l, const char *dir, const char *file, bool accept)
{
    corpus_case *c = &l->cases[l->count];
    struct CMUnitTest *t = &l->tests[l->count];
    size_t n = strlen(CORPUS_DIR) + strlen(dir) + strlen(file) + 3;
    char *name;
    c->path = malloc(n);
    snprintf(c->path, n, "%s/%s/%s", CORPUS_DIR, dir, file);
    c->file = c->path + strlen(CORPUS_DIR) + 1;
    c->must_say = accept ? NULL : corpus_must_say(file);
    n = strlen(c->file) + 64;
    name = malloc(n);
    snprintf(name, n, "%s: %s", c->file,
             accept ? "every record reaches the plugin unchanged" : "is refused with one error line");
    *t = (struct CMUnitTest){name, accept ? test_every_record_reaches_the_plugin_unchanged
                                          : test_is_refused_with_one_error_line,
                             NULL, NULL, c};
    l->count++;
}

/* Adds one test per .json file of dir; false when the directory cannot be read. */
static bool corpus_add_dir(corpus_list *l, const char *dir, bool events)
{
    char path[4096];
    struct dirent **names;
    int n, i;
    snprintf(path, sizeof path, "%s/%s", CORPUS_DIR, dir);
    n = scandir(path, &names, corpus_json_file, alphasort);
    if (n < 0) {
        fprintf(stderr, "test_corpus: cannot read %s\n", path);
        return false;
    }
    if (l->count + (size_t)n > l->cap) {
        fprintf(stderr, "test_corpus: more files than expected in %s\n", path);
        n = 0;
    }
    for (i = 0; i < n; i++) {
        corpus_add(l, dir, names[i]->d_name, events && !corpus_is_non_event(names[i]->d_name));
        free(names[i]);
    }
    free(names);
    return true;
}

int main(void)
{
    static const struct CMUnitTest fixed[] = {
        cmocka_unit_test(test_every_listed_non_event_is_in_the_corpus),
        cmocka_unit_test(test_an_event_from_stdin_gives_the_same_output_as_from_its_file),
    };
    corpus_list l = {.cap = 4096};
    size_t i;
    int failed;
    l.tests = calloc(l.cap + 2, sizeof *l.tests);
    l.cases = calloc(l.cap, sizeof *l.cases);
    if (!corpus_add_dir(&l, "events", true) || !corpus_add_dir(&l, "malformed", false) ||
        !corpus_add_dir(&l, "related", false))
        return 1;
    for (i = 0; i < 2; i++) l.tests[l.count + i] = fixed[i];
    failed = _cmocka_run_group_tests("conformance_corpus", l.tests, l.count + 2, NULL, NULL);
    for (i = 0; i < l.count; i++) {
        free((char *)l.tests[i].name);
        free(l.cases[i].path);
    }
    free(l.tests);
    free(l.cases);
    return failed;
}
