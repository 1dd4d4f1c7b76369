#!/usr/bin/env bash
# test_package.sh - proves that the deployment zip runs on its own. host/tools/package.sh packages
# an uninstrumented host and two plugins; the zip is unpacked into /var/task of an otherwise
# empty root that has only what Lambda's image adds (/tmp, /dev/null, /dev/urandom, a /bin/sh
# for bootstrap, and no shared library at all), and bootstrap, chrooted there, answers an
# event from tests/runtime/server.py over loopback.
#
# usage: test_package.sh SOURCE_DIR HOST ECHO.so FAIL_WHEN.so SANITIZED(0|1) TEST_BUILD_HOST
#                        LIBBILLING.so
set -euo pipefail
src=$1 host=$2 echo_so=$3 fail_so=$4 sanitized=$5 build_host=$6 billing_so=$7
event=$src/tests/package/event.json
expected='{"batchItemFailures":[{"itemIdentifier":"800000000000000000002"}]}'

# shellcheck source=tests/package/lib.sh
. "$src/tests/package/lib.sh"
package_needs_empty_root
package_workdir ddbhost-package

# One plugin by a path relative to the manifest, one by an absolute path; a config number
# that a double cannot hold, which the packaged manifest must keep as written.
mkdir -p "$work/app/lib"
cp "$echo_so" "$work/app/lib/"
cat > "$work/app/orders.json" <<EOF
{
  "tables": {
    "Orders": [
      {"plugin": "lib/$(basename "$echo_so")", "config": {"path": "/tmp/echo.jsonl", "batch": 123456789012345678901234567890.50}},
      {"plugin": "$fail_so", "config": {"tag": "fw"}}
    ]
  },
  "on_failure": "continue"
}
EOF

if [ "$sanitized" = 1 ]; then
    refuse_sanitized() {
        if "$src/host/tools/package.sh" "$build_host" "$work/app/orders.json" "$work/sanitized.zip" \
            2>"$work/err"; then
            return 1
        fi
        cat "$work/err"
        grep -q 'built with sanitizers' "$work/err" && grep -q '^hint: ' "$work/err" \
            && [ ! -e "$work/sanitized.zip" ]
    }
    check "a sanitized host is refused with a hint and no zip" refuse_sanitized
fi

refuse_same_name() {
    mkdir -p "$work/other"
    cp "$fail_so" "$work/other/$(basename "$echo_so")"
    printf '{"tables": {"A": {"plugin": "%s"}, "B": {"plugin": "%s"}}}\n' \
        "$work/app/lib/$(basename "$echo_so")" "$work/other/$(basename "$echo_so")" > "$work/same.json"
    if "$src/host/tools/package.sh" "$host" "$work/same.json" "$work/same.zip" 2>"$work/err"; then
        return 1
    fi
    cat "$work/err"
    grep -q "tables.B.plugin: .* would both be plugins/$(basename "$echo_so")" "$work/err"
}
check "two different plugins with the same file name are refused" refuse_same_name

zip=$work/function.zip
if ! "$src/host/tools/package.sh" "$host" "$work/app/orders.json" "$zip" > "$work/package.log" 2>&1; then
    not_ok "host/tools/package.sh packages the test build" "$(cat "$work/package.log")"
    finish
    exit 1
fi
ok "host/tools/package.sh packages the test build"

loader=$(readelf -l "$host" | sed -n 's/.*Requesting program interpreter: .*\/\(.*\)\]$/\1/p')
zip_has_layout() {
    local names entry
    names=$(unzip -Z1 "$zip")
    for entry in bootstrap orders.json bin/ddbhost "lib/$loader" lib/libc.so.6 \
                 "plugins/$(basename "$echo_so")" "plugins/$(basename "$fail_so")"; do
        grep -qx "$entry" <<< "$names" || { echo "missing $entry in: $names"; return 1; }
    done
    for entry in bootstrap bin/ddbhost "lib/$loader"; do
        unzip -Z "$zip" "$entry" | grep '^-rwxr-xr-x' >/dev/null || { echo "$entry is not 0755"; return 1; }
    done
}
check "the zip holds bootstrap, the manifest, the host, our loader, libc and the plugins" zip_has_layout

manifest_rewritten() {
    unzip -p "$zip" orders.json | python3 -c '
import json, sys
text = sys.stdin.read()
doc = json.loads(text)
got = [h["plugin"] for h in doc["tables"]["Orders"]]
want = ["plugins/" + n for n in sys.argv[1:]]
assert got == want, f"plugin paths {got}, expected {want}"
assert "123456789012345678901234567890.50" in text, "config number changed: " + text
assert doc["on_failure"] == "continue" and doc["tables"]["Orders"][1]["config"] == {"tag": "fw"}, text
' "$(basename "$echo_so")" "$(basename "$fail_so")"
}
check "the packaged manifest names the plugins inside the package and keeps the rest as written" \
    manifest_rewritten

# A manifest whose handler is a bound library (docs/BINDINGS.md) ships the library too, and
# glibc's libgcc_s, which ldd cannot see; the packaged bootstrap runs the binding.
mkdir -p "$work/bound"
cp "$billing_so" "$work/bound/libbilling.so"
cp "$src/examples/bindings/manifest.json" "$work/bound/billing.json"
bound_zip=$work/bound.zip
bound_packaged() {
    "$src/host/tools/package.sh" "$host" "$work/bound/billing.json" "$bound_zip" >/dev/null || return 1
    local names
    names=$(unzip -Z1 "$bound_zip")
    for entry in plugins/libbilling.so lib/libgcc_s.so.1; do
        grep -qx "$entry" <<< "$names" || { echo "missing $entry in: $names"; return 1; }
    done
    unzip -p "$bound_zip" billing.json | grep -q '"library": "plugins/libbilling.so"' ||
        { echo "the library path was not rewritten: $(unzip -p "$bound_zip" billing.json)"; return 1; }
    mkdir -p "$work/bound/fn" && (cd "$work/bound/fn" && unzip -q "$bound_zip")
    local out
    out=$("$work/bound/fn/bootstrap" --manifest "$work/bound/fn/billing.json" --invoke \
          "$src/examples/bindings/orders.json" 2>/dev/null) || { echo "bootstrap failed: $out"; return 1; }
    grep -qx 'billing: charge alice 19.99' <<< "$out" && grep -qx '{"batchItemFailures":\[\]}' <<< "$out" ||
        { echo "unexpected output: $out"; return 1; }
}
check "a manifest with a bound library packages the library and libgcc_s, and the package runs it" \
    bound_packaged

root=$work/root
package_empty_root "$root" "$zip"
package_server "$event"
package_bootstrap "$root" bootstrap ddbhost-package-test
check "bootstrap in the empty root answers the event with the expected batch response" package_answered

plugins_wrote_tmp() {
    [ "$(wc -l < "$root/tmp/echo.jsonl")" -eq 3 ] || { ls -la "$root/tmp"; return 1; }
}
check "the plugins ran inside the root and wrote to its /tmp" plugins_wrote_tmp
finish
