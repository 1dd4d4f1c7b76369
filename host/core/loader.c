/* loader.c - decides whether the host may use a file it would dlopen (the trust check of
 * plugins and bound libraries alike), then opens a plugin: descriptor and callbacks read from
 * the file before dlopen runs any of its code, then its name; owns the refusal messages.
 * Calls no plugin function: on_init is the router's. */
#include "loader.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "dynsym.h"

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

/* Checks the integers of the descriptor at d (size readable bytes, 0 = unknown): its size,
 * magic and ABI version; writes the refusal into err. */
static bool loader_check_versions(const char *path, const ddb_plugin_descriptor *d,
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
    return true;
}

/* The descriptor as loaded: its integers again, and its name, which only relocation makes. */
static bool loader_check_descriptor(const char *path, const ddb_plugin_descriptor *d,
                                    size_t readable, char *err, size_t cap)
{
    if (!loader_check_versions(path, d, readable, err, cap)) return false;
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

/* ---- trust ------------------------------------------------------------------------------ */

/* Whether others than the file's owner could put another file in place of the one in dir:
 * a directory writable by group or others, unless sticky (then only the owner, or root, can
 * replace a file there) and the file is ours or root's. */
static bool loader_dir_replaceable(const char *dir, uid_t owner, struct stat *st)
{
    return stat(dir, st) == 0 && (st->st_mode & (S_IWGRP | S_IWOTH)) &&
           !((st->st_mode & S_ISVTX) && (owner == geteuid() || owner == 0));
}

/* The directory part of path into out ("/" for a file at the root, "." for none). */
static void loader_dirname(const char *path, char *out, size_t cap)
{
    const char *slash = strrchr(path, '/');
    if (!slash) snprintf(out, cap, ".");
    else snprintf(out, cap, "%.*s", (int)(slash == path ? 1 : slash - path), path);
}

static bool loader_distrust_dir(const char *dir, const struct stat *st, const char *via, char *why,
                                size_t cap)
{
    snprintf(why, cap, "%sis in a directory writable by group or others (\"%s\", mode %04o): "
             "loading it would run code that anyone could have replaced (hint: chmod go-w %s)",
             via, dir, (unsigned)(st->st_mode & 07777), dir);
    return false;
}

bool loader_trust(const char *path, char *why, size_t cap)
{
    char target[PATH_MAX], dir[PATH_MAX], via[PATH_MAX + 32] = "";
    struct stat file, link, d;
    struct statvfs fs;
    if (!strchr(path, '/')) return true; /* a bare name: the system's library path */
    if (!realpath(path, target) || stat(target, &file) != 0) return true; /* dlopen says why */
    if (statvfs(target, &fs) == 0 && (fs.f_flag & ST_RDONLY)) return true;
    bool linked = lstat(path, &link) == 0 && S_ISLNK(link.st_mode);
    const char *real = linked ? target : path; /* named as the user wrote it, when it can be */
    if (linked) snprintf(via, sizeof via, "links to \"%s\", which ", target);
    if (file.st_mode & (S_IWGRP | S_IWOTH)) {
        snprintf(why, cap, "%sis writable by group or others (mode %04o): loading it would run "
                 "code that anyone could have replaced (hint: chmod go-w %s)", via,
                 (unsigned)(file.st_mode & 07777), real);
        return false;
    }
    loader_dirname(real, dir, sizeof dir);
    if (loader_dir_replaceable(dir, file.st_uid, &d)) return loader_distrust_dir(dir, &d, via, why, cap);
    /* A link in such a directory could be pointed elsewhere as easily. */
    loader_dirname(path, dir, sizeof dir);
    if (linked && loader_dir_replaceable(dir, link.st_uid, &d))
        return loader_distrust_dir(dir, &d, "is a link that ", why, cap);
    return true;
}

/* ---- before dlopen: what the file itself says ---------------------------------------------- */

static const char *const loader_callbacks[] = {
    [DDB_INSERT] = "on_insert", [DDB_MODIFY] = "on_modify", [DDB_REMOVE] = "on_remove",
};

/* The descriptor's integers and the callbacks, from the file's dynamic symbol table. */
static bool loader_inspect_image(const char *path, const dynsym_image *img, loader_inspection *out,
                                 char *err, size_t cap)
{
    dynsym_symbol sym;
    ddb_plugin_descriptor d;
    memset(&d, 0, sizeof d);
    if (!dynsym_defines(img, "ddb_plugin_info", &sym) || sym.function) {
        snprintf(err, cap, "plugin \"%s\" has no ddb_plugin_info descriptor (hint: add "
                 "DDB_PLUGIN(\"name\", \"version\"); to one source file of the plugin)", path);
        return false;
    }
    /* st_size 0: the size is unknown, and the descriptor's own says how much to trust */
    size_t readable = sym.size == 0 || sym.size > sizeof d ? sizeof d : (size_t)sym.size;
    if (!dynsym_read(img, sym.address, &d, readable)) {
        snprintf(err, cap, "plugin \"%s\" has a ddb_plugin_info descriptor outside its file "
                 LOADER_HINT_MACRO, path);
        return false;
    }
    if (!loader_check_versions(path, &d, sym.size ? readable : 0, err, cap)) return false;
    bool any = false;
    for (int e = DDB_INSERT; e <= DDB_REMOVE; e++)
        any |= out->has[e] = dynsym_defines(img, loader_callbacks[e], &sym) && sym.function;
    if (!any) {
        snprintf(err, cap, "plugin \"%s\" exports none of on_insert, on_modify, on_remove (hint: "
                 "define at least one of them with C linkage)", path);
        return false;
    }
    out->has_batch_end = dynsym_defines(img, "on_batch_end", &sym) && sym.function;
    out->abi_major = d.abi_major;
    out->abi_minor = d.abi_minor;
    return true;
}

/* loader_inspect of the file opened, which messages call path. */
static bool loader_examine(const char *path, const char *opened, const char *file,
                           loader_inspection *out, char *err, size_t cap)
{
    char why[PATH_MAX + 256];
    memset(out, 0, sizeof *out);
    if (!loader_trust(opened, why, sizeof why)) {
        snprintf(err, cap, "plugin \"%s\" %s", path, why);
        return false;
    }
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0) {
        snprintf(err, cap, "cannot load plugin \"%s\": %s%s", path,
                 fd < 0 ? "cannot open shared object file: " : "",
                 fd < 0 ? strerror(errno) : "not a shared object file");
        if (fd >= 0) close(fd);
        return false;
    }
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) {
        snprintf(err, cap, "cannot load plugin \"%s\": %s", path, strerror(errno));
        return false;
    }
    dynsym_image img;
    bool ok = false;
    if (!dynsym_parse(map, (size_t)st.st_size, &img, why, sizeof why)) {
        /* An ELF file that cannot be read is most often one cut short by a copy. */
        bool elf = st.st_size >= SELFMAG && memcmp(map, ELFMAG, SELFMAG) == 0;
        if (!loader_wrong_machine(opened, path, err, cap))
            snprintf(err, cap, "cannot load plugin \"%s\": %s%s", path, why,
                     elf ? " (hint: rebuild the plugin, or copy it again if the copy was cut "
                           "short)" : "");
    } else {
        ok = loader_inspect_image(path, &img, out, err, cap);
    }
    munmap(map, (size_t)st.st_size);
    return ok;
}

/* ---- dlopen ------------------------------------------------------------------------------ */

/* The symbol name as the plugin's own object defines it; NULL when only a library it links
 * has it (dlsym would hand that out, and a dependency's on_insert is not a callback). */
static void *loader_own(void *dl, const struct link_map *self, const char *name)
{
    void *p = dlsym(dl, name);
    Dl_info info;
    struct link_map *map = NULL;
    if (!p || !dladdr1(p, &info, (void **)&map, RTLD_DL_LINKMAP) || map != self) return NULL;
    return p;
}

/* dlsym hands out a data pointer; POSIX guarantees that functions survive the trip, but
 * ISO C has no conversion between the two, hence the copy. */
static void loader_sym(void *dl, const struct link_map *self, const char *name, void *fn,
                       size_t fn_size)
{
    void *p = loader_own(dl, self, name);
    memset(fn, 0, fn_size);
    if (p) memcpy(fn, &p, fn_size < sizeof p ? fn_size : sizeof p);
}
#define LOADER_SYM(dl, self, name, fn) loader_sym((dl), (self), (name), &(fn), sizeof(fn))

/* Everything the host calls, from the plugin's own object only. */
static void loader_callbacks_of(loader_plugin *p, const struct link_map *self)
{
    for (int e = DDB_INSERT; e <= DDB_REMOVE; e++)
        LOADER_SYM(p->dl, self, loader_callbacks[e], p->on_record[e]);
    LOADER_SYM(p->dl, self, "on_init", p->on_init);
    LOADER_SYM(p->dl, self, "on_fini", p->on_fini);
    LOADER_SYM(p->dl, self, "on_batch_begin", p->on_batch_begin);
    LOADER_SYM(p->dl, self, "on_batch_end", p->on_batch_end);
}

/* dlopen, after the file was inspected; the descriptor as loaded is checked again (a
 * relocation could have changed it) with its name; false with err. */
static bool loader_load(const char *path, const char *opened, loader_plugin *p, char *err, size_t cap)
{
    struct link_map *self = NULL;
    p->dl = dlopen(opened, RTLD_NOW | RTLD_LOCAL);
    if (!p->dl) {
        const char *reason = loader_dl_reason(dlerror(), opened);
        if (!loader_wrong_machine(opened, path, err, cap))
            snprintf(err, cap, "cannot load plugin \"%s\": %s", path, reason);
        return false;
    }
    const ddb_plugin_descriptor *d = NULL;
    if (dlinfo(p->dl, RTLD_DI_LINKMAP, &self) != 0 ||
        !(d = loader_own(p->dl, self, "ddb_plugin_info"))) {
        snprintf(err, cap, "plugin \"%s\" has no ddb_plugin_info descriptor of its own (hint: "
                 "add DDB_PLUGIN(\"name\", \"version\"); to one source file of the plugin)", path);
        return false;
    }
    if (!loader_check_descriptor(path, d, loader_symbol_size(d), err, cap)) return false;
    loader_callbacks_of(p, self);
    p->path = strdup(path);
    p->info = loader_copy_descriptor(d);
    if (!p->path || !p->info) {
        snprintf(err, cap, "cannot load plugin \"%s\": out of memory", path);
        return false;
    }
    return true;
}

/* dlopen searches the library path for a bare name; a plugin is always a file, so a bare
 * name is made "./NAME". Owned by the caller: free(); NULL with err when out of memory. */
static char *loader_opened(const char *path, char *err, size_t cap)
{
    size_t n = strlen(path) + 3;
    char *opened = malloc(n);
    if (opened) snprintf(opened, n, "%s%s", strchr(path, '/') ? "" : "./", path);
    else snprintf(err, cap, "cannot load plugin \"%s\": out of memory", path);
    return opened;
}

/* The file the trust check judged, by its real path: what is read and loaded after the
 * check, so that no link on the way can be pointed elsewhere in between. opened itself when
 * it does not resolve (the open then says why). */
static const char *loader_real(const char *opened, char real[PATH_MAX])
{
    return realpath(opened, real) ? real : opened;
}

bool loader_inspect(const char *path, loader_inspection *out, char *err, size_t cap)
{
    char real[PATH_MAX];
    char *opened = loader_opened(path, err, cap);
    bool ok = opened && loader_examine(path, opened, loader_real(opened, real), out, err, cap);
    free(opened);
    return ok;
}

bool loader_open(const char *path, loader_plugin *out, char *err, size_t cap)
{
    loader_inspection seen;
    memset(out, 0, sizeof *out);
    char real[PATH_MAX];
    char *opened = loader_opened(path, err, cap);
    const char *file = opened ? loader_real(opened, real) : NULL;
    bool ok = opened && loader_examine(path, opened, file, &seen, err, cap) &&
              loader_load(path, file, out, err, cap);
    free(opened);
    if (!ok) loader_close(out);
    return ok;
}

void loader_close(loader_plugin *p)
{
    if (!p) return;
    free(p->path);
    free((void *)p->info);
    if (p->dl) dlclose(p->dl);
    memset(p, 0, sizeof *p);
}
