/* dynsym.h - reads what the loader must know of a shared object before dlopen runs any of its
 * code: its dynamic symbols and the bytes at a symbol's address, from the file alone.
 * 64-bit ELF in the host's byte order only (the loader refuses other machines first). Every
 * offset is checked against the file: any bytes are safe to hand it. */
#ifndef DDBHOST_DYNSYM_H
#define DDBHOST_DYNSYM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A file's bytes, viewed: borrowed from the caller, who keeps them alive. */
typedef struct dynsym_image {
    const unsigned char *data;
    size_t size;
    const unsigned char *symbols; /* .dynsym entries */
    size_t nsymbols;
    const char *strings;          /* .dynstr */
    size_t strings_size;
    const unsigned char *segments; /* program headers */
    size_t nsegments;
} dynsym_image;

/* A symbol this object itself defines (not one it expects from another object). */
typedef struct dynsym_symbol {
    uint64_t address;  /* st_value: an address as the object is linked */
    uint64_t size;
    bool function;     /* STT_FUNC or STT_GNU_IFUNC */
} dynsym_symbol;

/* Finds the dynamic symbol table of data[0..size). False with one line in why (e.g. "it is
 * not a 64-bit ELF file", "it has no dynamic symbol table") when it cannot be read. */
bool dynsym_parse(const unsigned char *data, size_t size, dynsym_image *out, char *why, size_t cap);

/* The dynamic symbol name that the object defines itself; false when it only refers to it
 * (it comes from a dependency) or does not have it at all. */
bool dynsym_defines(const dynsym_image *img, const char *name, dynsym_symbol *out);

/* Copies n bytes at the object's address addr, as a loaded segment holds them in the file
 * (bytes the loader would zero or relocate are not there); false when they are not all in
 * the file. */
bool dynsym_read(const dynsym_image *img, uint64_t addr, void *dst, size_t n);

#endif
