#!/usr/bin/env bash
# test_package_arm64.sh - proves that an arm64 (Graviton) package cross-built on x86_64 runs,
# and answers as the x86_64 host does. The tree is built with cmake/aarch64-linux-gnu.cmake,
# host/tools/package.sh packages it with --build-map as `make package ARCH=arm64` does, and the
# zip runs under qemu-aarch64-static through its own loader: on every event of the conformance
# corpus, beside the x86_64 host, and in an empty root against tests/runtime/server.py.
#
# usage: test_package_arm64.sh SOURCE_DIR CMAKE ARM64_BUILD_DIR HOST ECHO.so FAIL_WHEN.so
#                              LIBBILLING.so
set -euo pipefail
src=$1 cmake=$2 arm64_build=$3 host=$4 echo_so=$5 fail_so=$6 billing_so=$7
expected='{"batchItemFailures":[{"itemIdentifier":"800000000000000000002"}]}'

# shellcheck source=tests/package/lib.sh
. "$src/tests/package/lib.sh"

# What `make test` installs (Makefile: ARM64_PACKAGES, ARM64_TEST_PACKAGES), and what the
# empty root needs, as in test_package.sh.
[ "$(uname -m)" = x86_64 ] || skip "the arm64 package is cross-built on x86_64, and this is $(uname -m)"
command -v aarch64-linux-gnu-gcc >/dev/null ||
    skip "no aarch64-linux-gnu-gcc (Debian: gcc-aarch64-linux-gnu, which \`make test\` installs)"
for pc in json-c libffi; do
    [ -f "/usr/lib/aarch64-linux-gnu/pkgconfig/$pc.pc" ] ||
        skip "no arm64 $pc to link (Debian: lib$pc-dev:arm64, with dpkg --add-architecture arm64; \`make test\` does both)"
done
qemu=$(command -v qemu-aarch64-static || true)
[ -n "$qemu" ] || skip "no qemu-aarch64-static to run arm64 code (Debian: qemu-user-static, which \`make test\` installs)"
package_needs_empty_root
package_workdir ddbhost-package-arm64

# The host, echo and billing as `make package ARCH=arm64` builds them (its own build directory,
# kept between runs), and the test plugin fail_when with the same compiler.
arm64_lib=$work/arm64
mkdir -p "$arm64_lib"
cross_build() {
    env -u CC -u CFLAGS -u LDFLAGS "$cmake" -S "$src" -B "$arm64_build" \
        -DCMAKE_TOOLCHAIN_FILE="$src/cmake/aarch64-linux-gnu.cmake" -DCMAKE_BUILD_TYPE=Release \
        -DDDB_TESTS=OFF >/dev/null &&
    "$cmake" --build "$arm64_build" --target ddbhost echo billing -j "$(nproc)" >/dev/null &&
    cp "$arm64_build/plugins/echo.so" "$arm64_lib/$(basename "$echo_so")" &&
    aarch64-linux-gnu-gcc -std=c11 -O2 -Wall -Wextra -Werror -fPIC -shared -fvisibility=hidden \
        -I"$src/plugin-api/include" "$src/tests/cli/fixtures/fail_when.c" \
        -o "$arm64_lib/$(basename "$fail_so")"
}
if ! out=$(cross_build 2>&1); then
    not_ok "the tree cross-builds for arm64 with cmake/aarch64-linux-gnu.cmake" "$out"
    finish; exit 1
fi
ok "the tree cross-builds for arm64 with cmake/aarch64-linux-gnu.cmake"
arm64_host=$arm64_build/bin/ddbhost

# One manifest for both architectures, as docs/DEPLOY.md shows: it names the x86_64 plugins,
# which the x86_64 host runs here, and --build-map takes the arm64 ones in their place.
mkdir -p "$work/app/lib"
cp "$echo_so" "$fail_so" "$work/app/lib/"
cat > "$work/app/orders.json" <<EOF
{
  "tables": {
    "*": [
      {"plugin": "lib/$(basename "$echo_so")"},
      {"plugin": "lib/$(basename "$fail_so")", "config": {"tag": "fw", "attr": "Boolean"}}
    ],
    "Orders": {"plugin": "lib/$(basename "$fail_so")", "config": {"tag": "fw"}}
  },
  "on_failure": "continue",
  "function": {"architecture": "arm64"}
}
EOF

refuse_x86_plugin() {
    if "$src/host/tools/package.sh" "$arm64_host" "$work/app/orders.json" "$work/mixed.zip" \
        2>"$work/err"; then
        return 1
    fi
    cat "$work/err"
    grep -q "$(basename "$echo_so")\": built for x86_64, but the host is built for arm64" "$work/err" &&
        grep -q '^hint: ' "$work/err" && [ ! -e "$work/mixed.zip" ]
}
check "an x86_64 plugin is refused in an arm64 package, naming both architectures" refuse_x86_plugin

refuse_x86_manifest() {
    sed 's/"architecture": "arm64"/"architecture": "x86_64"/' "$work/app/orders.json" > "$work/app/x86.json"
    if "$src/host/tools/package.sh" --build-map "$work/app/lib=$arm64_lib" "$arm64_host" \
        "$work/app/x86.json" "$work/x86.zip" 2>"$work/err"; then
        return 1
    fi
    cat "$work/err"
    grep -q 'function.architecture is "x86_64" but the host is built for arm64' "$work/err" &&
        [ ! -e "$work/x86.zip" ]
}
check "a manifest whose function.architecture is x86_64 is refused for an arm64 host" refuse_x86_manifest

zip=$work/function.zip
if ! "$src/host/tools/package.sh" --build-map "$work/app/lib=$arm64_lib" "$arm64_host" \
    "$work/app/orders.json" "$zip" > "$work/package.log" 2>&1; then
    not_ok "host/tools/package.sh packages the arm64 build" "$(cat "$work/package.log")"
    finish; exit 1
fi
ok "host/tools/package.sh packages the arm64 build"
cat "$work/package.log"

fn=$work/fn
mkdir -p "$fn" && (cd "$fn" && unzip -q "$zip")
every_file_is_aarch64() {
    local names entry machine bad=""
    names=$(unzip -Z1 "$zip")
    for entry in bootstrap orders.json bin/ddbhost lib/ld-linux-aarch64.so.1 lib/libc.so.6 \
                 lib/libjson-c.so.5 lib/libffi.so.8 lib/libgcc_s.so.1 \
                 "plugins/$(basename "$echo_so")" "plugins/$(basename "$fail_so")"; do
        grep -qx "$entry" <<< "$names" || { echo "missing $entry in: $names"; return 1; }
    done
    while IFS= read -r entry; do
        case $entry in */ | bootstrap | orders.json) continue ;; esac
        machine=$(readelf -h "$fn/$entry" 2>/dev/null | sed -n 's/^ *Machine: *//p') || true
        [ "$machine" = AArch64 ] || bad="$bad
$entry: ${machine:-not ELF}"
    done <<< "$names"
    [ -z "$bad" ] || { echo "not AArch64:$bad"; return 1; }
}
check "every file in the zip but bootstrap and the manifest is an AArch64 ELF object" every_file_is_aarch64

# bootstrap as Lambda's arm64 machine runs it, with qemu in front of the loader: the one
# change, on the line that starts the host (whose $VARIABLES are bootstrap's, not ours).
# shellcheck disable=SC2016
sed 's|^exec "\$LAMBDA_TASK_ROOT/lib/ld-linux-aarch64.so.1" |exec "${QEMU:?}" "$LAMBDA_TASK_ROOT/lib/ld-linux-aarch64.so.1" |' \
    "$fn/bootstrap" > "$work/bootstrap.qemu"
chmod 0755 "$work/bootstrap.qemu"
bootstrap_uses_the_arm64_loader() {
    # shellcheck disable=SC2016
    grep -qx 'exec "$LAMBDA_TASK_ROOT/lib/ld-linux-aarch64.so.1" --library-path "$LAMBDA_TASK_ROOT/lib" "$LAMBDA_TASK_ROOT/bin/ddbhost" "$@"' \
        "$fn/bootstrap" || { cat "$fn/bootstrap"; return 1; }
    [ "$(diff "$fn/bootstrap" "$work/bootstrap.qemu" | grep -c '^>')" -eq 1 ] ||
        { diff "$fn/bootstrap" "$work/bootstrap.qemu"; return 1; }
    cp "$work/bootstrap.qemu" "$fn/"
}
check "bootstrap starts the host through the package's ld-linux-aarch64.so.1" bootstrap_uses_the_arm64_loader

# Every event of the conformance corpus, through the packaged arm64 host and through the
# x86_64 host with the same manifest: the same plugin lines, response and exit status.
same_as_x86_on_the_corpus() {
    local event name x86 arm status_x86 status_arm differ="" n=0 start end
    start=$(date +%s%N)
    for event in "$src"/tests/conformance/corpus/events/*.json; do
        name=$(basename "$event")
        status_x86=0 status_arm=0
        x86=$("$host" --manifest "$work/app/orders.json" --invoke "$event" 2>/dev/null) || status_x86=$?
        arm=$(QEMU=$qemu LAMBDA_TASK_ROOT=$fn "$fn/bootstrap.qemu" --manifest "$fn/orders.json" \
              --invoke "$event" 2>"$work/arm.err") || status_arm=$?
        n=$((n + 1))
        if [ "$x86" != "$arm" ] || [ "$status_x86" != "$status_arm" ]; then
            differ="$differ
== $name: x86_64 exit $status_x86, arm64 exit $status_arm
$(diff <(echo "$x86") <(echo "$arm") | head -10)
$(head -5 "$work/arm.err")"
        fi
    done
    end=$(date +%s%N)
    [ -z "$differ" ] || { echo "$differ"; return 1; }
    [ "$n" -gt 30 ] || { echo "only $n events in the corpus"; return 1; }
    grep -q '"itemIdentifier"' <<< "$("$host" --manifest "$work/app/orders.json" --invoke \
        "$src/tests/conformance/corpus/events/aws-lambda-go-dynamodb-event.json" 2>/dev/null)" ||
        { echo "no event of the corpus had a failed record: the comparison misses the response"; return 1; }
    echo "# $n events under qemu in $(((end - start) / 1000000)) ms, the x86_64 runs included" >&2
}
if out=$(same_as_x86_on_the_corpus 2>"$work/timing"); then
    ok "the arm64 package answers every corpus event as the x86_64 host does"
    cat "$work/timing"
else
    not_ok "the arm64 package answers every corpus event as the x86_64 host does" "$out"
fi

# Under qemu, this machine's arm64 libraries (/lib/aarch64-linux-gnu) are there to be found:
# the loader's own account says that every object it started is the package's.
only_packaged_libraries() {
    local initialised outside
    QEMU=$qemu QEMU_SET_ENV=LD_DEBUG=libs LAMBDA_TASK_ROOT=$fn "$fn/bootstrap.qemu" \
        --manifest "$fn/orders.json" --invoke "$src/examples/events/orders.json" \
        >/dev/null 2>"$work/ld_debug" || { cat "$work/ld_debug"; return 1; }
    initialised=$(sed -n 's/.*calling init: //p' "$work/ld_debug")
    outside=$(grep -v "^$fn/" <<< "$initialised" || true)
    if [ -n "$outside" ] || ! grep -q "^$fn/lib/libjson-c.so.5$" <<< "$initialised" ||
        ! grep -q "^$fn/plugins/$(basename "$echo_so")$" <<< "$initialised"; then
        echo "objects from outside the package, or missing:"; echo "$initialised"; return 1
    fi
}
check "the host and its plugins load only the package's libraries under qemu" only_packaged_libraries

# A bound library (libffi's arm64 calls): examples/bindings, whose manifest says no
# architecture, which package.sh warns of and packages all the same.
mkdir -p "$work/bound/lib"
cp "$billing_so" "$work/bound/lib/libbilling.so"
sed 's|"library": "libbilling.so"|"library": "lib/libbilling.so"|' "$src/examples/bindings/manifest.json" \
    > "$work/bound/billing.json"
bound_same_as_x86() {
    local x86 arm
    "$src/host/tools/package.sh" --build-map "$work/bound/lib=$arm64_build/examples/bindings" \
        "$arm64_host" "$work/bound/billing.json" "$work/bound.zip" >/dev/null 2>"$work/err" ||
        { cat "$work/err"; return 1; }
    grep -q '^package.sh: warning: .*function.architecture is not set' "$work/err" ||
        { echo "no warning that the manifest names no architecture:"; cat "$work/err"; return 1; }
    mkdir -p "$work/bound/fn" && (cd "$work/bound/fn" && unzip -q "$work/bound.zip")
    cp "$work/bootstrap.qemu" "$work/bound/fn/"
    x86=$("$host" --manifest "$work/bound/billing.json" --invoke "$src/examples/bindings/orders.json" 2>/dev/null)
    arm=$(QEMU=$qemu "$work/bound/fn/bootstrap.qemu" --manifest "$work/bound/fn/billing.json" \
          --invoke "$src/examples/bindings/orders.json" 2>/dev/null) || { echo "arm64 run failed"; return 1; }
    if [ "$x86" != "$arm" ] || ! grep -qx 'billing: charge alice 19.99' <<< "$arm"; then
        echo "x86_64:"; echo "$x86"; echo "arm64:"; echo "$arm"; return 1
    fi
}
check "a bound library packaged for arm64 is called as on x86_64, after a warning that the manifest names no architecture" \
    bound_same_as_x86

# The empty root of test_package.sh, with qemu-aarch64-static (a static program) as the one
# thing added: bootstrap answers an event from the Runtime API there.
root=$work/root
package_empty_root "$root" "$zip"
cp "$work/bootstrap.qemu" "$root/var/task/bootstrap.qemu"
cp "$qemu" "$root/bin/qemu-aarch64-static"
package_server "$src/tests/package/event.json"
package_bootstrap "$root" bootstrap.qemu ddbhost-package-arm64-test QEMU=/bin/qemu-aarch64-static
check "the arm64 bootstrap in an empty root answers the Runtime API's event under qemu" package_answered
echo "# start to answer under qemu in the empty root: $ms ms"
finish
