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
import shutil
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
PG_PYTHON = os.path.join(ROOT, "bench", "peers", "python", "sink_postgres.py")
PG_NODE = os.path.join(ROOT, "bench", "peers", "node", "sink_postgres.mjs")
SQLITE_NODE = os.path.join(ROOT, "bench", "peers", "node", "sink_sqlite.mjs")
ROUNDS = 3
sys.path.insert(0, os.path.join(ROOT, "tests", "sinks"))
import changes  # noqa: E402  (the tests' history of changes, and its final state)
import postgres_sink  # noqa: E402  (the tests' PostgreSQL server and their check of its tables)


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


def peer_ms(argv):
    """The handler time a peer prints: its 'ms=' field."""
    p = subprocess.run(argv, capture_output=True, text=True)
    if p.returncode != 0:
        last = (p.stderr.strip().splitlines() or ["(no stderr)"])[-1]
        raise RuntimeError(f"{os.path.basename(argv[1])} exited with status {p.returncode}: {last}")
    fields = dict(kv.split("=") for kv in p.stdout.split())
    return float(fields["ms"])


def python_peer(db, files):
    return peer_ms([sys.executable, PEER, db, *files])


def psycopg2_python():
    """A python that imports psycopg2: this one, or Debian's /usr/bin/python3 (where
    python3-psycopg2 puts it) when this is another build of Python."""
    for py in (sys.executable, "/usr/bin/python3"):
        if os.access(py, os.X_OK) and subprocess.run([py, "-c", "import psycopg2"],
                                                     capture_output=True).returncode == 0:
            return py
    return None


def node_module(name):
    """Why a Node peer needing npm package name cannot run, or None when it can."""
    if not shutil.which("node"):
        return "not measured: no node"
    if not os.path.isdir(os.path.join(ROOT, "bench", "peers", "node", "node_modules", name)):
        return (f"not measured: no {name} in bench/peers/node/node_modules "
                "(npm install --prefix bench/peers/node)")
    return None


def rows_of(db):
    conn = sqlite3.connect(db)
    rows = conn.execute('SELECT "pk", "sk", "item", "seq" FROM "Items" ORDER BY 1, 2').fetchall()
    conn.close()
    return rows


def section(build):
    title = ["### Sinks: records per second into SQLite, against Python and Node handlers", ""]
    host = os.path.join(build, "bin", "ddbhost")
    plugin = os.path.join(build, "plugins", "sqlite.so")
    if not os.access(plugin, os.R_OK):
        return title + [f"- not measured: no {plugin} (built with libsqlite3-dev)"]
    node_missing = node_module("sqlite3")
    with tempfile.TemporaryDirectory() as work:
        files = events(work)
        records = 100 * len(files)
        ours, peer, node, wall, dbs = [], [], [], [], {}
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
            if not node_missing:
                dbs["node"] = os.path.join(work, f"node-{r}.db")
                node.append(peer_ms(["node", SQLITE_NODE, dbs["node"], *files]))
        want = rows_of(dbs["ddbhost"])
        same = {name: rows_of(db) == want for name, db in dbs.items() if name != "ddbhost"}
    o, p, w = statistics.median(ours), statistics.median(peer), statistics.median(wall)
    node_row = (f"| Node sqlite3 handler: JSON.parse and handler, commits included | {node_missing} "
                "| | |") if node_missing else (
        f"| Node sqlite3 handler: JSON.parse and handler, commits included | "
        f"{statistics.median(node):.1f} | {records / statistics.median(node) * 1000:,.0f} | "
        f"{statistics.median(node) / o:.2f}× |")
    lines = title + ["| subject | ms for 10,000 records | records/s | ddbhost's records/s ÷ this row's |",
                     "|---|--:|--:|--:|",
                     f"| ddbhost + sqlite.so: decode and handlers, commits included | {o:.1f} | "
                     f"{records / o * 1000:,.0f} | 1.00× |",
                     f"| Python sqlite3 handler: json.loads and handler, commits included | {p:.1f} | "
                     f"{records / p * 1000:,.0f} | {p / o:.2f}× |", node_row,
                     f"| ddbhost + sqlite.so, whole run: start, and 100 round trips to a local Runtime "
                     f"API written in Python | {w:.1f} | {records / w * 1000:,.0f} | |"]
    ends = "; ".join(f"{name} {'yes' if ok else '**no**'}" for name, ok in same.items())
    lines += ["", f"{ROUNDS} interleaved rounds, the median reported; mirror mode (the sequence rule and "
              "tombstones in every subject), a fresh database each round, one commit per batch. "
              "ddbhost's figure is the sum of its per-event info lines (`decode D ms, handlers H "
              "ms`), the same span each peer times around its JSON parse and its handler in one "
              "warm process. Each peer ends with ddbhost's rows (keys, item JSON, seq): "
              f"{ends}.",
              "", f"- At least 10× the records per second of a Python handler: {p / o:.1f}×. "
              f"{'**MET**' if p / o >= 10 else '**MISSED**'}"]
    return lines


class ItemOnlySink(postgres_sink.PostgresSink):
    """The postgres sink in mirror mode with no projected columns, what the peers write too:
    keys, item, seq and tombstones. Its check reads a NULL where the columns would be."""

    def __init__(self, plugin, server, table):
        super().__init__(plugin, server)
        self.columns, self.table = {}, table

    def _columns(self):
        return "NULL"


def postgres_section(build):
    """records per second into the postgres sink against psycopg2 and Node pg handlers, each
    writing its own tables in one throwaway server; every table is checked against the final
    state the changes leave (tests/sinks/postgres_sink.py's check)."""
    title = ["### Sinks: records per second into PostgreSQL, against Python and Node handlers", ""]
    host = os.path.join(build, "bin", "ddbhost")
    plugin = os.path.join(build, "plugins", "postgres.so")
    if not os.access(plugin, os.R_OK):
        return title + [f"- not measured: no {plugin} (built with libpq-dev)"]
    try:
        server = postgres_sink.Server(build)
    except postgres_sink.Skip as e:
        return title + [f"- not measured: {e}"]
    py, node_missing = psycopg2_python(), node_module("pg")
    subjects = {"ddbhost": [], "python": [], "node": []}
    wall, checked, wrong = [], [], []
    try:
        with tempfile.TemporaryDirectory() as work:
            files = events(work)
            records = [r for f in files for r in json.load(open(f, encoding="utf-8"))["Records"]]
            sinks = {name: ItemOnlySink(plugin, server, "Items" if name == "ddbhost" else
                                        f"Items_{name}") for name in subjects}
            manifest = os.path.join(work, "manifest.json")
            with open(manifest, "w") as f:
                json.dump({"tables": {"Items": sinks["ddbhost"].handler()}}, f)
            for _ in range(ROUNDS):
                for sink in sinks.values():
                    sink.reset()
                handler_ms, wall_ms = ddbhost_serve(host, manifest, files, work)
                subjects["ddbhost"].append(handler_ms)
                wall.append(wall_ms)
                if py:
                    subjects["python"].append(peer_ms([py, PG_PYTHON, server.conninfo,
                                                       sinks["python"].table, *files]))
                if not node_missing:
                    subjects["node"].append(peer_ms(["node", PG_NODE, server.conninfo,
                                                     sinks["node"].table, *files]))
            for name, sink in sinks.items():
                if subjects[name]:
                    try:
                        sink.check(records, name)
                        checked.append(name)
                    except AssertionError as e:
                        wrong.append(f"- **{name}'s final table is not the expected state**: {e}")
    finally:
        server.close()
    o, n = statistics.median(subjects["ddbhost"]), len(records)
    lines = title + ["| subject | ms for 10,000 records | records/s | ddbhost's records/s ÷ this row's |",
                     "|---|--:|--:|--:|",
                     f"| ddbhost + postgres.so: decode and handlers, commits included | {o:.1f} | "
                     f"{n / o * 1000:,.0f} | 1.00× |"]
    which = "Debian's /usr/bin/python3" if py and py != sys.executable else "this python"
    peers = {"python": (f"Python psycopg2 handler ({which}): json.loads and handler, commits "
                        "included", None if py else
                        "not measured: no python with psycopg2 (Debian's python3-psycopg2)"),
             "node": ("Node pg handler: JSON.parse and handler, commits included", node_missing)}
    for name, (label, missing) in peers.items():
        if missing:
            lines.append(f"| {label} | {missing} | | |")
            continue
        p = statistics.median(subjects[name])
        lines.append(f"| {label} | {p:.1f} | {n / p * 1000:,.0f} | {p / o:.2f}× |")
    w = statistics.median(wall)
    lines.append(f"| ddbhost + postgres.so, whole run: start, connect, and 100 round trips to a "
                 f"local Runtime API written in Python | {w:.1f} | {n / w * 1000:,.0f} | |")
    lines += ["", f"{ROUNDS} interleaved rounds, the median reported; mirror mode (the sequence rule, "
              "a savepoint per record and tombstones in all three: the peers run the sink's own "
              "statements), fresh tables each round, one commit per batch, PostgreSQL's default "
              "durability, one throwaway server on a unix socket (tests/postgres pgserver). "
              "Timed as for SQLite above. The final tables of "
              f"{', '.join(checked) or 'none'} equal the state the changes leave (keys, item, "
              "seq, tombstones; checked as tests/sinks does).", *wrong]
    return lines


if __name__ == "__main__":
    build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build-bench"))
    print("\n".join(section(build) + [""] + postgres_section(build)))
