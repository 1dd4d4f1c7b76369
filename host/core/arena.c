/* arena.c - bump allocation for one event's decoded values.
 * Owns its blocks; arena_reset folds them into one block the size of everything used, so
 * an event no larger than the largest seen so far allocates nothing. */
#include "arena.h"

#include <stdalign.h>
#include <stdlib.h>

#define ARENA_ALIGN 16u
#define ARENA_FIRST_BLOCK (64u * 1024u)

typedef struct arena_block {
    struct arena_block *next;
    size_t cap;
    size_t used;
    alignas(16) unsigned char data[];
} arena_block;

struct arena {
    arena_block *head; /* the block being filled; older blocks follow */
    size_t reserved;
};

static arena_block *arena_block_new(size_t cap)
{
    arena_block *b = malloc(sizeof *b + cap);
    if (!b) return NULL;
    b->next = NULL;
    b->cap = cap;
    b->used = 0;
    return b;
}

arena *arena_new(void)
{
    return calloc(1, sizeof(arena));
}

static void arena_release(arena *a)
{
    for (arena_block *b = a->head, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    a->head = NULL;
    a->reserved = 0;
}

void arena_free(arena *a)
{
    if (!a) return;
    arena_release(a);
    free(a);
}

void *arena_alloc(arena *a, size_t size)
{
    size = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    arena_block *b = a->head;
    if (!b || b->cap - b->used < size) {
        size_t cap = b ? b->cap * 2 : ARENA_FIRST_BLOCK;
        if (cap < size) cap = size;
        arena_block *nb = arena_block_new(cap);
        if (!nb) return NULL;
        nb->next = b;
        a->head = nb;
        a->reserved += cap;
        b = nb;
    }
    void *p = b->data + b->used;
    b->used += size;
    return p;
}

void arena_reset(arena *a)
{
    arena_block *b = a->head;
    if (!b) return;
    if (b->next) {
        /* Several blocks: the next event of this size should fit in one. */
        size_t total = a->reserved;
        arena_release(a);
        a->head = arena_block_new(total);
        if (a->head) a->reserved = total;
        return;
    }
    b->used = 0;
}

size_t arena_reserved(const arena *a)
{
    return a->reserved;
}
