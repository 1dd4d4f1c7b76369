/* count.c - the smallest useful plugin: counts INSERT, MODIFY and REMOVE records per table
 * and prints one line per table when the host shuts it down. docs/ABI.md walks through it. */
#include <ddb/plugin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
DDB_PLUGIN("count", "1.0.0");
typedef struct tally { struct tally *next; long n[4]; char table[]; } tally; /* one per table */

ddb_status on_init(const ddb_init *init, void **state)
{
    init->host->log(init->self, DDB_LOG_DEBUG, "counting records for %s", init->route);
    return (*state = calloc(1, sizeof(tally *))) ? DDB_OK : DDB_ERR_NOMEM; /* list head */
}

static ddb_status count(const ddb_record *rec, tally **p)
{
    const char *table = rec->table.ptr ? rec->table.ptr : "(no table)";
    while (*p && strcmp((*p)->table, table) != 0) p = &(*p)->next;
    if (!*p && (*p = calloc(1, sizeof **p + strlen(table) + 1)) != NULL)
        strcpy((*p)->table, table); /* rec is borrowed: keep a copy, never the pointer */
    if (!*p) return DDB_ERR_NOMEM;
    (*p)->n[rec->event_name]++; /* n[DDB_INSERT], n[DDB_MODIFY] or n[DDB_REMOVE] */
    return DDB_OK;
}

ddb_status on_insert(const ddb_record *rec, void *state) { return count(rec, state); }
ddb_status on_modify(const ddb_record *rec, void *state) { return count(rec, state); }
ddb_status on_remove(const ddb_record *rec, void *state) { return count(rec, state); }

void on_fini(void *state)
{
    for (tally *t = *(tally **)state, *next; t; free(t), t = next) {
        next = t->next;
        printf("count: %s: %ld INSERT, %ld MODIFY, %ld REMOVE\n", t->table, t->n[DDB_INSERT],
               t->n[DDB_MODIFY], t->n[DDB_REMOVE]);
    }
    free(state);
}
