/* numcost.c - what plugin.h's ddb_n_double costs per number, next to strtod (what a plugin
 * would call instead, and whose bits it must give) measured in the same run, for the kinds
 * of N a table holds: short prices and counters, 17-digit doubles as JavaScript and Python
 * write them, short numbers with far exponents, and 38-digit numbers. Each time is the
 * fastest of 9 rounds. It reports, it never fails on time. Usage: numcost */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ddb/plugin.h>

enum { PER_KIND = 4, ROUNDS = 9, REPS = 100000 };

typedef struct kind {
    const char *name;
    const char *texts[PER_KIND];
} kind;

static const kind kinds[] = {
    {"short (<= 15 digits, 10^+-22)", {"12.5", "19.99", "1733353200000", "-3.14159"}},
    {"17 digits", {"0.30000000000000004", "123456.78901234567", "3.141592653589793",
                   "-2.718281828459045E-3"}},
    {"short, far exponent", {"1E-60", "3.5E40", "1.25E100", "7E-100"}},
    {"38 digits, 10^+-60", {"12345678901234567890123456789012345678",
                            "1.2345678901234567890123456789012345678E-60",
                            "9.8765432109876543210987654321098765432E60",
                            "-3.3333333333333333333333333333333333333E-5"}},
    {"38 digits, DynamoDB's ends", {"9.9999999999999999999999999999999999999E+125",
                                    "1.2345678901234567890123456789012345678E-130",
                                    "5.5555555555555555555555555555555555555E+100",
                                    "7.7777777777777777777777777777777777777E-110"}},
};

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* ns per number, fastest round; *sink keeps the results alive. */
static double measure(const kind *k, int with_strtod, double *sink)
{
    ddb_value v[PER_KIND];
    double best = 1e30;
    for (int i = 0; i < PER_KIND; i++) {
        ddb_value n = {DDB_N, 0, 0, (uint32_t)strlen(k->texts[i]), k->texts[i]};
        v[i] = n;
    }
    for (int r = 0; r < ROUNDS; r++) {
        double t0 = now_ns();
        for (int rep = 0; rep < REPS; rep++) {
            for (int i = 0; i < PER_KIND; i++) {
                double d = 0;
                if (with_strtod) d = strtod(k->texts[i], NULL);
                else ddb_n_double(&v[i], &d);
                *sink += d;
            }
        }
        double ns = (now_ns() - t0) / (REPS * PER_KIND);
        if (ns < best) best = ns;
    }
    return best;
}

int main(void)
{
    double sink = 0;
    printf("%-30s %14s %10s\n", "ns per number", "ddb_n_double", "strtod");
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        double ours = measure(&kinds[i], 0, &sink), peer = measure(&kinds[i], 1, &sink);
        printf("%-30s %14.1f %10.1f\n", kinds[i].name, ours, peer);
    }
    return sink == 12345.0; /* never: the sum only keeps the compiler from skipping work */
}
