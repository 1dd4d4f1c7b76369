#!/usr/bin/env bash
# package.sh - writes the Lambda deployment zip for the provided.al2023 runtime: ddbhost, the
# manifest (its plugin and library paths rewritten to plugins/NAME), the plugins and bound
# libraries, and every shared library they load, with our own dynamic loader and glibc,
# because the build machine's glibc is newer than Amazon Linux 2023's. It builds nothing:
# `make package` builds first.
#
# usage: host/tools/package.sh DDBHOST MANIFEST.json OUTPUT.zip
set -euo pipefail

die() {
    echo "package.sh: error: $1" >&2
    [ -z "${2:-}" ] || echo "hint: $2" >&2
    exit 1
}

[ $# -eq 3 ] || { echo "usage: host/tools/package.sh DDBHOST MANIFEST.json OUTPUT.zip" >&2; exit 2; }
host=$1 manifest=$2 out=$3

for tool in zip python3 ldd readelf; do
    command -v "$tool" >/dev/null || die "$tool is not installed" "run \`make deps\` (Debian) or install $tool"
done
if [ ! -f "$host" ] || [ ! -x "$host" ]; then
    die "host \"$host\": not an executable file" "run \`make build\` first"
fi
[ -f "$manifest" ] || die "manifest \"$manifest\": no such file"
case $manifest in
    *.json) ;;
    *) die "manifest \"$manifest\": the name must end in .json" \
           "Lambda's handler names the manifest, and ddbhost reads it only when it ends in .json" ;;
esac

# The loader the host was linked for: ld-linux-x86-64.so.2 on x86_64, ld-linux-aarch64.so.1
# on arm64. bootstrap starts the host through our copy of it.
interp=$(readelf -l "$host" | sed -n 's/.*Requesting program interpreter: \(.*\)\]$/\1/p')
[ -n "$interp" ] || die "host \"$host\": has no program interpreter (statically linked?)" \
                        "package a dynamically linked build: make package"
loader=$(basename "$interp")
case $(readelf -h "$host" | sed -n 's/^ *Machine: *//p') in
    *X86-64*) arch=x86_64 ;;
    *AArch64*) arch=arm64 ;;
    *) die "host \"$host\": built for an architecture Lambda does not run" "build on x86_64 or arm64" ;;
esac

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/lib" "$stage/plugins"

# The manifest is copied with each plugin path, and each bound library's file, rewritten to
# plugins/BASENAME; everything else (key order, config, numbers of any size or precision) is
# kept exactly, which is why this is not done with jq 1.6, which rounds numbers to doubles.
# It prints the resolved path of every distinct file, one per line, and "system:NAME" for a
# bound library that is a system library's name (it goes to lib/).
plugins=$(python3 - "$manifest" "$stage/$(basename "$manifest")" "$arch" <<'EOF'
import json, os, sys
src, dst, host_arch = sys.argv[1:4]
class Obj(list):  # an object's members, in order, as (key, value) pairs
    pass
class Num(str):  # a number, as written
    pass
def fail(msg, hint=f"`ddbhost check {src}` gives the host's own diagnosis"):
    sys.exit(f'package.sh: error: manifest "{src}": {msg}\nhint: {hint}')
def member(obj, key, default=None):
    return next((x for k, x in obj if k == key), default) if isinstance(obj, Obj) else default
def dump(v):
    if isinstance(v, Obj): return "{" + ", ".join(f"{dump(k)}: {dump(x)}" for k, x in v) + "}"
    if isinstance(v, list): return "[" + ", ".join(dump(x) for x in v) + "]"
    if isinstance(v, Num): return str(v)
    return json.dumps(v, ensure_ascii=False)
try:
    with open(src, encoding="utf-8-sig") as f:
        doc = json.load(f, object_pairs_hook=Obj, parse_int=Num, parse_float=Num,
                        parse_constant=lambda c: fail(f"{c} is not JSON"))
except (ValueError, OSError) as e:
    fail(f"not valid JSON: {e}")
tables = member(doc, "tables")
if not isinstance(tables, Obj) or not tables:
    fail('"tables" must be a non-empty object')
arch = member(member(doc, "function"), "architecture", "x86_64")
if arch != host_arch:
    fail(f'function.architecture is "{arch}" but the host is built for {host_arch}',
         f"build and package on {arch}, or set function.architecture to \"{host_arch}\"")
base = os.path.dirname(os.path.abspath(src))
seen = {}  # basename -> resolved path
system = set()  # bound libraries named by a bare system library name
for route, handlers in tables:
    at = f"tables.{route}"
    if member(handlers, "handlers") is not None:  # the long form, with "stream"
        handlers, at = member(handlers, "handlers"), at + ".handlers"
    many = isinstance(handlers, list) and not isinstance(handlers, Obj)
    for i, h in enumerate(handlers if many else [handlers]):
        where = at + (f"[{i}]" if many else "")
        key = "library" if member(h, "library") is not None else "plugin"
        path = member(h, key)
        if not isinstance(path, str) or isinstance(path, Num):
            fail(f'{where}: a handler must be an object whose "plugin" or "library" is a string')
        full = os.path.realpath(os.path.join(base, path))
        if key == "library" and "/" not in path and not os.path.isfile(full):
            system.add(path)  # as the host does: a bare name not beside the manifest
            continue
        if not os.path.isfile(full):
            fail(f'{where}.{key}: "{path}" (resolved to {full}): no such file')
        name = os.path.basename(full)
        if seen.setdefault(name, full) != full:
            fail(f"{where}.{key}: {seen[name]} and {full} would both be plugins/{name} in the "
                 f"package", "rename one of them")
        h[[k for k, _ in h].index(key)] = (key, "plugins/" + name)
with open(dst, "w", encoding="utf-8") as f:
    f.write(dump(doc) + "\n")
print("\n".join(list(seen.values()) + ["system:" + n for n in sorted(system)]))
EOF
)

# Shared libraries, as the loader resolves them on this machine (DT_NEEDED name => path).
# The loader itself is the line with an absolute path and no "=>".
copy_libs() {
    local file=$1 listing name arrow path
    listing=$(ldd "$file" 2>&1) || die "\"$file\": ldd cannot read it: $listing" \
                                       "is it built for this machine's architecture ($(uname -m))?"
    case $listing in
        *"not a dynamic executable"*|*"statically linked"*)
            die "\"$file\": not dynamically linked" "package a dynamically linked build" ;;
    esac
    # gcc links the sanitizer runtime as a library, clang into the executable: look for its
    # symbols rather than for libasan (and read them all: grep -q would stop readelf early,
    # which pipefail reports as a failure).
    if readelf -sW "$file" | grep -E ' __(a|ub|t|l|m)san_' >/dev/null; then
        die "\"$file\": built with sanitizers, whose runtime cannot run from a package" \
            "package a build made without -DDDB_SANITIZE=ON, e.g. \`make package\`"
    fi
    while read -r name arrow path _; do
        case $arrow in
            "=>") [ "$path" != "not" ] || die "\"$file\" needs $name, which is not found on this machine" \
                                                "install it, or set LD_LIBRARY_PATH to its directory"
                  [ -e "$stage/lib/$name" ] || cp -L "$path" "$stage/lib/$name" ;;
            *) case $name in /*) cp -L "$name" "$stage/lib/$(basename "$name")" ;; esac ;;
        esac
    done <<< "$listing"
}

# Where the loader would find a library by its soname: LD_LIBRARY_PATH, then its cache
# (the entry for the host's architecture).
find_lib() {
    local soname=$1 dir tag
    for dir in ${LD_LIBRARY_PATH:+${LD_LIBRARY_PATH//:/ }}; do
        [ ! -f "$dir/$soname" ] || { echo "$dir/$soname"; return; }
    done
    case $arch in x86_64) tag=x86-64 ;; arm64) tag=AArch64 ;; esac
    "$(command -v ldconfig || echo /sbin/ldconfig)" -p | awk -v so="$soname" -v tag="$tag" \
        '$1 == so && index($2, tag) && !found { print $NF; found = 1 }'  # no exit: pipefail
}

cp -L "$host" "$stage/bin/ddbhost"
copy_libs "$host"
while IFS= read -r plugin; do
    case $plugin in
        "") ;;
        system:*) # a system library a binding names: from lib/, where the host's search goes
            soname=${plugin#system:}
            path=$(find_lib "$soname")
            [ -n "$path" ] || die "bound library \"$soname\" is not installed on this machine" \
                                  "install it, or name the library by a path in the manifest"
            [ -e "$stage/lib/$soname" ] || cp -L "$path" "$stage/lib/$soname"
            copy_libs "$path" ;;
        *) cp -L "$plugin" "$stage/plugins/"
           copy_libs "$plugin" ;;
    esac
done <<< "$plugins"
# glibc loads libgcc_s itself (to unwind a thread that is cancelled, or C++ code that throws
# through C): ldd cannot see it, and the runtime image's copy would mix with our glibc.
gcc_s=$(find_lib libgcc_s.so.1)
[ -z "$gcc_s" ] || [ -e "$stage/lib/libgcc_s.so.1" ] || cp -L "$gcc_s" "$stage/lib/libgcc_s.so.1"
[ -f "$stage/lib/$loader" ] || cp -L "$interp" "$stage/lib/$loader"

# The rest of glibc, so that whatever glibc or a plugin loads later (an NSS module, libresolv,
# libm) comes from the glibc we ship and never from the system's, which is older.
if command -v dpkg-query >/dev/null; then
    dpkg-query -L "libc6:$(dpkg --print-architecture)" 2>/dev/null \
        | grep -E '^(/usr)?/lib/[^/]+/[^/]+\.so\.[0-9]+$' \
        | while IFS= read -r lib; do
              [ -e "$stage/lib/$(basename "$lib")" ] || cp -L "$lib" "$stage/lib/"
          done
fi

cat > "$stage/bootstrap" <<EOF
#!/bin/sh
# Starts ddbhost with the dynamic loader and libraries shipped beside it rather than the
# system's: it was linked against a newer glibc than the one the runtime image has.
: "\${LAMBDA_TASK_ROOT:=\${0%/*}}"
# A plugin's TLS (an OpenSSL or libcurl from lib/, built for Debian) looks for certificate
# authorities where Debian keeps them; Amazon Linux keeps them elsewhere.
if [ -z "\${SSL_CERT_FILE:-}" ]; then
    for ca in /etc/pki/tls/certs/ca-bundle.crt /etc/ssl/certs/ca-certificates.crt; do
        if [ -f "\$ca" ]; then export SSL_CERT_FILE="\$ca"; break; fi
    done
fi
exec "\$LAMBDA_TASK_ROOT/lib/$loader" --library-path "\$LAMBDA_TASK_ROOT/lib" "\$LAMBDA_TASK_ROOT/bin/ddbhost" "\$@"
EOF

# Lambda runs the function as an unprivileged user: everything must be readable by all.
chmod -R a+rX,go-w "$stage"
chmod 0755 "$stage/bootstrap" "$stage/bin/ddbhost" "$stage/lib/$loader"

mkdir -p "$(dirname "$out")"
out=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
rm -f "$out"  # zip would otherwise update an older archive in place
(cd "$stage" && zip -q -r -X "$out" bootstrap "$(basename "$manifest")" bin lib plugins)

n_plugins=$(find "$stage/plugins" -type f | wc -l)
n_libs=$(find "$stage/lib" -type f | wc -l)
size=$(du -sk "$stage" | cut -f1)
echo "package: wrote $out: bootstrap, $(basename "$manifest"), bin/ddbhost," \
     "$n_plugins plugin$([ "$n_plugins" -eq 1 ] || echo s), $n_libs libraries ($((size / 1024)) MB unpacked)"
echo "package: deploy with --runtime provided.al2023 --handler $(basename "$manifest") --architectures $arch"
