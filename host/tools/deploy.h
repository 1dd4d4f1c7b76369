/* deploy.h - `ddbhost template` and `ddbhost policy`: what it takes to deploy a manifest to
 * AWS Lambda, derived from the validated manifest alone: an AWS SAM template (the function,
 * its role, one DynamoDB event source per table) and the least-privilege IAM policy.
 * Loads no plugin and calls no AWS API. */
#ifndef DDBHOST_DEPLOY_H
#define DDBHOST_DEPLOY_H

#include <stdio.h>

/* `ddbhost template MANIFEST.json`: prints the SAM template as pretty JSON on out. A "*" route
 * cannot become an event source: each one is named in a warning and left out. Returns 0, or 1
 * after one "ddbhost: error: ..." line (invalid manifest, no table named, a deadline margin
 * that leaves no time within the function's timeout). */
int deploy_template_main(const char *manifest_path, FILE *out);

/* `ddbhost policy MANIFEST.json`: prints the IAM policy document of the function's execution
 * role as pretty JSON on out, with ARNs written in CloudFormation's pseudo-parameter form
 * (${AWS::Partition}, ${AWS::Region}, ${AWS::AccountId}), which an info line recalls. "*" routes
 * are warned about as for the template. Returns 0, or 1 after one "ddbhost: error: ..." line. */
int deploy_policy_main(const char *manifest_path, FILE *out);

#endif
