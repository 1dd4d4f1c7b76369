/* memchr_pass.c - benchmark peer: the memory-bandwidth floor. Each rep is one pass of memchr
 * over the event's bytes looking for a NUL byte, which JSON text never holds unescaped, so
 * the scan runs to the end; no parse, no walk, so records and values print as 0.
 * Usage: memchr_pass EVENT_FILE REPS */
#include "peer.h"

#define MP_NAME "memchr_pass"

/* NUL bytes in the buffer (0 for JSON): one memchr call over the whole of it. */
static size_t mp_count_nul(const char *p, size_t len)
{
    size_t count = 0;
    const char *end = p + len, *hit;
    while (p < end && (hit = memchr(p, '\0', (size_t)(end - p))) != NULL) {
        count++;
        p = hit + 1;
    }
    return count;
}

int main(int argc, char **argv)
{
    long reps = peer_args(MP_NAME, argc, argv);
    size_t len;
    char *bytes = peer_read(MP_NAME, argv[1], &len);
    double *ms = malloc((size_t)reps * sizeof *ms);
    peer_sum t = {0};
    if (!ms) {
        fprintf(stderr, MP_NAME ": error: out of memory\n");
        return 1;
    }
    for (long r = 0; r < reps; r++) {
        /* the compiler must assume the bytes changed, so it cannot keep one pass for all reps */
        __asm__ volatile("" : : "r"(bytes) : "memory");
        double t0 = peer_now_ms();
        t.sum += mp_count_nul(bytes, len);
        ms[r] = peer_now_ms() - t0;
    }
    t.bytes = len * (uint64_t)reps;
    peer_report(MP_NAME, ms, reps, &t);
    free(ms);
    free(bytes);
    return 0;
}
