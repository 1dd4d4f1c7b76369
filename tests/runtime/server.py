#!/usr/bin/env python3
"""server.py - a local AWS Lambda Runtime API (2018-06-01) for the runtime tests.

It hands queued events to a runtime the way Lambda does and records, as JSON lines, every
answer it gets and every request it refuses, so that a test can assert on what a function
really sent. Python standard library only; it listens on 127.0.0.1 and knows nothing of
ddbhost beyond the protocol.

Usage:
  server.py (--events-dir DIR | --event FILE ...) [--timeout-ms N] [--repeat K]
            [--state FILE] [--exit-when-done] [--port P] [--function-arn ARN]
            [--answer-response STATUS]
            [--rss-pid-file FILE --rss-every N]

The first line on stdout is "PORT <n>". --timeout-ms sets the invocation timeout (the
Lambda-Runtime-Deadline-Ms header is the time of `next` plus it) for the events named
after it, so each event can have its own. With --exit-when-done the server exits once
every event has been answered and the runtime asks for the next one; otherwise it serves
until SIGTERM.

Protocol, as the OpenAPI description of the Runtime API and Lambda's own emulator define it:
  GET  /2018-06-01/runtime/invocation/next           200, event body and the four headers
  POST /2018-06-01/runtime/invocation/{id}/response  202 {"status":"OK"}; 413 over 6291456
                                                      bytes; 400 unknown id; 403 answered
  POST /2018-06-01/runtime/invocation/{id}/error     202; 400 unknown id; 403 answered
  POST /2018-06-01/runtime/init/error                202; 403 once an invocation was served
Stricter than Lambda, which accepts any error type and body but recommends this form: an
error whose Lambda-Runtime-Function-Error-Type does not match (Runtime|Function).Reason, or
whose body is not {"errorMessage": "...", "errorType": "<the same type>"}, gets 400.

Each line of the state file is one JSON object with a "kind":
  next        an event handed out: seq, request_id, event, deadline_ms, trace_id
  response    an answer: request_id, event, status, body, content_type, user_agent, late
  error       an error answer: the same plus error_type, error_message
  init_error  status, error_type, error_message, body
  refused     a request answered 4xx: status, method, path, error_type, reason
  rss         VmRSS of the pid in --rss-pid-file after `answered` invocations: vm_rss_kb
  done / stopped   the server's last line (--exit-when-done / SIGTERM)
"""

import argparse
import json
import os
import re
import secrets
import signal
import socket
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

API = "/2018-06-01/runtime"
MAX_PAYLOAD = 6291456  # bytes: Lambda's limit for a response
ERROR_TYPE_RE = re.compile(r"^(Runtime|Function)\.[A-Z][a-zA-Z]+$")
DEFAULT_TIMEOUT_MS = 600000
DEFAULT_ARN = "arn:aws:lambda:us-east-1:123456789012:function:ddbhost-test"
BUSY = object()  # what `next` gets while an invocation is unanswered


def now_ms():
    return int(time.time() * 1000)


class Log:
    """The state file: one JSON object per line, each written whole and flushed at once."""

    def __init__(self, path):
        self.lock = threading.Lock()
        self.file = open(path, "a", encoding="utf-8") if path else None

    def write(self, kind, **fields):
        if not self.file:
            return
        line = json.dumps(dict(kind=kind, **fields), ensure_ascii=False)
        with self.lock:
            self.file.write(line + "\n")
            self.file.flush()


class Invocation:
    def __init__(self, seq, event, body, timeout_ms):
        self.seq = seq
        self.event = event
        self.body = body
        self.timeout_ms = timeout_ms
        self.request_id = str(uuid.uuid4())
        self.trace_id = "Root=1-%08x-%s;Parent=%s;Sampled=0" % (
            int(time.time()), secrets.token_hex(12), secrets.token_hex(8))
        self.deadline_ms = 0
        self.answered = False


class Lambda:
    """What Lambda knows: the queue of events, the invocation in flight, the ones answered."""

    def __init__(self, events, log, args):
        self.cond = threading.Condition()
        self.queue = events  # list of (name, body, timeout_ms), served in order
        self.log = log
        self.args = args
        self.issued = {}  # request id -> Invocation
        self.current = None  # the invocation handed out and not yet answered
        self.served = 0
        self.answered = 0
        self.finished = threading.Event()  # set to make the process exit

    def next_invocation(self):
        """The next event, blocking while there is none; None when the server is done."""
        with self.cond:
            if self.current is not None:
                return BUSY
            self.sample_rss()
            while self.served >= len(self.queue):
                if self.args.exit_when_done:
                    self.log.write("done", answered=self.answered)
                    self.finished.set()
                    return None
                self.cond.wait(1.0)
            name, body, timeout_ms = self.queue[self.served]
            self.served += 1
            inv = Invocation(self.served, name, body, timeout_ms)
            inv.deadline_ms = now_ms() + timeout_ms
            self.issued[inv.request_id] = inv
            self.current = inv
            self.log.write("next", seq=inv.seq, request_id=inv.request_id, event=inv.event,
                           deadline_ms=inv.deadline_ms, timeout_ms=timeout_ms,
                           trace_id=inv.trace_id)
            return inv

    def sample_rss(self):
        every = self.args.rss_every
        if not every or not self.args.rss_pid_file or self.answered == 0:
            return
        if self.answered % every and self.served < len(self.queue):
            return
        try:
            with open(self.args.rss_pid_file, encoding="ascii") as f:
                pid = int(f.read().strip())
            with open("/proc/%d/status" % pid, encoding="ascii") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        self.log.write("rss", answered=self.answered, pid=pid,
                                       vm_rss_kb=int(line.split()[1]))
        except (OSError, ValueError) as e:
            self.log.write("rss", answered=self.answered, error=str(e))

    def close(self, inv):
        """Marks inv answered; the caller holds self.cond."""
        inv.answered = True
        self.answered += 1
        if self.current is inv:
            self.current = None
        self.cond.notify_all()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the runtime reuses one connection
    server_version = "ddbhost-test-runtime-api"

    def setup(self):
        super().setup()
        # Headers and body go out in separate writes: without this, Nagle's algorithm and
        # the client's delayed ACK hold each answer back by tens of milliseconds.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format, *args):  # keep stdout clean: it carries only PORT
        pass

    # ---- plumbing --------------------------------------------------------------------

    def send_json(self, status, obj, headers=()):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def refuse(self, status, error_type, reason, request_id=None):
        self.server.lam.log.write("refused", status=status, method=self.command, path=self.path,
                                  request_id=request_id, error_type=error_type, reason=reason)
        self.send_json(status, {"errorMessage": reason, "errorType": error_type})

    def read_body(self):
        """The request body, at most MAX_PAYLOAD + 1 bytes kept (the rest is read and
        dropped, so that the connection stays usable); chunked bodies are decoded."""
        kept, total = [], 0

        def take(data):
            nonlocal total
            if total <= MAX_PAYLOAD:
                kept.append(data[: MAX_PAYLOAD + 1 - total])
            total += len(data)

        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                left = size
                while left:
                    data = self.rfile.read(min(left, 1 << 16))
                    if not data:
                        raise ConnectionError("body cut short")
                    take(data)
                    left -= len(data)
                self.rfile.readline()
        else:
            left = int(self.headers.get("Content-Length") or 0)
            while left:
                data = self.rfile.read(min(left, 1 << 16))
                if not data:
                    raise ConnectionError("body cut short")
                take(data)
                left -= len(data)
        return b"".join(kept), total

    # ---- routes ----------------------------------------------------------------------

    def do_GET(self):
        if self.path != API + "/invocation/next":
            self.read_body()
            return self.refuse(404, "NotFound", "no such resource: GET " + self.path)
        lam = self.server.lam
        inv = lam.next_invocation()
        if inv is None:  # --exit-when-done: drop the connection, as a torn-down sandbox does
            self.close_connection = True
            return
        if inv is BUSY:
            return self.refuse(403, "InvalidStateTransition",
                               "next requested while invocation %s is unanswered"
                               % lam.current.request_id)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(inv.body)))
        self.send_header("Lambda-Runtime-Aws-Request-Id", inv.request_id)
        self.send_header("Lambda-Runtime-Deadline-Ms", str(inv.deadline_ms))
        self.send_header("Lambda-Runtime-Invoked-Function-Arn", lam.args.function_arn)
        self.send_header("Lambda-Runtime-Trace-Id", inv.trace_id)
        self.end_headers()
        self.wfile.write(inv.body)

    def do_POST(self):
        body, size = self.read_body()
        m = re.fullmatch(re.escape(API) + r"/invocation/([^/]+)/(response|error)", self.path)
        if m:
            return self.answer(m.group(1), m.group(2), body, size)
        if self.path == API + "/init/error":
            return self.init_error(body)
        self.refuse(404, "NotFound", "no such resource: POST " + self.path)

    def do_PUT(self):
        self.read_body()
        self.refuse(405, "MethodNotAllowed", "PUT " + self.path)

    do_DELETE = do_PATCH = do_PUT

    def error_answer(self, body):
        """(error type, message) of a well-formed error request, or a reason to refuse it."""
        error_type = self.headers.get("Lambda-Runtime-Function-Error-Type")
        if error_type is None:
            return None, "missing header Lambda-Runtime-Function-Error-Type"
        if not ERROR_TYPE_RE.match(error_type):
            return None, ("Lambda-Runtime-Function-Error-Type %r does not match "
                          "(Runtime|Function).Reason" % error_type)
        try:
            doc = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            return None, "error body is not JSON: %s" % e
        if not isinstance(doc, dict) or not isinstance(doc.get("errorMessage"), str) \
                or not isinstance(doc.get("errorType"), str):
            return None, 'error body must be {"errorMessage": "...", "errorType": "..."}'
        if doc["errorType"] != error_type:
            return None, "errorType %r differs from the header's %r" % (doc["errorType"], error_type)
        return (error_type, doc["errorMessage"]), None

    def answer(self, request_id, what, body, size):
        lam = self.server.lam
        with lam.cond:
            inv = lam.issued.get(request_id)
            if inv is None:
                return self.refuse(400, "InvalidRequestID", "Invalid request ID", request_id)
            if inv.answered:
                return self.refuse(403, "InvalidStateTransition",
                                   "invocation %s was already answered" % request_id, request_id)
            if what == "response" and size > MAX_PAYLOAD:
                lam.close(inv)
                return self.refuse(413, "RequestEntityTooLarge",
                                   "Exceeded maximum allowed payload size (%d bytes)." % MAX_PAYLOAD,
                                   request_id)
            status = lam.args.answer_response if what == "response" else 202
            fields = dict(request_id=request_id, event=inv.event, status=status,
                          content_type=self.headers.get("Content-Type"),
                          user_agent=self.headers.get("User-Agent"),
                          body=body.decode("utf-8", "replace"),
                          late=now_ms() > inv.deadline_ms, ms_left=inv.deadline_ms - now_ms())
            if what == "error":
                parsed, reason = self.error_answer(body)
                if reason:
                    return self.refuse(400, "InvalidErrorRequest", reason, request_id)
                fields.update(error_type=parsed[0], error_message=parsed[1])
            lam.close(inv)
            lam.log.write(what, **fields)
        if status == 0:  # --answer-response 0: the connection drops with no answer
            self.close_connection = True
            return
        if status != 202:  # --answer-response: Lambda's answer when its side has failed
            return self.send_json(status, {"errorMessage": "the test asked for %d" % status,
                                           "errorType": "Runtime.ContainerError"})
        self.send_json(202, {"status": "OK"})

    def init_error(self, body):
        lam = self.server.lam
        with lam.cond:
            if lam.served:
                return self.refuse(403, "InvalidStateTransition",
                                   "init/error after an invocation was served")
            parsed, reason = self.error_answer(body)
            if reason:
                return self.refuse(400, "InvalidErrorRequest", reason)
            lam.log.write("init_error", status=202, error_type=parsed[0],
                          error_message=parsed[1], body=body.decode("utf-8", "replace"))
        self.send_json(202, {"status": "OK"})
        if lam.args.exit_when_done:  # a runtime that failed to start is not served again
            self.wfile.flush()
            lam.finished.set()


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        # A runtime that drops its connection mid-request is not the server's failure.
        if not isinstance(sys.exc_info()[1], (ConnectionError, socket.timeout)):
            super().handle_error(request, client_address)


def parse_args(argv):
    events = []  # (path, timeout_ms) in command-line order
    state = {"timeout": DEFAULT_TIMEOUT_MS}

    class Timeout(argparse.Action):
        def __call__(self, parser, ns, value, option=None):
            state["timeout"] = value

    class Event(argparse.Action):
        def __call__(self, parser, ns, value, option=None):
            if option == "--events-dir":
                names = sorted(n for n in os.listdir(value) if n.endswith(".json"))
                events.extend((os.path.join(value, n), state["timeout"]) for n in names)
            else:
                events.append((value, state["timeout"]))

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--event", action=Event, metavar="FILE", help="an event to serve")
    p.add_argument("--events-dir", action=Event, metavar="DIR",
                   help="serve every *.json file of DIR, in name order")
    p.add_argument("--timeout-ms", type=int, action=Timeout, metavar="N",
                   help="invocation timeout of the events named after it (default %d)"
                   % DEFAULT_TIMEOUT_MS)
    p.add_argument("--repeat", type=int, default=1, metavar="K", help="serve the events K times")
    p.add_argument("--state", metavar="FILE", help="append the JSON lines log to FILE")
    p.add_argument("--exit-when-done", action="store_true")
    p.add_argument("--port", type=int, default=0, help="port to listen on (default: any free)")
    p.add_argument("--function-arn", default=DEFAULT_ARN)
    p.add_argument("--answer-response", type=int, default=202, metavar="STATUS",
                   help="answer every /response with STATUS (default 202; 0: drop the connection "
                   "instead of answering); the answer is logged with that status")
    p.add_argument("--rss-pid-file", metavar="FILE",
                   help="file holding the pid whose VmRSS is sampled (see --rss-every)")
    p.add_argument("--rss-every", type=int, default=0, metavar="N",
                   help="sample VmRSS after every N answers and after the last one")
    args = p.parse_args(argv)
    if not events:
        p.error("no events: give --event FILE or --events-dir DIR")
    return args, events


def main(argv):
    args, events = parse_args(argv)
    queue = []
    for path, timeout_ms in events:
        with open(path, "rb") as f:
            queue.append((os.path.basename(path), f.read(), timeout_ms))
    log = Log(args.state)
    lam = Lambda(queue * max(args.repeat, 0), log, args)

    httpd = Server(("127.0.0.1", args.port), Handler)
    httpd.lam = lam
    port = httpd.server_address[1]
    print("PORT %d" % port, flush=True)
    log.write("listening", port=port, events=len(lam.queue))

    stopped = []
    signal.signal(signal.SIGTERM, lambda *_: (stopped.append(1), lam.finished.set()))
    signal.signal(signal.SIGINT, lambda *_: (stopped.append(1), lam.finished.set()))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    while not lam.finished.wait(0.5):
        pass
    if stopped:
        log.write("stopped", answered=lam.answered)
    httpd.socket.close()  # refuse new connections at once; open ones die with the process
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1:])
