/* runtime.h - ddbhost as an AWS Lambda custom runtime: serves the Runtime API (2018-06-01)
 * at $AWS_LAMBDA_RUNTIME_API until it goes away. */
#ifndef DDBHOST_RUNTIME_H
#define DDBHOST_RUNTIME_H

/* Exit statuses of the runtime, which Lambda reports as "Runtime exited with error". */
#define RUNTIME_EXIT_INIT 1     /* the manifest or a plugin failed: reported to /init/error */
#define RUNTIME_EXIT_USAGE 2    /* not inside Lambda: AWS_LAMBDA_RUNTIME_API is not set */
#define RUNTIME_EXIT_API_GONE 3 /* the Runtime API stayed unreachable, or answered 500 (it
                                   asks the runtime to exit) */

/* Loads the manifest ($DDBHOST_MANIFEST, else $LAMBDA_TASK_ROOT/$_HANDLER when it names a
 * .json file, else $LAMBDA_TASK_ROOT/manifest.json) and its plugins, then serves
 * invocations until the Runtime API goes away. Returns one of the exit statuses above. */
int runtime_main(void);

#endif
