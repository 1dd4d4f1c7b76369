# lib.sh - what the package tests share, sourced by test_package.sh and test_package_arm64.sh:
# named assertions and their count, the empty root's prerequisites (a static shell, chroot),
# a work directory removed at exit with every process started, the empty root itself, the
# Runtime API server, bootstrap run chrooted there, and the check of its answer.

passed=0 failed=0
ok() { echo "ok - $1"; passed=$((passed + 1)); }
not_ok() {
    echo "not ok - $1"
    [ -z "${2:-}" ] || printf '%s\n' "$2" | sed 's/^/#   /'
    failed=$((failed + 1))
}
check() { # check NAME COMMAND...: one assertion, named as a sentence
    local name=$1 out
    shift
    if out=$("$@" 2>&1); then ok "$name"; else not_ok "$name" "$out"; fi
}
skip() { echo "skipped: $1"; exit 77; }
finish() { # the count, and the status of the whole test
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}

# What the empty root needs from this machine: a shell that loads no library, to stand in for
# the runtime image's /bin/sh, and the right to chroot. Sets busybox, chroot_bin, as_root.
package_needs_empty_root() {
    busybox=$(command -v busybox || true)
    if [ -z "$busybox" ] || readelf -l "$busybox" | grep 'program interpreter' >/dev/null; then
        skip "no statically linked busybox to be the root's /bin/sh (Debian: busybox-static, which \`make deps\` installs)"
    fi
    command -v python3 >/dev/null || skip "python3 is needed for tests/runtime/server.py"
    chroot_bin=$(command -v chroot || echo /usr/sbin/chroot)
    if [ "$(id -u)" -eq 0 ]; then
        as_root=()
    elif unshare --map-root-user --mount true 2>/dev/null; then
        as_root=("$(command -v unshare)" --map-root-user --mount)
    else
        skip "chroot needs root, or user namespaces (unshare --map-root-user), and neither is allowed here"
    fi
}

# package_workdir NAME: sets work, a fresh directory removed at exit, and pids, the processes
# to stop then.
package_workdir() {
    work=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
    pids=()
    trap package_cleanup EXIT
}
package_cleanup() {
    local pid
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}

# package_empty_root ROOT ZIP: the package at ROOT/var/task, as Lambda unpacks it, and nothing
# from this machine but the static shell and two device nodes (bind-mounted when not root,
# by the commands left in devices).
package_empty_root() {
    local root=$1 zip=$2 dev
    mkdir -p "$root/var/task" "$root/tmp" "$root/dev" "$root/bin"
    unzip -q "$zip" -d "$root/var/task"
    cp "$busybox" "$root/bin/sh"
    devices=()
    for dev in null urandom; do
        if [ "$(id -u)" -eq 0 ]; then
            cp -a "/dev/$dev" "$root/dev/$dev"
        else
            touch "$root/dev/$dev"
            devices+=("mount --bind /dev/$dev $root/dev/$dev &&")
        fi
    done
}

# package_server EVENT: tests/runtime/server.py serving EVENT, logging to $work/state.jsonl;
# sets port, or ends the test when the server does not start.
package_server() {
    : > "$work/server.out"  # the port is read from it before the server may have written a byte
    python3 "$src/tests/runtime/server.py" --event "$1" --state "$work/state.jsonl" \
        > "$work/server.out" 2> "$work/server.err" &
    pids+=($!)
    port=
    for _ in $(seq 100); do
        port=$(sed -n 's/^PORT \([0-9]*\)$/\1/p' "$work/server.out")
        [ -z "$port" ] || break
        sleep 0.1
    done
    [ -n "$port" ] || { not_ok "the Runtime API server starts" "$(cat "$work/server.err")"; finish; exit 1; }
}

# package_bootstrap ROOT BOOTSTRAP FUNCTION_NAME [VAR=VALUE...]: runs /var/task/BOOTSTRAP
# chrooted in ROOT with Lambda's environment (and the VAR=VALUE given) against the server,
# and waits for its first answer: sets answer (the server's log line, or empty) and ms (the
# time from its start to then).
package_bootstrap() {
    local root=$1 bootstrap=$2 name=$3 start host_pid
    shift 3
    start=$(date +%s%N)
    env -i PATH=/bin LAMBDA_TASK_ROOT=/var/task _HANDLER=orders.json "$@" \
        AWS_LAMBDA_RUNTIME_API="127.0.0.1:$port" AWS_LAMBDA_FUNCTION_NAME="$name" \
        "${as_root[@]}" "$(command -v sh)" -c "${devices[*]} exec $chroot_bin \"\$0\" /var/task/$bootstrap" "$root" \
        > "$work/host.out" 2> "$work/host.err" &
    host_pid=$!
    pids+=("$host_pid")
    answer=
    for _ in $(seq 600); do
        answer=$(grep -E '"kind": "(response|error|init_error)"' "$work/state.jsonl" 2>/dev/null | head -1 || true)
        if [ -n "$answer" ] || ! kill -0 "$host_pid" 2>/dev/null; then break; fi
        sleep 0.05
    done
    ms=$((($(date +%s%N) - start) / 1000000))
}

# The answer was a 202'd response whose body is $expected.
package_answered() {
    [ -n "$answer" ] || { echo "no answer; the host said:"; cat "$work/host.err"; return 1; }
    python3 -c '
import json, sys
a, want = json.loads(sys.argv[1]), json.loads(sys.argv[2])
assert a["kind"] == "response" and a["status"] == 202, a
assert json.loads(a["body"]) == want, "body " + a["body"]
' "$answer" "$expected" || { echo "host stderr:"; cat "$work/host.err"; return 1; }
}
