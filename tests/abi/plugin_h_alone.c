/* plugin_h_alone.c - a plugin that includes nothing but <ddb/plugin.h>, compiled by
 * test_header.c as C99 and as C++ with every warning an error. It touches the accessors so
 * that they are compiled in earnest, not merely declared. */
#include <ddb/plugin.h>

DDB_PLUGIN("header-alone", "1.0.0");

ddb_status on_insert(const ddb_record *rec, void *state)
{
    const ddb_value *id = ddb_get(rec->keys, "id");
    const char *text;
    size_t len;
    int64_t n;
    double d;
    bool b;
    (void)state;
    if (ddb_get_s(id, &text, &len) == DDB_OK) return len ? DDB_OK : DDB_ERR_FAILED;
    if (ddb_n_int64(id, &n) == DDB_OK || ddb_n_double(id, &d) == DDB_OK) return DDB_OK;
    if (ddb_get_bool(ddb_member_at(rec->new_image, 0, NULL, NULL), &b) == DDB_OK) return DDB_OK;
    return ddb_count(ddb_at(id, 0)) > 0 ? DDB_OK : DDB_ERR_NOT_FOUND;
}
