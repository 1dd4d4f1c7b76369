/* dynsym.c - the dynamic symbol table and loadable segments of a 64-bit ELF file, read from
 * its bytes without loading it. Owns no memory: every view points into the caller's bytes,
 * and every offset, size and count is checked against them before it is used. */
#include "dynsym.h"

#include <elf.h>
#include <stdio.h>
#include <string.h>

/* Whether [off, off + len) lies in a file of size bytes, without overflow. */
static bool dynsym_within(uint64_t off, uint64_t len, size_t size)
{
    return off <= size && len <= size - off;
}

/* The host's own ELF identity: the class and byte order a plugin must have. */
static bool dynsym_native(const unsigned char *ident)
{
    static const union { uint16_t u; unsigned char b[2]; } order = {1};
    unsigned char data = order.b[0] == 1 ? ELFDATA2LSB : ELFDATA2MSB;
    return memcmp(ident, ELFMAG, SELFMAG) == 0 && ident[EI_CLASS] == ELFCLASS64 &&
           ident[EI_DATA] == data;
}

/* The section header table, checked; NULL with why. */
static const Elf64_Shdr *dynsym_sections(const unsigned char *data, size_t size,
                                         const Elf64_Ehdr *eh, char *why, size_t cap)
{
    if (eh->e_shoff != 0 && eh->e_shnum != 0 &&
        !dynsym_within(eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr), size)) {
        snprintf(why, cap, "its section headers lie outside the file");
        return NULL;
    }
    if (eh->e_shoff == 0 || eh->e_shnum == 0 || eh->e_shentsize != sizeof(Elf64_Shdr) ||
        eh->e_shoff % _Alignof(Elf64_Shdr) != 0) {
        snprintf(why, cap, "it has no readable section headers");
        return NULL;
    }
    return (const Elf64_Shdr *)(data + eh->e_shoff);
}

/* The program headers, checked (an object without them loads nothing: none is fine). */
static bool dynsym_segments(const unsigned char *data, size_t size, const Elf64_Ehdr *eh,
                            dynsym_image *out, char *why, size_t cap)
{
    if (eh->e_phnum == 0) return true;
    if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phoff % _Alignof(Elf64_Phdr) != 0 ||
        !dynsym_within(eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr), size)) {
        snprintf(why, cap, "its program headers lie outside the file");
        return false;
    }
    out->segments = data + eh->e_phoff;
    out->nsegments = eh->e_phnum;
    return true;
}

bool dynsym_parse(const unsigned char *data, size_t size, dynsym_image *out, char *why, size_t cap)
{
    *out = (dynsym_image){.data = data, .size = size};
    if (size < SELFMAG || memcmp(data, ELFMAG, SELFMAG) != 0) {
        snprintf(why, cap, "invalid ELF header");
        return false;
    }
    if (size < sizeof(Elf64_Ehdr)) {
        snprintf(why, cap, "file too short");
        return false;
    }
    if (!dynsym_native(data) || ((uintptr_t)data % 8) != 0) {
        snprintf(why, cap, "it is not a 64-bit ELF file of this host's byte order");
        return false;
    }
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)data;
    const Elf64_Shdr *sh = dynsym_sections(data, size, eh, why, cap);
    if (!sh || !dynsym_segments(data, size, eh, out, why, cap)) return false;
    for (size_t i = 0; i < eh->e_shnum; i++) {
        if (sh[i].sh_type != SHT_DYNSYM) continue;
        const Elf64_Shdr *str = sh[i].sh_link < eh->e_shnum ? &sh[sh[i].sh_link] : NULL;
        if (sh[i].sh_entsize != sizeof(Elf64_Sym) || sh[i].sh_offset % _Alignof(Elf64_Sym) != 0 ||
            !dynsym_within(sh[i].sh_offset, sh[i].sh_size, size) || !str ||
            str->sh_type != SHT_STRTAB || !dynsym_within(str->sh_offset, str->sh_size, size)) {
            snprintf(why, cap, "its dynamic symbol table lies outside the file");
            return false;
        }
        out->symbols = data + sh[i].sh_offset;
        out->nsymbols = sh[i].sh_size / sizeof(Elf64_Sym);
        out->strings = (const char *)data + str->sh_offset;
        out->strings_size = str->sh_size;
        return true;
    }
    snprintf(why, cap, "it has no dynamic symbol table");
    return false;
}

bool dynsym_defines(const dynsym_image *img, const char *name, dynsym_symbol *out)
{
    size_t len = strlen(name);
    for (size_t i = 1; i < img->nsymbols; i++) { /* entry 0 is the undefined symbol */
        const Elf64_Sym *s = (const Elf64_Sym *)img->symbols + i;
        if (s->st_name >= img->strings_size || img->strings_size - s->st_name <= len ||
            memcmp(img->strings + s->st_name, name, len + 1) != 0)
            continue;
        unsigned type = ELF64_ST_TYPE(s->st_info), bind = ELF64_ST_BIND(s->st_info);
        if (s->st_shndx == SHN_UNDEF || (bind != STB_GLOBAL && bind != STB_WEAK)) continue;
        *out = (dynsym_symbol){s->st_value, s->st_size, type == STT_FUNC || type == STT_GNU_IFUNC};
        return true;
    }
    return false;
}

bool dynsym_read(const dynsym_image *img, uint64_t addr, void *dst, size_t n)
{
    for (size_t i = 0; i < img->nsegments; i++) {
        const Elf64_Phdr *p = (const Elf64_Phdr *)img->segments + i;
        if (p->p_type != PT_LOAD || addr < p->p_vaddr || addr - p->p_vaddr > p->p_filesz ||
            n > p->p_filesz - (addr - p->p_vaddr))
            continue;
        uint64_t off = p->p_offset + (addr - p->p_vaddr);
        if (off < p->p_offset || !dynsym_within(off, n, img->size)) return false;
        memcpy(dst, img->data + off, n);
        return true;
    }
    return false;
}
