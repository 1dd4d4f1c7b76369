#!/usr/bin/env python3
"""bench/run.py - the harness behind `make bench`: measures ddbhost and its peers side by side.

Generates the events, then for each size measures ddbhost and every peer on the same file in
the same run: in-process time, whole-process time, peak RSS and instructions per record. It
prints one Markdown table, the values-count check and the issue's targets, and writes the same
to bench/RESULTS.md. A benchmark never fails on time: the exit status is 0 unless something
could not run. Usage: bench/run.py [BUILD_DIR]   (a Release build with DDB_BENCH_PEERS=ON)
"""
import datetime
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import coldstart  # noqa: E402  (beside this file)
import poll  # noqa: E402
import sinks  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIZES = [1, 100, 1000, 1900, 10000]
TARGET_RECORDS = 1900        # the largest batch under Lambda's 6 MB payload limit
CALLGRIND_MAX_RECORDS = 1900  # callgrind runs ~50x slower: spare it the 32 MB event
# In-process times are taken in ROUNDS interleaved rounds of about ROUND_MS each, and the
# median round is reported: a burst of other work on the machine then spoils one round of one
# subject, not the comparison.
ROUNDS, ROUND_MS = 3, 400
MIN_REPS, SLOW_MIN_REPS, SLOW_REP_MS = 5, 3, 400
MAX_REPS = 100000
TIMEOUT_S = 600
MB = 1e6                     # every MB in the report is 10^6 bytes, as in ddbhost's MB/s


@dataclass
class Subject:
    name: str
    argv: list                # the command before EVENT_FILE REPS (peers) or the ddbhost binary
    host: bool = False
    callgrind: bool = False   # native code: valgrind's instruction count is meaningful
    counts_values: bool = True  # the memchr floor scans bytes and has no values to count
    missing: str = ""         # why it cannot run here, if it cannot


@dataclass
class Row:
    subject: Subject
    records: int
    size: int
    reps: int = 0
    median_ms: float = None
    values: int = None
    whole_ms: float = None
    rss_kb: int = None
    ir: int = None
    first_ms: float = None     # ddbhost only: the first of its runs, and the decoder's memory
    kb_first: int = None
    kb_last: int = None
    rounds: list = field(default_factory=list)
    problems: list = field(default_factory=list)


class Failed(Exception):
    pass


def run(argv, timeout=TIMEOUT_S):
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise Failed(f"{os.path.basename(argv[0])}: {e}")
    if p.returncode != 0:
        last = (p.stderr.strip().splitlines() or ["(no stderr)"])[-1]
        raise Failed(f"{' '.join(os.path.basename(a) for a in argv[:2])} exited with "
                     f"status {p.returncode}: {last}")
    return p


# --- one in-process measurement: the same event decoded and walked REPS times ---------------

HOST_REPEAT = re.compile(
    r"ddbhost: repeat: (\d+) runs of (\d+) records \((\d+) bytes\): median ([\d.]+) ms .*"
    r"first ([\d.]+) ms; decoder holds (\d+) KB after the first run, (\d+) KB after the last")
WALK_LINE = re.compile(r"walk: (\d+) records, (\d+) values")


def host_once(argv, event, reps):
    ddbhost, walk = argv
    p = run([ddbhost, "--repeat", str(reps), "--invoke", walk, event])
    rep, wl = HOST_REPEAT.search(p.stderr), WALK_LINE.search(p.stderr)
    if not rep or not wl:
        raise Failed("ddbhost --repeat printed no 'repeat:' or 'walk:' line on stderr")
    return {"median_ms": float(rep[4]), "records": int(rep[2]), "values": int(wl[2]) // reps,
            "first_ms": float(rep[5]), "kb_first": int(rep[6]), "kb_last": int(rep[7])}


def peer_once(argv, event, reps):
    p = run(argv + [event, str(reps)])
    lines = p.stdout.strip().splitlines()
    fields = dict(kv.split("=", 1) for kv in (lines[-1].split() if lines else []) if "=" in kv)
    try:
        return {"median_ms": float(fields["median_ms"]), "records": int(fields["records"]),
                "values": int(fields["values"])}
    except (KeyError, ValueError):
        raise Failed(f"{os.path.basename(argv[-1])}: expected 'median_ms=.. min_ms=.. records=.. "
                     f"values=..' as its last line, got {lines[-1] if lines else 'nothing'!r}")


def calibrate(once, event):
    """REPS for about ROUND_MS of repetitions: grows REPS until a run shows the per-rep time."""
    reps = 2  # ddbhost reports per-run times only from 2 runs on
    while True:
        r = once(event, reps)
        if r["median_ms"] * reps >= 100 or reps >= MAX_REPS:
            break
        reps = min(MAX_REPS, reps * 10)
    per = max(r["median_ms"], 1e-6)
    floor = SLOW_MIN_REPS if per > SLOW_REP_MS else MIN_REPS
    return max(floor, min(MAX_REPS, math.ceil(ROUND_MS / per)))


# --- whole process and instructions ---------------------------------------------------------

MEASURE_LINE = re.compile(r"median_ms=([\d.]+) .* maxrss_kb=(\d+)")


def whole_process(measure, argv, runs):
    p = run([measure, str(runs)] + argv)
    m = MEASURE_LINE.search(p.stdout)
    if not m:
        raise Failed(f"measure printed {p.stdout.strip()!r}")
    return float(m[1]), int(m[2])


def instructions(argv):
    with tempfile.TemporaryDirectory() as tmp:
        p = run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/out"] + argv)
    m = re.search(r"Collected : (\d+)", p.stderr)
    if not m:
        raise Failed("callgrind reported no 'Collected' count")
    return int(m[1])


# --- the subjects ---------------------------------------------------------------------------

def subjects(build):
    peers = os.path.join(build, "bench", "peers")
    node_dir = os.path.join(ROOT, "bench", "peers", "node")
    node = shutil.which("node")
    python = shutil.which("python3")

    def script(interp, interp_name, path, extra=""):
        if not interp:
            return f"not available: {interp_name} is not installed (make bench-deps installs it)"
        if not os.path.exists(path):
            return f"not available: {os.path.relpath(path, ROOT)} does not exist"
        return extra

    def native(path):
        if os.access(path, os.X_OK):
            return ""
        return (f"not available: {os.path.relpath(path, ROOT)} was not built "
                f"(configure with -DDDB_BENCH_PEERS=ON)")

    no_modules = ("" if os.path.isdir(os.path.join(node_dir, "node_modules")) else
                  "not available: npm dependencies missing "
                  "(npm install --prefix bench/peers/node)")
    ps = os.path.join(node_dir, "powertools.mjs")
    um = os.path.join(node_dir, "unmarshall.mjs")
    py = os.path.join(ROOT, "bench", "peers", "python", "walk.py")
    jc, sj, mc = (os.path.join(peers, n) for n in ("jsonc_walk", "simdjson_walk", "memchr_pass"))
    return [
        Subject("ddbhost + walk.so", [os.path.join(build, "bin", "ddbhost"),
                                      os.path.join(build, "bench", "walk.so")],
                host=True, callgrind=True),
        Subject("Node Powertools BatchProcessor + unmarshall", [node or "node", ps],
                missing=script(node, "node", ps, no_modules)),
        Subject("Node JSON.parse + unmarshall", [node or "node", um],
                missing=script(node, "node", um, no_modules)),
        Subject("Python json + typed walk", [python or "python3", py],
                missing=script(python, "python3", py)),
        Subject("C json-c tree walk", [jc], callgrind=True, missing=native(jc)),
        Subject("C++ simdjson walk", [sj], callgrind=True, missing=native(sj)),
        Subject("C memchr pass (floor)", [mc], callgrind=True, counts_values=False,
                missing=native(mc)),
    ]


def commands(s, event):
    """The in-process call, the cold-start command and the command callgrind counts."""
    if s.host:
        return (lambda ev, reps: host_once(s.argv, ev, reps),
                [s.argv[0], "--invoke", s.argv[1], event],
                [s.argv[0], "--repeat", "1", "--invoke", s.argv[1], event])
    return lambda ev, reps: peer_once(s.argv, ev, reps), s.argv + [event, "1"], s.argv + [event, "1"]


def measure_size(subs, records, event, measure):
    rows = [Row(s, records, os.path.getsize(event)) for s in subs]
    live = [r for r in rows if not r.subject.missing]
    cmds = {id(r): commands(r.subject, event) for r in live}

    def round_of(row):
        try:
            row.rounds.append(cmds[id(row)][0](event, row.reps))
        except Failed as e:
            row.problems.append(f"in-process: {e}")

    for row in live:
        print(f"bench: {records} records: {row.subject.name}", file=sys.stderr, flush=True)
        try:
            row.reps = calibrate(cmds[id(row)][0], event)
        except Failed as e:
            row.problems.append(f"in-process: {e}")
            continue
        round_of(row)
    for _ in range(ROUNDS - 1):
        for row in live:
            if not row.problems:
                round_of(row)
    for row in live:
        if row.problems:
            continue
        r = sorted(row.rounds, key=lambda x: x["median_ms"])[len(row.rounds) // 2]
        row.median_ms, row.values = r["median_ms"], r["values"]
        row.first_ms, row.kb_first, row.kb_last = r.get("first_ms"), r.get("kb_first"), r.get("kb_last")
        if row.subject.counts_values and r["records"] != records:
            row.problems.append(f"processed {r['records']} records, not {records}")
        _, cold, counted = cmds[id(row)]
        runs = 11 if row.median_ms < 50 else 5 if row.median_ms < 500 else 3
        try:
            row.whole_ms, row.rss_kb = whole_process(measure, cold, runs)
        except Failed as e:
            row.problems.append(f"whole process: {e}")
        if row.subject.callgrind and records <= CALLGRIND_MAX_RECORDS and shutil.which("valgrind"):
            try:
                row.ir = instructions(counted)
            except Failed as e:
                row.problems.append(f"callgrind: {e}")
    return rows


# --- the report -----------------------------------------------------------------------------

def fmt_ms(x):
    if x is None:
        return "—"
    return f"{x:.0f}" if x >= 100 else f"{x:.1f}" if x >= 10 else f"{x:.2f}" if x >= 1 else \
        f"{x:.3f}" if x >= 0.01 else f"{x:.2g}" if x >= 1e-4 else f"{x:.6f}".rstrip("0")


def fmt_ratio(x):
    return f"{x:.3f}×" if x < 0.1 else f"{x:.2f}×" if x < 10 else f"{x:.1f}×" if x < 100 \
        else f"{x:.0f}×"


def table(rows, floor):
    out = ["| subject | records (event) | in-process median ms | MB/s | time ÷ ddbhost's "
           "| whole process ms | peak RSS MB | instructions/record | reps × rounds | values/rep |",
           "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|"]
    fms, frss = floor
    out.append(f"| process spawn floor (/bin/true) | — | — | — | — | {fmt_ms(fms)} "
               f"| {frss * 1024 / MB:.1f} | — | — | — |")
    host = {r.records: r for r in rows if r.subject.host}
    for r in rows:
        ev = f"{r.records} ({r.size / MB:.2f} MB)" if r.size >= 10000 else \
            f"{r.records} ({r.size / 1e3:.1f} kB)"
        if r.subject.missing or r.median_ms is None:
            why = r.subject.missing or "could not run: " + "; ".join(r.problems)
            out.append(f"| {r.subject.name} | {ev} | {why} | | | | | | | |")
            continue
        h = host[r.records]
        ratio = fmt_ratio(r.median_ms / h.median_ms) if h.median_ms else "—"
        mbs = f"{r.size / MB / (r.median_ms / 1e3):.0f}" if r.median_ms else "—"
        rss = f"{r.rss_kb * 1024 / MB:.1f}" if r.rss_kb is not None else "—"
        ir = f"{r.ir / r.records:,.0f}" if r.ir is not None else "—"
        values = str(r.values) if r.subject.counts_values else "n/a"
        if r.subject.counts_values and h.values is not None and r.values != h.values:
            values += " **≠ walk**"
        out.append(f"| {r.subject.name} | {ev} | {fmt_ms(r.median_ms)} | {mbs} | {ratio} "
                   f"| {fmt_ms(r.whole_ms)} | {rss} | {ir} | {r.reps}×{len(r.rounds)} | {values} |")
    return out


def values_check(rows):
    host = {r.records: r for r in rows if r.subject.host}
    out, bad = [], 0
    for r in rows:
        h = host[r.records]
        if r.subject.host or r.values is None or h.values is None:
            continue
        if not r.subject.counts_values:
            continue
        if r.values != h.values:
            bad += 1
            out.append(f"- **FLAGGED**: {r.subject.name} on the {r.records}-record event counts "
                       f"{r.values} values per rep, walk counts {h.values}: it did not do the "
                       f"same work, so its time is not comparable.")
    done = sum(1 for r in rows if not r.subject.host and r.subject.counts_values
               and r.values is not None)
    head = (f"Every peer that ran counted the same values per rep as walk ({done} rows checked)."
            if not bad else f"{bad} of {done} peer rows count different values from walk:")
    return [head] + out


def second_runs(rows):
    out = ["| records | first run ms | median ms | runs | decoder KB after the first run "
           "| after the last |", "|--:|--:|--:|--:|--:|--:|"]
    for r in rows:
        if r.subject.host and r.first_ms is not None:
            out.append(f"| {r.records} | {fmt_ms(r.first_ms)} | {fmt_ms(r.median_ms)} | {r.reps} "
                       f"| {r.kb_first} | {r.kb_last} |")
    return out


def targets(rows, floor):
    at = {(r.subject.name, r.records): r for r in rows}
    names = [r.subject.name for r in rows]
    host_name = next(n for n in names if n.startswith("ddbhost"))

    def get(prefix, records):
        r = next((at[(n, records)] for n in names if n.startswith(prefix)), None)
        return r if r and r.median_ms is not None else None

    h, h1 = get(host_name, TARGET_RECORDS), get(host_name, 1)
    pt, sj = get("Node Powertools", TARGET_RECORDS), get("C++ simdjson", TARGET_RECORDS)
    verdict = lambda ok: "**MET**" if ok else "**MISSED**"
    out = []
    if not h:
        return [f"- ddbhost did not run on the {TARGET_RECORDS}-record event: nothing to evaluate."]
    size = f"{TARGET_RECORDS}-record event ({h.size / MB:.2f} MB)"
    if pt:
        x = pt.median_ms / h.median_ms
        out.append(f"- At least 10× faster than Powertools in-process, {size}: Powertools "
                   f"{fmt_ms(pt.median_ms)} ms, ddbhost {fmt_ms(h.median_ms)} ms: {x:.1f}× "
                   f"faster. {verdict(x >= 10)}")
    else:
        out.append("- At least 10× faster than Powertools: NOT MEASURED (Powertools peer did not run).")
    if sj:
        x = h.median_ms / sj.median_ms
        out.append(f"- Within 2.5× of the simdjson walk, {size}: simdjson "
                   f"{fmt_ms(sj.median_ms)} ms, ddbhost {fmt_ms(h.median_ms)} ms: {x:.2f}× "
                   f"simdjson's time. {verdict(x <= 2.5)}")
    else:
        out.append("- Within 2.5× of simdjson: NOT MEASURED (simdjson peer did not run).")
    if h1 and h1.whole_ms is not None:
        out.append(f"- Whole process for a 1-record event under 3 ms: {fmt_ms(h1.whole_ms)} ms "
                   f"(median of fresh runs; bare process spawn {fmt_ms(floor[0])} ms). "
                   f"{verdict(h1.whole_ms < 3)}")
    else:
        out.append("- Whole process for a 1-record event: NOT MEASURED.")
    if h.rss_kb is not None:
        rss, limit = h.rss_kb * 1024 / MB, 3 * h.size / MB + 8
        out.append(f"- Peak RSS under 3 × event size + 8 MB, {size}: {rss:.1f} MB, limit "
                   f"{limit:.1f} MB. {verdict(rss < limit)}")
    if h.first_ms is not None:
        ok = h.kb_last <= h.kb_first and h.median_ms <= h.first_ms * 1.05
        out.append(f"- The same event again in one process costs no more, {size}: first run "
                   f"{fmt_ms(h.first_ms)} ms, median of {h.reps} runs {fmt_ms(h.median_ms)} ms; "
                   f"the decoder holds {h.kb_first} KB after the first run and {h.kb_last} KB "
                   f"after the last. {verdict(ok)}")
    return out


# --- bindings: a 3-argument binding against the plugin that does the same by hand ----------

BINDCOST_LINE = re.compile(r"deliver_plugin_ns=([\d.]+) deliver_binding_ns=([\d.]+) "
                           r"call_plugin_ns=([\d.]+) call_binding_ns=([\d.]+) "
                           r"deliver_ratio=([\d.]+) call_ratio=([\d.]+)")


def bindings(build):
    """bench/bind/bindcost.c: ns per record, through the router and as bare callbacks.
    Returns the report's lines and what could not run (None when it ran)."""
    path = next((p for p in (os.path.join(build, "bin", "bindcost"),
                             os.path.join(build, "bench", "bindcost")) if os.access(p, os.X_OK)), None)
    if not path:
        why = f"bindcost was not built in {os.path.relpath(build, ROOT)}"
        return [f"- not available: {why}"], why
    try:
        m = BINDCOST_LINE.search(run([path, "1000", "31"]).stdout)
    except Failed as e:
        return [f"- could not run: {e}"], str(e)
    if not m:
        return ["- could not run: bindcost printed no result line"], "bindcost printed no result line"
    dp, db, cp, cb, dr, cr = (float(x) for x in m.groups())
    return [
        "The binding `bill(NewImage.customer:string, NewImage.cents:int64, "
        "NewImage.price:double)` called through libffi, against `direct.so`, a plugin whose "
        "`on_insert` takes the same three attributes with the same checks and calls `bill()` "
        "itself (bench/bind/), on the same 1000 decoded INSERTs of 8 attributes each, in 31 "
        "interleaved rounds of about 10 ms. `bill()` does almost nothing, so the figures are the "
        "cost of reaching it. Times are the fastest round (the least disturbed); the ratio is "
        "the median of the rounds' ratios, binding and plugin measured back to back.", "",
        "| per record | plugin ns | binding ns | binding ÷ plugin |", "|---|--:|--:|--:|",
        f"| delivered by the router (what ddbhost does) | {dp:.1f} | {db:.1f} | {dr:.2f}× |",
        f"| the callback alone | {cp:.1f} | {cb:.1f} | {cr:.2f}× |", "",
        f"- A 3-argument binding within 2× of a direct plugin call, per record delivered: "
        f"{dr:.2f}×. {'**MET**' if dr <= 2 else '**MISSED**'}",
    ], None


def first_line(argv):
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        return (p.stdout or p.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "not installed"


def cmake_cache(build, key):
    try:
        with open(os.path.join(build, "CMakeCache.txt")) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return line.split("=", 1)[1].strip()
    except OSError:
        pass
    return ""


def npm_version(pkg):
    path = os.path.join(ROOT, "bench", "peers", "node", "node_modules", pkg, "package.json")
    try:
        with open(path) as f:
            return re.search(r'"version"\s*:\s*"([^"]+)"', f.read())[1]
    except (OSError, TypeError):
        return "not installed"


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def machine(build, load_start, commit):
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kb = int(re.search(r"MemTotal:\s+(\d+)", f.read())[1])
    cc = cmake_cache(build, "CMAKE_C_COMPILER") or "cc"
    cxx = cmake_cache(build, "CMAKE_CXX_COMPILER")
    simdjson = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "libsimdjson-dev"],
                              capture_output=True, text=True).stdout.strip() or "not installed"
    return [
        f"- CPU: {cpu}, {os.cpu_count()} cores; memory {mem_kb / 1024 / 1024:.1f} GiB",
        f"- Kernel: Linux {platform.release()}; {first_line(['sh', '-c', '. /etc/os-release && echo $PRETTY_NAME'])}",
        f"- C compiler: {first_line([cc, '--version'])}"
        + (f"; C++: {first_line([cxx, '--version'])}" if cxx else ""),
        f"- Node.js {first_line(['node', '--version'])}; @aws-lambda-powertools/batch "
        f"{npm_version('@aws-lambda-powertools/batch')}, @aws-sdk/util-dynamodb "
        f"{npm_version('@aws-sdk/util-dynamodb')}",
        f"- {first_line(['python3', '--version'])}; simdjson {simdjson}; "
        f"json-c {first_line(['pkg-config', '--modversion', 'json-c'])}; "
        f"{first_line(['valgrind', '--version'])}",
        f"- ddbhost at {commit}, {cmake_cache(build, 'CMAKE_BUILD_TYPE') or '?'} build; "
        f"run on {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; load "
        f"average {load_start} at the start, {loadavg()} at the end (other work on the machine "
        f"adds noise to every time)",
    ]


HOW = """\
How each figure is taken (see bench/README.md): *in-process* is the median time of one
decode + walk of the whole event, repeated REPS times in one process (ddbhost `--repeat N`,
peers `EVENT REPS`), in 3 rounds interleaved with the other subjects, the median round
reported; *whole process* is the median wall time of fresh runs of
the plain command (ddbhost `--invoke walk.so EVENT`, peers with REPS=1), fork to exit, started
by bench/measure.c; *peak RSS* is ru_maxrss of those runs; *instructions/record* is callgrind's
total instruction count for one whole run (start-up included) divided by the records, for the
native subjects on events up to 1900 records. *time ÷ ddbhost's* above 1 means slower than
ddbhost. MB are 10^6 bytes. Benchmarks never fail on time."""


def main():
    build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build-bench"))
    bench = os.path.join(build, "bench")
    measure = os.path.join(bench, "measure")
    eventgen = next((p for p in (os.path.join(bench, "eventgen"), os.path.join(build, "bin", "eventgen"))
                     if os.access(p, os.X_OK)), None)
    if not eventgen:
        sys.exit(f"bench: error: no eventgen in {build}/bench or {build}/bin: build first "
                 f"(hint: make bench configures and builds {os.path.relpath(build, ROOT)})")
    cc = cmake_cache(build, "CMAKE_C_COMPILER") or "cc"
    src = os.path.join(ROOT, "bench", "measure.c")
    subprocess.run([cc, "-O2", "-std=c11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Werror",
                    "-o", measure, src], check=True)

    events = {}
    os.makedirs(os.path.join(bench, "events"), exist_ok=True)
    for n in SIZES:
        path = os.path.join(bench, "events", f"{n}.json")
        if not os.path.exists(path) or os.path.getmtime(path) < os.path.getmtime(eventgen):
            with open(path + ".tmp", "w") as f:
                subprocess.run([eventgen, str(n)], stdout=f, check=True)
            os.replace(path + ".tmp", path)
        events[n] = path

    load_start = loadavg()
    # The sources as the build (just made) saw them, not as they are when the run ends.
    commit = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"],
                            capture_output=True, text=True).stdout.strip() or "unknown"
    floor = whole_process(measure, ["/bin/true"], 51)
    rows = []
    bind_lines, bind_problem = bindings(build)
    subs = subjects(build)
    for n in SIZES:
        rows += measure_size(subs, n, events[n], measure)

    report = ["## Results", "", *machine(build, load_start, commit), "", *table(rows, floor), "", HOW,
              "", "### Same work in every row", "", *values_check(rows), "",
              "### ddbhost processing the same event again in one process", "",
              *second_runs(rows), "",
              f"### The issue's targets (on the {TARGET_RECORDS}-record event, this run)", "",
              *targets(rows, floor), "",
              "### Bindings: a 3-argument binding against a direct plugin callback", "",
              *bind_lines, "", *coldstart.section(build), "", *sinks.section(build), "",
              *sinks.postgres_section(build), "", *poll.section(build)]
    problems = [f"- {r.subject.name}, {r.records}-record event: {p}" for r in rows for p in r.problems]
    if bind_problem:
        problems.append(f"- bindings: {bind_problem}")
    if problems:
        report += ["", "### What could not run", "", *problems]
    text = "\n".join(report) + "\n"
    print(text)
    with open(os.path.join(ROOT, "bench", "RESULTS.md"), "w") as f:
        f.write("# Benchmark results\n\nWritten by `make bench` (bench/run.py); do not edit by "
                "hand.\n\n" + text)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
