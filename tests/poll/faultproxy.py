"""faultproxy.py - an HTTP proxy for the poll tests, on a loopback port in a thread of the
test, that forwards DynamoDB and DynamoDB Streams calls to moto_server and answers some of them
as AWS would when things go wrong (Python standard library only):

- a share of calls `throttle` gets DynamoDB's throttling errors (HTTP 400,
  ProvisionedThroughputExceededException or ThrottlingException, AWS's JSON body and its
  x-amzn-ErrorType header), and a share `error500` an HTTP 500 InternalServerError;
- with `secret`, each call's SigV4 signature is computed here with that key (moto checks
  none) and a mismatch is answered with AWS's InvalidSignatureException;
- with `expire_every` N, every Nth GetRecords is answered ExpiredIteratorException;
- once `gone` is set true, the stream's shards are gone as DynamoDB trims them: GetRecords
  is answered ExpiredIteratorException, GetShardIterator ResourceNotFoundException, and
  DescribeStream lists no shard;
- with `age_s` N, the records GetRecords returns were made N seconds earlier than moto says
  (their ApproximateCreationDateTime moved back), as records a consumer reads late.

`injected` counts the faults answered, by error type; `targets` lists the calls forwarded."""
import hashlib
import hmac
import http.client
import http.server
import json
import random
import threading
import urllib.parse

PREFIX = "com.amazonaws.dynamodb.v20120810#"
SIGNATURE_MISMATCH = ("The request signature we calculated does not match the signature you "
                      "provided. Check your AWS Secret Access Key and signing method. Consult "
                      "the service documentation for details.")


def sigv4_signature(secret, method, path, headers, body):
    """The SigV4 signature of a request whose headers (a dict of lowercase names) carry its
    Authorization and X-Amz-Date, computed with secret; None when it is not signed."""
    auth = headers.get("authorization", "")
    if not auth.startswith("AWS4-HMAC-SHA256 "):
        return None
    parts = dict(p.strip().split("=", 1) for p in auth[len("AWS4-HMAC-SHA256 "):].split(","))
    scope = parts["Credential"].split("/", 1)[1]
    date, region, service, _ = scope.split("/")
    signed = parts["SignedHeaders"]
    url = urllib.parse.urlsplit(path)
    canonical = "\n".join([
        method, url.path or "/", url.query,
        "".join("%s:%s\n" % (h, " ".join(headers.get(h, "").split()))
                for h in signed.split(";")),
        signed, hashlib.sha256(body).hexdigest()])
    to_sign = "\n".join(["AWS4-HMAC-SHA256", headers.get("x-amz-date", ""), scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + secret).encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


class FaultProxy:
    def __init__(self, upstream, throttle=0.0, error500=0.0, secret=None, expire_every=0,
                 seed=0, age_s=0):
        self.upstream = urllib.parse.urlsplit(upstream).netloc
        self.throttle, self.error500 = throttle, error500
        self.secret, self.expire_every = secret, expire_every
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.injected = {}
        self.targets = []
        self.get_records = 0
        self.gone = False
        self.age_s = age_s
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                proxy.serve(self)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def fault(self, target):
        """The error this call is answered with, as (status, type, message), or None."""
        with self.lock:
            if self.gone and target.endswith(".GetRecords"):
                return 400, "ExpiredIteratorException", "Iterator expired."
            if self.gone and target.endswith(".GetShardIterator"):
                return 400, "ResourceNotFoundException", "Requested resource not found: " \
                    "Shard does not exist"
            if target.endswith(".GetRecords") and self.expire_every:
                self.get_records += 1
                if self.get_records % self.expire_every == 0:
                    return 400, "ExpiredIteratorException", "Iterator expired. The iterator " \
                        "was created at time ... while right now it is ..."
            x = self.rng.random()
            if x < self.throttle:
                if self.rng.random() < 0.5:
                    return 400, "ProvisionedThroughputExceededException", "The level of " \
                        "configured provisioned throughput for the table was exceeded."
                return 400, "ThrottlingException", "Rate of requests exceeds the allowed " \
                    "throughput."
            if x < self.throttle + self.error500:
                return 500, "InternalServerError", "Internal server error"
            return None

    def answer_error(self, h, status, type_, message):
        body = json.dumps({"__type": PREFIX + type_, "message": message}).encode()
        with self.lock:
            self.injected[type_] = self.injected.get(type_, 0) + 1
        h.send_response(status)
        h.send_header("Content-Type", "application/x-amz-json-1.0")
        h.send_header("x-amzn-ErrorType", type_ + ":http://internal.amazon.com/coral/"
                      "com.amazonaws.dynamodb.v20120810/")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def serve(self, h):
        body = h.rfile.read(int(h.headers.get("Content-Length", "0")))
        headers = {k.lower(): v for k, v in h.headers.items()}
        target = headers.get("x-amz-target", "")
        if self.secret is not None:
            got = headers.get("authorization", "").rpartition("Signature=")[2]
            want = sigv4_signature(self.secret, h.command, h.path, headers, body)
            if want is None or not hmac.compare_digest(got, want):
                return self.answer_error(h, 400, "InvalidSignatureException", SIGNATURE_MISMATCH)
        fault = self.fault(target)
        if fault:
            return self.answer_error(h, *fault)
        with self.lock:
            self.targets.append(target)
        conn = http.client.HTTPConnection(self.upstream)
        try:
            conn.request("POST", h.path, body, {k: v for k, v in h.headers.items()
                                                if k.lower() not in ("host", "connection")})
            r = conn.getresponse()
            data = r.read()
            if self.gone and r.status == 200 and target.endswith(".DescribeStream"):
                page = json.loads(data)
                page["StreamDescription"]["Shards"] = []
                page["StreamDescription"].pop("LastEvaluatedShardId", None)
                data = json.dumps(page).encode()
            if self.age_s and r.status == 200 and target.endswith(".GetRecords"):
                page = json.loads(data)
                for rec in page.get("Records", []):
                    rec["dynamodb"]["ApproximateCreationDateTime"] -= self.age_s
                data = json.dumps(page).encode()
            h.send_response(r.status)
            for k in ("Content-Type", "x-amzn-ErrorType"):
                if r.getheader(k):
                    h.send_header(k, r.getheader(k))
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data)
        finally:
            conn.close()
