/* runtime.h - ddbhost as an AWS Lambda custom runtime: serves the Runtime API (2018-06-01)
 * at $AWS_LAMBDA_RUNTIME_API until it goes away. */
#ifndef DDBHOST_RUNTIME_H
#define DDBHOST_RUNTIME_H

/* Loads the manifest ($DDBHOST_MANIFEST, else $LAMBDA_TASK_ROOT/$_HANDLER when it names a
 * .json file, else $LAMBDA_TASK_ROOT/manifest.json) and its plugins, then serves
 * invocations. Returns the process exit status: 1 after an init error (reported to Lambda
 * through /init/error) or when the Runtime API stays unreachable, 2 when not in Lambda. */
int runtime_main(void);

#endif
