/* eventgen.c - writes a deterministic DynamoDB Streams event of N records to stdout, for
 * benchmarks and memory tests: every attribute type, 38-digit numbers, binary, nested maps
 * and lists, non-ASCII text and escapes; INSERT, MODIFY and REMOVE in turn, about 3 KB a
 * record. Same N and seed, same bytes. Usage: eventgen RECORDS [SEED] */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

static uint64_t gen_state;

static uint64_t gen_next(void)
{
    gen_state ^= gen_state << 13;
    gen_state ^= gen_state >> 7;
    gen_state ^= gen_state << 17;
    return gen_state;
}

static void gen_text(size_t n)
{
    static const char *const words[] = {"Zürich", "東京", "order", "shipped", "naïve",
                                        "\\\"quoted\\\"", "line\\nbreak", "café", "parcel",
                                        "🦊", "tab\\t", "x"};
    size_t written = 0;
    while (written < n) {
        const char *w = words[gen_next() % (sizeof words / sizeof words[0])];
        written += (size_t)printf("%s ", w);
    }
}

static void gen_base64(size_t bytes)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < bytes; i += 3) {
        uint32_t v = (uint32_t)gen_next() & 0xFFFFFF;
        size_t left = bytes - i;
        putchar(alphabet[v >> 18 & 63]);
        putchar(alphabet[v >> 12 & 63]);
        putchar(left > 1 ? alphabet[v >> 6 & 63] : '=');
        putchar(left > 2 ? alphabet[v & 63] : '=');
    }
}

static void gen_item(unsigned long i)
{
    printf("{\"pk\":{\"S\":\"order#%08lu\"},\"sk\":{\"N\":\"%" PRIu64 "\"},", i,
           gen_next() % 1000000000u);
    printf("\"amount\":{\"N\":\"%019" PRIu64 "%019" PRIu64 "\"},", gen_next() % 10000000000000000000u,
           gen_next() % 1000000000000000000u);
    printf("\"price\":{\"N\":\"%" PRIu64 ".%02" PRIu64 "\"},", gen_next() % 100000, gen_next() % 100);
    printf("\"active\":{\"BOOL\":%s},\"deleted\":{\"NULL\":true},", gen_next() & 1 ? "true" : "false");
    printf("\"blob\":{\"B\":\"");
    gen_base64(96);
    printf("\"},\"tags\":{\"SS\":[");
    for (int k = 0; k < 4; k++) {
        printf("%s\"", k ? "," : "");
        gen_text(12);
        printf("%d\"", k);
    }
    printf("]},\"scores\":{\"NS\":[");
    for (int k = 0; k < 4; k++) printf("%s\"%" PRIu64 ".5\"", k ? "," : "", gen_next() % 100000);
    printf("]},\"chunks\":{\"BS\":[\"");
    gen_base64(24);
    printf("\",\"");
    gen_base64(31);
    printf("\"]},\"address\":{\"M\":{\"street\":{\"S\":\"");
    gen_text(30);
    printf("\"},\"city\":{\"S\":\"Zürich\"},\"geo\":{\"M\":{\"lat\":{\"N\":\"47.3769\"},"
           "\"lon\":{\"N\":\"8.5417\"}}}}},\"lines\":{\"L\":[");
    for (int k = 0; k < 6; k++) {
        printf("%s{\"M\":{\"sku\":{\"S\":\"SKU-%06" PRIu64 "\"},\"qty\":{\"N\":\"%d\"},"
               "\"note\":{\"S\":\"",
               k ? "," : "", gen_next() % 1000000, k + 1);
        gen_text(40);
        printf("\"},\"flags\":{\"L\":[{\"BOOL\":true},{\"NULL\":true},{\"N\":\"-1.5E+10\"}]}}}");
    }
    printf("]},\"description\":{\"S\":\"");
    gen_text(250);
    printf("\"}}");
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: eventgen RECORDS [SEED]\n");
        return 2;
    }
    unsigned long n = strtoul(argv[1], NULL, 10);
    gen_state = argc == 3 ? strtoull(argv[2], NULL, 10) | 1u : 0x9E3779B97F4A7C15u;
    static const char *const names[] = {"INSERT", "MODIFY", "REMOVE"};
    printf("{\"Records\":[");
    for (unsigned long i = 0; i < n; i++) {
        const char *name = names[i % 3];
        printf("%s{\"eventID\":\"%016" PRIx64 "%016" PRIx64 "\",\"eventName\":\"%s\","
               "\"eventVersion\":\"1.1\",\"eventSource\":\"aws:dynamodb\",\"awsRegion\":\"eu-west-1\","
               "\"dynamodb\":{\"ApproximateCreationDateTime\":%lu,\"Keys\":{\"pk\":{\"S\":\"order#%08lu\"}},",
               i ? "," : "", gen_next(), gen_next(), name, 1700000000ul + i, i);
        if (i % 3 != 2) {
            printf("\"NewImage\":");
            gen_item(i);
            putchar(',');
        }
        if (i % 3 != 0) {
            printf("\"OldImage\":");
            gen_item(i);
            putchar(',');
        }
        printf("\"SequenceNumber\":\"4%020lu\",\"SizeBytes\":3000,"
               "\"StreamViewType\":\"NEW_AND_OLD_IMAGES\"},\"eventSourceARN\":"
               "\"arn:aws:dynamodb:eu-west-1:123456789012:table/Orders/stream/2024-01-01T00:00:00.000\"}",
               i);
    }
    printf("]}\n");
    return 0;
}
