/* loader.c - opens one plugin with dlopen and decides whether the host may use it.
 * Owns the validation order of the ABI contract (file permissions, descriptor, size, magic,
 * versions, name, callbacks) and its refusal messages. Calls no plugin function: on_init is
 * the router's. */
#include "loader.h"

#include <dlfcn.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

/* The fields every ABI version starts with: size, magic, abi_major, abi_minor. */
#define LOADER_FROZEN_PREFIX (2 * sizeof(uint32_t) + 2 * sizeof(uint16_t))
/* What ABI major 1 needs: everything up to and including the version string. */
#define LOADER_MAJOR1_SIZE (offsetof(ddb_plugin_descriptor, version) + sizeof(const char *))

#define LOADER_HINT_MACRO "(hint: declare the plugin with the DDB_PLUGIN macro from plugin.h)"

/* The size of the object behind a data symbol as the plugin's symbol table records it,
 * or 0 when unknown, so that a descriptor claiming more bytes than it has is not over-read. */
static size_t loader_symbol_size(const void *addr)
{
    Dl_info info;
    const ElfW(Sym) *sym = NULL;
    if (!dladdr1(addr, &info, (void **)&sym, RTLD_DL_SYMENT) || !sym) return 0;
    return (size_t)sym->st_size;
}

/* dlerror() usually starts with the path given to dlopen; drop it, the message names the
 * plugin already. Another file's name (a missing dependency) is kept. */
static const char *loader_dl_reason(const char *reason, const char *opened)
{
    size_t n = strlen(opened);
    if (!reason) return "unknown error";
    if (strncmp(reason, opened, n) == 0 && strncmp(reason + n, ": ", 2) == 0) return reason + n + 2;
    return reason;
}

/* The ELF machine (architecture) of the file at path; false when it is not an ELF file. */
static bool loader_elf_machine(const char *path, unsigned *machine)
{
    unsigned char h[20]; /* e_ident, e_type, e_machine: the same in 32- and 64-bit files */
    FILE *f = fopen(path, "rb");
    size_t got = f ? fread(h, 1, sizeof h, f) : 0;
    if (f) fclose(f);
    if (got < sizeof h || memcmp(h, ELFMAG, SELFMAG) != 0) return false;
    *machine = h[EI_DATA] == ELFDATA2MSB ? (unsigned)h[18] << 8 | h[19]
                                         : (unsigned)h[19] << 8 | h[18];
    return true;
}

static void loader_machine_name(unsigned machine, char *out, size_t cap)
{
    switch (machine) {
    case EM_X86_64: snprintf(out, cap, "x86_64"); break;
    case EM_AARCH64: snprintf(out, cap, "arm64"); break;
    case EM_386: snprintf(out, cap, "32-bit x86"); break;
    case EM_ARM: snprintf(out, cap, "32-bit arm"); break;
    default: snprintf(out, cap, "ELF machine %u", machine); break;
    }
}

/* glibc reports a plugin built for another architecture (arm64 on x86_64, say) as "cannot
 * open shared object file: No such file or directory", which sends users looking for a
 * file they have. Says what it is instead; false when that is not the problem. */
static bool loader_wrong_machine(const char *opened, const char *path, char *err, size_t cap)
{
    unsigned plugin, host;
    char built[32], runs[32];
    if (!loader_elf_machine(opened, &plugin) || !loader_elf_machine("/proc/self/exe", &host) ||
        plugin == host)
        return false;
    loader_machine_name(plugin, built, sizeof built);
    loader_machine_name(host, runs, sizeof runs);
    snprintf(err, cap, "cannot load plugin \"%s\": it was built for %s, this host runs on %s "
             "(hint: rebuild the plugin for %s)", path, built, runs, runs);
    return true;
}

/* dlsym hands out a data pointer; POSIX guarantees that functions survive the trip, but
 * ISO C has no conversion between the two, hence the copy. */
static void loader_sym(void *dl, const char *name, void *fn, size_t fn_size)
{
    void *p = dlsym(dl, name);
    memset(fn, 0, fn_size);
    if (p) memcpy(fn, &p, fn_size < sizeof p ? fn_size : sizeof p);
}
#define LOADER_SYM(dl, name, fn) loader_sym((dl), (name), &(fn), sizeof(fn))

/* Checks the descriptor at d (size readable bytes, 0 = unknown) and writes the refusal
 * into err; true when the descriptor is acceptable. */
static bool loader_check_descriptor(const char *path, const ddb_plugin_descriptor *d,
                                    size_t readable, char *err, size_t cap)
{
    size_t size = readable != 0 && readable < sizeof d->size ? readable : d->size;
    if (readable != 0 && size > readable) size = readable;
    if (size < LOADER_FROZEN_PREFIX) {
        snprintf(err, cap, "plugin \"%s\" has a descriptor of %zu bytes, too short to hold its "
                 "ABI version " LOADER_HINT_MACRO, path, size);
        return false;
    }
    if (d->magic != DDB_PLUGIN_MAGIC) {
        snprintf(err, cap, "plugin \"%s\" is not a ddbhost plugin: descriptor magic is 0x%08x, "
                 "expected 0x%08x " LOADER_HINT_MACRO, path, (unsigned)d->magic,
                 (unsigned)DDB_PLUGIN_MAGIC);
        return false;
    }
    if (d->abi_major != DDB_ABI_MAJOR || d->abi_minor > DDB_ABI_MINOR) {
        snprintf(err, cap, "plugin \"%s\" was built for plugin ABI %u.%u, this host supports "
                 "%u.%u (hint: rebuild the plugin against this host's plugin.h, or upgrade the "
                 "host)", path, (unsigned)d->abi_major, (unsigned)d->abi_minor,
                 (unsigned)DDB_ABI_MAJOR, (unsigned)DDB_ABI_MINOR);
        return false;
    }
    if (size < LOADER_MAJOR1_SIZE) {
        snprintf(err, cap, "plugin \"%s\" has a descriptor of %zu bytes, plugin ABI %u.%u needs "
                 "at least %zu (hint: rebuild the plugin against this host's plugin.h)", path,
                 size, (unsigned)d->abi_major, (unsigned)d->abi_minor, LOADER_MAJOR1_SIZE);
        return false;
    }
    if (!d->name || !d->name[0]) {
        snprintf(err, cap, "plugin \"%s\" has an empty name (hint: give DDB_PLUGIN a non-empty "
                 "name)", path);
        return false;
    }
    return true;
}

/* Reads what the host needs into a copy it owns: the plugin's own bytes are never read past
 * what was checked, and a NULL version becomes "". */
static ddb_plugin_descriptor *loader_copy_descriptor(const ddb_plugin_descriptor *d)
{
    ddb_plugin_descriptor *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    memcpy(c, d, LOADER_MAJOR1_SIZE);
    if (!c->version) c->version = "";
    return c;
}

/* dlopen runs the plugin's constructors, so a plugin that someone else could have written
 * is refused before it: a file writable by group or others, or one in a directory where they
 * could put another file in its place. A sticky directory such as /tmp lets only a file's
 * owner replace it, so there the file must be the host's user's or root's. Nothing on a
 * read-only file system (Lambda's /var/task and /opt) can be replaced, whatever its mode.
 * opened is path as dlopen gets it (with a '/'); false when refused, with err set. */
static bool loader_check_writers(const char *path, char *opened, char *err, size_t cap)
{
    struct stat file, dir;
    struct statvfs fs;
    if (stat(opened, &file) != 0) return true; /* dlopen says what is wrong with it */
    if (statvfs(opened, &fs) == 0 && (fs.f_flag & ST_RDONLY)) return true;
    if (file.st_mode & (S_IWGRP | S_IWOTH)) {
        snprintf(err, cap, "plugin \"%s\" is writable by group or others (mode %04o): loading "
                 "it would run code that anyone could have replaced (hint: chmod go-w %s)", path,
                 (unsigned)(file.st_mode & 07777), path);
        return false;
    }
    char *end = strrchr(opened, '/');
    if (end == opened) end++; /* a file at the root: the directory is "/" */
    char saved = *end;
    *end = '\0';
    bool writable = stat(opened, &dir) == 0 && (dir.st_mode & (S_IWGRP | S_IWOTH)) &&
                    !((dir.st_mode & S_ISVTX) && (file.st_uid == geteuid() || file.st_uid == 0));
    if (writable)
        snprintf(err, cap, "plugin \"%s\" is in a directory writable by group or others (\"%s\", "
                 "mode %04o): loading it would run code that anyone could have replaced (hint: "
                 "chmod go-w %s)", path, opened, (unsigned)(dir.st_mode & 07777), opened);
    *end = saved;
    return !writable;
}

bool loader_open(const char *path, loader_plugin *out, char *err, size_t cap)
{
    loader_plugin p;
    const ddb_plugin_descriptor *d;
    char *opened;
    size_t n;

    memset(out, 0, sizeof *out);
    memset(&p, 0, sizeof p);
    /* dlopen searches the library path for a bare name; a plugin is always a file. */
    n = strlen(path) + 3;
    opened = malloc(n);
    if (!opened) {
        snprintf(err, cap, "cannot load plugin \"%s\": out of memory", path);
        return false;
    }
    snprintf(opened, n, "%s%s", strchr(path, '/') ? "" : "./", path);
    if (!loader_check_writers(path, opened, err, cap)) {
        free(opened);
        return false;
    }
    p.dl = dlopen(opened, RTLD_NOW | RTLD_LOCAL);
    if (!p.dl) {
        const char *reason = loader_dl_reason(dlerror(), opened);
        if (!loader_wrong_machine(opened, path, err, cap))
            snprintf(err, cap, "cannot load plugin \"%s\": %s", path, reason);
        free(opened);
        return false;
    }
    free(opened);

    d = dlsym(p.dl, "ddb_plugin_info");
    if (!d) {
        snprintf(err, cap, "plugin \"%s\" has no ddb_plugin_info descriptor (hint: add "
                 "DDB_PLUGIN(\"name\", \"version\"); to one source file of the plugin)", path);
        goto refuse;
    }
    if (!loader_check_descriptor(path, d, loader_symbol_size(d), err, cap)) goto refuse;

    LOADER_SYM(p.dl, "on_insert", p.on_record[DDB_INSERT]);
    LOADER_SYM(p.dl, "on_modify", p.on_record[DDB_MODIFY]);
    LOADER_SYM(p.dl, "on_remove", p.on_record[DDB_REMOVE]);
    if (!p.on_record[DDB_INSERT] && !p.on_record[DDB_MODIFY] && !p.on_record[DDB_REMOVE]) {
        snprintf(err, cap, "plugin \"%s\" exports none of on_insert, on_modify, on_remove (hint: "
                 "define at least one of them with C linkage)", path);
        goto refuse;
    }
    LOADER_SYM(p.dl, "on_init", p.on_init);
    LOADER_SYM(p.dl, "on_fini", p.on_fini);
    LOADER_SYM(p.dl, "on_batch_begin", p.on_batch_begin);
    LOADER_SYM(p.dl, "on_batch_end", p.on_batch_end);

    p.path = strdup(path);
    p.info = loader_copy_descriptor(d);
    if (!p.path || !p.info) {
        snprintf(err, cap, "cannot load plugin \"%s\": out of memory", path);
        free(p.path);
        free((void *)p.info);
        goto refuse;
    }
    *out = p;
    return true;

refuse:
    dlclose(p.dl);
    return false;
}

void loader_close(loader_plugin *p)
{
    if (!p) return;
    free(p->path);
    free((void *)p->info);
    if (p->dl) dlclose(p->dl);
    memset(p, 0, sizeof *p);
}
