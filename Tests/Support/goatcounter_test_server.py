#!/usr/bin/env python3
"""A stand-in for GoatCounter's HTTP API, for goatimport's tests.

It answers like a real GoatCounter server does (status codes, JSON error bodies,
headers, rate limits), in two styles: "v2.7" (the 2.7.0 release, checked against the real binary)
and "v2.4.1" (an older release that was probed). The contract it follows is
../shared/goatcounter-api.md; Tests/Support/README.md documents this server's
interface, its test-control API under /_test/, and every place where it had to
guess.

Python 3.11 standard library only. Start it with:

    python3 Tests/Support/goatcounter_test_server.py --port 0

It prints exactly one line, "LISTENING <port>", to stdout, then serves until
SIGTERM or SIGINT and exits 0.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import datetime as dt
import gzip
import hashlib
import html
import io
import json
import math
import os
import re
import signal
import socket
import socketserver
import sys
import tempfile
import threading
import time
import urllib.parse
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# ---------------------------------------------------------------------------
# Constants
# ---------------------------------------------------------------------------

STYLE_V27 = "v2.7"
STYLE_V241 = "v2.4.1"
STYLES = (STYLE_V27, STYLE_V241)

# goatcounter.APIPerm* (zint.Bitflag64); the values are stored in GoatCounter's
# database and never change.
PERM_NOTHING = 1
PERM_COUNT = 2
PERM_EXPORT = 4
PERM_SITE_READ = 8
PERM_SITE_CREATE = 16
PERM_SITE_UPDATE = 32
PERM_STATS = 64
PERM_ALL = PERM_COUNT | PERM_EXPORT | PERM_SITE_READ | PERM_SITE_CREATE | PERM_SITE_UPDATE | PERM_STATS

# Names as in APIToken.FormatPermissions(), in its order.
PERM_NAMES = [
    (PERM_COUNT, "count"),
    (PERM_EXPORT, "export"),
    (PERM_SITE_READ, "site-read"),
    (PERM_SITE_CREATE, "site-create"),
    (PERM_SITE_UPDATE, "site-update"),
    (PERM_STATS, "stats"),
]
PERM_ALIASES = {
    "nothing": PERM_NOTHING,
    "count": PERM_COUNT,
    "export": PERM_EXPORT,
    "site-read": PERM_SITE_READ, "site_read": PERM_SITE_READ, "read": PERM_SITE_READ,
    "site-create": PERM_SITE_CREATE, "site_create": PERM_SITE_CREATE,
    "site-update": PERM_SITE_UPDATE, "site_update": PERM_SITE_UPDATE,
    "stats": PERM_STATS,
    "all": PERM_ALL,
}

DEFAULT_LIMITS = {"api-count": (60, 120), "api": (4, 1), "export": (1, 3600)}

# Error strings, as GoatCounter writes them.
MSG_NO_AUTH = "no Authorization header"
MSG_BAD_AUTH = "wrong format for Authorization header"
MSG_UNKNOWN_TOKEN = "unknown token"
MSG_NO_SITE_ACCESS = "this token does not have access to this site"
MSG_NO_HITS = "no hits"
MSG_TOO_MANY = "maximum amount of pageviews in one batch is 500"
MSG_SESSION = ("session or browser/IP not set; use no_sessions if you don't want "
               "to track unique visits")
MSG_TIMEOUT = "server timed out loading data"
MSG_EXPORT_RUNNING = "still being generated"
MSG_EXPORT_GONE = "exports are kept for 24 hours; this export file has been deleted"
RESP_OK = '{"status":"ok"}'

CT_JSON = "application/json; charset=utf-8"
# Site setting `collect` bit "Individual pageviews": without it a 2.7 server keeps no hits rows
# and its exports are empty (an empty gzip, not even the header line).
COLLECT_INDIVIDUAL = 256
CT_TEXT = "text/plain; charset=utf-8"
CT_HTML = "text/html; charset=utf-8"
NGINX_413 = ("<html>\r\n<head><title>413 Request Entity Too Large</title></head>\r\n<body>\r\n"
             "<center><h1>413 Request Entity Too Large</h1></center>\r\n<hr><center>nginx/1.22.1</center>\r\n"
             "</body>\r\n</html>\r\n")

SESSION_WINDOW = 8 * 3600  # seconds of server time that make one visit

# Very small stand-in for zgo.at/isbot. The numbers are this server's own
# (GoatCounter only stores "> 0 means bot"); see README.
BOT_CLIENT_LIBRARY = 4
BOT_KNOWN = 5
BOT_BOTLIKE = 6
BOT_HEADLESS = 7
_CLIENT_LIBS = ("curl/", "wget/", "python-requests", "python-urllib", "python-httpx",
                "go-http-client", "okhttp", "java/", "libwww-perl", "apache-httpclient",
                "axios/", "node-fetch", "guzzlehttp", "aiohttp", "httpie", "libcurl")
_KNOWN_BOTS = ("googlebot", "bingbot", "yandex", "baiduspider", "duckduckbot", "slurp",
               "ahrefs", "semrush", "mj12bot", "petalbot", "facebookexternalhit",
               "twitterbot", "applebot", "dotbot", "bytespider", "gptbot")
_BOTLIKE = ("bot", "crawl", "spider", "scrape", "slurp", "fetcher", "monitor")


def detect_bot(ua: str) -> int:
    """Return a bot code (> 1) for a bot user agent, or 0."""
    u = ua.lower()
    if any(s in u for s in _KNOWN_BOTS):
        return BOT_KNOWN
    if any(u.startswith(s) or (" " + s) in u for s in _CLIENT_LIBS):
        return BOT_CLIENT_LIBRARY
    if "headless" in u or "phantomjs" in u:
        return BOT_HEADLESS
    if any(s in u for s in _BOTLIKE):
        return BOT_BOTLIKE
    return 0


def is_bot_value(b) -> bool:
    # isbot.Is(): 0 (NoBotKnown) and 1 (NoBotNoMatch) are "not a bot".
    return isinstance(b, int) and b not in (0, 1)


# ---------------------------------------------------------------------------
# Go-compatible formatting helpers
# ---------------------------------------------------------------------------

_SURROGATES = re.compile("[\ud800-\udfff]")


def go_json(obj) -> str:
    """Compact JSON as Go's encoding/json writes it (HTML-safe escapes)."""
    s = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    return _go_escape(s)


def go_json_indent(obj) -> str:
    """json.Encoder with SetIndent("", "  "), including the trailing newline."""
    s = json.dumps(obj, ensure_ascii=False, indent=2)
    return _go_escape(s) + "\n"


def _go_escape(s: str) -> str:
    return (s.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def go_sorted_map(d: dict) -> dict:
    """Go sorts map keys by their string form ("10" < "2")."""
    return {str(k): d[k] for k in sorted(d, key=lambda k: str(k))}


def go_quote(s: str) -> str:
    """fmt's %q / strconv.Quote (printable Unicode is kept)."""
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch in "\a\b\f\n\r\t\v":
            out.append({"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n",
                        "\r": "\\r", "\t": "\\t", "\v": "\\v"}[ch])
        elif o < 0x20 or o == 0x7F:
            out.append("\\x%02x" % o)
        elif not ch.isprintable() and o > 0x7F:
            out.append("\\u%04x" % o if o <= 0xFFFF else "\\U%08x" % o)
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def go_duration_secs(secs: int) -> str:
    """time.Duration.String() for a whole number of seconds: 4s, 1m23s, 2m0s, 1h0m0s."""
    secs = max(0, int(secs))
    h, rem = divmod(secs, 3600)
    m, s = divmod(rem, 60)
    if h:
        return f"{h}h{m}m{s}s"
    if m:
        return f"{m}m{s}s"
    return f"{s}s"


def go_time_json(t: dt.datetime | None):
    """time.Time's MarshalJSON: RFC 3339 with nanoseconds, trailing zeros trimmed."""
    if t is None:
        return None
    t = t.astimezone(dt.timezone.utc)
    base = t.strftime("%Y-%m-%dT%H:%M:%S")
    if t.microsecond:
        base += ("." + "%06d" % t.microsecond).rstrip("0")
    return base + "Z"


def go_time_rfc3339(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def go_float(f: float) -> str:
    """strconv.FormatFloat(f, 'f', -1, 64)."""
    if f == int(f) and abs(f) < 1e21:
        return str(int(f))
    r = repr(f)
    if "e" in r or "E" in r:
        return format(f, "f").rstrip("0").rstrip(".")
    return r


def go_csv_field(field: str) -> str:
    """encoding/csv's quoting rule."""
    needs = False
    if field == "":
        needs = False
    elif field == "\\.":
        needs = True
    elif any(c in field for c in ',"\r\n'):
        needs = True
    elif field[0].isspace():
        needs = True
    if not needs:
        return field
    return '"' + field.replace('"', '""') + '"'


def go_csv_line(fields) -> str:
    return ",".join(go_csv_field(f) for f in fields) + "\n"


# ---------------------------------------------------------------------------
# time.Time.UnmarshalJSON (parseStrictRFC3339) with Go's error strings
# ---------------------------------------------------------------------------

_RFC3339 = "2006-01-02T15:04:05Z07:00"


def _time_quote(s: str) -> str:
    out = ['"']
    for ch in s:
        if ord(ch) >= 0x80 or ord(ch) < 0x20:
            for b in ch.encode("utf-8", "replace"):
                out.append("\\x%02x" % b)
        else:
            if ch in '"\\':
                out.append("\\")
            out.append(ch)
    out.append('"')
    return "".join(out)


def _parse_error(value, layout_elem, value_elem, message=""):
    if message:
        return "parsing time " + _time_quote(value) + message
    return ("parsing time " + _time_quote(value) + " as " + _time_quote(_RFC3339)
            + ": cannot parse " + _time_quote(value_elem) + " as " + _time_quote(layout_elem))


def _days_in(month: int, year: int) -> int:
    if month == 2:
        return 29 if (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _isdigit(s: str, i: int) -> bool:
    return i < len(s) and "0" <= s[i] <= "9"


def _mk_time(year, month, day, hour, minute, sec, frac, offset_min):
    try:
        tz = dt.timezone(dt.timedelta(minutes=offset_min))
        micro = int((frac + "000000")[:6]) if frac else 0
        if year < 1:
            return dt.datetime(1, 1, 1, tzinfo=dt.timezone.utc)
        return dt.datetime(year, month, day, hour, minute, sec, micro, tzinfo=tz)
    except (ValueError, OverflowError):
        return dt.datetime(1, 1, 1, tzinfo=dt.timezone.utc)


_FAST = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})\Z")


def _fast_rfc3339(s: str):
    m = _FAST.match(s)
    if not m:
        return None
    y, mo, d, h, mi, se = (int(m.group(i)) for i in range(1, 7))
    if not (1 <= mo <= 12 and 1 <= d <= _days_in(mo, y) and h < 24 and mi < 60 and se < 60):
        return None
    tzs = m.group(8)
    off = 0
    if tzs != "Z":
        th, tm = int(tzs[1:3]), int(tzs[4:6])
        if th > 23 or tm > 59:
            return None
        off = (th * 60 + tm) * (-1 if tzs[0] == "-" else 1)
    return _mk_time(y, mo, d, h, mi, se, m.group(7), off)


def _go_parse_rfc3339(value: str):
    """time.Parse(time.RFC3339, value) -> (datetime, None) or (None, error)."""
    orig = value
    chunks = [("", "2006"), ("-", "01"), ("-", "02"), ("T", "15"), (":", "04"), (":", "05"), ("", "Z07:00")]
    year = month = day = hour = minute = sec = 0
    frac = ""
    off = 0
    for prefix, std in chunks:
        for i, pc in enumerate(prefix):
            if not value or value[0] != pc:
                return None, _parse_error(orig, prefix[i:], value)
            value = value[1:]
        hold = value
        bad = False
        range_err = ""
        if std == "2006":
            if len(value) < 4 or not _isdigit(value, 0):
                bad = True
            else:
                p, value = value[:4], value[4:]
                if not p.isdigit():
                    bad = True
                else:
                    year = int(p)
        elif std in ("01", "02", "04", "05"):
            if not _isdigit(value, 0) or not _isdigit(value, 1):
                bad = True
            else:
                n, value = int(value[:2]), value[2:]
                if std == "01":
                    month = n
                    if not 1 <= n <= 12:
                        range_err = "month"
                elif std == "02":
                    day = n
                elif std == "04":
                    minute = n
                    if n > 59:
                        range_err = "minute"
                else:
                    sec = n
                    if n > 59:
                        range_err = "second"
                    elif len(value) >= 2 and value[0] in ".," and _isdigit(value, 1):
                        n2 = 2
                        while _isdigit(value, n2):
                            n2 += 1
                        frac, value = value[1:n2], value[n2:]
        elif std == "15":
            if not _isdigit(value, 0):
                bad = True
            elif not _isdigit(value, 1):
                hour, value = int(value[0]), value[1:]
            else:
                hour, value = int(value[:2]), value[2:]
            if not bad and hour > 23:
                range_err = "hour"
        elif std == "Z07:00":
            if value[:1] == "Z":
                value = value[1:]
            elif len(value) < 6 or value[3] != ":" or value[0] not in "+-":
                bad = True
            elif not (value[1:3].isdigit() and value[4:6].isdigit() and len(value[1:3]) == 2):
                bad = True
            else:
                off = (int(value[1:3]) * 60 + int(value[4:6])) * (-1 if value[0] == "-" else 1)
                value = value[6:]
        if range_err:
            return None, _parse_error(orig, std, value, ": " + range_err + " out of range")
        if bad:
            return None, _parse_error(orig, std, hold)
    if value:
        return None, _parse_error(orig, "", value, ": extra text: " + _time_quote(value))
    if day < 1 or day > _days_in(month, year):
        return None, _parse_error(orig, "", value, ": day out of range")
    return _mk_time(year, month, day, hour, minute, sec, frac, off), None


def go_unmarshal_time(s: str):
    """parseStrictRFC3339 -> (datetime, None) or (None, Go error string)."""
    t = _fast_rfc3339(s)
    if t is not None:
        return t, None
    t, err = _go_parse_rfc3339(s)
    if err:
        return None, err
    # Parse accepted what RFC 3339 does not (go.dev/issue/54580).
    if len(s) > 12 and s[12] == ":":
        return None, _parse_error(s, "15", s[11:12])
    if len(s) > 19 and s[19] == ",":
        return None, _parse_error(s, ".", ",")
    if not s.endswith("Z") and len(s) >= 6:
        if int(s[-5:-3]) >= 24:
            return None, _parse_error(s, "Z07:00", s[-6:], ": timezone hour out of range")
        if int(s[-2:]) >= 60:
            return None, _parse_error(s, "Z07:00", s[-6:], ": timezone minute out of range")
    return None, _parse_error(s, _RFC3339, s)


# ---------------------------------------------------------------------------
# JSON decoding like Go's encoding/json into GoatCounter's structs
# ---------------------------------------------------------------------------

class Obj(list):
    """A JSON object as the ordered list of its (key, value) pairs."""


class IntLit(int):
    lit: str


class FloatLit(float):
    lit: str


def _int_lit(s):
    v = IntLit(int(s))
    v.lit = s
    return v


def _float_lit(s):
    v = FloatLit(float(s))
    v.lit = s
    return v


class _BadConstant(ValueError):
    pass


def _bad_constant(name):
    raise _BadConstant(name)


def _go_quote_char(c: str) -> str:
    if c == "'":
        return "'\\''"
    if c == '"':
        return "'\"'"
    q = go_quote(c)
    return "'" + q[1:-1] + "'"


def _innermost_container(doc: str, pos: int) -> str:
    stack = []
    in_str = esc = False
    for ch in doc[:pos]:
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch in "[{":
            stack.append(ch)
        elif ch in "]}" and stack:
            stack.pop()
    return stack[-1] if stack else ""


def _go_syntax_error(doc: str, e: json.JSONDecodeError) -> str:
    pos = e.pos
    rest = doc[pos:]
    if not rest.strip(" \t\r\n") or e.msg.startswith("Unterminated string"):
        return "unexpected EOF"
    c = doc[pos]
    if e.msg.startswith("Expecting value") and any(
            lit.startswith(rest.rstrip(_WS)) for lit in ("true", "false", "null")):
        return "unexpected EOF"
    if e.msg.startswith("Expecting property name"):
        return f"invalid character {_go_quote_char(c)} looking for beginning of object key string"
    if e.msg.startswith("Expecting ':'"):
        return f"invalid character {_go_quote_char(c)} after object key"
    if e.msg.startswith("Expecting ','"):
        if _innermost_container(doc, pos) == "[":
            return f"invalid character {_go_quote_char(c)} after array element"
        return f"invalid character {_go_quote_char(c)} after object key:value pair"
    if e.msg.startswith("Invalid control character"):
        return f"invalid character {_go_quote_char(c)} in string literal"
    if e.msg.startswith("Invalid \\uXXXX"):
        return "invalid character in \\u hexadecimal character escape"
    if e.msg.startswith("Invalid \\escape"):
        c2 = doc[pos + 1] if c == "\\" and pos + 1 < len(doc) else c
        return f"invalid character {_go_quote_char(c2)} in string escape code"
    return f"invalid character {_go_quote_char(c)} looking for beginning of value"


def _sanitize(v):
    if isinstance(v, str):
        return _SURROGATES.sub("\ufffd", v)
    if isinstance(v, Obj):
        return Obj((_sanitize(k), _sanitize(x)) for k, x in v)
    if isinstance(v, list):
        return [_sanitize(x) for x in v]
    return v


_WS = " \t\r\n"


def parse_json_first_value(text: str):
    """json.Decoder.Decode: the first value only; trailing data is ignored.

    Returns (found, value, error): found is False for an empty body (io.EOF)."""
    start = len(text) - len(text.lstrip(_WS))
    if start >= len(text):
        return False, None, None
    dec = json.JSONDecoder(object_pairs_hook=Obj, parse_int=_int_lit, parse_float=_float_lit,
                           parse_constant=_bad_constant)
    try:
        val, _end = dec.raw_decode(text, start)
    except _BadConstant as bc:
        return True, None, f"invalid character {_go_quote_char(str(bc)[:1])} looking for beginning of value"
    except json.JSONDecodeError as e:
        return True, None, _go_syntax_error(text, e)
    except RecursionError:
        return True, None, "exceeded max depth"
    return True, _sanitize(val), None


def to_plain(v):
    """Obj/IntLit/FloatLit -> dict/int/float (last duplicate key wins)."""
    if isinstance(v, Obj):
        return {k: to_plain(x) for k, x in v}
    if isinstance(v, list):
        return [to_plain(x) for x in v]
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, IntLit):
        return int(v)
    if isinstance(v, FloatLit):
        return float(v)
    return v


def json_kind(v) -> str:
    if isinstance(v, Obj):
        return "object"
    if isinstance(v, list):
        return "array"
    if isinstance(v, str):
        return "string"
    if isinstance(v, bool):
        return "bool"
    return "number"


class DecodeAbort(Exception):
    """An Unmarshaler's error: ends decoding at once and wins over saved errors."""


# Struct definitions: field name -> type spec. Type specs:
#   "string" | "bool" | "int" | "float64" | "time" | "raw" | "rawobj"
#   ("slice", elem_spec, go_type_name) | ("struct", struct_name)
# Each struct also carries its Go package for "Go value of type pkg.Name".
STRUCTS = {
    "APICountRequest": ("handlers", {
        "no_sessions": "bool",
        "filter": ("slice", "string", "[]string"),
        "hits": ("slice", ("struct", "APICountRequestHit"), "[]handlers.APICountRequestHit"),
    }),
    "APICountRequestHit": ("handlers", {
        "path": "string", "title": "string", "event": "zbool", "ref": "string",
        "size": "floats", "query": "string", "bot": "int",
        "user_agent": "string", "location": "string", "ip": "string", "created_at": "time",
        "session": "string",
    }),
    "apiExportRequest": ("handlers", {"start_from_hit_id": "int"}),
    "apiSiteUpdateRequest": ("handlers", {
        "settings": "rawobj", "cname": "string", "link_domain": "string",
    }),
    "Site": ("goatcounter", {
        "id": "raw", "parent": "raw", "code": "string", "cname": "string", "link_domain": "string",
        "cname_setup_at": "raw", "plan": "raw", "plan_pending": "raw", "stripe": "raw",
        "plan_cancel_at": "raw", "billing_amount": "raw", "extra_pageviews": "raw",
        "billing_anchor": "raw", "settings": "rawobj", "user_defaults": "rawobj",
        "received_data": "raw", "state": "raw", "created_at": "raw", "updated_at": "raw",
        "first_hit_at": "raw",
    }),
}

_GO_TYPE = {"string": "string", "bool": "bool", "zbool": "zbool.Bool", "int": "int",
            "float64": "float64", "time": "time.Time"}
_INT64_MIN, _INT64_MAX = -(2 ** 63), 2 ** 63 - 1


class GoDecoder:
    def __init__(self, disallow_unknown: bool):
        self.disallow_unknown = disallow_unknown
        self.saved: str | None = None

    def _save(self, msg: str):
        if self.saved is None:
            self.saved = msg

    def _type_error(self, value_desc, struct, path, go_type):
        if struct or path:
            self._save(f"json: cannot unmarshal {value_desc} into Go struct field "
                       f"{struct}.{'.'.join(path)} of type {go_type}")
        else:
            self._save(f"json: cannot unmarshal {value_desc} into Go value of type {go_type}")

    def decode_top(self, v, struct_name):
        pkg = STRUCTS[struct_name][0]
        if v is None:
            return {}
        if not isinstance(v, Obj):
            self._type_error(json_kind(v), "", [], f"{pkg}.{struct_name}")
            return {}
        return self._struct(v, struct_name, [])

    def _struct(self, obj: Obj, name: str, path: list):
        fields = STRUCTS[name][1]
        lower = {k.lower(): k for k in fields}
        out = {}
        for key, val in obj:
            f = key if key in fields else lower.get(key.lower())
            if f is None:
                if self.disallow_unknown:
                    self._save(f'json: unknown field "{key}"')
                continue
            if val is None:
                continue  # null leaves the field as it was
            dv = self._value(val, fields[f], name, path + [f])
            if dv is not _SKIP:
                out[f] = dv
        return out

    def _value(self, v, spec, struct, path):
        if spec == "floats":
            # goatcounter.Floats reads a string of comma-separated numbers ("1440,900,2", as
            # count.js sends it); a JSON array is refused (seen on real 2.4.1 and 2.7.0).
            if v is None:
                return None
            if not isinstance(v, str):
                self._type_error(json_kind(v), struct, path, "goatcounter.Floats")
                return _SKIP
            try:
                return [float(x) for x in v.split(",") if x.strip() != ""]
            except ValueError:
                self._type_error("string", struct, path, "goatcounter.Floats")
                return _SKIP
        if isinstance(spec, tuple):
            if spec[0] == "slice":
                if not isinstance(v, list) or isinstance(v, Obj):
                    self._type_error(json_kind(v), struct, path, spec[2])
                    return _SKIP
                out = []
                for e in v:
                    if e is None:
                        out.append(None)
                        continue
                    dv = self._value(e, spec[1], struct, path)
                    out.append(None if dv is _SKIP else dv)
                return out
            if spec[0] == "struct":
                if not isinstance(v, Obj):
                    self._type_error(json_kind(v), struct, path, f"{STRUCTS[spec[1]][0]}.{spec[1]}")
                    return _SKIP
                return self._struct(v, spec[1], path)
        if spec == "raw":
            return to_plain(v)
        if spec == "rawobj":
            if not isinstance(v, Obj):
                self._type_error(json_kind(v), struct, path, "map[string]any")
                return _SKIP
            return to_plain(v)
        if spec == "string":
            if isinstance(v, str):
                return v
        elif spec in ("bool", "zbool"):
            if isinstance(v, bool):
                return v
        elif spec == "int":
            if isinstance(v, (IntLit, FloatLit)) and not isinstance(v, bool):
                if isinstance(v, IntLit) and _INT64_MIN <= v <= _INT64_MAX:
                    return int(v)
                self._type_error("number " + v.lit, struct, path, "int")
                return _SKIP
        elif spec == "float64":
            if isinstance(v, (IntLit, FloatLit)) and not isinstance(v, bool):
                f = float(v)
                if math.isinf(f):
                    self._type_error("number " + v.lit, struct, path, "float64")
                    return _SKIP
                return f
        elif spec == "time":
            if not isinstance(v, str):
                raise DecodeAbort("Time.UnmarshalJSON: input is not a JSON string")
            t, err = go_unmarshal_time(v)
            if err:
                raise DecodeAbort(err)
            return t
        self._type_error(json_kind(v), struct, path, _GO_TYPE.get(spec, spec))
        return _SKIP


_SKIP = object()


# ---------------------------------------------------------------------------
# Configuration and state
# ---------------------------------------------------------------------------

def strip_port(host: str) -> str:
    host = host.strip()
    if host.startswith("["):
        end = host.find("]")
        return host[1:end].lower() if end > 0 else host.lower()
    if host.count(":") == 1:
        return host.split(":", 1)[0].lower()
    return host.lower()


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class Site:
    def __init__(self, site_id: int, cname: str, aliases=(), parent=None):
        self.id = site_id
        self.cname: str | None = cname
        self.aliases = [a for a in aliases if a != cname]
        self.parent = parent
        self.code = (cname or f"site{site_id}").split(".")[0] or f"site{site_id}"
        self.link_domain = ""
        self.settings = default_site_settings()
        self.user_defaults = default_user_settings()
        self.received_data = False
        self.created_at = now_utc().replace(microsecond=0)
        self.updated_at: dt.datetime | None = None
        self.first_hit_at = self.created_at

    def hosts(self):
        return ([self.cname] if self.cname else []) + list(self.aliases)

    def ignore_ips(self):
        v = self.settings.get("ignore_ips") or []
        return [x for x in v if isinstance(x, str)]

    def to_json(self, style):
        d = {
            "id": self.id,
            "parent": self.parent,
            "code": self.code,
            "cname": self.cname,
            "link_domain": self.link_domain,
            "cname_setup_at": go_time_json(self.created_at) if self.cname else None,
            "plan": "personal" if self.parent is None else "child",
            "plan_pending": None,
            "stripe": None,
            "plan_cancel_at": None,
            "billing_amount": None,
            "extra_pageviews": None,
            "billing_anchor": None,
            "settings": self.settings,
            "user_defaults": self.user_defaults,
            "received_data": self.received_data,
            "state": "a",
            "created_at": go_time_json(self.created_at),
            "updated_at": go_time_json(self.updated_at),
            "first_hit_at": go_time_json(self.first_hit_at),
        }
        return d


def default_site_settings():
    return {
        "public": False,
        "allow_counter": False,
        "allow_bosmang": False,
        "data_retention": 0,
        "campaigns": ["utm_campaign", "utm_source", "ref"],
        "ignore_ips": [],
        # 190 is the real default; 256 ("Individual pageviews") is added so that v2.7-style
        # exports have rows, as they do on a real 2.7.0 only with that bit (PATCH to clear it).
        "collect": 190 | COLLECT_INDIVIDUAL,
        "collect_regions": ["US", "RU", "CH"],
    }


def default_user_settings():
    return {
        "twenty_four_hours": False,
        "sunday_starts_week": False,
        "language": "en-GB",
        "date_format": "2 Jan '06",
        "number_format": 8239,
        "timezone": "Etc/UTC",
        "widgets": [],
        "views": [{"name": "default", "period": "week"}],
    }


class Token:
    def __init__(self, key: str, perms: int, sites=None, name=None):
        self.key = key
        self.perms = perms
        self.sites = sites  # None = all sites; else list of hosts or ids (resolved lazily)
        self.name = name or key

    def allows_site(self, state, site: Site) -> bool:
        if self.sites is None:
            return True
        for s in self.sites:
            if isinstance(s, int) or (isinstance(s, str) and s.isdigit()):
                if int(s) == site.id:
                    return True
            elif state.site_by_host(strip_port(s)) is site:
                return True
        return False

    def site_ids(self, state):
        if self.sites is None:
            return [-1]
        ids = []
        for s in self.sites:
            if isinstance(s, int) or (isinstance(s, str) and s.isdigit()):
                ids.append(int(s))
            else:
                site = state.site_by_host(strip_port(s))
                if site:
                    ids.append(site.id)
        return ids

    def to_config(self):
        return {"key": self.key, "permissions": self.perms, "sites": self.sites, "name": self.name}


def parse_perms(s) -> int:
    if isinstance(s, int):
        return s
    s = str(s).strip()
    if s.isdigit():
        return int(s)
    perms = 0
    for p in re.split(r"[,+|]", s):
        p = p.strip().lower()
        if not p:
            continue
        if p not in PERM_ALIASES:
            raise ValueError(f"unknown permission {p!r}")
        perms |= PERM_ALIASES[p]
    return perms


def parse_token_spec(spec: str) -> Token:
    parts = spec.split(":", 2)
    if len(parts) < 2 or not parts[0]:
        raise ValueError(f"--token wants KEY:PERMS[:SITEHOSTS], got {spec!r}")
    sites = None
    if len(parts) == 3 and parts[2].strip():
        sites = [x.strip() for x in parts[2].split(",") if x.strip()]
    return Token(parts[0], parse_perms(parts[1]), sites)


def parse_site_spec(spec: str):
    spec = spec.strip()
    if spec.startswith("["):
        end = spec.find("]")
        host, rest = spec[1:end], spec[end + 1:]
        sid = int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None
        return host.lower(), sid
    if spec.count(":") == 1:
        h, i = spec.split(":")
        if i.isdigit() and h:
            return h.lower(), int(i)
    return spec.lower(), None


def parse_limit_value(v: str):
    v = str(v).strip().lower()
    if v == "none":
        return None
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)\s*", v)
    if not m or int(m.group(1)) < 1 or float(m.group(2)) <= 0:
        raise ValueError(f"rate limit wants N/SECONDS or none, got {v!r}")
    secs = float(m.group(2))
    return int(m.group(1)), (int(secs) if secs == int(secs) else secs)


_LIMIT_NAMES = {"api-count": "api-count", "apicount": "api-count", "api": "api",
                "export": "export", "count": None, "login": None}


def parse_ratelimit_spec(spec: str) -> dict:
    out = {}
    for item in spec.split(","):
        item = item.strip()
        if not item:
            continue
        name, _, val = item.partition(":")
        key = name.strip().lower()
        if key not in _LIMIT_NAMES:
            raise ValueError(f"unknown rate limit name {name!r}")
        if _LIMIT_NAMES[key] is None:
            continue  # count/login: not part of the API; accepted and ignored
        out[_LIMIT_NAMES[key]] = parse_limit_value(val)
    return out


class FixedWindow:
    """go-limiter's memorystore bucket (GoatCounter v2.7 / head).

    The first request starts the clock; windows of `interval` seconds follow each
    other from then on, and all tokens come back at each window boundary."""

    def __init__(self, tokens, interval, now):
        self.max = tokens
        self.interval = interval
        self.start = now
        self.last_tick = 0
        self.avail = tokens

    def take(self, now):
        tick = int((now - self.start) // self.interval)
        reset_at = self.start + (tick + 1) * self.interval
        if self.last_tick < tick:
            self.avail = self.max
            self.last_tick = tick
        ok = False
        remaining = 0
        if self.avail > 0:
            self.avail -= 1
            ok = True
            remaining = self.avail
        return ok, remaining, reset_at - now


class RateLimiter:
    def __init__(self):
        self.lock = threading.Lock()
        self.windows = {}  # (limiter, ip) -> FixedWindow
        self.logs = {}  # ip -> [whole seconds], v2.4.1

    def reset(self):
        with self.lock:
            self.windows.clear()
            self.logs.clear()

    def check_v27(self, name, ip, tokens, interval):
        now = time.monotonic()
        with self.lock:
            key = (name, ip, tokens, interval)
            w = self.windows.get(key)
            if w is None:
                w = self.windows[key] = FixedWindow(tokens, interval, now)
            return w.take(now)

    def check_v241(self, ip, n, period):
        """zhttp's RatelimitMemory.Grant, including its off-by-one."""
        access = int(math.floor(time.monotonic()))
        with self.lock:
            log = self.logs.setdefault(ip, [])
            i = 0
            for i in range(len(log)):
                if log[i] > access - period:
                    break
            if i > 0:
                del log[: i + 1]
            length = len(log)
            grant = n > length
            remaining = 0
            if grant:
                log.append(access)
                remaining = n - length
            return grant, remaining


class Export:
    def __init__(self, export_id, site, start_from, created_at):
        self.id = export_id
        self.site = site
        self.start_from = start_from
        self.created_at = created_at
        self.finished_at = None
        self.last_hit_id = None
        self.num_rows = None
        self.size = None
        self.hash = None
        self.error = None
        self.data = None
        self.deleted = False
        self.path = os.path.join(
            tempfile.gettempdir(),
            f"goatcounter-export-{site.code}-{created_at.strftime('%Y%m%dT%H%M%SZ')}-{start_from}.csv.gz")

    def to_json(self):
        return {
            "id": self.id,
            "site_id": self.site.id,
            "start_from_hit_id": self.start_from,
            "last_hit_id": self.last_hit_id,
            "path": self.path,
            "created_at": go_time_json(self.created_at),
            "finished_at": go_time_json(self.finished_at),
            "num_rows": self.num_rows,
            "size": self.size,
            "hash": self.hash,
            "error": self.error,
        }


class State:
    def __init__(self, args):
        self.lock = threading.RLock()
        self.style = args.style
        self.verbose = args.verbose
        self.export_delay = args.export_delay
        self.single_site_fallback = args.single_site_fallback
        self.record_file = args.record_file
        self.record_lock = threading.Lock()
        self.limits = dict(DEFAULT_LIMITS)
        for spec in args.ratelimit or []:
            self.limits.update(parse_ratelimit_spec(spec))
        self.limiter = RateLimiter()
        self.sites: list[Site] = []
        if args.site:
            self.set_sites(args.site)
        else:
            self.sites = [Site(1, "stats.example.com", ["127.0.0.1", "localhost", "::1"])]
        if args.token:
            self.tokens = [parse_token_spec(t) for t in args.token]
        else:
            self.tokens = default_tokens()
        for spec in args.ignore_ip or []:
            host, _, ip = spec.partition("=")
            site = self.site_by_host(strip_port(host)) if host else None
            if site is None or not ip:
                raise ValueError(f"--ignore-ip wants SITEHOST=IP with a known site, got {spec!r}")
            site.settings["ignore_ips"] = site.ignore_ips() + [ip.strip()]
        self.reset_runtime()

    # -- runtime ------------------------------------------------------------
    def reset_runtime(self):
        with self.lock:
            self.hits = []
            self.filtered = []
            self.bots = []
            self.dropped = []
            self.rejected = []
            self.next_hit_id = 1
            self.count_seq = 0
            self.sessions = {}
            self.session_paths = {}
            self.next_session = 1
            self.faults = []
            self.exports = {}
            self.next_export_id = 1
            self.stats = new_stats()
        self.limiter.reset()

    # -- sites ----------------------------------------------------------------
    def set_sites(self, specs):
        sites: dict[int, Site] = {}
        order = []
        next_id = 1
        for spec in specs:
            if isinstance(spec, dict):
                host = str(spec.get("host") or spec.get("cname") or "").lower()
                sid = spec.get("id")
                aliases = [str(a).lower() for a in spec.get("aliases") or []]
                ignore = spec.get("ignore_ips")
            else:
                host, sid = parse_site_spec(spec)
                aliases, ignore = [], None
            if not host:
                raise ValueError(f"site without a host: {spec!r}")
            if sid is None:
                sid = next_id
                while sid in sites:
                    sid += 1
            sid = int(sid)
            if sid in sites:
                sites[sid].aliases += [host] + aliases
            else:
                sites[sid] = Site(sid, host, aliases)
                order.append(sid)
            if ignore is not None:
                sites[sid].settings["ignore_ips"] = list(ignore)
            next_id = max(next_id, sid + 1)
        root = min(order)
        for sid in order:
            if sid != root:
                sites[sid].parent = root
        self.sites = [sites[i] for i in order]

    def site_by_host(self, host: str) -> Site | None:
        for s in self.sites:
            if host in s.hosts():
                return s
        return None

    def site_by_id(self, sid: int) -> Site | None:
        for s in self.sites:
            if s.id == sid:
                return s
        return None

    def token_by_key(self, key: str) -> Token | None:
        for t in self.tokens:
            if t.key == key:
                return t
        return None

    def limits_json(self):
        return {k: (None if v is None else f"{v[0]}/{v[1]}") for k, v in self.limits.items()}

    def config_json(self):
        return {
            "style": self.style,
            "ratelimits": self.limits_json(),
            "sites": [{"id": s.id, "host": s.cname, "aliases": s.aliases, "parent": s.parent,
                       "ignore_ips": s.ignore_ips()} for s in self.sites],
            "tokens": [t.to_config() for t in self.tokens],
            "export_delay": self.export_delay,
            "single_site_fallback": self.single_site_fallback,
        }

    def record(self, kind, entry):
        if not self.record_file:
            return
        line = json.dumps(dict(entry, kind=kind), ensure_ascii=False) + "\n"
        with self.record_lock:
            with open(self.record_file, "a", encoding="utf-8") as fp:
                fp.write(line)


def default_tokens():
    return [
        Token("test-key", PERM_COUNT | PERM_EXPORT | PERM_SITE_READ | PERM_STATS),
        Token("admin-key", PERM_ALL),
        Token("nocount-key", PERM_SITE_READ | PERM_STATS),
    ]


def new_stats():
    return {
        "requests": {},
        "responses": {},
        "rate_limited": 0,
        "count_requests": 0,
        "hits_received": 0,
        "bytes_received": 0,
        "bytes_sent": 0,
        "connections": 0,
        "faults_applied": 0,
        "dropped_connections": 0,
        # Monotonic seconds of the first and last count request, so a pacing test can time the
        # uploads themselves and not the client's start and exit (slow under a sanitizer).
        "first_count_at": None,
        "last_count_at": None,
    }


# ---------------------------------------------------------------------------
# Hit processing helpers (what GoatCounter does after the 202)
# ---------------------------------------------------------------------------

_DROP_QUERY = {"fbclid", "gclid", "msclkid", "ref", "mc_cid", "mc_eid", "_ga", "_gl"}


def clean_path(path: str, event: bool) -> str:
    path = path.strip()
    if event:
        return path
    if "?" not in path:
        return path
    base, _, query = path.partition("?")
    pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
    pairs = [(k, v) for k, v in pairs if k not in _DROP_QUERY and not k.startswith("utm_")]
    pairs.sort(key=lambda kv: kv[0])
    q = urllib.parse.urlencode(pairs)
    return base + ("?" + q if q else "")


# GoatCounter's referrer groups (ref.go): hosts filed under a generated name (scheme g).
REF_GROUPS = {
    "news.ycombinator.com": "Hacker News", "hn.algolia.com": "Hacker News", "mail.google.com": "Email",
    "feedly.com": "RSS", "org.telegram.messenger": "Telegram Messenger", "com.Slack": "Slack Chat",
}


def ref_info(ref: str, query: str, event: bool = False):
    """(ref, scheme) as a real server stores them (the fixture Tests/Fixtures/goatcounter-export):
    a campaign from the query wins, except for events; http(s) referrers keep host and path (h);
    known sites get a name (g); other schemes keep what follows `scheme://` (o)."""
    q = query[1:] if query.startswith("?") else query
    if q and not event:
        params = dict(urllib.parse.parse_qsl(q, keep_blank_values=True))
        for k in ("utm_source", "ref", "src", "source"):
            if params.get(k):
                return params[k], "c"
    if not ref:
        return "", ""
    u = urllib.parse.urlsplit(ref if "://" in ref else "//" + ref)
    host = u.netloc
    if host.startswith("www.google."):
        return "Google", "g"
    if host in REF_GROUPS:
        return REF_GROUPS[host], "g"
    if host == "t.co" and len(u.path) > 1:
        return "twitter.com/search?q=" + urllib.parse.quote("https://t.co" + u.path, safe=""), "h"
    stored = (host + u.path).rstrip("/") or host
    if u.query:
        stored += "?" + u.query
    return stored, ("h" if u.scheme in ("http", "https", "") else "o")


def ref_host(ref: str) -> str:
    try:
        u = urllib.parse.urlsplit(ref if "://" in ref else "//" + ref)
        return (u.hostname or "").lower()
    except ValueError:
        return ""


def parse_ua(ua: str):
    browser = ""
    for name, pat in (("Edge", r"Edg(?:e|A|iOS)?/(\d+)"), ("Opera", r"OPR/(\d+)"),
                      ("Firefox", r"Firefox/(\d+)"), ("Chrome", r"Chrome/(\d+)"),
                      ("Safari", r"Version/(\d+)[.\d]*.*Safari/")):
        m = re.search(pat, ua)
        if m:
            browser = f"{name} {m.group(1)}"
            break
    system = ""
    m = re.search(r"Windows NT (\d+)", ua)
    if m:
        system = f"Windows {m.group(1)}"
    elif (m := re.search(r"Android (\d+)", ua)):
        system = f"Android {m.group(1)}"
    elif (m := re.search(r"(?:iPhone|CPU) OS (\d+)", ua)):
        system = f"iOS {m.group(1)}"
    elif (m := re.search(r"Mac OS X (\d+)[_.](\d+)", ua)):
        system = f"macOS {m.group(1)}.{m.group(2)}"
    elif "Linux" in ua:
        system = "Linux"
    return browser, system


# ---------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------

class Resp:
    def __init__(self, status, body=b"", content_type=None, headers=None, action="send"):
        self.status = status
        self.body = body.encode("utf-8") if isinstance(body, str) else body
        self.headers = list(headers or [])
        if content_type:
            self.headers.insert(0, ("Content-Type", content_type))
        self.action = action  # send | drop | reset


class Ctx:
    """One request, as the API handlers see it."""

    def __init__(self, method, path, query, headers, body, client_ip, raw_host):
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.client_ip = client_ip
        self.raw_host = raw_host
        self.site: Site | None = None
        self.token: Token | None = None
        self.rl_headers = []
        self.route = None
        self.params = {}
        self.count_seq = None

    @property
    def req_ct(self):
        return self.headers.get("Content-Type") or ""


ROUTES = [
    # (method, pattern, handler method on Api)
    ("GET", "/api/v0/me", "h_me"),
    ("POST", "/api/v0/export", "h_export_create"),
    ("GET", "/api/v0/export/{id}", "h_export_get"),
    ("GET", "/api/v0/export/{id}/download", "h_export_download"),
    ("POST", "/api/v0/count", "h_count"),
    ("GET", "/api/v0/sites", "h_sites_list"),
    ("PUT", "/api/v0/sites", "h_site_create"),
    ("GET", "/api/v0/sites/{id}", "h_site_get"),
    ("POST", "/api/v0/sites/{id}", "h_site_update"),
    ("PATCH", "/api/v0/sites/{id}", "h_site_update"),
]


def _route_regex(pattern):
    return re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", re.escape(pattern).replace(r"\{", "{").replace(r"\}", "}")) + "$")


ROUTE_RES = [(m, p, h, _route_regex(p)) for m, p, h in ROUTES]


class Api:
    """The GoatCounter API proper; pure functions of (state, ctx) -> Resp."""

    def __init__(self, state: State):
        self.state = state

    # -- response helpers -----------------------------------------------------
    @property
    def style(self):
        return self.state.style

    def zjson(self, ctx, status, obj, raw=False) -> Resp:
        """zhttp.JSON after w.WriteHeader(status)."""
        if raw:
            body = obj
        elif self.style == STYLE_V241:
            body = go_json_indent(obj)
        else:
            body = go_json(obj)
        ct = CT_TEXT  # both releases; only the development head sends JSON
        return Resp(status, body, ct, ctx.rl_headers if ctx else None)

    def errpage(self, ctx, status, msg=None, errors=None, extra_headers=None) -> Resp:
        """zhttp.ErrPage: JSON only when the request's Content-Type is JSON."""
        headers = list(ctx.rl_headers) + list(extra_headers or [])
        req_ct = ctx.req_ct.lower()
        if errors is not None:
            text = "\n".join(f"{k}: {', '.join(v)}." for k, v in sorted(errors.items()))
        else:
            text = msg or ""
        if req_ct.startswith("application/json"):
            obj = {"errors": errors} if errors is not None else {"error": msg}
            ct = CT_TEXT  # both releases; only the development head sends JSON
            return Resp(status, go_json(obj), ct, headers)
        if req_ct.startswith("text/plain"):
            return Resp(status, f"Error {status}: {text}", CT_TEXT, headers)
        page = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                f"<title>Error {status}</title></head>\n<body><h1>Error {status}</h1>\n"
                f"<p>{html.escape(text)}</p></body></html>\n")
        return Resp(status, page, CT_HTML, headers)

    # -- auth -------------------------------------------------------------------
    def auth(self, ctx, require: int) -> Resp | None:
        st = self.state
        www = [("Www-Authenticate", "Basic realm=GoatCounter")]
        auth = ctx.headers.get("Authorization") or ""
        if auth == "":
            return self.errpage(ctx, 401, MSG_NO_AUTH, extra_headers=www)
        fields = auth.split()
        if len(fields) != 2:
            return self.errpage(ctx, 401, MSG_BAD_AUTH, extra_headers=www)
        if fields[0] == "Bearer":
            key = fields[1]
        elif fields[0] == "Basic":
            try:
                raw = base64.b64decode(fields[1], validate=True).decode("utf-8", "replace")
            except (binascii.Error, ValueError):
                return self.errpage(ctx, 401, MSG_BAD_AUTH, extra_headers=www)
            _, sep, key = raw.partition(":")
            if not sep or key == "":
                return self.errpage(ctx, 401, MSG_BAD_AUTH, extra_headers=www)
        else:
            return self.errpage(ctx, 401, MSG_BAD_AUTH, extra_headers=www)
        with st.lock:
            token = st.token_by_key(key)
            if token is None:
                return self.errpage(ctx, 401, MSG_UNKNOWN_TOKEN, extra_headers=www)
            if not token.allows_site(st, ctx.site):
                if self.style == STYLE_V241:  # it looks keys up within the site
                    return self.errpage(ctx, 401, MSG_UNKNOWN_TOKEN, extra_headers=www)
                return self.errpage(ctx, 403, MSG_NO_SITE_ACCESS)
        ctx.token = token
        if require and not (token.perms & require):
            names = [n for f, n in PERM_NAMES if require & f]
            return self.errpage(ctx, 403, "requires '" + "', '".join(names) + "' permissions")
        return None

    # -- body decoding ----------------------------------------------------------
    def decode(self, ctx, struct_name):
        """zhttp's Decoder.Decode: -> (value, None) or (None, Resp)."""
        ct = ctx.req_ct.split(";", 1)[0]
        if ct != "application/json":
            return None, self.errpage(ctx, 415, "unsupported Content-Type")
        text = ctx.body.decode("utf-8", "replace")
        found, value, err = parse_json_first_value(text)
        if err:
            return None, self.errpage(ctx, 400, "invalid JSON: " + err)
        if not found:
            return {}, None
        d = GoDecoder(disallow_unknown=(self.style == STYLE_V27))
        try:
            out = d.decode_top(value, struct_name)
        except DecodeAbort as e:
            return None, self.errpage(ctx, 400, "invalid JSON: " + str(e))
        if d.saved:
            m = re.match(r'json: unknown field "(.*)"$', d.saved, re.S)
            if m:
                return None, self.errpage(ctx, 400, f"unknown parameter: {go_quote(m.group(1))}")
            return None, self.errpage(ctx, 400, "invalid JSON: " + d.saved)
        out["_raw"] = value
        return out, None

    # -- handlers ---------------------------------------------------------------
    def h_me(self, ctx):
        if (r := self.auth(ctx, 0)):
            return r
        st = self.state
        site = ctx.site
        root = site.parent or site.id
        token = {"name": ctx.token.name, "permissions": ctx.token.perms}
        if self.style == STYLE_V27:
            with st.lock:
                token["sites"] = ctx.token.site_ids(st)
        created = go_time_json(st.sites[0].created_at)
        user = {
            "id": 1,
            "site": root,
            "email": "test@example.com",
            "email_verified": True,
            "totp_enabled": False,
            "access": {"all": "a"},
            "login_at": created,
            "reset_at": None,
            "settings": default_user_settings(),
            "created_at": created,
            "updated_at": None,
        }
        return self.zjson(ctx, 200, {"user": user, "token": token})

    def h_count(self, ctx):
        if (r := self.auth(ctx, PERM_COUNT)):
            return r
        fault = None
        with self.state.lock:
            # The first pending fault for this site (a fault with "site": HOST applies only to
            # counts for that site; without it, to any).
            for i, f in enumerate(self.state.faults):
                if f.get("site") and self.state.site_by_host(strip_port(str(f["site"]))) is not ctx.site:
                    continue
                fault = f
                fault["times"] = fault.get("times", 1) - 1
                if fault["times"] <= 0:
                    self.state.faults.pop(i)
                self.state.stats["faults_applied"] += 1
                break
        if fault:
            return self.apply_fault(ctx, fault)
        return self.process_count(ctx)

    def apply_fault(self, ctx, fault):
        kind = fault.get("kind")
        after = bool(fault.get("after_record"))
        if kind == "slow":
            time.sleep(float(fault.get("seconds", 1)))
            return self.process_count(ctx)
        if kind == "body_limit":
            # A reverse proxy's client_max_body_size: nginx's own 413 page, nothing processed.
            if len(ctx.body or b"") > int(fault.get("bytes", 1024 * 1024)):
                return Resp(413, NGINX_413, "text/html", [])
            return self.process_count(ctx)
        if kind == "drop":
            if after:
                self.process_count(ctx)
            return Resp(0, action="reset" if fault.get("reset") else "drop")
        if kind == "status":
            status = int(fault.get("status", 500))
            if after:
                self.process_count(ctx)
            headers = list(ctx.rl_headers) + [(str(k), str(v)) for k, v in (fault.get("headers") or {}).items()]
            if "body" in fault:
                return Resp(status, str(fault["body"]), fault.get("content_type") or CT_TEXT, headers)
            default = MSG_TIMEOUT if status == 504 else (HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "error")
            msg = fault.get("error", default)
            ct = CT_TEXT  # both releases; only the development head sends JSON
            return Resp(status, go_json({"error": msg}), fault.get("content_type") or ct, headers)
        return self.errpage(ctx, 500, f"test server: unknown fault kind {kind!r}")

    def process_count(self, ctx):
        st = self.state
        args, r = self.decode(ctx, "APICountRequest")
        if r:
            return r
        hits = args.get("hits") or []
        with st.lock:
            st.stats["hits_received"] += len(hits)
        if len(hits) == 0:
            return self.zjson(ctx, 400, {"error": MSG_NO_HITS})
        if len(hits) > 500:
            return self.zjson(ctx, 400, {"error": MSG_TOO_MANY})
        flt = args.get("filter")
        if flt is None:
            flt = ["ip"]
        filter_ip = "ip" in flt
        rest = [f for f in flt if f != "ip"]
        if rest:
            # GoatCounter answers this one with status 200 (no WriteHeader).
            return self.zjson(ctx, 200, {"error": "unknown value in Filter: [" + " ".join(
                "" if f is None else str(f) for f in rest) + "]"})

        raw_hits = {}
        raw_top = args["_raw"]
        if isinstance(raw_top, Obj):
            for k, v in raw_top:
                if k.lower() == "hits" and isinstance(v, list):
                    raw_hits = {i: to_plain(h) for i, h in enumerate(v)}
        no_sessions = bool(args.get("no_sessions"))
        errs = {}
        filtered = []
        now = now_utc()
        site = ctx.site
        with st.lock:
            ignore = set(site.ignore_ips())
            for i, hit in enumerate(hits):
                hit = hit or {}
                raw = raw_hits.get(i) if isinstance(raw_hits.get(i), dict) else {}
                entry = dict(raw)
                entry.update({"site": site.cname, "site_id": site.id, "request": ctx.count_seq,
                              "index": i, "received_at": go_time_json(now)})
                ip = hit.get("ip", "")
                if filter_ip and ip and ip in ignore:
                    filtered.append(i)
                    st.filtered.append(entry)
                    st.record("filtered", entry)
                    continue
                ua = hit.get("user_agent", "")
                session = hit.get("session", "")
                if not session and not (ua and ip) and not no_sessions:
                    errs[i] = MSG_SESSION
                    st.rejected.append(dict(entry, error=MSG_SESSION))
                    continue
                verrs = self.validate_hit(hit, now)
                if verrs:
                    lines = [f"{k}: {', '.join(v)}." for k, v in sorted(verrs.items())]
                    msg = "".join(line + "\n" for line in lines) if self.style == STYLE_V241 else "\n".join(lines)
                    errs[i] = msg
                    st.rejected.append(dict(entry, error=msg))
                    continue
                self.store_hit(ctx, site, hit, entry, now)
        extra = []
        if filtered:
            extra.append(("X-Goatcounter-Filter", ", ".join(str(i) for i in filtered)))
        if errs:
            r = self.zjson(ctx, 400, {"errors": go_sorted_map(errs)})
            r.headers += extra
            return r
        r = self.zjson(ctx, 202, RESP_OK, raw=True)
        r.headers += extra
        return r

    def validate_hit(self, hit, now):
        v = {}

        def add(k, m):
            v.setdefault(k, []).append(m)

        path = hit.get("path", "")
        if path == "":
            add("path", "must be set")
        for key, val, lo, hi in (("path", path, 1, 2048), ("title", hit.get("title", ""), 0, 1024),
                                 ("ref", hit.get("ref", ""), 0, 2048),
                                 ("user_agent_header", hit.get("user_agent", ""), 0, 512)):
            n = len(val)
            if lo > 0 and n < lo:
                add(key, f"must be longer than {lo} characters")
            if hi > 0 and n > hi:
                add(key, f"must be shorter than {hi} characters")
        ca = hit.get("created_at")
        if ca is not None and ca > now + dt.timedelta(seconds=5):
            add("created_at", "in the future")
        return v

    def store_hit(self, ctx, site, hit, entry, now):
        """Classify and store one accepted hit; the caller holds the state lock."""
        st = self.state
        ua = hit.get("user_agent", "")
        bot = hit.get("bot", 0) or 0
        detected = detect_bot(ua) if ua else 0
        if detected:
            bot = detected
        created = hit.get("created_at") or now
        entry["created_at_effective"] = go_time_json(created)
        if is_bot_value(bot):
            entry["detected_bot"] = bot
            st.bots.append(entry)
            st.record("bot", entry)
            return
        path = hit.get("path", "")
        event = bool(hit.get("event"))
        reason = None
        if not event and path.strip() == "/favicon.ico":
            reason = "favicon"
        else:
            rh = ref_host(hit.get("ref", ""))
            if rh == "localhost" or rh.endswith(".localhost"):
                reason = "referrer-spam"
        if reason:
            entry["reason"] = reason
            st.dropped.append(entry)
            st.record("dropped", entry)
            return
        # Sessions: same `session`, or same user agent + IP, within 8 h of server time.
        session = hit.get("session", "")
        ip = hit.get("ip", "")
        if session:
            skey = (site.id, "s", session)
        elif ua and ip:
            skey = (site.id, "u", ua, ip)
        else:
            skey = None
        first = True
        sid = ""
        mono = time.monotonic()
        if skey is not None:
            prev = st.sessions.get(skey)
            if prev and mono - prev[0] < SESSION_WINDOW:
                sid = prev[1]
            else:
                sid = "%032x" % st.next_session
                st.next_session += 1
            st.sessions[skey] = (mono, sid)
            # FirstVisit is per path: the visit's first hit on this path (as the real export shows).
            seen = st.session_paths.setdefault(sid, set())
            first = path not in seen
            seen.add(path)
        entry["hit_id"] = st.next_hit_id
        st.next_hit_id += 1
        entry["session_id"] = sid
        entry["first_visit"] = first
        ref, ref_scheme = ref_info(hit.get("ref", ""), hit.get("query", ""), event)
        browser, system = parse_ua(ua)
        size = hit.get("size") or []
        # As a real export writes them: 1/0 for booleans, the country of a region
        # (JP-13 is stored as JP), and from 2.7 on no user agent (browser and system stay).
        entry["_export"] = [
            clean_path(path, event), hit.get("title", ""), "1" if event else "0",
            "" if self.style == STYLE_V27 else ua,
            browser, system, sid, "0", ref, ref_scheme,
            ",".join(go_float(x) for x in size if x is not None),
            hit.get("location", "").split("-")[0], "1" if first else "0", go_time_rfc3339(created),
        ]
        st.hits.append(entry)
        site.received_data = True
        if created < site.first_hit_at:
            site.first_hit_at = created.astimezone(dt.timezone.utc)
        st.record("counted", {k: v for k, v in entry.items() if k != "_export"})

    # -- export -------------------------------------------------------------------
    def h_export_create(self, ctx):
        if (r := self.auth(ctx, PERM_EXPORT)):
            return r
        args, r = self.decode(ctx, "apiExportRequest")
        if r:
            return r
        st = self.state
        with st.lock:
            exp = Export(st.next_export_id, ctx.site, int(args.get("start_from_hit_id", 0)), now_utc())
            st.next_export_id += 1
            st.exports[exp.id] = exp
            delay = st.export_delay
        t = threading.Timer(max(0.0, delay), self.finish_export, args=(exp,))
        t.daemon = True
        t.start()
        return self.zjson(ctx, 202, exp.to_json())

    def finish_export(self, exp: Export):
        st = self.state
        with st.lock:
            rows = [h for h in st.hits if h["site_id"] == exp.site.id and h["hit_id"] > exp.start_from]
            rows.sort(key=lambda h: h["hit_id"])
            header = ["2Path", "Title", "Event", "UserAgent", "Browser", "System", "Session", "Bot",
                      "Referrer", "Referrer scheme", "Screen size", "Location", "FirstVisit", "Date"]
            buf = io.StringIO()
            if st.style == STYLE_V27 and not int(exp.site.settings.get("collect", 0)) & COLLECT_INDIVIDUAL:
                rows = []
            else:
                buf.write(go_csv_line(header))
            for h in rows:
                buf.write(go_csv_line(h["_export"]))
            data = gzip.compress(buf.getvalue().encode("utf-8"), mtime=0)
            exp.data = data
            exp.num_rows = len(rows)
            exp.last_hit_id = rows[-1]["hit_id"] if rows else exp.start_from
            size = "%.1f" % (len(data) / 1024 / 1024)
            exp.size = "0.1" if size == "0.0" else size
            exp.hash = "sha256-" + hashlib.sha256(data).hexdigest()
            exp.finished_at = now_utc()

    def _export_by_id(self, ctx):
        idstr = ctx.params["id"]
        if not re.fullmatch(r"[+-]?\d+", idstr):
            return None, self.errpage(ctx, 400, errors={"id": ["must be a whole number"]})
        with self.state.lock:
            exp = self.state.exports.get(int(idstr))
        if exp is None or exp.site.id != ctx.site.id:
            return None, self.errpage(ctx, 404, "Not Found")
        return exp, None

    def h_export_get(self, ctx):
        if (r := self.auth(ctx, PERM_EXPORT)):
            return r
        exp, r = self._export_by_id(ctx)
        if r:
            return r
        with self.state.lock:
            return self.zjson(ctx, 200, exp.to_json())

    def h_export_download(self, ctx):
        if (r := self.auth(ctx, PERM_EXPORT)):
            return r
        exp, r = self._export_by_id(ctx)
        if r:
            return r
        with self.state.lock:
            if exp.finished_at is None:
                return self.zjson(ctx, 202, {"error": MSG_EXPORT_RUNNING})
            if exp.deleted:
                return self.zjson(ctx, 400, {"error": MSG_EXPORT_GONE})
            data = exp.data
        name = os.path.basename(exp.path)
        headers = list(ctx.rl_headers) + [("Content-Disposition", f'attachment; filename="{name}"')]
        return Resp(200, data, "application/gzip", headers)

    # -- sites --------------------------------------------------------------------
    def _site_find(self, ctx):
        idstr = ctx.params["id"]
        if not re.fullmatch(r"[+-]?\d+", idstr):
            return None, self.errpage(ctx, 400, errors={"id": ["must be a whole number"]})
        with self.state.lock:
            site = self.state.site_by_id(int(idstr))
        me = ctx.site.id
        if site is None or not (site.id == me or site.parent == me):
            return None, self.errpage(ctx, 404, "Not Found")
        return site, None

    def h_sites_list(self, ctx):
        if (r := self.auth(ctx, PERM_SITE_READ)):
            return r
        with self.state.lock:
            sites = [ctx.site] + [s for s in self.state.sites if s.parent == ctx.site.id]
            return self.zjson(ctx, 200, {"sites": [s.to_json(self.style) for s in sites]})

    def h_site_get(self, ctx):
        if (r := self.auth(ctx, PERM_SITE_READ)):
            return r
        site, r = self._site_find(ctx)
        if r:
            return r
        with self.state.lock:
            return self.zjson(ctx, 200, site.to_json(self.style))

    def h_site_create(self, ctx):
        if (r := self.auth(ctx, PERM_SITE_CREATE)):
            return r
        args, r = self.decode(ctx, "Site")
        if r:
            return r
        st = self.state
        with st.lock:
            cname = (args.get("cname") or "").strip().lower()
            if not cname:
                return self.errpage(ctx, 400, errors={"cname": ["must be set"]})
            if st.site_by_host(cname):
                return self.errpage(ctx, 400, errors={"cname": ["already exists"]})
            sid = max(s.id for s in st.sites) + 1
            site = Site(sid, cname, parent=ctx.site.parent or ctx.site.id)
            if args.get("code"):
                site.code = args["code"]
            site.link_domain = args.get("link_domain", "")
            if isinstance(args.get("settings"), dict):
                site.settings.update(args["settings"])
            st.sites.append(site)
            return self.zjson(ctx, 200, site.to_json(self.style))

    def h_site_update(self, ctx):
        if (r := self.auth(ctx, PERM_SITE_UPDATE)):
            return r
        site, r = self._site_find(ctx)
        if r:
            return r
        args, r = self.decode(ctx, "apiSiteUpdateRequest")
        if r:
            return r
        st = self.state
        with st.lock:
            if ctx.method == "PATCH":
                if "settings" in args:
                    merged = dict(site.settings)
                    merged.update(args["settings"])
                    site.settings = merged
                if "cname" in args:
                    site.cname = args["cname"].lower() or None
                if "link_domain" in args:
                    site.link_domain = args["link_domain"]
            else:
                settings = {k: _zero_like(v) for k, v in default_site_settings().items()}
                settings.update(args.get("settings") or {})
                site.settings = settings
                site.cname = (args.get("cname") or "").lower() or None
                site.link_domain = args.get("link_domain", "")
            site.updated_at = now_utc().replace(microsecond=0)
            return self.zjson(ctx, 200, site.to_json(self.style))


def _zero_like(v):
    if isinstance(v, bool):
        return False
    if isinstance(v, (int, float)):
        return 0
    if isinstance(v, list):
        return []
    if isinstance(v, dict):
        return {}
    return ""


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, handler, state, family):
        self.address_family = family
        self.state = state
        self.api = Api(state)
        super().__init__(addr, handler)

    def server_bind(self):
        # Skip HTTPServer.server_bind's getfqdn(): a reverse lookup can take seconds.
        if self.address_family == socket.AF_INET6:
            try:
                self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            except OSError:
                pass
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = host
        self.server_port = port


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "goatcounter-test-server"
    sys_version = ""

    def setup(self):
        super().setup()
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        st = self.server.state
        with st.lock:
            st.stats["connections"] += 1

    def log_message(self, fmt, *args):
        if self.server.state.verbose:
            sys.stderr.write("%s - - [%s] %s\n" % (self.address_string(), self.log_date_time_string(), fmt % args))

    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    # -- plumbing -------------------------------------------------------------------
    def read_body(self) -> bytes | None:
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            out = bytearray()
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    return None
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while True:  # trailers
                        tl = self.rfile.readline(65537)
                        if tl in (b"\r\n", b"\n", b""):
                            break
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline(65537)
        cl = self.headers.get("Content-Length")
        if cl:
            try:
                n = int(cl)
            except ValueError:
                return None
            return self.rfile.read(n) if n > 0 else b""
        return b""

    def body_length_nonzero(self) -> bool:
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            return True
        try:
            return int(self.headers.get("Content-Length") or 0) != 0
        except ValueError:
            return True

    def client_ip(self):
        xr = self.headers.get("X-Real-Ip")
        if xr:
            return xr.strip()
        xff = self.headers.get("X-Forwarded-For")
        if xff:
            return xff.split(",")[0].strip()
        return self.client_address[0]

    def send(self, resp: Resp, stat_key: str | None):
        st = self.server.state
        if resp.action in ("drop", "reset"):
            with st.lock:
                st.stats["dropped_connections"] += 1
                if stat_key:
                    st.stats["requests"][stat_key] = st.stats["requests"].get(stat_key, 0) + 1
            self.close_connection = True
            try:
                if resp.action == "reset":
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        status = resp.status
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = "status code %d" % status
        lines = [f"HTTP/1.1 {status} {reason}"]
        names = set()
        for k, v in resp.headers:
            lines.append(f"{k}: {v}")
            names.add(k.lower())
        lines.append("Date: " + formatdate(usegmt=True))
        lines.append(f"Content-Length: {len(resp.body)}")
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
        data = head if self.command == "HEAD" else head + resp.body
        try:
            self.connection.sendall(data)  # one write: no Nagle/delayed-ACK stall
        except OSError:
            self.close_connection = True
        with st.lock:
            s = st.stats
            if stat_key:
                s["requests"][stat_key] = s["requests"].get(stat_key, 0) + 1
                s["responses"][str(status)] = s["responses"].get(str(status), 0) + 1
                s["bytes_sent"] += len(data)
                if status == 429:
                    s["rate_limited"] += 1
        if self.server.state.verbose:
            self.log_request(status, len(resp.body))

    # -- dispatch ---------------------------------------------------------------------
    def dispatch(self):
        body = self.read_body()
        if body is None:
            self.close_connection = True
            self.send(Resp(400, "malformed body\n", CT_TEXT), None)
            return
        split = urllib.parse.urlsplit(self.path)
        path = split.path or "/"
        if path.startswith("/_test/") or path == "/_test":
            self.send(self.control(path, split.query, body), None)
            return
        st = self.server.state
        api = self.server.api
        raw_host = self.headers.get("Host") or ""
        ctx = Ctx(self.command, path, split.query, self.headers, body, self.client_ip(), raw_host)
        with st.lock:
            st.stats["bytes_received"] += len(body)
        try:
            resp, key = self.route(ctx, api, st)
        except Exception as e:  # a bug in this server: say so loudly
            import traceback
            traceback.print_exc(file=sys.stderr)
            resp, key = Resp(500, go_json({"error": f"test server bug: {e!r}"}), CT_JSON), f"{self.command} {path}"
        self.send(resp, key)

    def route(self, ctx: Ctx, api: Api, st: State):
        method = ctx.method
        # 1. The site, from the Host header (before anything else).
        with st.lock:
            site = st.site_by_host(strip_port(ctx.raw_host))
            if site is None and st.single_site_fallback and len(st.sites) == 1:
                site = st.sites[0]
            style = st.style
        key_unmatched = f"{method} {ctx.path}"
        if site is None:
            return api.errpage(ctx, 400, f"no site at this domain ({go_quote(ctx.raw_host)})"), key_unmatched
        ctx.site = site
        # 2. chi's RedirectSlashes.
        if len(ctx.path) > 1 and ctx.path.endswith("/"):
            target = "/" + ctx.path.strip("/")
            if ctx.query:
                target += "?" + ctx.query
            # 2.4.1's chi redirects to the host and path; 2.7.0's to the last segment alone.
            loc = f"//{ctx.raw_host}{target}" if style == STYLE_V241 else target.rsplit("/", 1)[-1]
            if method in ("GET", "HEAD"):
                return Resp(301, f'<a href="{html.escape(loc)}">Moved Permanently</a>.\n\n', CT_HTML,
                            [("Location", loc)]), key_unmatched
            return Resp(301, b"", None, [("Location", loc)]), key_unmatched
        # 3. Routing.
        path_match = None
        for m, pattern, hname, rx in ROUTE_RES:
            mm = rx.match(ctx.path)
            if not mm:
                continue
            path_match = pattern
            if m == method:
                ctx.route = pattern
                ctx.params = mm.groupdict()
                handler = getattr(api, hname)
                break
        else:
            handler = None
        if handler is None:
            key = f"{method} {path_match}" if path_match else key_unmatched
            if style == STYLE_V241:
                return Resp(404, f"file not found: {go_quote(self.path)}\n", CT_TEXT,
                            [("X-Content-Type-Options", "nosniff")]), key
            if path_match:
                return api.errpage(ctx, 405, "Method Not Allowed"), key
            return api.errpage(ctx, 404, "Not Found"), key
        key = f"{method} {ctx.route}"
        if ctx.route == "/api/v0/count":
            with st.lock:
                st.count_seq += 1
                st.stats["count_requests"] += 1
                now = time.monotonic()
                if st.stats["first_count_at"] is None:
                    st.stats["first_count_at"] = now
                st.stats["last_count_at"] = now
                ctx.count_seq = st.count_seq
        # 4. middleware.AllowContentType("application/json").
        if self.body_length_nonzero():
            ct = ctx.req_ct.strip().lower().split(";", 1)[0].strip()
            if ct != "application/json":
                return Resp(415, b""), key
        # 5. Rate limit (before authentication).
        limited = self.ratelimit(ctx, st)
        if limited:
            return limited, key
        # 6. The handler.
        return handler(ctx), key

    def ratelimit(self, ctx: Ctx, st: State):
        if ctx.path == "/api/v0/count":
            name = "api-count"
        elif ctx.path == "/api/v0/export":
            name = "export"
        else:
            name = "api"
        with st.lock:
            limit = st.limits.get(name)
            style = st.style
        if limit is None:
            return None
        n, period = limit
        if style == STYLE_V241:
            ok, remaining = st.limiter.check_v241(ctx.client_ip, n, period)
            per = int(period) if period == int(period) else period
            ctx.rl_headers = [("X-Rate-Limit-Limit", str(n)), ("X-Rate-Limit-Remaining", str(remaining)),
                              ("X-Rate-Limit-Reset", str(per))]
            if not ok:
                return Resp(429, "rate limited exceeded", CT_TEXT, ctx.rl_headers)
            return None
        ok, remaining, left = st.limiter.check_v27(name, ctx.client_ip, n, period)
        reset = str(int(round(left)))
        ctx.rl_headers = [("X-Rate-Limit-Limit", str(n)), ("X-Rate-Limit-Remaining", str(remaining)),
                          ("X-Rate-Limit-Reset", reset)]
        if ok:
            return None
        msg = "rate limited exceeded; try again in " + go_duration_secs(math.ceil(left))
        headers = ctx.rl_headers + [("Retry-After", reset)]
        if ctx.req_ct.lower().startswith("application/json"):
            return Resp(429, "{\"error\": " + go_quote(msg) + "}", CT_TEXT, headers)
        return Resp(429, msg + "\n", CT_TEXT, headers)

    # -- /_test/ control API -------------------------------------------------------------
    def control(self, path, query, body) -> Resp:
        st = self.server.state
        method = self.command

        def ok(obj, status=200):
            return Resp(status, json.dumps(obj, ensure_ascii=False), "application/json")

        def bad(msg):
            return ok({"error": msg}, 400)

        try:
            data = json.loads(body.decode("utf-8")) if body.strip() else None
        except ValueError as e:
            return bad(f"invalid JSON: {e}")
        q = dict(urllib.parse.parse_qsl(query))
        try:
            if path == "/_test/hits" and method == "GET":
                with st.lock:
                    want = q.get("site")

                    def sel(lst):
                        return [{k: v for k, v in e.items() if k != "_export"} for e in lst
                                if not want or e.get("site") == want or str(e.get("site_id")) == want]
                    return ok({"hits": sel(st.hits), "filtered": sel(st.filtered), "bots": sel(st.bots),
                               "dropped": sel(st.dropped), "rejected": sel(st.rejected)})
            if path == "/_test/stats" and method == "GET":
                with st.lock:
                    s = json.loads(json.dumps(st.stats))
                    s["faults_pending"] = sum(f.get("times", 1) for f in st.faults)
                    s["hits"] = len(st.hits)
                    s["filtered"] = len(st.filtered)
                    s["bots"] = len(st.bots)
                    s["dropped"] = len(st.dropped)
                    s["rejected"] = len(st.rejected)
                    return ok(s)
            if path == "/_test/faults":
                if method == "GET":
                    with st.lock:
                        return ok({"faults": st.faults})
                if method == "POST":
                    faults = data.get("faults") if isinstance(data, dict) else data
                    if isinstance(faults, dict):
                        faults = [faults]
                    if not isinstance(faults, list):
                        return bad("want a JSON list of faults")
                    for f in faults:
                        if not isinstance(f, dict) or f.get("kind") not in ("status", "slow", "drop", "body_limit"):
                            return bad(f"bad fault: {f!r}")
                    with st.lock:
                        st.faults.extend(dict(f) for f in faults)
                        return ok({"pending": len(st.faults), "faults": st.faults})
                if method == "DELETE":
                    with st.lock:
                        st.faults.clear()
                    return ok({"pending": 0})
            if path == "/_test/reset" and method == "POST":
                st.reset_runtime()
                return ok({"status": "ok"})
            if path == "/_test/expire-exports" and method == "POST":
                with st.lock:
                    n = 0
                    for e in st.exports.values():
                        if not e.deleted:
                            e.deleted = True
                            n += 1
                return ok({"expired": n})
            if path == "/_test/config":
                if method == "GET":
                    with st.lock:
                        return ok(st.config_json())
                if method == "POST":
                    if not isinstance(data, dict):
                        return bad("want a JSON object")
                    return ok(self.apply_config(data))
            if path == "/_test/exports" and method == "GET":
                with st.lock:
                    return ok({"exports": [dict(e.to_json(), deleted=e.deleted) for e in st.exports.values()]})
        except (ValueError, TypeError, KeyError) as e:
            return bad(str(e))
        return ok({"error": f"no such control endpoint: {method} {path}"}, 404)

    def apply_config(self, data):
        st = self.server.state
        known = {"style", "ratelimits", "tokens", "sites", "ignore_ips", "export_delay",
                 "single_site_fallback", "verbose", "collect"}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown config keys: {sorted(unknown)}")
        with st.lock:
            reset_limits = False
            if "style" in data:
                if data["style"] not in STYLES:
                    raise ValueError(f"style must be one of {STYLES}")
                st.style = data["style"]
                reset_limits = True
            if "ratelimits" in data:
                rl = data["ratelimits"]
                new = dict(st.limits)
                if isinstance(rl, dict):
                    for k, v in rl.items():
                        new.update(parse_ratelimit_spec(f"{k}:{'none' if v is None else v}"))
                elif isinstance(rl, (list, str)):
                    for spec in ([rl] if isinstance(rl, str) else rl):
                        new.update(parse_ratelimit_spec(spec))
                else:
                    raise ValueError("ratelimits: want an object or a list")
                st.limits = new
                reset_limits = True
            if "sites" in data:
                st.set_sites(data["sites"])
            if "tokens" in data:
                toks = []
                for t in data["tokens"]:
                    if isinstance(t, str):
                        toks.append(parse_token_spec(t))
                    else:
                        toks.append(Token(t["key"], parse_perms(t.get("permissions", PERM_COUNT)),
                                          t.get("sites"), t.get("name")))
                st.tokens = toks
            if "ignore_ips" in data:
                for host, ips in data["ignore_ips"].items():
                    site = st.site_by_host(strip_port(host)) or (st.site_by_id(int(host)) if str(host).isdigit() else None)
                    if site is None:
                        raise ValueError(f"ignore_ips: unknown site {host!r}")
                    site.settings["ignore_ips"] = list(ips)
            if "export_delay" in data:
                st.export_delay = float(data["export_delay"])
            if "collect" in data:   # every site's `collect` setting (bit 256: individual pageviews)
                for site in st.sites:
                    site.settings["collect"] = int(data["collect"])
            if "single_site_fallback" in data:
                st.single_site_fallback = bool(data["single_site_fallback"])
            if "verbose" in data:
                st.verbose = bool(data["verbose"])
            cfg = st.config_json()
        if reset_limits:
            st.limiter.reset()
        return cfg


# ---------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------

def main(argv=None):
    p = argparse.ArgumentParser(description="GoatCounter API test server (see Tests/Support/README.md)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--style", choices=STYLES, default=STYLE_V27)
    p.add_argument("--ratelimit", action="append", metavar="NAME:N/SECONDS",
                   help="api-count, api or export; N/SECONDS or none; repeatable or comma-separated")
    p.add_argument("--token", action="append", metavar="KEY:PERMS[:SITEHOSTS]")
    p.add_argument("--site", action="append", metavar="HOST[:ID]")
    p.add_argument("--ignore-ip", action="append", metavar="SITEHOST=IP")
    p.add_argument("--export-delay", type=float, default=0.5, metavar="SECONDS")
    p.add_argument("--single-site-fallback", action="store_true",
                   help="with exactly one site, answer for any Host (like a self-hosted server)")
    p.add_argument("--record-file", metavar="PATH")
    p.add_argument("--verbose", action="store_true")
    args = p.parse_args(argv)

    try:
        state = State(args)
    except ValueError as e:
        p.error(str(e))

    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    host = args.host.strip("[]")
    server = Server((host, args.port), Handler, state, family)
    port = server.server_address[1]

    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    sys.stdout.write(f"LISTENING {port}\n")
    sys.stdout.flush()
    if args.verbose:
        sys.stderr.write(f"goatcounter test server on {host} port {port}, style {state.style}\n")
    while not stop.wait(0.2):
        pass
    server.shutdown()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
