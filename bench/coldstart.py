#!/usr/bin/env python3
"""bench/coldstart.py - a Lambda cold start as the sandbox sees it: from the exec of the
packaged bootstrap, in a root that holds nothing but the package (at /var/task), a static
/bin/sh, /tmp and two device nodes, to the first response at a local Runtime API. Side by side
with the floor of a runtime built on libcurl (bench/peers/native/curl_runtime.c, packaged and
started the same way), which is what ddbhost paid while it loaded libcurl to serve.

It needs root (chroot) and a statically linked busybox (Debian: busybox-static); without them
it says so and measures nothing. A benchmark: it never fails on time. Prints a Markdown
section; bench/run.py puts it in RESULTS.md.
Usage: bench/coldstart.py [BUILD_DIR]   (default build-bench: Release, DDB_BENCH_PEERS=ON)
"""
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNS = 30  # per subject, interleaved
EVENT = os.path.join(ROOT, "examples", "events", "orders.json")


def serve_once(sock, event, answered):
    """One sandbox's life: hand out the event, take the response (noting when), then answer
    500 to the next `next`, which ends either runtime."""
    conn, _ = sock.accept()
    f = conn.makefile("rb")

    def request():
        if not f.readline():
            return None
        length = 0
        while True:
            line = f.readline()
            if line in (b"\r\n", b""):
                break
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        return f.read(length)

    try:
        request()
        deadline = int(time.time() * 1000) + 60000
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nLambda-Runtime-Aws-Request-Id: r-1\r\n"
                     b"Lambda-Runtime-Deadline-Ms: %d\r\n\r\n" % (len(event), deadline) + event)
        request()
        answered.append(time.perf_counter())
        conn.sendall(b"HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\n{}")
        request()
        conn.sendall(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 2\r\n"
                     b"Connection: close\r\n\r\n{}")
    except OSError:
        pass
    finally:
        conn.close()


def cold_ms(root, event):
    """Milliseconds from exec of bootstrap in root to its first response."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    answered = []
    server = threading.Thread(target=serve_once, args=(sock, event, answered))
    server.start()
    env = {"PATH": "/bin", "LAMBDA_TASK_ROOT": "/var/task", "_HANDLER": "manifest.json",
           "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:%d" % sock.getsockname()[1]}
    t0 = time.perf_counter()
    chroot = shutil.which("chroot") or "/usr/sbin/chroot"
    p = subprocess.run([chroot, root, "/bin/sh", "/var/task/bootstrap"], env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
    server.join(timeout=10)
    sock.close()
    if not answered:
        raise RuntimeError(f"no response came (exit status {p.returncode})")
    return (answered[0] - t0) * 1e3


def make_root(work, name, host, manifest, busybox):
    """A root holding the package of host and manifest at /var/task, and its zip size."""
    zip_path = os.path.join(work, name + ".zip")
    subprocess.run([os.path.join(ROOT, "host", "tools", "package.sh"), host, manifest, zip_path],
                   check=True, stdout=subprocess.DEVNULL)
    root = os.path.join(work, name)
    for d in ("var/task", "tmp", "dev", "bin"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    subprocess.run(["unzip", "-q", zip_path, "-d", os.path.join(root, "var/task")], check=True)
    shutil.copy(busybox, os.path.join(root, "bin", "sh"))
    for dev in ("null", "urandom"):
        subprocess.run(["cp", "-a", "/dev/" + dev, os.path.join(root, "dev", dev)], check=True)
    return root, os.path.getsize(zip_path)


def section(build):
    """The report's lines, or one line saying why nothing was measured."""
    title = ["### Lambda cold start: exec of bootstrap in an empty root to the first response", ""]
    busybox = shutil.which("busybox")
    peer = os.path.join(build, "bench", "peers", "curl_runtime")
    host = os.path.join(build, "bin", "ddbhost")
    count = os.path.join(build, "examples", "count.so")
    static = busybox and b"interpreter" not in subprocess.run(
        ["readelf", "-l", busybox], capture_output=True).stdout
    why = ("needs root, for chroot" if os.geteuid() != 0 else
           "needs a statically linked busybox (Debian: busybox-static)" if not static else
           f"the curl_runtime peer was not built in {build} (DDB_BENCH_PEERS=ON, libcurl)"
           if not os.access(peer, os.X_OK) else None)
    if why:
        return title + [f"- not measured: {why}"]
    with open(EVENT, "rb") as f:
        event = f.read()
    with tempfile.TemporaryDirectory() as work:
        manifest = os.path.join(work, "manifest.json")
        with open(manifest, "w") as f:
            f.write('{"tables": {"*": {"plugin": "%s"}}}\n' % count)
        subjects = {"ddbhost (its own HTTP client)": make_root(work, "ddbhost", host, manifest, busybox),
                    "a runtime on libcurl (curl_runtime)": make_root(work, "curl", peer, manifest, busybox)}
        times = {name: [] for name in subjects}
        for _ in range(RUNS):
            for name, (root, _size) in subjects.items():
                times[name].append(cold_ms(root, event))
    ours = statistics.median(times["ddbhost (its own HTTP client)"])
    lines = title + ["| runtime | median ms | min ms | package zip, MB | ÷ ddbhost's time |",
                     "|---|--:|--:|--:|--:|"]
    for name, (root, size) in subjects.items():
        med = statistics.median(times[name])
        lines.append(f"| {name} | {med:.2f} | {min(times[name]):.2f} | {size / 1e6:.1f} | "
                     f"{med / ours:.2f}× |")
    peer_med = statistics.median(times["a runtime on libcurl (curl_runtime)"])
    lines += ["", f"{RUNS} interleaved runs each, through `chroot ROOT /bin/sh /var/task/bootstrap` "
              "(the exec of chroot and of the static shell is in both), until a local Runtime API "
              "(in this script) receives the response to one 3-record event.", "",
              f"- Cold invocation at least 1.8× faster than a runtime that loads libcurl: "
              f"{peer_med / ours:.2f}×. {'**MET**' if peer_med / ours >= 1.8 else '**MISSED**'}"]
    return lines


def main():
    build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build-bench"))
    print("\n".join(section(build)))


if __name__ == "__main__":
    main()
