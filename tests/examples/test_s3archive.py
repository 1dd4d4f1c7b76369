#!/usr/bin/env python3
"""s3archive.so against a local S3 (moto_server): after an event, the bucket holds one object
per inserted or modified item, the item's NewImage as DynamoDB JSON, and a removed item's
object is gone; a missing bucket fails the records and names the request.

usage: test_s3archive.py DDBHOST S3ARCHIVE_SO EVENTS_DIR   (exit 77: skipped)
"""
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

SKIP = 77


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_moto(workdir):
    """moto_server on a loopback port, up and answering; (process, base URL)."""
    exe = shutil.which("moto_server")
    if not exe:
        print("skipped: moto_server is not installed (a local S3 for this test; "
              "pip's moto[server] provides it)")
        sys.exit(SKIP)
    port = free_port()
    log = open(os.path.join(workdir, "moto.log"), "w")
    proc = subprocess.Popen([exe, "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(base + "/", timeout=1).read()
            return proc, base
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.05)
    proc.kill()
    sys.exit("moto_server did not start: see " + log.name)


def request(method, url, data=None):
    return urllib.request.urlopen(urllib.request.Request(url, data=data, method=method)).read()


def objects(base, bucket):
    """{key: ETag} of the bucket (ListObjectsV2; an ETag is the MD5 of what was PUT)."""
    xml = request("GET", f"{base}/{bucket}?list-type=2").decode()
    keys = re.findall(r"<Key>([^<]*)</Key>", xml)
    tags = [t.replace("&quot;", '"').strip('"') for t in re.findall(r"<ETag>([^<]*)</ETag>", xml)]
    return dict(zip(keys, tags))


def run(ddbhost, manifest, event, env):
    p = subprocess.run([ddbhost, "--manifest", manifest, "--invoke", event],
                       capture_output=True, text=True, env=env)
    return p.returncode, p.stdout, p.stderr


def main():
    ddbhost, plugin, events = sys.argv[1:4]
    work = tempfile.mkdtemp(prefix="ddb-s3archive-")
    proc, base = start_moto(work)
    failures = []

    def check(ok, what):
        if not ok:
            failures.append(what)
            print("FAILED:", what)

    try:
        env = dict(os.environ, AWS_ACCESS_KEY_ID="AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY="secret",
                   AWS_SESSION_TOKEN="token", AWS_REGION="eu-west-1")
        request("PUT", f"{base}/archive")
        request("PUT", f"{base}/archive/orders/Orders/o-0999.json", b"{}")  # removed below
        manifest = os.path.join(work, "manifest.json")
        with open(manifest, "w") as f:
            json.dump({"tables": {"Orders": {"plugin": plugin, "config": {
                "bucket": "archive", "prefix": "orders/", "endpoint": base}}}}, f)
        event = os.path.join(events, "orders.json")
        status, out, err = run(ddbhost, manifest, event, env)
        check(status == 0, f"exit status {status}, stderr:\n{err}")
        check(out.strip().endswith('{"batchItemFailures":[]}'), f"response: {out!r}")

        with open(event) as f:
            records = json.load(f)["Records"]
        want = {}
        for r in records:
            if r["eventName"] != "REMOVE":
                key = r["dynamodb"]["Keys"]["orderId"]["S"]
                body = json.dumps(r["dynamodb"]["NewImage"], separators=(",", ":"),
                                  ensure_ascii=False).encode()
                want[f"orders/Orders/{key}.json"] = hashlib.md5(body).hexdigest()
        got = objects(base, "archive")
        check(got == want, f"objects {got}, expected {want} (the removed item's object gone, "
                           "each other's the exact NewImage)")

        # no such bucket: every record fails, the request is named, Lambda would retry
        with open(manifest, "w") as f:
            json.dump({"tables": {"Orders": {"plugin": plugin, "config": {
                "bucket": "no-such-bucket", "endpoint": base}}}, "on_failure": "continue"}, f)
        status, out, err = run(ddbhost, manifest, event, env)
        check(out.count('"itemIdentifier"') == len(records), f"response: {out!r}")
        check("PUT " + base + "/no-such-bucket/Orders/o-1001.json" in err and "HTTP 404" in err,
              f"stderr names neither the request nor S3's answer:\n{err}")

        # no credentials: refused at on_init, one line
        bare = {k: v for k, v in env.items() if not k.startswith("AWS_ACCESS")}
        status, out, err = run(ddbhost, manifest, event, bare)
        check(status != 0 and "AWS_ACCESS_KEY_ID" in err, f"exit {status}, stderr:\n{err}")
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(work, ignore_errors=True)
    if failures:
        sys.exit(1)
    print("ok: objects put, replaced and deleted as the records say")


if __name__ == "__main__":
    main()
