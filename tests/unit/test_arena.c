/* test_arena.c - aligned bump allocation, and reuse of memory across resets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "arena.h"

static void test_allocations_are_aligned_and_distinct(void **state)
{
    (void)state;
    arena *a = arena_new();
    char *p = arena_alloc(a, 1), *q = arena_alloc(a, 3);
    assert_non_null(p);
    assert_non_null(q);
    assert_int_equal((uintptr_t)p % 16, 0);
    assert_int_equal((uintptr_t)q % 16, 0);
    assert_true(q >= p + 16 || p >= q + 16);
    char *big = arena_alloc(a, 1u << 20); /* larger than a block */
    assert_non_null(big);
    memset(big, 0xAB, 1u << 20);
    arena_free(a);
}

static void test_a_reset_arena_serves_the_same_load_without_growing(void **state)
{
    (void)state;
    arena *a = arena_new();
    for (int i = 0; i < 1000; i++) assert_non_null(arena_alloc(a, 1000));
    size_t first = arena_reserved(a);
    for (int round = 0; round < 3; round++) {
        arena_reset(a);
        for (int i = 0; i < 1000; i++) assert_non_null(arena_alloc(a, 1000));
        assert_int_equal(arena_reserved(a), first);
    }
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_allocations_are_aligned_and_distinct),
        cmocka_unit_test(test_a_reset_arena_serves_the_same_load_without_growing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
