/* metrics.h - the CloudWatch Embedded Metric Format line a front door writes for each batch
 * when the manifest says "metrics": true: the Lambda runtime per invocation, poll per batch,
 * with the same names and dimensions. Knows what a batch came to, not where it came from. */
#ifndef DDBHOST_METRICS_H
#define DDBHOST_METRICS_H

#include <stdio.h>

#include "manifest.h"
#include "router.h"
#include "session.h"

/* Writes one EMF line to out (namespace "ddbhost", dimension FunctionName: the environment's
 * AWS_LAMBDA_FUNCTION_NAME, else "ddbhost"): Records, Failed, Skipped, NotAttempted,
 * DecodeTime, HandlerTime and Records.TABLE for each route of m. */
void metrics_write(FILE *out, const manifest *m, const router_result *res,
                   const session_times *times);

#endif
