/* poller.h - `ddbhost poll`: a local event source mapping. It reads the streams of the
 * manifest's tables through the AWS API, delivers batches as Lambda would to a session, and
 * keeps per-shard checkpoints; docs/POLL.md. */
#ifndef DDBHOST_POLLER_H
#define DDBHOST_POLLER_H

/* Runs `ddbhost poll` with its own options (argv[0] is "poll"); returns the exit status. */
int poller_main(int argc, char **argv);

#endif
