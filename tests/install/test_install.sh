#!/usr/bin/env bash
# test_install.sh - `make install` as a plugin author meets it: installs this build into a
# fresh prefix, checks the layout, then builds plugin/audit.c outside the tree against the
# installed copy twice (pkg-config; find_package(ddbhost) + ddbhost_add_plugin), runs each
# with the installed ddbhost on an example event and checks what it prints and exports.
# Then `ddbhost new` writes a project that builds and passes its test against the install.
#
# Usage: test_install.sh SOURCE_DIR BINARY_DIR CC SANITIZE LIBDIR INCLUDEDIR BINDIR MANDIR
# SANITIZE is 1 when the tree is built with ASan+UBSan: the plugins built here get the same
# flags (through CFLAGS and LDFLAGS), because the installed host is then instrumented, and a
# plugin should be checked as the tree's own plugins are.
set -u
# The host refuses plugins that group or others can write: build as a careful user would.
umask 022
src=$1 bin=$2 cc=$3 sanitize=$4 libdir=$5 includedir=$6 bindir=$7 mandir=$8

failures=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }

flags="-O1 -g -Wall -Wextra -Werror"
ldflags=""
if [ "$sanitize" = 1 ]; then
    flags="$flags -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
    ldflags="-fsanitize=address,undefined"
fi

# ---- install --------------------------------------------------------------------------------
if ! cmake --install "$bin" --prefix "$prefix" >"$tmp/install.log" 2>&1; then
    cat "$tmp/install.log"
    echo "FAIL: cmake --install $bin --prefix $prefix"
    exit 1
fi
for f in "$bindir/ddbhost" "$includedir/ddb/plugin.h" "$libdir/pkgconfig/ddbhost-plugin.pc" \
         "$libdir/cmake/ddbhost/ddbhostConfig.cmake" "$libdir/cmake/ddbhost/ddbhostConfigVersion.cmake" \
         "$libdir/cmake/ddbhost/DdbPluginModule.cmake" "$libdir/ddbhost/plugins/echo.so" \
         "$mandir/man1/ddbhost.1"; do
    [ -f "$prefix/$f" ] && pass "installed $f" || fail "$f is not installed under $prefix"
done
cmp -s "$src/plugin-api/include/ddb/plugin.h" "$prefix/$includedir/ddb/plugin.h" ||
    fail "the installed plugin.h differs from plugin-api/include/ddb/plugin.h"
ddbhost=$prefix/$bindir/ddbhost
"$ddbhost" --version | grep -q '^ddbhost ' && pass "the installed ddbhost runs" || fail "the installed ddbhost does not run"

event=$src/examples/events/orders.json
expected='audit: INSERT Orders o-1001 total=129.95
audit: MODIFY Orders o-1000 total=18.5
audit: REMOVE Orders o-0999 total=0
{"batchItemFailures":[]}'

# Runs the installed host on the example event with plugin $2 and checks stdout and exports.
check_plugin() {
    local how=$1 plugin=$2 out exports
    if ! out=$("$ddbhost" --log-level error --invoke "$plugin" "$event" 2>"$tmp/err"); then
        fail "$how: ddbhost --invoke failed: $(cat "$tmp/err")"
        return
    fi
    [ "$out" = "$expected" ] && pass "$how: the plugin runs under the installed ddbhost" ||
        fail "$how: unexpected output"$'\n'"--- expected ---"$'\n'"$expected"$'\n'"--- got ---"$'\n'"$out"
    # Toolchain and sanitizer symbols aside (as tests/abi/test_exports.c does).
    exports=$(nm -D --defined-only "$plugin" | awk '{print $3}' |
              grep -Ev '^(__asan|___asan|__ubsan|__sanitizer|__lsan|__sancov|__odr_asan|_init$|_fini$|_edata$|_end$|__bss_start$)' |
              sort | tr '\n' ' ')
    [ "$exports" = "ddb_plugin_info on_insert on_modify on_remove " ] &&
        pass "$how: only the ABI symbols are exported" || fail "$how: exports $exports"
}

# ---- pkg-config -----------------------------------------------------------------------------
export PKG_CONFIG_PATH=$prefix/$libdir/pkgconfig
cflags=$(pkg-config --cflags ddbhost-plugin | sed 's/ *$//')
[ "$cflags" = "-I$prefix/$includedir -fvisibility=hidden" ] && pass "pkg-config --cflags: $cflags" ||
    fail "pkg-config --cflags ddbhost-plugin gave '$cflags'"
plugindir=$(pkg-config --variable=plugindir ddbhost-plugin)
[ -f "$plugindir/echo.so" ] && pass "pkg-config --variable=plugindir finds echo.so" ||
    fail "pkg-config --variable=plugindir gave '$plugindir'"
mkdir -p "$tmp/pc"
# shellcheck disable=SC2086 # the flags are meant to split
if $cc $cflags $flags -shared -fPIC -o "$tmp/pc/audit.so" "$src/tests/install/plugin/audit.c" $ldflags \
    2>"$tmp/pc.log"; then
    check_plugin "pkg-config" "$tmp/pc/audit.so"
else
    fail "pkg-config: the plugin does not build: $(cat "$tmp/pc.log")"
fi

# ---- the CMake package ----------------------------------------------------------------------
unset PKG_CONFIG_PATH
if CFLAGS="$flags" LDFLAGS="$ldflags" cmake -S "$src/tests/install/plugin" -B "$tmp/cm" \
       -DCMAKE_C_COMPILER="$cc" -DCMAKE_PREFIX_PATH="$prefix" >"$tmp/cm.log" 2>&1 &&
   cmake --build "$tmp/cm" >>"$tmp/cm.log" 2>&1; then
    check_plugin "find_package(ddbhost)" "$tmp/cm/audit.so"
else
    fail "find_package(ddbhost): the plugin does not build:"$'\n'"$(cat "$tmp/cm.log")"
fi

# ---- ddbhost new, against the install ---------------------------------------------------------
if "$ddbhost" new --help >/dev/null 2>&1; then
    (cd "$tmp" && "$ddbhost" new fresh >/dev/null) || fail "ddbhost new fresh failed"
    if CFLAGS="$flags" LDFLAGS="$ldflags" cmake -S "$tmp/fresh" -B "$tmp/fresh/build" \
           -DCMAKE_C_COMPILER="$cc" -DCMAKE_PREFIX_PATH="$prefix" >"$tmp/new.log" 2>&1 &&
       cmake --build "$tmp/fresh/build" >>"$tmp/new.log" 2>&1 &&
       ctest --test-dir "$tmp/fresh/build" --output-on-failure >>"$tmp/new.log" 2>&1; then
        grep -q "^ddbhost_DIR:PATH=$prefix/" "$tmp/fresh/build/CMakeCache.txt" &&
            pass "ddbhost new: the project finds the installed CMake package" ||
            fail "ddbhost new: the project did not use the installed CMake package"
        out=$(cd "$tmp/fresh" && "$ddbhost" --log-level error --invoke build/fresh.so events/insert.json)
        [ "$out" = 'fresh: INSERT Items id=item-1 (5 attributes)
{"batchItemFailures":[]}' ] && pass "ddbhost new: builds, passes its test and runs against the install" ||
            fail "ddbhost new: unexpected output: $out"
    else
        fail "ddbhost new: the project does not build or pass its test:"$'\n'"$(cat "$tmp/new.log")"
    fi
else
    echo "note: this ddbhost has no 'new' command yet: the scaffold part is not run"
fi

echo "$failures failed"
[ "$failures" = 0 ]
