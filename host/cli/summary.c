/* summary.c - the per-event summary of `ddbhost --invoke`, for people and for scripts.
 * Reads a router_result (records, outcomes) and prints; owns nothing past the call. */
#include "summary.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

typedef struct summary_table {
    ddb_str name; /* ptr NULL for records without a table */
    size_t count[4]; /* by ddb_event_name */
} summary_table;

/* Tables in order of first appearance; NULL when out of memory. *n is their number. */
static summary_table *summary_tables(const router_result *res, size_t *n)
{
    summary_table *t = calloc(res->records ? res->records : 1, sizeof *t);
    *n = 0;
    if (!t) return NULL;
    for (size_t i = 0; i < res->records; i++) {
        const ddb_record *rec = &res->batch[i];
        size_t k = 0;
        for (; k < *n; k++) {
            const ddb_str *a = &t[k].name, *b = &rec->table;
            if (a->len == b->len && (a->ptr == b->ptr || (a->ptr && b->ptr &&
                                                         memcmp(a->ptr, b->ptr, a->len) == 0)))
                break;
        }
        if (k == *n) t[(*n)++].name = rec->table;
        t[k].count[rec->event_name]++;
    }
    return t;
}

static const char *summary_table_name(const ddb_str *s, int *len)
{
    *len = s->ptr ? (int)s->len : 10;
    return s->ptr ? s->ptr : "(no table)";
}

void summary_human(FILE *out, const char *event_path, const router_result *res, double ms)
{
    fprintf(out, "ddbhost: %s: %zu record%s in %.2f ms: %zu delivered, %zu failed, %zu skipped\n",
            event_path, res->records, res->records == 1 ? "" : "s", ms, res->delivered,
            res->failed, res->skipped);
    size_t n;
    summary_table *t = summary_tables(res, &n);
    for (size_t k = 0; t && k < n; k++) {
        int len;
        const char *name = summary_table_name(&t[k].name, &len);
        fprintf(out, "  %.*s: %zu INSERT, %zu MODIFY, %zu REMOVE\n", len, name,
                t[k].count[DDB_INSERT], t[k].count[DDB_MODIFY], t[k].count[DDB_REMOVE]);
    }
    free(t);
    for (size_t i = 0; i < res->records; i++) {
        const router_outcome *o = &res->outcome[i];
        if (!o->plugin) continue;
        const ddb_record *rec = &res->batch[i];
        int len;
        const char *name = summary_table_name(&rec->table, &len);
        fprintf(out, "  failed: record %zu (%.*s, SequenceNumber %.*s) in plugin \"%s\": %s\n", i,
                len, name, (int)rec->sequence_number.len,
                rec->sequence_number.ptr ? rec->sequence_number.ptr : "", o->plugin,
                ddb_status_str(o->status));
    }
    if (res->undelivered)
        fprintf(out, "  not attempted: %zu record%s %s\n", res->undelivered,
                res->undelivered == 1 ? "" : "s",
                res->deadline_cut ? "for lack of time" : "after the first failure (on_failure: stop)");
}

static json_object *summary_string(const ddb_str *s)
{
    return s->ptr ? json_object_new_string_len(s->ptr, (int)s->len) : NULL;
}

void summary_json(FILE *out, const char *event_path, const router_result *res, double ms)
{
    json_object *o = json_object_new_object(), *tables = json_object_new_object();
    json_object *failures = json_object_new_array();
    json_object_object_add(o, "event", json_object_new_string(event_path));
    json_object_object_add(o, "records", json_object_new_int64((int64_t)res->records));
    json_object_object_add(o, "delivered", json_object_new_int64((int64_t)res->delivered));
    json_object_object_add(o, "failed", json_object_new_int64((int64_t)res->failed));
    json_object_object_add(o, "skipped", json_object_new_int64((int64_t)res->skipped));
    json_object_object_add(o, "not_attempted", json_object_new_int64((int64_t)res->undelivered));
    char text[32];
    snprintf(text, sizeof text, "%.3f", ms);
    json_object_object_add(o, "ms", json_object_new_double_s(ms, text));
    size_t n;
    summary_table *t = summary_tables(res, &n);
    for (size_t k = 0; t && k < n; k++) {
        json_object *c = json_object_new_object();
        for (int e = DDB_INSERT; e <= DDB_REMOVE; e++)
            json_object_object_add(c, ddb_event_name_str((ddb_event_name)e),
                                   json_object_new_int64((int64_t)t[k].count[e]));
        char name[300];
        int len;
        const char *s = summary_table_name(&t[k].name, &len);
        snprintf(name, sizeof name, "%.*s", len, s);
        json_object_object_add(tables, name, c);
    }
    free(t);
    json_object_object_add(o, "tables", tables);
    for (size_t i = 0; i < res->records; i++) {
        const router_outcome *oc = &res->outcome[i];
        if (!oc->plugin) continue;
        const ddb_record *rec = &res->batch[i];
        json_object *f = json_object_new_object();
        json_object_object_add(f, "record", json_object_new_int64((int64_t)i));
        json_object_object_add(f, "table", summary_string(&rec->table));
        json_object_object_add(f, "SequenceNumber", summary_string(&rec->sequence_number));
        json_object_object_add(f, "plugin", json_object_new_string(oc->plugin));
        json_object_object_add(f, "status", json_object_new_string(ddb_status_str(oc->status)));
        json_object_array_add(failures, f);
    }
    json_object_object_add(o, "failures", failures);
    fprintf(out, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                                JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
}
