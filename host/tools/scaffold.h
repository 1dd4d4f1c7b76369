/* scaffold.h - `ddbhost new NAME [DIR]`: writes a plugin project that builds, tests and runs
 * as written. Knows nothing of events beyond asking sample.c for its sample events. */
#ifndef DDBHOST_SCAFFOLD_H
#define DDBHOST_SCAFFOLD_H

/* `ddbhost new NAME [DIR]`; argv[0] is "new". Returns the exit status: 0, 1 (DIR exists or
 * cannot be written) or 2 (usage error). */
int scaffold_main(int argc, char **argv);

#endif
