#!/usr/bin/env python3
"""sinks.py - records per second into the shipped sinks against what a team writes today, on
the same 10,000 changes (tests/sinks/changes.py: 500 keys, every type, batches of 100), with
the same durability (SQLite: WAL and synchronous=NORMAL, one commit per batch).

ddbhost runs as in Lambda: `ddbhost serve` against a local Runtime API (tests/runtime/server.py)
that hands it the 100 events in turn, timed from its start to its exit; the Python peer runs
its handler over the same events in one warm process, timed around the handler loop only, so
the comparison is, if anything, kind to the peer. As a module: section(build) gives the
report's lines; as a command: sinks.py BUILD_DIR prints them."""
import json
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHANGES = os.path.join(ROOT, "tests", "sinks", "changes.py")
SERVER = os.path.join(ROOT, "tests", "runtime", "server.py")
PEER = os.path.join(ROOT, "bench", "peers", "python", "sink_sqlite.py")
ROUNDS = 3


def events(work):
    """The 100 batch files of the 10,000 changes, in order."""
    out = os.path.join(work, "events")
    subprocess.run([sys.executable, CHANGES, out, "--changes", "10000", "--keys", "500",
                    "--batch", "100"], check=True, stdout=subprocess.DEVNULL)
    return sorted(os.path.join(out, f) for f in os.listdir(out) if f.startswith("batch-"))


def ddbhost_serve(host, manifest, files, work):
    """ms from ddbhost's start until the Runtime API server has every answer (it exits when
    ddbhost asks for the next event after the last)."""
    state = os.path.join(work, "server.log")
    if os.path.exists(state):
        os.remove(state)
    args = [sys.executable, SERVER, "--exit-when-done", "--state", state]
    for f in files:
        args += ["--event", f]
    server = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    port = server.stdout.readline().split()[1]
    env = dict(os.environ, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{port}", DDBHOST_MANIFEST=manifest)
    log = os.path.join(work, "ddbhost.log")
    t0 = time.perf_counter()
    with open(log, "w") as err:
        proc = subprocess.Popen([host, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=err)
        server.wait(timeout=600)
        wall = (time.perf_counter() - t0) * 1000
        proc.terminate()  # it would retry the vanished Runtime API before giving up
        proc.wait()
    with open(state) as f:
        answered = sum(json.loads(line).get("kind") == "response" for line in f)
    if answered != len(files):
        raise RuntimeError(f"ddbhost answered {answered} of {len(files)} events")
    # the info line of each event: "... decode D ms, handlers H ms" (commit included)
    with open(log) as f:
        spans = [float(m.group(1)) + float(m.group(2))
                 for m in re.finditer(r"decode ([0-9.]+) ms, handlers ([0-9.]+) ms", f.read())]
    if len(spans) != len(files):
        raise RuntimeError(f"ddbhost logged {len(spans)} events of {len(files)}")
    return sum(spans), wall


def python_peer(db, files):
    out = subprocess.run([sys.executable, PEER, db, *files], capture_output=True, text=True,
                         check=True).stdout
    fields = dict(kv.split("=") for kv in out.split())
    return float(fields["ms"])


def rows_of(db):
    conn = sqlite3.connect(db)
    rows = conn.execute('SELECT "pk", "sk", "item", "seq" FROM "Items" ORDER BY 1, 2').fetchall()
    conn.close()
    return rows


def section(build):
    title = ["### Sinks: records per second into SQLite, against a Python handler", ""]
    host = os.path.join(build, "bin", "ddbhost")
    plugin = os.path.join(build, "plugins", "sqlite.so")
    if not os.access(plugin, os.R_OK):
        return title + [f"- not measured: no {plugin} (built with libsqlite3-dev)"]
    with tempfile.TemporaryDirectory() as work:
        files = events(work)
        records = 100 * len(files)
        ours, peer, wall, dbs = [], [], [], {}
        for r in range(ROUNDS):
            db = os.path.join(work, f"ddbhost-{r}.db")
            manifest = os.path.join(work, "manifest.json")
            with open(manifest, "w") as f:
                f.write('{"tables": {"Items": {"plugin": "%s", "config": {"db": "%s"}}}}\n'
                        % (plugin, db))
            handler_ms, wall_ms = ddbhost_serve(host, manifest, files, work)
            ours.append(handler_ms)
            wall.append(wall_ms)
            dbs["ddbhost"] = db
            dbs["python"] = os.path.join(work, f"python-{r}.db")
            peer.append(python_peer(dbs["python"], files))
        same = rows_of(dbs["ddbhost"]) == rows_of(dbs["python"])
    o, p, w = statistics.median(ours), statistics.median(peer), statistics.median(wall)
    lines = title + ["| subject | ms for 10,000 records | records/s | ddbhost's records/s ÷ this row's |",
                     "|---|--:|--:|--:|",
                     f"| ddbhost + sqlite.so: decode and handlers, commits included | {o:.1f} | "
                     f"{records / o * 1000:,.0f} | 1.00× |",
                     f"| Python sqlite3 handler: json.loads and handler, commits included | {p:.1f} | "
                     f"{records / p * 1000:,.0f} | {p / o:.2f}× |",
                     f"| ddbhost + sqlite.so, whole run: start, and 100 round trips to a local Runtime "
                     f"API written in Python | {w:.1f} | {records / w * 1000:,.0f} | |"]
    lines += ["", f"{ROUNDS} interleaved rounds, the median reported; mirror mode (the sequence rule and "
              "tombstones in both), a fresh database each round, one commit per batch. ddbhost's "
              "figure is the sum of its per-event info lines (`decode D ms, handlers H ms`), the "
              "same span the peer times around `json.loads` and its handler in one warm process. "
              f"Both end with the same rows (keys, item JSON, seq): {'yes' if same else '**no**'}.",
              "", f"- At least 10× the records per second of a Python handler: {p / o:.1f}×. "
              f"{'**MET**' if p / o >= 10 else '**MISSED**'}"]
    return lines


if __name__ == "__main__":
    build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build-bench"))
    print("\n".join(section(build)))
