/* scaffold.c - `ddbhost new NAME [DIR]`: writes a plugin project (the plugin, a test that
 * loads it as the host does, sample events, a Makefile, a CMakeLists.txt and a README) that
 * builds with nothing installed and runs under `ddbhost --invoke` as written. Owns the
 * project's templates; the plugin.h it copies is the one embedded in this binary. It never
 * writes into a directory that exists, and removes what it made when it fails halfway. */
#include "scaffold.h"

#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ddb/plugin.h>

#include "log.h"
#include "sample.h"

#define SCAFFOLD_MAX_NAME 64
/* Never writable by group or others, whatever the umask: the host refuses a plugin in such
 * a directory, and the project's NAME.so is built in DIR. */
#define SCAFFOLD_DIR_MODE 0755
#define SCAFFOLD_STR_(x) #x
#define SCAFFOLD_STR(x) SCAFFOLD_STR_(x)
#define SCAFFOLD_ABI SCAFFOLD_STR(DDB_ABI_MAJOR) "." SCAFFOLD_STR(DDB_ABI_MINOR)

/* ---- templates: @NAME@ becomes the plugin's name ----------------------------------------- */

static const char scaffold_plugin_c[] =
    "/* @NAME@.c - the @NAME@ plugin for ddbhost: prints one line for each record it receives.\n"
    " * ddbhost calls on_insert, on_modify and on_remove with each record of a DynamoDB stream\n"
    " * batch: put your own handling in them. A record is borrowed: copy what you keep. */\n"
    "#include <stdio.h>\n"
    "\n"
    "#include <ddb/plugin.h>\n"
    "\n"
    "DDB_PLUGIN(\"@NAME@\", \"0.1.0\");\n"
    "\n"
    "/* \" name=value\" for each key attribute: S and N as their text, B as its size. */\n"
    "static void print_keys(const ddb_value *keys)\n"
    "{\n"
    "    for (size_t i = 0; i < ddb_count(keys); i++) {\n"
    "        const char *name = \"\", *text;\n"
    "        const uint8_t *bytes;\n"
    "        size_t name_len = 0, len;\n"
    "        const ddb_value *v = ddb_member_at(keys, i, &name, &name_len);\n"
    "        printf(\" %.*s=\", (int)name_len, name);\n"
    "        if (ddb_get_s(v, &text, &len) == DDB_OK || ddb_get_n(v, &text, &len) == DDB_OK)\n"
    "            printf(\"%.*s\", (int)len, text);\n"
    "        else if (ddb_get_b(v, &bytes, &len) == DDB_OK)\n"
    "            printf(\"<%zu bytes>\", len);\n"
    "    }\n"
    "}\n"
    "\n"
    "/* \"@NAME@: INSERT Items id=item-1 (5 attributes)\". A status other than DDB_OK fails the\n"
    " * record: ddbhost reports it in batchItemFailures, and Lambda retries it. */\n"
    "static ddb_status handle(const ddb_record *rec, const ddb_value *image)\n"
    "{\n"
    "    if (!rec->keys) return DDB_ERR_NOT_FOUND;\n"
    "    printf(\"@NAME@: %s %.*s\", ddb_event_name_str(rec->event_name), (int)rec->table.len,\n"
    "           rec->table.ptr ? rec->table.ptr : \"\");\n"
    "    print_keys(rec->keys);\n"
    "    if (image) printf(\" (%zu attributes)\", ddb_count(image));\n"
    "    putchar('\\n');\n"
    "    return DDB_OK;\n"
    "}\n"
    "\n"
    "/* state is what on_init returned: NULL, as this plugin has no on_init (see plugin.h). */\n"
    "ddb_status on_insert(const ddb_record *rec, void *state)\n"
    "{\n"
    "    (void)state;\n"
    "    return handle(rec, rec->new_image);\n"
    "}\n"
    "\n"
    "ddb_status on_modify(const ddb_record *rec, void *state)\n"
    "{\n"
    "    (void)state;\n"
    "    return handle(rec, rec->new_image);\n"
    "}\n"
    "\n"
    "ddb_status on_remove(const ddb_record *rec, void *state)\n"
    "{\n"
    "    (void)state;\n"
    "    return handle(rec, rec->old_image);\n"
    "}\n";

static const char scaffold_test_c[] =
    "/* test_plugin.c - loads @NAME@.so the way ddbhost does (dlopen, then the exported\n"
    " * descriptor and callbacks), hands on_insert records built by hand and checks what it\n"
    " * returns and prints. Usage: test_plugin PATH/TO/@NAME@.so (make test runs it). */\n"
    "#define _POSIX_C_SOURCE 200809L\n"
    "#include <dlfcn.h>\n"
    "#include <stdio.h>\n"
    "#include <string.h>\n"
    "#include <unistd.h>\n"
    "\n"
    "#include <ddb/plugin.h>\n"
    "\n"
    "typedef ddb_status (*callback)(const ddb_record *rec, void *state);\n"
    "\n"
    "static int passed, failed;\n"
    "\n"
    "#define CHECK(cond)                                                                \\\n"
    "    do {                                                                           \\\n"
    "        if (cond) passed++;                                                        \\\n"
    "        else {                                                                     \\\n"
    "            fprintf(stderr, \"%s:%d: check failed: %s\\n\", __FILE__, __LINE__, #cond); \\\n"
    "            failed++;                                                              \\\n"
    "        }                                                                          \\\n"
    "    } while (0)\n"
    "\n"
    "static callback find(void *dl, const char *name)\n"
    "{\n"
    "    void *sym = dlsym(dl, name);\n"
    "    callback f;\n"
    "    memcpy(&f, &sym, sizeof f); /* ISO C has no cast from void * to a function pointer */\n"
    "    return f;\n"
    "}\n"
    "\n"
    "/* Calls f(rec) with stdout sent to a buffer: its status, and what it printed in out. */\n"
    "static ddb_status call(callback f, const ddb_record *rec, char *out, size_t cap)\n"
    "{\n"
    "    FILE *tmp = tmpfile();\n"
    "    int saved;\n"
    "    size_t n;\n"
    "    ddb_status st;\n"
    "    if (!tmp) {\n"
    "        perror(\"tmpfile\");\n"
    "        return DDB_ERR_FAILED;\n"
    "    }\n"
    "    fflush(stdout);\n"
    "    saved = dup(STDOUT_FILENO);\n"
    "    dup2(fileno(tmp), STDOUT_FILENO);\n"
    "    st = f(rec, NULL);\n"
    "    fflush(stdout);\n"
    "    dup2(saved, STDOUT_FILENO);\n"
    "    close(saved);\n"
    "    rewind(tmp);\n"
    "    n = fread(out, 1, cap - 1, tmp);\n"
    "    out[n] = '\\0';\n"
    "    fclose(tmp);\n"
    "    return st;\n"
    "}\n"
    "\n"
    "int main(int argc, char **argv)\n"
    "{\n"
    "    const char *path = argc > 1 ? argv[1] : \"./@NAME@.so\";\n"
    "    void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);\n"
    "    const ddb_plugin_descriptor *info;\n"
    "    callback insert;\n"
    "    char out[256];\n"
    "    if (!dl) {\n"
    "        fprintf(stderr, \"cannot load %s: %s\\n\", path, dlerror());\n"
    "        return 1;\n"
    "    }\n"
    "    info = (const ddb_plugin_descriptor *)dlsym(dl, \"ddb_plugin_info\");\n"
    "    CHECK(info && info->magic == DDB_PLUGIN_MAGIC && info->abi_major == DDB_ABI_MAJOR);\n"
    "    CHECK(info && strcmp(info->name, \"@NAME@\") == 0);\n"
    "    insert = find(dl, \"on_insert\");\n"
    "    CHECK(insert != NULL);\n"
    "    if (insert) {\n"
    "        /* An INSERT into Items of {\"id\": \"item-1\", \"price\": 12.50}, as the host hands it. */\n"
    "        ddb_member key[] = {{.name = \"id\", .name_len = 2, .value = {.type = DDB_S, .len = 6, .ptr = \"item-1\"}}};\n"
    "        ddb_member item[] = {\n"
    "            {.name = \"id\", .name_len = 2, .value = {.type = DDB_S, .len = 6, .ptr = \"item-1\"}},\n"
    "            {.name = \"price\", .name_len = 5, .value = {.type = DDB_N, .len = 5, .ptr = \"12.50\"}},\n"
    "        };\n"
    "        ddb_value keys = {.type = DDB_M, .len = 1, .ptr = key};\n"
    "        ddb_value image = {.type = DDB_M, .len = 2, .ptr = item};\n"
    "        ddb_record rec = {.size = sizeof rec, .event_name = DDB_INSERT,\n"
    "                          .view_type = DDB_VIEW_NEW_AND_OLD_IMAGES, .size_bytes = -1,\n"
    "                          .table = {\"Items\", 5}, .keys = &keys, .new_image = &image};\n"
    "        CHECK(call(insert, &rec, out, sizeof out) == DDB_OK);\n"
    "        CHECK(strcmp(out, \"@NAME@: INSERT Items id=item-1 (2 attributes)\\n\") == 0);\n"
    "        /* Without keys the record fails, so that Lambda would retry it. */\n"
    "        rec.keys = NULL;\n"
    "        CHECK(call(insert, &rec, out, sizeof out) == DDB_ERR_NOT_FOUND);\n"
    "    }\n"
    "    dlclose(dl);\n"
    "    printf(\"%d passed, %d failed\\n\", passed, failed);\n"
    "    return failed != 0;\n"
    "}\n";

static const char scaffold_makefile[] =
    "# Builds @NAME@.so, a ddbhost plugin, against include/ddb/plugin.h; `make test` builds and\n"
    "# runs its test. CC, CFLAGS and LDFLAGS are honoured, e.g. make CFLAGS='-O0 -g'.\n"
    "NAME := @NAME@\n"
    "CFLAGS ?= -O2 -g\n"
    "WARN := -std=c11 -Wall -Wextra -Iinclude\n"
    "\n"
    "all: $(NAME).so\n"
    "\n"
    "# Hidden visibility: the plugin exports only what plugin.h marks (its descriptor and\n"
    "# callbacks). Not writable by group or others: ddbhost refuses a plugin they could replace.\n"
    "$(NAME).so: src/$(NAME).c include/ddb/plugin.h\n"
    "\t$(CC) $(WARN) -fPIC -fvisibility=hidden $(CFLAGS) -shared -o $@ src/$(NAME).c $(LDFLAGS)\n"
    "\tchmod go-w $@\n"
    "\n"
    "test_plugin: test/test_plugin.c include/ddb/plugin.h\n"
    "\t$(CC) $(WARN) $(CFLAGS) -o $@ test/test_plugin.c $(LDFLAGS) -ldl\n"
    "\n"
    "test: $(NAME).so test_plugin\n"
    "\t./test_plugin ./$(NAME).so\n"
    "\n"
    "clean:\n"
    "\trm -f $(NAME).so test_plugin\n"
    "\n"
    ".PHONY: all test clean\n";

static const char scaffold_cmakelists[] =
    "# @NAME@: a ddbhost plugin and its test.\n"
    "#   cmake -S . -B build && cmake --build build && ctest --test-dir build\n"
    "# builds build/@NAME@.so. With ddbhost installed (its CMake package found) the plugin\n"
    "# builds against the installed plugin.h; otherwise against DDBHOST_INCLUDE_DIR, by default\n"
    "# include/, which holds the plugin.h of the ddbhost that wrote this project.\n"
    "cmake_minimum_required(VERSION 3.16)\n"
    "project(@NAME@ LANGUAGES C)\n"
    "set(CMAKE_C_STANDARD 11)\n"
    "\n"
    "find_package(ddbhost QUIET)\n"
    "if(ddbhost_FOUND)\n"
    "  ddbhost_add_plugin(plugin src/@NAME@.c)\n"
    "  set(plugin_api ddbhost::plugin)\n"
    "else()\n"
    "  set(DDBHOST_INCLUDE_DIR ${CMAKE_CURRENT_SOURCE_DIR}/include CACHE PATH \"the directory that holds ddb/plugin.h\")\n"
    "  add_library(plugin_api INTERFACE)\n"
    "  target_include_directories(plugin_api INTERFACE ${DDBHOST_INCLUDE_DIR})\n"
    "  add_library(plugin MODULE src/@NAME@.c)\n"
    "  target_link_libraries(plugin PRIVATE plugin_api)\n"
    "  set_target_properties(plugin PROPERTIES PREFIX \"\" C_VISIBILITY_PRESET hidden)\n"
    "  set(plugin_api plugin_api)\n"
    "endif()\n"
    "set_target_properties(plugin PROPERTIES OUTPUT_NAME @NAME@)\n"
    "target_compile_options(plugin PRIVATE -Wall -Wextra)\n"
    "\n"
    "enable_testing()\n"
    "add_executable(test_plugin test/test_plugin.c)\n"
    "target_link_libraries(test_plugin PRIVATE ${plugin_api} ${CMAKE_DL_LIBS})\n"
    "add_test(NAME @NAME@ COMMAND test_plugin $<TARGET_FILE:plugin>)\n";

static const char scaffold_readme[] =
    "# @NAME@\n"
    "\n"
    "A plugin for ddbhost, the AWS Lambda host for DynamoDB Streams handlers written in C.\n"
    "ddbhost loads `@NAME@.so` and calls its `on_insert`, `on_modify` and `on_remove` with\n"
    "each record of a stream batch, in Lambda or on your machine.\n"
    "\n"
    "## Build, test, run\n"
    "\n"
    "```\n"
    "make test                                         # builds @NAME@.so and runs its test\n"
    "ddbhost --invoke @NAME@.so events/insert.json      # runs it on a sample event\n"
    "```\n"
    "\n"
    "The plugin prints one line per record (`@NAME@: INSERT Items id=item-1 (5 attributes)`);\n"
    "ddbhost then prints its summary on stderr and, as the last line of stdout, the batch\n"
    "response Lambda receives (`{\"batchItemFailures\":[]}` when every record succeeded).\n"
    "\n"
    "With CMake instead of make (an installed ddbhost's CMake package is used when found):\n"
    "\n"
    "```\n"
    "cmake -S . -B build && cmake --build build && ctest --test-dir build\n"
    "ddbhost --invoke build/@NAME@.so events/modify.json\n"
    "```\n"
    "\n"
    "## Events of your own\n"
    "\n"
    "`events/` holds an INSERT, a MODIFY and a REMOVE of one item of a table `Items`, written by\n"
    "`ddbhost event`. Write events shaped like your own items the same way:\n"
    "\n"
    "```\n"
    "ddbhost event modify --table Orders --old '{\"orderId\": \"o-1\", \"status\": \"NEW\"}' \\\n"
    "    --new '{\"orderId\": \"o-1\", \"status\": \"PAID\", \"total\": 12.50}' > events/paid.json\n"
    "```\n"
    "\n"
    "## Files\n"
    "\n"
    "| file | what |\n"
    "|---|---|\n"
    "| `src/@NAME@.c` | the plugin: `DDB_PLUGIN` names it; the callbacks handle records |\n"
    "| `test/test_plugin.c` | loads the plugin as ddbhost does and calls it with records built by hand |\n"
    "| `include/ddb/plugin.h` | the whole plugin API (ABI " SCAFFOLD_ABI "), from the ddbhost that wrote this project |\n"
    "| `events/*.json` | sample events for `ddbhost --invoke` |\n"
    "\n"
    "`plugin.h` documents every type and call, including `on_init`/`on_fini` for state and\n"
    "configuration; `man ddbhost` documents the commands.\n";

static const char scaffold_gitignore[] = "/build/\n/@NAME@.so\n/test_plugin\n";

/* The sample item; the MODIFY changes its price and stock, the REMOVE deletes it. */
#define SCAFFOLD_ITEM_BEFORE \
    "{\"id\": \"item-1\", \"name\": \"Blue mug\", \"price\": 12.50, \"stock\": 40, \"tags\": {\"$SS\": [\"kitchen\", \"blue\"]}}"
#define SCAFFOLD_ITEM_AFTER \
    "{\"id\": \"item-1\", \"name\": \"Blue mug\", \"price\": 11.00, \"stock\": 39, \"tags\": {\"$SS\": [\"kitchen\", \"blue\"]}}"

/* ---- writing the project ------------------------------------------------------------------ */

#define SCAFFOLD_PATH_MAX 4096

typedef struct scaffold {
    const char *name;
    const char *dir;
    char err[SCAFFOLD_PATH_MAX + 256]; /* a path and why it failed */
} scaffold;

static int scaffold_unlink(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Writes DIR/rel from text, every "@NAME@" replaced by the plugin's name. */
static bool scaffold_file(scaffold *s, const char *rel, const char *text, size_t len)
{
    char path[SCAFFOLD_PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", s->dir, rel);
    FILE *f = fopen(path, "wb");
    if (!f) {
        snprintf(s->err, sizeof s->err, "cannot create \"%s\": %s", path, strerror(errno));
        return false;
    }
    const char *p = text, *end = text + len, *at;
    while ((at = memmem(p, (size_t)(end - p), "@NAME@", 6)) != NULL) {
        fwrite(p, 1, (size_t)(at - p), f);
        fputs(s->name, f);
        p = at + 6;
    }
    fwrite(p, 1, (size_t)(end - p), f);
    bool failed = ferror(f) != 0;
    if (fclose(f) != 0) failed = true;
    if (failed) {
        snprintf(s->err, sizeof s->err, "cannot write \"%s\": %s", path, strerror(errno));
        return false;
    }
    return true;
}

static bool scaffold_text(scaffold *s, const char *rel, const char *text)
{
    return scaffold_file(s, rel, text, strlen(text));
}

static bool scaffold_mkdir(scaffold *s, const char *rel)
{
    char path[SCAFFOLD_PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", s->dir, rel);
    if (mkdir(path, SCAFFOLD_DIR_MODE) == 0) return true;
    snprintf(s->err, sizeof s->err, "cannot create directory \"%s\": %s", path, strerror(errno));
    return false;
}

/* events/NAME.json through the same code as `ddbhost event`. */
static bool scaffold_event(scaffold *s, const char *rel, ddb_event_name event, const char *new_item,
                           const char *old_item)
{
    sample_spec spec = {.event_name = event, .table = "Items", .new_item = new_item, .old_item = old_item,
                        .count = 1};
    char err[512];
    size_t len;
    char *text = sample_event(&spec, &len, err, sizeof err);
    if (!text) {
        snprintf(s->err, sizeof s->err, "cannot write the sample event \"%s\": %s", rel, err);
        return false;
    }
    bool ok = scaffold_file(s, rel, text, len);
    free(text);
    return ok;
}

static bool scaffold_write(scaffold *s)
{
    char src[128];
    snprintf(src, sizeof src, "src/%s.c", s->name);
    return scaffold_mkdir(s, "src") && scaffold_mkdir(s, "test") && scaffold_mkdir(s, "events") &&
           scaffold_mkdir(s, "include") && scaffold_mkdir(s, "include/ddb") &&
           scaffold_text(s, "include/ddb/plugin.h", scaffold_plugin_h) &&
           scaffold_text(s, src, scaffold_plugin_c) && scaffold_text(s, "test/test_plugin.c", scaffold_test_c) &&
           scaffold_text(s, "Makefile", scaffold_makefile) && scaffold_text(s, "CMakeLists.txt", scaffold_cmakelists) &&
           scaffold_text(s, "README.md", scaffold_readme) && scaffold_text(s, ".gitignore", scaffold_gitignore) &&
           scaffold_event(s, "events/insert.json", DDB_INSERT, SCAFFOLD_ITEM_BEFORE, NULL) &&
           scaffold_event(s, "events/modify.json", DDB_MODIFY, SCAFFOLD_ITEM_AFTER, SCAFFOLD_ITEM_BEFORE) &&
           scaffold_event(s, "events/remove.json", DDB_REMOVE, NULL, SCAFFOLD_ITEM_AFTER);
}

/* ---- the command ----------------------------------------------------------------------- */

static const char scaffold_usage[] =
    "Usage: ddbhost new NAME [DIR]\n"
    "\n"
    "Writes a plugin project for the plugin NAME into DIR (default ./NAME), which must not\n"
    "exist: the plugin (src/NAME.c), a test that loads it (test/test_plugin.c), sample events\n"
    "(events/), plugin.h (include/ddb/), a Makefile, a CMakeLists.txt and a README. Then:\n"
    "\n"
    "  cd DIR && make test\n"
    "  ddbhost --invoke NAME.so events/insert.json\n"
    "\n"
    "NAME is a lower-case letter, then lower-case letters, digits, '_' or '-' (at most 64).\n";


static bool scaffold_valid_name(const char *name)
{
    size_t n = strlen(name);
    return n >= 1 && n <= SCAFFOLD_MAX_NAME && name[0] >= 'a' && name[0] <= 'z' &&
           strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

int scaffold_main(int argc, char **argv)
{
    int nargs = 0;
    bool options = true; /* until "--" */
    const char *args[2] = {NULL, NULL};
    for (int i = 1; i < argc; i++) {
        if (options && (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)) {
            fputs(scaffold_usage, stdout);
            return 0;
        }
        if (options && strcmp(argv[i], "--") == 0) {
            options = false;
            continue;
        }
        if (options && argv[i][0] == '-' && argv[i][1])
            return log_usage_error("unknown option \"%s\" for ddbhost new", argv[i]);
        if (nargs == 2) return log_usage_error("%s", "usage: ddbhost new NAME [DIR]");
        args[nargs++] = argv[i];
    }
    if (nargs == 0) return log_usage_error("%s", "usage: ddbhost new NAME [DIR]");
    scaffold s = {.name = args[0], .dir = args[1] ? args[1] : args[0]};
    if (!scaffold_valid_name(s.name))
        return log_usage_error("plugin name \"%s\": expected a lower-case letter, then lower-case letters, "
                                    "digits, '_' or '-' (at most 64), e.g. orders-audit", s.name);
    if (!scaffold_plugin_h) {
        log_error("this program has no plugin.h built in: run 'ddbhost new' with the ddbhost executable");
        return 1;
    }
    if (!*s.dir) return log_usage_error("%s", "DIR is empty");
    if (mkdir(s.dir, SCAFFOLD_DIR_MODE) != 0) {
        if (errno == EEXIST)
            log_error("\"%s\" already exists: ddbhost new never writes into an existing directory "
                      "(hint: give another DIR, or remove it)", s.dir);
        else log_error("cannot create directory \"%s\": %s", s.dir, strerror(errno));
        return 1;
    }
    if (!scaffold_write(&s)) {
        log_error("%s (nothing was kept: \"%s\" is removed)", s.err, s.dir);
        nftw(s.dir, scaffold_unlink, 16, FTW_DEPTH | FTW_PHYS);
        return 1;
    }
    printf("created %s/: the ddbhost plugin \"%s\" (plugin ABI %s)\n"
           "  src/%s.c  the plugin\n"
           "  test/test_plugin.c  its test\n"
           "  events/  an INSERT, a MODIFY and a REMOVE to run it on\n"
           "  include/ddb/plugin.h, Makefile, CMakeLists.txt, README.md\n"
           "next:\n"
           "  cd %s && make test\n"
           "  ddbhost --invoke %s.so events/insert.json\n",
           s.dir, s.name, SCAFFOLD_ABI, s.name, s.dir, s.name);
    return fflush(stdout) == 0 ? 0 : 1;
}
