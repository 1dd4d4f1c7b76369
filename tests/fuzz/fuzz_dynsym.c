/* fuzz_dynsym.c - libFuzzer target for the loader's reader of a plugin file
 * (host/core/dynsym.c), which runs before dlopen on whatever file a manifest names: any
 * bytes as the file. It must read them or refuse with one line, never out of bounds; a
 * symbol it finds lies in the file's string table, and bytes it reads at a symbol's address
 * come from the file. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dynsym.h"

static void fuzz_check(bool ok, const char *what, const char *detail)
{
    if (ok) return;
    fprintf(stderr, "fuzz_dynsym: broken promise: %s\n%s\n", what, detail ? detail : "");
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* mmap gives the loader page-aligned bytes; so does malloc for what it aligns to. */
    unsigned char *copy = malloc(size ? size : 1);
    if (!copy) return 0;
    memcpy(copy, data, size);
    dynsym_image img;
    char why[256] = "";
    if (!dynsym_parse(copy, size, &img, why, sizeof why)) {
        fuzz_check(why[0] != '\0' && !strchr(why, '\n'), "a refusal is one non-empty line", why);
        free(copy);
        return 0;
    }
    static const char *const names[] = {"ddb_plugin_info", "on_insert", "on_modify", "on_remove",
                                        "on_init", ""};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        dynsym_symbol sym;
        unsigned char bytes[64];
        if (!dynsym_defines(&img, names[i], &sym)) continue;
        size_t n = sym.size < sizeof bytes ? (size_t)sym.size : sizeof bytes;
        if (dynsym_read(&img, sym.address, bytes, n) && n > 0)
            fuzz_check(memmem(copy, size, bytes, n) != NULL, "bytes read come from the file", names[i]);
    }
    free(copy);
    return 0;
}
