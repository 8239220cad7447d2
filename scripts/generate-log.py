#!/usr/bin/env python3
"""Writes a synthetic combined-format access log for benchmarks: N lines, one second apart per
~20 lines, realistic mix of pages, static files, bots, errors, query strings and referrers.
Deterministic (fixed seed) so runs compare."""
import random
import sys
import time

args = [a for a in sys.argv[1:] if not a.startswith("--")]
n = int(args[0]) if args else 2_000_000
pageviews_only = "--pageviews-only" in sys.argv  # every line a hit (upload benchmarks)
# Every line a new visitor, all within 7 hours (under the 8-hour visit gap): N open visits at
# once, for the visit table's memory.
distinct = "--distinct-visitors" in sys.argv
out = sys.stdout.buffer
rng = random.Random(42)
pages = ["/", "/about/", "/blog/", "/contact/"] + [f"/blog/post-{i}.html" for i in range(400)] + [f"/tags/t{i}/" for i in range(50)]
statics = ["/style.css", "/app.js", "/logo.png", "/favicon.ico", "/fonts/inter.woff2", "/img/hero.jpg"]
uas = [
    b"Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
    b"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    b"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    b"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    b"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
    b"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
]
refs = [b"-", b"-", b"-", b"https://www.google.com/", b"https://news.ycombinator.com/item?id=42", b"https://t.co/abc"]
months = [b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec"]
t0 = 1761955200  # 2025-11-01T00:00:00Z
buf = []
for i in range(n):
    t = t0 + (i * 25200 // n if distinct else i // 20)
    tm = time.gmtime(t)
    ts = b"%02d/%s/%04d:%02d:%02d:%02d +0000" % (tm.tm_mday, months[tm.tm_mon - 1], tm.tm_year, tm.tm_hour, tm.tm_min, tm.tm_sec)
    r = rng.random()
    if r < 0.25 and not pageviews_only:
        path = rng.choice(statics).encode()
    else:
        path = rng.choice(pages).encode()
        if r > 0.9:
            path += b"?utm_source=newsletter&utm_campaign=nov"
    status = 200 if pageviews_only or rng.random() < 0.93 else rng.choice([404, 301, 304, 500])
    if distinct:
        ip = b"10.%d.%d.%d" % (i >> 16 & 255, i >> 8 & 255, i & 255) if i < 1 << 24 else b"11.%d.%d.%d" % (i >> 16 & 255, i >> 8 & 255, i & 255)
    else:
        ip = b"%d.%d.%d.%d" % (rng.randrange(1, 224), rng.randrange(256), rng.randrange(256), rng.randrange(1, 255))
    ua = uas[rng.randrange(len(uas) - (1 if pageviews_only else 0))]
    buf.append(b'%s - - [%s] "GET %s HTTP/1.1" %d %d "%s" "%s"\n' % (ip, ts, path, status, rng.randrange(200, 50000), rng.choice(refs), ua))
    if len(buf) >= 10000:
        out.write(b"".join(buf))
        buf.clear()
out.write(b"".join(buf))
