#!/usr/bin/env bash
# package.sh - writes the Lambda deployment zip for the provided.al2023 runtime: ddbhost, the
# manifest (its plugin and library paths rewritten to plugins/NAME), the plugins and bound
# libraries, and every shared library they load, with our own dynamic loader and glibc,
# because the build machine's glibc is newer than Amazon Linux 2023's. It builds nothing:
# `make package` builds first. A host of the other architecture (arm64, cross-built on x86_64)
# is packaged with that architecture's libraries, found without running them.
#
# usage: host/tools/package.sh [--build-map FROM=TO]... DDBHOST MANIFEST.json OUTPUT.zip
#   --build-map: a plugin or bound library the manifest names under directory FROM is taken
#                from the same place under TO (make package ARCH=arm64: build=build-arm64)
set -euo pipefail

die() {
    echo "package.sh: error: $1" >&2
    [ -z "${2:-}" ] || echo "hint: $2" >&2
    exit 1
}

usage() {
    echo "usage: host/tools/package.sh [--build-map FROM=TO]... DDBHOST MANIFEST.json OUTPUT.zip" >&2
    exit 2
}
build_maps=()
while [ $# -gt 0 ]; do
    case $1 in
        --build-map) [[ $# -ge 2 && $2 == ?*=?* ]] || usage
                     build_maps+=("$2"); shift 2 ;;
        --build-map=?*=?*) build_maps+=("${1#--build-map=}"); shift ;;
        -*) usage ;;
        *) break ;;
    esac
done
[ $# -eq 3 ] || usage
host=$1 manifest=$2 out=$3

for tool in zip python3 readelf; do
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
# The architecture of an ELF file, as Lambda names it, or its Machine as readelf says it.
elf_arch() {
    local machine
    machine=$(readelf -h "$1" 2>/dev/null | sed -n 's/^ *Machine: *//p') || true
    case $machine in
        *X86-64*) echo x86_64 ;;
        *AArch64*) echo arm64 ;;
        *) echo "${machine:-not ELF}" ;;
    esac
}
arch=$(elf_arch "$host")
case $arch in
    x86_64) triplet=x86_64-linux-gnu debian_arch=amd64 ;;
    arm64) triplet=aarch64-linux-gnu debian_arch=arm64 ;;
    *) die "host \"$host\": built for an architecture Lambda does not run ($arch)" \
           "build for x86_64 or arm64: make package, or make package ARCH=arm64" ;;
esac
# ldd runs the host's loader, so it serves only a host of this machine's architecture; for the
# other one, the libraries are found from their DT_NEEDED names (foreign_libs).
case $(uname -m) in x86_64) native=x86_64 ;; aarch64) native=arm64 ;; *) native=$(uname -m) ;; esac
if [ "$arch" = "$native" ]; then
    command -v ldd >/dev/null || die "ldd is not installed" "run \`make deps\` (Debian) or install ldd"
fi

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/lib" "$stage/plugins"

# The manifest is copied with each plugin path, and each bound library's file, rewritten to
# plugins/BASENAME; everything else (key order, config, numbers of any size or precision) is
# kept exactly, which is why this is not done with jq 1.6, which rounds numbers to doubles.
# It prints the resolved path of every distinct file, one per line, and "system:NAME" for a
# bound library that is a system library's name (it goes to lib/).
plugins=$(python3 - "$manifest" "$stage/$(basename "$manifest")" "$arch" "${build_maps[@]}" <<'EOF'
import json, os, sys
src, dst, host_arch = sys.argv[1:4]
build_maps = [[os.path.realpath(d) for d in m.split("=", 1)] for m in sys.argv[4:]]
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
arch = member(member(doc, "function"), "architecture")
if arch is None and host_arch != "x86_64":
    # Not refused: the manifest chose nothing, and the deploy line below names the
    # architecture; but `ddbhost template` would declare x86_64, its default.
    print(f'package.sh: warning: manifest "{src}": function.architecture is not set, so '
          f'`ddbhost template` declares x86_64, but the host is built for {host_arch}\n'
          f'hint: add "function": {{"architecture": "{host_arch}"}} to the manifest, or deploy '
          f'with --architectures {host_arch}', file=sys.stderr)
elif (arch or "x86_64") != host_arch:
    fail(f'function.architecture is "{arch or "x86_64"}" but the host is built for {host_arch}',
         f"package a host built for {arch or 'x86_64'} (make package ARCH={arch or 'x86_64'}), "
         f"or set function.architecture to \"{host_arch}\"")
def mapped(full):  # the path under TO of a path under FROM (--build-map), with its FROM=TO
    for frm, to in build_maps:
        if full == frm or full.startswith(frm + os.sep):
            return to + full[len(frm):], f"{frm}={to}"
    return full, None
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
        full, by = mapped(os.path.realpath(os.path.join(base, path)))
        if key == "library" and "/" not in path and not os.path.isfile(full):
            system.add(path)  # as the host does: a bare name not beside the manifest
            continue
        if not os.path.isfile(full) and by:
            fail(f'{where}.{key}: "{path}" is taken from {full} (--build-map {by}): no such file',
                 f"build it there for {host_arch}: `make package ARCH={host_arch}` builds the "
                 f"tree's plugins, docs/DEPLOY.md says how to build yours")
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

# The shared libraries a file loads, into lib/, once it is known to be of the host's
# architecture and packageable.
copy_libs() {
    local file=$1 listing name arrow path file_arch
    file_arch=$(elf_arch "$file")
    case $file_arch in
        "$arch") ;;
        "not ELF") die "\"$file\": not an ELF file" "a plugin or a bound library is a shared object built for $arch" ;;
        *) die "\"$file\": built for $file_arch, but the host is built for $arch" \
               "build it for $arch too (docs/DEPLOY.md says how for arm64), or package a host built for $file_arch" ;;
    esac
    # gcc links the sanitizer runtime as a library, clang into the executable: look for its
    # symbols rather than for libasan (and read them all: grep -q would stop readelf early,
    # which pipefail reports as a failure).
    if readelf -sW "$file" | grep -E ' __(a|ub|t|l|m)san_' >/dev/null; then
        die "\"$file\": built with sanitizers, whose runtime cannot run from a package" \
            "package a build made without -DDDB_SANITIZE=ON, e.g. \`make package\`"
    fi
    if [ "$arch" != "$native" ]; then
        foreign_libs "$file"
        return
    fi
    # As the loader resolves them on this machine (DT_NEEDED name => path); the loader itself
    # is the line with an absolute path and no "=>".
    listing=$(ldd "$file" 2>&1) || die "\"$file\": ldd cannot read it: $listing" \
                                       "is it built for this machine's architecture ($(uname -m))?"
    case $listing in
        *"not a dynamic executable"*|*"statically linked"*)
            die "\"$file\": not dynamically linked" "package a dynamically linked build" ;;
    esac
    while read -r name arrow path _; do
        case $arrow in
            "=>") [ "$path" != "not" ] || die "\"$file\" needs $name, which is not found on this machine" \
                                                "install it, or set LD_LIBRARY_PATH to its directory"
                  [ -e "$stage/lib/$name" ] || cp -L "$path" "$stage/lib/$name" ;;
            *) case $name in /*) cp -L "$name" "$stage/lib/$(basename "$name")" ;; esac ;;
        esac
    done <<< "$listing"
}

# The other architecture's libraries, as its loader would find them (find_lib), each DT_NEEDED
# name of the file and then of each library found: what ldd does, without running anything.
foreign_libs() {
    local file=$1 dynamic runpath name path
    dynamic=$(readelf -dW "$file" 2>&1) || die "\"$file\": readelf cannot read it: $dynamic"
    case $dynamic in
        *"no dynamic section"*) die "\"$file\": not dynamically linked" "package a dynamically linked build" ;;
    esac
    runpath=$(sed -n 's/.*(R\(UN\)\{0,1\}PATH).*\[\(.*\)\]$/\2/p' <<< "$dynamic")
    runpath=${runpath//\$\{ORIGIN\}/$(dirname "$file")}
    runpath=${runpath//\$ORIGIN/$(dirname "$file")}
    while read -r name; do
        [[ -n $name && ! -e $stage/lib/$name ]] || continue
        path=$(find_lib "$name" "$runpath")
        [ -n "$path" ] || die "\"$file\" needs $name, which is not installed for $arch" \
                              "install its $debian_arch package (Debian: apt-get install PACKAGE:$debian_arch), or set LD_LIBRARY_PATH to its directory"
        cp -L "$path" "$stage/lib/$name"
        foreign_libs "$path"
    done < <(sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p' <<< "$dynamic")
}

# Where the loader would find a library by its soname. This machine's: LD_LIBRARY_PATH, then
# its cache (the entry for the host's architecture). The other's: LD_LIBRARY_PATH, the run path
# of the file that needs it (RUNPATH), then the directories Debian installs that architecture's
# libraries in; a file of another architecture is passed over, as its loader would.
find_lib() {
    local soname=$1 dir tag dirs
    if [ "$arch" != "$native" ]; then
        IFS=: read -ra dirs <<< "${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}${2:+$2:}/lib/$triplet:/usr/lib/$triplet:/usr/$triplet/lib"
        for dir in "${dirs[@]}"; do
            if [ -f "$dir/$soname" ] && [ "$(elf_arch "$dir/$soname")" = "$arch" ]; then
                echo "$dir/$soname"
                return
            fi
        done
        return
    fi
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
if [ ! -f "$stage/lib/$loader" ]; then
    [ "$arch" = "$native" ] || interp=$(find_lib "$loader")
    [ -n "$interp" ] || die "the $arch loader $loader is not installed" \
                            "install libc6:$debian_arch (Debian), which \`make package ARCH=$arch\` does"
    cp -L "$interp" "$stage/lib/$loader"
fi

# The rest of glibc, so that whatever glibc or a plugin loads later (an NSS module, libresolv,
# libm) comes from the glibc we ship and never from the system's, which is older.
if command -v dpkg-query >/dev/null; then
    dpkg-query -L "libc6:$debian_arch" 2>/dev/null \
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
