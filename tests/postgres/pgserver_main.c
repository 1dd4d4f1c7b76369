/* pgserver_main.c - pgserver.c as a command, for tests written in another language
 * (tests/sinks): starts a throwaway PostgreSQL server, prints its conninfo on one line, and
 * stops and removes it when its standard input ends (the test closed it, or died). Exit status
 * 77 with one line saying why when there is no PostgreSQL to run. */
#include <stdio.h>

#include "pgserver.h"

int main(void)
{
    pgserver s;
    char why[2048], bin[128];
    if (!pgserver_find(bin, sizeof bin, why, sizeof why)) {
        printf("skipped: %s\n", why);
        return 77;
    }
    if (!pgserver_start(&s, why, sizeof why)) {
        fprintf(stderr, "pgserver: %s\n", why);
        return 1;
    }
    printf("%s\n", s.conninfo);
    fflush(stdout);
    while (getchar() != EOF) {
    }
    pgserver_destroy(&s);
    return 0;
}
