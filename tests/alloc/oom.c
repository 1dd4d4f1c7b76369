/* oom.c - the --wrap targets behind oom.h: each counts the call while armed and returns NULL
 * (errno ENOMEM) for the chosen one, or forwards to the real allocator (the sanitizer's, in
 * sanitized builds). free is not wrapped: it never fails and needs no count. */
#include "oom.h"

#include <errno.h>
#include <stddef.h>

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);

static bool oom_armed, oom_held, oom_persistent, oom_failed;
static unsigned long oom_calls, oom_fail_at;
static const void *oom_caller;

void oom_arm(unsigned long k, bool persistent)
{
    oom_calls = 0;
    oom_fail_at = k;
    oom_persistent = persistent;
    oom_failed = false;
    oom_caller = NULL;
    oom_armed = true;
}

unsigned long oom_disarm(void)
{
    oom_armed = false;
    return oom_calls;
}

void oom_hold(bool hold) { oom_held = hold; }

bool oom_fired(void) { return oom_failed; }

const void *oom_fired_at(void) { return oom_caller; }

/* Counts one call from caller; true when it must fail. */
static bool oom_fail(const void *caller)
{
    if (!oom_armed || oom_held) return false;
    oom_calls++;
    if (oom_fail_at == 0 || oom_calls < oom_fail_at) return false;
    if (oom_calls > oom_fail_at && !oom_persistent) return false;
    if (!oom_failed) oom_caller = caller;
    oom_failed = true;
    errno = ENOMEM;
    return true;
}

#define OOM_CALLER __builtin_extract_return_addr(__builtin_return_address(0))

void *__wrap_malloc(size_t size) { return oom_fail(OOM_CALLER) ? NULL : __real_malloc(size); }

void *__wrap_calloc(size_t n, size_t size)
{
    return oom_fail(OOM_CALLER) ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t size)
{
    return oom_fail(OOM_CALLER) ? NULL : __real_realloc(p, size);
}

char *__wrap_strdup(const char *s) { return oom_fail(OOM_CALLER) ? NULL : __real_strdup(s); }

char *__wrap_strndup(const char *s, size_t n)
{
    return oom_fail(OOM_CALLER) ? NULL : __real_strndup(s, n);
}
