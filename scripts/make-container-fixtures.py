#!/usr/bin/env python3
"""Wraps the real nginx access lines of Tests/Fixtures/nginx/combined.log the way Docker's
json-file driver and the CRI runtimes (containerd, CRI-O) store a container's output, into
Tests/Fixtures/container/. Re-runnable; the output is deterministic. See the README there for
where each shape is documented."""
import gzip, json, os, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests/Fixtures/container")
PART = 16 * 1024  # both Docker and the CRI runtimes cut a line at 16 KiB

access = open(os.path.join(ROOT, "Tests/Fixtures/nginx/combined.log"), "rb").read().decode().splitlines()
# nginx's error log (error_log /dev/stderr in the official image) goes to the container's stderr.
errors = [
    '2026/11/27 18:49:44 [error] 29#29: *3 open() "/usr/share/nginx/html/missing" failed (2: No such file or directory), client: 172.17.0.1, server: localhost, request: "GET /missing HTTP/1.1", host: "localhost:8080"',
    '2026/11/27 18:49:45 [notice] 1#1: signal 1 (SIGHUP) received from 41, reconfiguring',
]
# A line over 16 KiB: the first access line with a long query string, so that it is split.
first = access[0]
long_line = first.replace('"GET / HTTP/1.1"', '"GET /?q=' + "abc&" * 9000 + ' HTTP/1.1"')


def stamp(i):
    return "2026-11-27T17:49:%02d.%09dZ" % (i % 60, 123456789 + i)


def go_json(s):
    # Go's encoding/json (Docker's jsonlog) escapes <, > and & and keeps other UTF-8 as it is.
    return json.dumps(s, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def docker(message, stream, i):
    """Docker json-file: one object per part; only the last part's log ends in a newline."""
    parts = [message[k:k + PART] for k in range(0, len(message), PART)] or [""]
    out = []
    for n, part in enumerate(parts):
        text = part + ("\n" if n == len(parts) - 1 else "")
        out.append('{"log":%s,"stream":"%s","time":"%s"}\n' % (go_json(text), stream, stamp(i)))
    return out


def cri(message, stream, i):
    """CRI: TIME STREAM TAG CONTENT, tag P for a part and F for the last one."""
    parts = [message[k:k + PART] for k in range(0, len(message), PART)] or [""]
    return ["%s %s %s %s\n" % (stamp(i), stream, "F" if n == len(parts) - 1 else "P", p) for n, p in enumerate(parts)]


def build(wrap, lines):
    """Access lines on stdout with the error lines interleaved on stderr, and the long line's
    parts interleaved with an error line (the streams are written as they come)."""
    out = []
    for i, line in enumerate(lines):
        out += wrap(line, "stdout", i)
        if i == 3:
            out += wrap(errors[0], "stderr", i)
        if i == 5:
            parts = wrap(long_line, "stdout", i)
            out += parts[:1] + wrap(errors[1], "stderr", i) + parts[1:]
    return "".join(out).encode()


os.makedirs(OUT, exist_ok=True)
cid = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"
with open(os.path.join(OUT, cid + "-json.log.1"), "wb") as f:
    f.write(build(docker, access[:30]))
with open(os.path.join(OUT, cid + "-json.log"), "wb") as f:
    f.write(build(docker, access[30:]))
# The kubelet renames 0.log to 0.log.<time> and compresses the older ones.
with gzip.GzipFile(os.path.join(OUT, "0.log.20261127-174900.gz"), "wb", mtime=0) as f:
    f.write(build(cri, access[:20]))
with open(os.path.join(OUT, "0.log.20261127-174940"), "wb") as f:
    f.write(build(cri, access[20:40]))
with open(os.path.join(OUT, "0.log"), "wb") as f:
    f.write(build(cri, access[40:]))
