/* driver.c - stands in for the ddbhost binary until host/main.c dispatches `new` and
 * `event`: `driver new ...` and `driver event ...` run scaffold_main and sample_main, as
 * ddbhost will, with argv[0] the command word. */
#include <stdio.h>
#include <string.h>

#include "sample.h"
#include "scaffold.h"

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "new") == 0) return scaffold_main(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "event") == 0) return sample_main(argc - 1, argv + 1);
    fprintf(stderr, "usage: %s new|event ...\n", argv[0]);
    return 2;
}
