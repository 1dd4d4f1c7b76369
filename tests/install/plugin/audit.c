/* audit.c - a plugin that lives outside the ddbhost tree: built by tests/install against
 * an installed ddbhost, once with pkg-config and once with its CMake package. Prints one
 * line per record; audit_format is not static, so the build's hidden visibility is what
 * keeps it out of the exported symbols. */
#include <stdio.h>

#include <ddb/plugin.h>

DDB_PLUGIN("audit", "1.0.0");

/* "INSERT Orders o-1001 total=129.95": the first key's text and the image's total. */
int audit_format(const ddb_record *rec, char *out, size_t cap)
{
    const ddb_value *image = rec->new_image ? rec->new_image : rec->old_image;
    const char *key = "", *total = "-";
    size_t key_len = 0, total_len = 1;
    ddb_get_s(ddb_member_at(rec->keys, 0, NULL, NULL), &key, &key_len);
    ddb_get_n(ddb_get(image, "total"), &total, &total_len);
    return snprintf(out, cap, "%s %.*s %.*s total=%.*s", ddb_event_name_str(rec->event_name),
                    (int)rec->table.len, rec->table.ptr ? rec->table.ptr : "", (int)key_len, key,
                    (int)total_len, total);
}

static ddb_status audit(const ddb_record *rec)
{
    char line[256];
    audit_format(rec, line, sizeof line);
    printf("audit: %s\n", line);
    return DDB_OK;
}

ddb_status on_insert(const ddb_record *rec, void *state) { (void)state; return audit(rec); }
ddb_status on_modify(const ddb_record *rec, void *state) { (void)state; return audit(rec); }
ddb_status on_remove(const ddb_record *rec, void *state) { (void)state; return audit(rec); }
