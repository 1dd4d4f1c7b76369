#!/usr/bin/env python3
"""bench/isolation.py - what crash isolation costs per batch: the same event delivered to
walk.so under "isolation": "none" and "isolation": "process", in one process as the Lambda
runtime loop delivers it (`ddbhost --manifest M --repeat N --invoke EVENT`), for batches of 1,
100 and 1900 records. Prints a Markdown table. A benchmark: it never fails on time, only when
something could not run. Usage: bench/isolation.py [BUILD_DIR]   (default build-bench)
"""
import os
import re
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIZES = [1, 100, 1900]
ROUNDS = 5        # interleaved, the median round reported (as run.py does)
ROUND_MS = 300    # about this long per measurement
MIN_REPS, MAX_REPS = 5, 20000
REPEAT = re.compile(r"ddbhost: repeat: \d+ runs of (\d+) records .*?: median ([\d.]+) ms")


def need(path, what):
    if not os.path.exists(path):
        sys.exit(f"isolation: error: no {what} at {path} (hint: build first: "
                 f"cmake --build {os.path.dirname(os.path.dirname(path))})")
    return path


def median_ms(ddbhost, manifest, event, reps):
    argv = [ddbhost, "--quiet", "--manifest", manifest, "--repeat", str(reps), "--invoke", event]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    m = REPEAT.search(p.stderr)
    if p.returncode != 0 or not m:
        last = (p.stderr.strip().splitlines() or ["(no stderr)"])[-1]
        sys.exit(f"isolation: error: {' '.join(argv)} exited with status {p.returncode}: {last}")
    return float(m[2])


def main():
    build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build-bench"))
    ddbhost = need(os.path.join(build, "bin", "ddbhost"), "ddbhost")
    walk = need(os.path.join(build, "bench", "walk.so"), "walk plugin")
    eventgen = next((p for p in (os.path.join(build, "bench", "eventgen"),
                                 os.path.join(build, "bin", "eventgen")) if os.path.exists(p)), None)
    if not eventgen:
        sys.exit(f"isolation: error: no eventgen in {build}/bench or {build}/bin (hint: build first)")
    rows = []
    with tempfile.TemporaryDirectory(prefix="ddbhost-isolation-") as tmp:
        manifests = {}
        for mode in ("none", "process"):
            manifests[mode] = os.path.join(tmp, f"{mode}.json")
            with open(manifests[mode], "w") as f:
                f.write(f'{{"isolation": "{mode}", "tables": {{"*": {{"plugin": "{walk}"}}}}}}\n')
        for n in SIZES:
            event = os.path.join(tmp, f"{n}.json")
            with open(event, "wb") as f:
                subprocess.run([eventgen, str(n)], stdout=f, check=True)
            reps = {}
            for mode in manifests:  # as many runs as fill about ROUND_MS
                one = median_ms(ddbhost, manifests[mode], event, MIN_REPS)
                reps[mode] = max(MIN_REPS, min(MAX_REPS, int(ROUND_MS / max(one, 1e-3))))
            rounds = {mode: [] for mode in manifests}
            for _ in range(ROUNDS):
                for mode in manifests:
                    rounds[mode].append(median_ms(ddbhost, manifests[mode], event, reps[mode]))
            none, iso = (statistics.median(rounds[m]) for m in ("none", "process"))
            rows.append((n, none, iso))
    print("| records | not isolated ms/batch | isolated ms/batch | isolation's cost ms/batch "
          "| cost µs/record |")
    print("|---:|---:|---:|---:|---:|")
    for n, none, iso in rows:
        print(f"| {n} | {none:.3f} | {iso:.3f} | {iso - none:.3f} | {(iso - none) * 1e3 / n:.1f} |")
    print(f"\n{ROUNDS} interleaved rounds of `ddbhost --repeat N` (about {ROUND_MS} ms each), "
          "median round; each batch is decoded and walked in full. Isolation keeps one worker, "
          "which decodes each event again, and makes one round trip over a pipe per record.")


if __name__ == "__main__":
    main()
