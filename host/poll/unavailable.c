/* unavailable.c - `ddbhost poll` in a build made without libcurl's headers (a cross build
 * with no libcurl for its architecture): the command exists and says why it cannot run. */
#include "poller.h"

#include "log.h"

int poller_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    log_error("poll is not available: this ddbhost was built without libcurl's headers; "
              "hint: install libcurl4-openssl-dev and build again");
    return 1;
}
