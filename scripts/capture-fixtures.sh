#!/usr/bin/env bash
# capture-fixtures.sh — produce REAL access-log fixtures for goatimport's tests.
#
# Runs Debian's nginx, Apache 2.4 and Caddy on loopback high ports, each with
# its own throw-away config in a temp dir (nothing under /etc is read for the
# server config or changed), replays one fixed list of curl requests against
# every server, stops the servers and copies their logs into Tests/Fixtures/.
# A second, larger replay against nginx (built-in `combined` format) becomes
# examples/access.log.
#
# Traffic goes ONLY to 127.0.0.1 and [::1]. Re-runnable: outputs are
# overwritten; servers are stopped and the temp dir removed on any exit
# (set KEEP_TMP=1 to keep the temp dir for debugging).
#
# Usage: scripts/capture-fixtures.sh            (as root on Debian 12)
# Ports can be changed with NGINX_PORT, NGINX_EXAMPLE_PORT, APACHE_PORT,
# CADDY_PORT, but the committed fixtures contain the default ports.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FIX="$ROOT/Tests/Fixtures"
EXAMPLE_OUT="$ROOT/examples/access.log"

NGINX_PORT=${NGINX_PORT:-38080}
APACHE_PORT=${APACHE_PORT:-38081}
CADDY_PORT=${CADDY_PORT:-38082}
NGINX_EXAMPLE_PORT=${NGINX_EXAMPLE_PORT:-38083}
CAPTURE_TZ=Europe/Amsterdam
# All docroot files get this mtime so a conditional GET can produce a 304 on
# every server (see "304" in Tests/Fixtures/README.md).
DOC_MTIME='2024-01-01 00:00:00 UTC'
IMS_HEADER='If-Modified-Since: Mon, 01 Jan 2024 00:00:00 GMT'

# Never let a proxy setting send the replay anywhere but loopback.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
export LC_ALL=C.UTF-8

log() { printf '>> %s\n' "$*" >&2; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- install ---
need_pkgs=()
command -v nginx   >/dev/null 2>&1 || need_pkgs+=(nginx)
command -v apache2 >/dev/null 2>&1 || need_pkgs+=(apache2)
command -v caddy   >/dev/null 2>&1 || need_pkgs+=(caddy)
command -v curl    >/dev/null 2>&1 || need_pkgs+=(curl)
command -v ss      >/dev/null 2>&1 || need_pkgs+=(iproute2)
[[ -e /usr/share/zoneinfo/$CAPTURE_TZ ]] || need_pkgs+=(tzdata)
if ((${#need_pkgs[@]})); then
    log "installing: ${need_pkgs[*]}"
    [[ $(id -u) == 0 ]] || die "need root to apt-get install ${need_pkgs[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi
# The Debian packages may have started their system services on install
# (where a policy-rc.d does not forbid it); they listen on 80/443, not on our
# ports, and we leave them alone.

NGINX_VERSION=$(nginx -v 2>&1)
APACHE_VERSION=$(apache2 -v | tr '\n' ' ' | sed 's/ *$//')
CADDY_VERSION=$(caddy version 2>&1)
CURL_VERSION=$(curl --version | head -n1)

# ------------------------------------------------------- temp dir + traps ---
TMP=$(mktemp -d /tmp/goatimport-capture.XXXXXX)
chmod 755 "$TMP"
PIDS=()

stop_pid() { # pid signal
    local pid=$1 sig=$2 i
    kill -0 "$pid" 2>/dev/null || return 0
    kill "-$sig" "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "pid $pid did not stop on SIG$sig; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local rc=$? pid
    for pid in "${PIDS[@]}"; do stop_pid "$pid" TERM; done
    PIDS=()
    if [[ ${KEEP_TMP:-0} == 1 ]]; then
        log "kept temp dir $TMP"
    else
        rm -rf "$TMP"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

port_in_use() { ss -Hltn "sport = :$1" | grep -q .; }

wait_listening() { # name pid port
    local name=$1 pid=$2 port=$3 i
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || { cat "$TMP"/logs/*error* "$TMP"/logs/*stderr* >&2 2>/dev/null || true; die "$name exited during start-up"; }
        if ss -Hltn "sport = :$port" | grep -q '127\.0\.0\.1' &&
            ss -Hltn "sport = :$port" | grep -q '\[::1\]'; then
            return 0
        fi
        sleep 0.1
    done
    die "$name is not listening on 127.0.0.1:$port and [::1]:$port"
}

for p in "$NGINX_PORT" "$APACHE_PORT" "$CADDY_PORT" "$NGINX_EXAMPLE_PORT"; do
    port_in_use "$p" && die "port $p is already in use"
done

# ---------------------------------------------------------------- docroot ---
WWW="$TMP/www"
mkdir -p "$WWW"/{about,blog,contact,fonts,new,tags/swift,tags/analytics,café} "$TMP/logs"
page() { # file title
    mkdir -p "$(dirname "$WWW/$1")"
    printf '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>%s</title>\n<link rel="stylesheet" href="/style.css"><script src="/app.js" defer></script></head>\n<body><img src="/logo.png" alt=""><h1>%s</h1><p>Lorem ipsum dolor sit amet.</p></body></html>\n' "$2" "$2" >"$WWW/$1"
}
page index.html 'Home'
page about/index.html 'About'
page blog/index.html 'Blog'
page blog/post-1.html 'Post 1'
page contact/index.html 'Contact'
page new/index.html 'New location'
page café/index.html 'Café'
page search 'Search results' # extension-less "dynamic" pages
page q 'Q'
page tags/swift/index.html 'Tag: swift'
page tags/analytics/index.html 'Tag: analytics'
EXAMPLE_POSTS=(hello-world importing-access-logs swift-on-linux nginx-log-formats
    self-hosting-analytics privacy-friendly-stats 2024-in-review caddy-vs-nginx)
for p in "${EXAMPLE_POSTS[@]}"; do page "blog/$p.html" "$p"; done
printf 'body { font-family: sans-serif; }\n@font-face { font-family: X; src: url(/fonts/x.woff2); }\n' >"$WWW/style.css"
printf 'console.log("hello");\n' >"$WWW/app.js"
printf '<?xml version="1.0"?><rss version="2.0"><channel><title>Blog</title></channel></rss>\n' >"$WWW/feed.xml"
printf 'User-agent: *\nAllow: /\n' >"$WWW/robots.txt"
# 1x1 transparent PNG; logo.PNG is the same bytes under an upper-case name.
base64 -d >"$WWW/logo.png" <<<'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=='
cp "$WWW/logo.png" "$WWW/logo.PNG"
# Minimal ICO (one 1x1 32-bit image) and a stand-in woff2 (content is irrelevant).
base64 -d >"$WWW/favicon.ico" <<<'AAABAAEAAQEAAAEAIAAwAAAAFgAAACgAAAABAAAAAgAAAAEAIAAAAAAABAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=='
printf 'wOF2\0\1\0\0fake-font-for-fixtures' >"$WWW/fonts/x.woff2"
find "$WWW" -exec touch -h -d "$DOC_MTIME" {} +
chmod -R a+rX "$WWW"

# ---------------------------------------------------------------- formats ---
# Exactly the strings given to the servers; also written to NAME.format.
NGINX_FMT_COMBINED='$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"'
NGINX_FMT_VHOST='$host $remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"'
NGINX_FMT_CUSTOM='$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" "$http_x_forwarded_for" $host'
NGINX_FMT_ISO='$remote_addr [$time_iso8601] "$request" $status "$http_referer" "$http_user_agent" $request_time'
# JSON lines (escape=json), keys named after the variables: the built-in `nginx-json` format.
NGINX_FMT_JSON='{"time_iso8601":"$time_iso8601","msec":"$msec","remote_addr":"$remote_addr","request_method":"$request_method","request_uri":"$request_uri","status":$status,"body_bytes_sent":$body_bytes_sent,"http_referer":"$http_referer","http_user_agent":"$http_user_agent","http_x_forwarded_for":"$http_x_forwarded_for","host":"$host","request_time":$request_time}'
APACHE_FMT_COMBINED='%h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i"'
APACHE_FMT_COMMON='%h %l %u %t "%r" %>s %O'
APACHE_FMT_VHOST='%v:%p %h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i"'
APACHE_FMT_CUSTOM='%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i" %v %{X-Forwarded-For}i'

# ------------------------------------------------------------------ nginx ---
mkdir -p "$TMP/nginx"/{run,temp} "$TMP/logs/nginx"
chown -R www-data: "$TMP/nginx/temp"
nginx_types='types { text/html html htm; text/css css; application/javascript js; image/png png; image/x-icon ico; font/woff2 woff2; application/rss+xml xml; text/plain txt; }'
cat >"$TMP/nginx/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes 1;
user www-data;
pid $TMP/nginx/run/nginx.pid;
error_log $TMP/logs/nginx-error.log warn;
events { worker_connections 64; }
http {
    $nginx_types
    default_type text/html;
    client_body_temp_path $TMP/nginx/temp/body;
    proxy_temp_path $TMP/nginx/temp/proxy;
    fastcgi_temp_path $TMP/nginx/temp/fastcgi;
    uwsgi_temp_path $TMP/nginx/temp/uwsgi;
    scgi_temp_path $TMP/nginx/temp/scgi;
    sendfile on;
    keepalive_timeout 5;
    server_tokens on;

    log_format vhost '$NGINX_FMT_VHOST';
    log_format custom '$NGINX_FMT_CUSTOM';
    log_format iso '$NGINX_FMT_ISO';
    log_format json escape=json '$NGINX_FMT_JSON';

    server {
        listen 127.0.0.1:$NGINX_PORT;
        listen [::1]:$NGINX_PORT;
        server_name www.example.com blog.example.net;
        root $WWW;
        index index.html;
        access_log $TMP/logs/nginx/combined.log combined;
        access_log $TMP/logs/nginx/vhost.log vhost;
        access_log $TMP/logs/nginx/custom.log custom;
        access_log $TMP/logs/nginx/iso8601.log iso;
        access_log $TMP/logs/nginx/json.log json;
        location = /old { return 301 /new; }
    }
    server {
        listen 127.0.0.1:$NGINX_EXAMPLE_PORT;
        listen [::1]:$NGINX_EXAMPLE_PORT;
        server_name www.example.com;
        root $WWW;
        index index.html;
        access_log $TMP/logs/nginx/example.log combined;
        location = /old { return 301 /new; }
    }
}
EOF

# ----------------------------------------------------------------- apache ---
mkdir -p "$TMP/apache/run" "$TMP/logs/apache"
A=/usr/lib/apache2/modules
apache_quote() { local q='"' bq='\"'; printf '%s' "${1//$q/$bq}"; } # " -> \" inside LogFormat "..."
cat >"$TMP/apache/httpd.conf" <<EOF
ServerRoot $TMP/apache
DefaultRuntimeDir $TMP/apache/run
PidFile $TMP/apache/run/apache2.pid
Mutex file:$TMP/apache/run default
ErrorLog $TMP/logs/apache-error.log
LogLevel warn

LoadModule mpm_event_module $A/mod_mpm_event.so
LoadModule authz_core_module $A/mod_authz_core.so
LoadModule mime_module $A/mod_mime.so
LoadModule dir_module $A/mod_dir.so
LoadModule alias_module $A/mod_alias.so
<IfModule !log_config_module>
    LoadModule log_config_module $A/mod_log_config.so
</IfModule>
<IfModule !logio_module>
    LoadModule logio_module $A/mod_logio.so
</IfModule>
<IfModule !unixd_module>
    LoadModule unixd_module $A/mod_unixd.so
</IfModule>

User www-data
Group www-data
ServerName www.example.com
Listen 127.0.0.1:$APACHE_PORT
Listen [::1]:$APACHE_PORT
StartServers 1
HostnameLookups Off
KeepAliveTimeout 5
TypesConfig /etc/mime.types

<Directory />
    AllowOverride None
    Require all denied
</Directory>
<Directory $WWW>
    Options FollowSymLinks
    Require all granted
</Directory>
DocumentRoot $WWW
DirectoryIndex index.html
Redirect 301 /old /new

LogFormat "$(apache_quote "$APACHE_FMT_COMBINED")" combined
LogFormat "$(apache_quote "$APACHE_FMT_COMMON")" common
LogFormat "$(apache_quote "$APACHE_FMT_VHOST")" vhost_combined
LogFormat "$(apache_quote "$APACHE_FMT_CUSTOM")" custom
CustomLog $TMP/logs/apache/combined.log combined
CustomLog $TMP/logs/apache/common.log common
CustomLog $TMP/logs/apache/vhost_combined.log vhost_combined
CustomLog $TMP/logs/apache/custom.log custom

# Name-based virtual hosts; the first one is the default for unknown Host headers.
<VirtualHost 127.0.0.1:$APACHE_PORT [::1]:$APACHE_PORT>
    ServerName www.example.com
    DocumentRoot $WWW
</VirtualHost>
<VirtualHost 127.0.0.1:$APACHE_PORT [::1]:$APACHE_PORT>
    ServerName blog.example.net
    DocumentRoot $WWW
</VirtualHost>
EOF

# ------------------------------------------------------------------ caddy ---
mkdir -p "$TMP/caddy"/{home,data,config} "$TMP/logs/caddy"
cat >"$TMP/caddy/Caddyfile" <<EOF
{
	admin off
	auto_https off
	# The same access log as the site's json one, in the console encoder's layout.
	log console {
		output file $TMP/logs/caddy/access.console.log
		format console
		include http.log.access.log0
	}
}

http://:$CADDY_PORT {
	bind 127.0.0.1 [::1]
	root * $WWW
	redir /old /new 301
	file_server
	log {
		output file $TMP/logs/caddy/access.json.log
		format json
	}
}
EOF

# ---------------------------------------------------------- start servers ---
start_nginx() {
    log "starting nginx on :$NGINX_PORT and :$NGINX_EXAMPLE_PORT"
    nginx -t -q -e "$TMP/logs/nginx-error.log" -p "$TMP/nginx/" -c "$TMP/nginx/nginx.conf"
    TZ=$CAPTURE_TZ nginx -e "$TMP/logs/nginx-error.log" -p "$TMP/nginx/" -c "$TMP/nginx/nginx.conf" \
        2>"$TMP/logs/nginx-stderr.log" &
    NGINX_PID=$!
    PIDS+=("$NGINX_PID")
    wait_listening nginx "$NGINX_PID" "$NGINX_PORT"
    wait_listening nginx "$NGINX_PID" "$NGINX_EXAMPLE_PORT"
}
start_apache() {
    log "starting apache2 on :$APACHE_PORT"
    apache2 -t -f "$TMP/apache/httpd.conf" 2>"$TMP/logs/apache-configtest.log" ||
        { cat "$TMP/logs/apache-configtest.log" >&2; die "apache2 config test failed"; }
    TZ=$CAPTURE_TZ apache2 -f "$TMP/apache/httpd.conf" -DFOREGROUND 2>"$TMP/logs/apache-stderr.log" &
    APACHE_PID=$!
    PIDS+=("$APACHE_PID")
    wait_listening apache2 "$APACHE_PID" "$APACHE_PORT"
}
start_caddy() {
    log "starting caddy on :$CADDY_PORT"
    HOME="$TMP/caddy/home" XDG_DATA_HOME="$TMP/caddy/data" XDG_CONFIG_HOME="$TMP/caddy/config" TZ=$CAPTURE_TZ \
        caddy run --config "$TMP/caddy/Caddyfile" --adapter caddyfile 2>"$TMP/logs/caddy-stderr.log" &
    CADDY_PID=$!
    PIDS+=("$CADDY_PID")
    wait_listening caddy "$CADDY_PID" "$CADDY_PORT"
}

# --------------------------------------------------------- request list -----
# User agents by label (also written to Tests/Fixtures/user-agents.tsv).
declare -A UA=(
    [firefox]='Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0'
    [firefox_win]='Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0'
    [chrome]='Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'
    [chrome_mac]='Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'
    [chrome_android]='Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36'
    [safari_iphone]='Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1'
    [safari_mac]='Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15'
    [edge]='Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0'
    [quoted]='Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0 "quoted"'
    [utf8]='Mozilla/5.0 "quoted" Ünïcödé'
    [backslash]='Mozilla/5.0 (Windows NT 10.0; Win64; x64) C:\Temp\ "x"'
    [googlebot]='Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)'
    [bingbot]='Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)'
    [ahrefsbot]='Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)'
    [yandexbot]='Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)'
    [curl]='curl/7.88.1'
    [none]=''
)
UA_ORDER=(firefox firefox_win chrome chrome_mac chrome_android safari_iphone safari_mac edge quoted utf8 backslash googlebot bingbot ahrefsbot yandexbot curl none)
BOT_LABELS=' googlebot bingbot ahrefsbot yandexbot curl none '

LONG_TARGET="/blog/post-1.html?utm_source=newsletter&utm_medium=email&utm_content=$(printf 'abcdefghij%.0s' {1..310})"

# Fields: client|method|target|ua|referer|xff|host|intended|flags|note
#   client  4 = http://127.0.0.1:PORT, 6 = http://[::1]:PORT
#   target  @LONG@ expands to LONG_TARGET (3,100+ characters)
#   -       empty (no Referer / X-Forwarded-For header; default Host header)
#   flags   asis = curl --path-as-is (a raw " is sent as it is)
#           raw  = the target is sent verbatim with --request-target (curl
#                  percent-encodes bytes >= 0x80 in a URL even with --path-as-is)
#           ims  = If-Modified-Since equal to the files' mtime (304)
#           head = HEAD (curl -I); post = POST form body
#   intended is what we expect; the script checks it against each server.
REQUESTS=$(
    cat <<'EOF'
4|GET|/|firefox|-|-|-|pageview||plain page view
4|GET|/style.css|firefox|https://www.example.com/|-|-|static||stylesheet, same-site referrer
4|GET|/app.js|firefox|https://www.example.com/|-|-|static||script
4|GET|/logo.png|firefox|https://www.example.com/|-|-|static||image
4|GET|/favicon.ico|firefox|-|-|-|static||favicon, no referrer
4|GET|/fonts/x.woff2|firefox|https://www.example.com/style.css|-|-|static||font, referred by the stylesheet
4|GET|/about/|chrome|https://www.example.org/some/page?x=1|-|-|pageview||external referrer with query
4|GET|/blog/post-1.html|safari_iphone|android-app://com.google.android.gm/|-|-|pageview||android-app referrer (Gmail)
4|GET|/?utm_source=news&utm_campaign=fall|chrome_mac|https://www.google.com/|-|-|pageview||UTM campaign query, search referrer
4|GET|/search?q=swift+logs&page=2|firefox_win|https://duckduckgo.com/|-|-|pageview||query string with +
4|GET|/caf%C3%A9/|chrome_android|-|-|-|pageview||percent-encoded UTF-8 path
4|GET|/caf%c3%a9/|firefox|-|-|-|pageview||lower-case percent-encoding of the same path
4|GET|/café/|firefox|-|-|-|pageview|raw|raw UTF-8 bytes C3 A9 in the path
4|GET|/search?q=café&lang=fr|safari_iphone|-|-|-|pageview|raw|raw UTF-8 bytes in the query
4|GET|/q?x=%22|chrome|-|-|-|pageview||percent-encoded double quote in query
4|GET|/q?x="hi"|chrome|-|-|-|pageview|asis|raw double quotes in query
4|GET|/say"hi"|chrome|-|-|-|error|asis|raw double quotes in path (no such file)
4|GET|@LONG@|safari_iphone|https://www.example.org/some/page?x=1|-|-|pageview||long URL (path+query > 3000 chars)
4|HEAD|/|chrome|-|-|-|method|head|HEAD request
4|POST|/contact/|firefox|https://www.example.com/contact/|-|-|method|post|POST form body
4|GET|/does-not-exist|firefox|-|-|-|error||404
4|GET|/blog/missing-post.html|chrome|https://news.ycombinator.com/item?id=42|-|-|error||404 with external referrer
4|GET|/old|chrome|https://www.example.org/some/page?x=1|-|-|redirect||configured 301 /old -> /new
4|GET|/about|chrome|-|-|-|redirect||directory without trailing slash (server's own redirect)
4|GET|/|firefox|-|-|-|pageview|ims|304 Not Modified page
4|GET|/style.css|firefox|https://www.example.com/|-|-|static|ims|304 Not Modified static file
4|GET|/logo.PNG?v=3|chrome|https://www.example.com/|-|-|static||upper-case extension + cache-buster query
4|GET|/app.js?v=1.2.3|safari_iphone|https://www.example.com/|-|-|static||static with version query
4|GET|/|googlebot|-|-|-|bot||Googlebot
4|GET|/blog/post-1.html|googlebot|-|-|-|bot||Googlebot
4|GET|/about/|bingbot|-|-|-|bot||bingbot
4|GET|/|curl|-|-|-|bot||curl UA (client library)
4|GET|/|none|-|-|-|bot||no User-Agent header at all (logged as -)
4|GET|/|quoted|-|-|-|pageview||UA containing double quotes
4|GET|/about/|utf8|-|-|-|pageview||UA with double quotes and raw UTF-8
4|GET|/|chrome|-|203.0.113.7, 10.0.0.2|-|pageview||X-Forwarded-For: public, private
4|GET|/about/|firefox|-|198.51.100.23, 192.168.1.5, 127.0.0.1|-|pageview||X-Forwarded-For: public, private, loopback
4|GET|/blog/post-1.html|safari_iphone|-|2001:db8::1, 10.0.0.3|-|pageview||X-Forwarded-For: IPv6, private
4|GET|/style.css|chrome|https://www.example.com/|203.0.113.7, 10.0.0.2|-|static||static behind proxy
4|GET|/|firefox|-|-|blog.example.net|pageview||second vhost
4|GET|/blog/post-1.html|chrome|https://www.example.org/some/page?x=1|-|blog.example.net|pageview||second vhost, external referrer
4|GET|/|chrome|https://www.example.org/search?q="goat counter"|-|-|pageview||referrer with raw double quotes and a space
4|GET|/blog/|firefox|https://www.example.org/café?x=ü|-|-|pageview||referrer with raw UTF-8
4|GET|/about/?ref=producthunt|firefox|-|-|-|pageview||ref= query
4|GET|/wp-login.php|chrome|-|-|-|error||vulnerability probe, 404
4|GET|/blog/post-1.html?utm_source=twitter&utm_medium=social|firefox|https://t.co/abc123|-|-|pageview||t.co referrer
4|GET|/|edge|https://www.google.com/search?q=goatcounter&hl=nl|-|-|pageview||Edge, Google search referrer
4|GET|/tags/swift/|safari_mac|https://www.bing.com/|-|-|pageview||Safari macOS
6|GET|/|firefox|-|-|-|pageview||IPv6 client
6|GET|/about/|safari_iphone|https://www.google.com/|-|-|pageview||IPv6 client, search referrer
6|GET|/style.css|firefox|https://www.example.com/|-|-|static||IPv6 client, static
6|GET|/blog/post-1.html|chrome|-|2001:db8::1|blog.example.net|pageview||IPv6 client, second vhost, IPv6 X-Forwarded-For
6|GET|/nope|chrome|-|-|-|error||IPv6 client, 404
6|GET|/|googlebot|-|-|-|bot||IPv6 client, Googlebot
6|HEAD|/blog/post-1.html|bingbot|-|-|-|method|head|HEAD from a bot (method wins)
6|GET|/old|firefox|-|-|-|redirect||IPv6 client, 301
4|GET|/|backslash|-|-|-|pageview||UA with backslashes, one right before a double quote
EOF
)

expand_target() { [[ $1 == '@LONG@' ]] && printf '%s' "$LONG_TARGET" || printf '%s' "$1"; }

# do_request base4 base6 client method target ua_label referer xff host flags
do_request() {
    local base4=$1 base6=$2 client=$3 method=$4 target=$5 ua=$6 ref=$7 xff=$8 host=$9 flags=${10}
    local -a args=(-q -s -o /dev/null --noproxy '*' --http1.1 --max-time 15 -A "${UA[$ua]}"
        -H 'Accept-Language: nl-NL,nl;q=0.9,en;q=0.8')
    [[ $ref != - ]] && args+=(-e "$ref")
    [[ $xff != - ]] && args+=(-H "X-Forwarded-For: $xff")
    [[ $host != - ]] && args+=(-H "Host: $host")
    [[ ,$flags, == *,asis,* ]] && args+=(--path-as-is)
    [[ ,$flags, == *,raw,* ]] && args+=(--request-target "$(expand_target "$target")")
    [[ ,$flags, == *,ims,* ]] && args+=(-H "$IMS_HEADER")
    [[ ,$flags, == *,head,* ]] && args+=(-I)
    [[ ,$flags, == *,post,* ]] && args+=(--data 'name=Goat&message=Hallo+wereld%21')
    local base=$base4
    [[ $client == 6 ]] && { base=$base6; args+=(-g); }
    # curl exits 0 for any HTTP status; a non-zero exit is a transport error.
    local url
    url=$base$(expand_target "$target")
    [[ ,$flags, == *,raw,* ]] && url=$base/
    curl "${args[@]}" "$url" || die "curl failed: $method $target against $base"
}

replay_fixture_requests() { # port
    local port=$1 client method target ua ref xff host intended flags note
    while IFS='|' read -r client method target ua ref xff host intended flags note; do
        do_request "http://127.0.0.1:$port" "http://[::1]:$port" "$client" "$method" "$target" "$ua" "$ref" "$xff" "$host" "$flags"
    done <<<"$REQUESTS"
}

# -------------------------------------------------------- example replay ----
# A larger, varied, deterministic (seeded) replay for examples/access.log.
replay_example() { # port
    local port=$1 i n=240
    RANDOM=20241127
    local -a pages=(/ / / / /about/ /blog/ /blog/ /contact/ /tags/swift/ /tags/analytics/ /blog/post-1.html)
    local p
    for p in "${EXAMPLE_POSTS[@]}"; do pages+=("/blog/$p.html" "/blog/$p.html"); done
    local -a statics=(/style.css /app.js /logo.png /favicon.ico /fonts/x.woff2 /feed.xml)
    local -a browsers=(firefox firefox firefox_win chrome chrome chrome chrome_mac chrome_android chrome_android safari_iphone safari_iphone safari_mac edge)
    local -a bots=(googlebot googlebot bingbot ahrefsbot yandexbot curl)
    local -a refs=(- - - - - https://www.google.com/ https://www.google.com/ https://www.google.nl/ https://duckduckgo.com/
        https://www.bing.com/ https://news.ycombinator.com/ https://lobste.rs/s/abc123/importing_access_logs
        https://www.reddit.com/r/selfhosted/comments/xyz/ https://t.co/q8Zk2 android-app://com.google.android.gm/
        https://www.example.org/links.html https://mastodon.social/@goat/113)
    local -a notfound=(/wp-login.php /.env /blog/old-post.html /xmlrpc.php /blog/post-9.html)
    local client target ua ref flags r method
    for ((i = 0; i < n; i++)); do
        client=4 ref=- flags='' method=GET
        ((RANDOM % 12 == 0)) && client=6
        r=$((RANDOM % 100))
        if ((r < 58)); then # page view by a browser
            target=${pages[RANDOM % ${#pages[@]}]}
            ua=${browsers[RANDOM % ${#browsers[@]}]}
            ref=${refs[RANDOM % ${#refs[@]}]}
            ((RANDOM % 10 == 0)) && target+="?utm_source=newsletter&utm_medium=email"
            ((RANDOM % 15 == 0)) && flags=ims
        elif ((r < 80)); then # static file fetched along with a page
            target=${statics[RANDOM % ${#statics[@]}]}
            ua=${browsers[RANDOM % ${#browsers[@]}]}
            ref=https://www.example.com/
            ((RANDOM % 4 == 0)) && flags=ims
        elif ((r < 91)); then # crawler
            target=${pages[RANDOM % ${#pages[@]}]}
            ((RANDOM % 5 == 0)) && target=/robots.txt
            ua=${bots[RANDOM % ${#bots[@]}]}
        elif ((r < 96)); then # 404
            target=${notfound[RANDOM % ${#notfound[@]}]}
            ua=${browsers[RANDOM % ${#browsers[@]}]}
        elif ((r < 98)); then # redirect
            target=/old
            ua=${browsers[RANDOM % ${#browsers[@]}]}
            ref=${refs[RANDOM % ${#refs[@]}]}
        else # HEAD / POST
            ua=${browsers[RANDOM % ${#browsers[@]}]}
            if ((RANDOM % 2)); then method=HEAD flags=head target=/; else method=POST flags=post target=/contact/; fi
        fi
        do_request "http://127.0.0.1:$port" "http://[::1]:$port" "$client" "$method" "$target" "$ua" "$ref" - - "$flags"
        EXAMPLE_COUNT=$((i + 1))
    done
}

# ------------------------------------------------------------------ run -----
NREQ=$(grep -c . <<<"$REQUESTS")
start_nginx
start_apache
start_caddy
log "replaying $NREQ requests against nginx";  replay_fixture_requests "$NGINX_PORT"
log "replaying $NREQ requests against apache"; replay_fixture_requests "$APACHE_PORT"
log "replaying $NREQ requests against caddy";  replay_fixture_requests "$CADDY_PORT"
EXAMPLE_COUNT=0
log "replaying the example set against nginx"; replay_example "$NGINX_EXAMPLE_PORT"
CAPTURE_DATE=$(date -u '+%Y-%m-%d %H:%M UTC')

log "stopping servers"
stop_pid "$NGINX_PID" QUIT # graceful: finishes and closes the logs
stop_pid "$APACHE_PID" TERM
stop_pid "$CADDY_PID" TERM
PIDS=()

# ----------------------------------------------------------- copy + check ---
mkdir -p "$FIX"/{nginx,apache,caddy} "$ROOT/examples"
for f in combined vhost custom iso8601 json; do install -m 644 "$TMP/logs/nginx/$f.log" "$FIX/nginx/$f.log"; done
for f in combined common vhost_combined custom; do install -m 644 "$TMP/logs/apache/$f.log" "$FIX/apache/$f.log"; done
for f in access.json access.console; do install -m 644 "$TMP/logs/caddy/$f.log" "$FIX/caddy/$f.log"; done
install -m 644 "$TMP/logs/nginx/example.log" "$EXAMPLE_OUT"

printf '%s\n' "$NGINX_FMT_COMBINED" >"$FIX/nginx/combined.format"
printf '%s\n' "$NGINX_FMT_VHOST" >"$FIX/nginx/vhost.format"
printf '%s\n' "$NGINX_FMT_CUSTOM" >"$FIX/nginx/custom.format"
printf '%s\n' "$NGINX_FMT_ISO" >"$FIX/nginx/iso8601.format"
printf '%s\n' "$NGINX_FMT_JSON" >"$FIX/nginx/json.format"
printf '%s\n' "$APACHE_FMT_COMBINED" >"$FIX/apache/combined.format"
printf '%s\n' "$APACHE_FMT_COMMON" >"$FIX/apache/common.format"
printf '%s\n' "$APACHE_FMT_VHOST" >"$FIX/apache/vhost_combined.format"
printf '%s\n' "$APACHE_FMT_CUSTOM" >"$FIX/apache/custom.format"

problems=() warnings=()
check_lines() { # file expected
    local got
    got=$(wc -l <"$1")
    [[ $got == "$2" ]] || problems+=("$1: $got lines, expected $2")
}
for f in "$FIX"/nginx/*.log "$FIX"/apache/*.log "$FIX"/caddy/*.log; do check_lines "$f" "$NREQ"; done
check_lines "$EXAMPLE_OUT" "$EXAMPLE_COUNT"
grep -q '\\x22' "$FIX/nginx/combined.log" || problems+=("nginx combined.log has no \\x22 escape")
grep -q '\\"' "$FIX/apache/combined.log" || problems+=("apache combined.log has no \\\" escape")
grep -q 'GET /caf\\xC3\\xA9/ ' "$FIX/nginx/combined.log" || problems+=("nginx combined.log has no raw UTF-8 path (\\xC3\\xA9)")
grep -q 'GET /caf\\xc3\\xa9/ ' "$FIX/apache/combined.log" || problems+=("apache combined.log has no raw UTF-8 path (\\xc3\\xa9)")
grep -q '"uri":"/café/"' "$FIX/caddy/access.json.log" || problems+=("caddy log has no raw UTF-8 uri")
grep -q '"http_user_agent":"Mozilla/5.0 \\"quoted\\"' "$FIX/nginx/json.log" || problems+=("nginx json.log has no JSON-escaped quote")
grep -qP '^\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}\.\d{3}\t' "$FIX/caddy/access.console.log" || problems+=("caddy console log does not start with its time")
grep -q 'C:\\x5CTemp\\x5C \\x22x\\x22' "$FIX/nginx/combined.log" || problems+=("nginx combined.log has no \\x5C escape")
grep -qF 'C:\\Temp\\ \"x\"' "$FIX/apache/combined.log" || problems+=("apache combined.log has no \\\\ escape")
grep -q '+0100\]' "$FIX/nginx/combined.log" || problems+=("nginx times are not +0100")
grep -q '+0100\]' "$FIX/apache/combined.log" || problems+=("apache times are not +0100")

# Status per request, read back from each server's own log.
statuses_nginx() { sed -E 's/^[^"]*"[^"]*" ([0-9]{3}) .*$/\1/' "$FIX/nginx/combined.log"; }
statuses_apache() { sed -E 's/^[^"]*"(([^"\\]|\\.)*)" ([0-9]{3}) .*$/\3/' "$FIX/apache/combined.log"; }
statuses_caddy() { grep -o '"status":[0-9]*' "$FIX/caddy/access.json.log" | cut -d: -f2; }
mapfile -t ST_NGINX < <(statuses_nginx)
mapfile -t ST_APACHE < <(statuses_apache)
mapfile -t ST_CADDY < <(statuses_caddy)

is_static() { # target
    local path=${1%%\?*} ext
    path=${path,,}
    [[ $path == */* && ${path##*/} == *.* ]] || return 1
    ext=${path##*.}
    case $ext in css | js | mjs | map | png | jpg | jpeg | gif | svg | webp | avif | ico | woff | woff2 | ttf | otf | eot) return 0 ;; esac
    return 1
}
# Precedence: method, then error/redirect status, then static, then bot.
expect_of() { # method status target ua_label
    local method=$1 status=$2 target=$3 ua=$4
    if [[ $method != GET ]]; then echo method
    elif ((status >= 400)); then echo error
    elif ((status >= 300 && status != 304)); then echo redirect
    elif is_static "$target"; then echo static
    elif [[ $BOT_LABELS == *" $ua "* ]]; then echo bot
    else echo pageview; fi
}

{
    printf 'n\tmethod\ttarget\tua_label\treferer\txff\thost\texpect\tclient\tstatus_nginx\tstatus_apache\tstatus_caddy\tnote\n'
    i=0
    while IFS='|' read -r client method target ua ref xff host intended flags note; do
        t=$(expand_target "$target")
        en=$(expect_of "$method" "${ST_NGINX[i]:-0}" "$t" "$ua")
        ea=$(expect_of "$method" "${ST_APACHE[i]:-0}" "$t" "$ua")
        ec=$(expect_of "$method" "${ST_CADDY[i]:-0}" "$t" "$ua")
        [[ $en == "$intended" ]] || warnings+=("request $((i + 1)) $method $target: nginx gives $en (status ${ST_NGINX[i]:-?}), intended $intended")
        [[ $ea == "$intended" ]] || warnings+=("request $((i + 1)) $method $target: apache gives $ea (status ${ST_APACHE[i]:-?}), intended $intended")
        [[ $ec == "$intended" ]] || warnings+=("request $((i + 1)) $method $target: caddy gives $ec (status ${ST_CADDY[i]:-?}), intended $intended")
        [[ $client == 6 ]] && cl='::1' || cl='127.0.0.1'
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
            $((i + 1)) "$method" "$t" "$ua" "$ref" "$xff" "$host" "$intended" "$cl" \
            "${ST_NGINX[i]:-}" "${ST_APACHE[i]:-}" "${ST_CADDY[i]:-}" "$note"
        i=$((i + 1))
    done <<<"$REQUESTS"
} >"$FIX/requests.tsv"

{
    printf 'ua_label\tbot\tuser_agent\n'
    for l in "${UA_ORDER[@]}"; do
        [[ $BOT_LABELS == *" $l "* ]] && b=yes || b=no
        printf '%s\t%s\t%s\n' "$l" "$b" "${UA[$l]}"
    done
} >"$FIX/user-agents.tsv"

{
    printf 'captured: %s\n' "$CAPTURE_DATE"
    printf 'nginx: %s\n' "$NGINX_VERSION"
    printf 'apache2: %s\n' "$APACHE_VERSION"
    printf 'caddy: %s\n' "$CADDY_VERSION"
    printf 'curl: %s\n' "$CURL_VERSION"
    printf 'TZ: %s\n' "$CAPTURE_TZ"
    printf 'ports: nginx=%s apache=%s caddy=%s nginx-example=%s\n' "$NGINX_PORT" "$APACHE_PORT" "$CADDY_PORT" "$NGINX_EXAMPLE_PORT"
} >"$FIX/versions.txt"

# Markdown table of the requests, spliced into README.md between markers.
request_table() {
    printf '| n | client | method | target | UA | referer | X-Forwarded-For | Host | nginx | apache | caddy | expect | notes |\n'
    printf '|---|---|---|---|---|---|---|---|---|---|---|---|---|\n'
    tail -n +2 "$FIX/requests.tsv" | while IFS=$'\t' read -r n method t ua ref xff host exp cl sn sa sc note; do
        exp_cell=$exp
        en=$(expect_of "$method" "$sn" "$t" "$ua")
        ea=$(expect_of "$method" "$sa" "$t" "$ua")
        ec=$(expect_of "$method" "$sc" "$t" "$ua")
        [[ $en == "$exp" && $ea == "$exp" && $ec == "$exp" ]] || exp_cell="$exp (but nginx $en, apache $ea, caddy $ec)"
        ((${#t} > 60)) && t="${t:0:40}…(${#t} chars)"
        printf '| %s | %s | %s | `%s` | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' \
            "$n" "$cl" "$method" "$t" "$ua" "${ref//|/\\|}" "$xff" "$host" "$sn" "$sa" "$sc" "$exp_cell" "$note"
    done
}
README="$FIX/README.md"
if [[ -f $README ]] && grep -q '<!-- requests:begin -->' "$README"; then
    table=$(request_table)
    vers=$(sed 's/^/    /' "$FIX/versions.txt")
    awk -v table="$table" -v vers="$vers" '
        /<!-- requests:begin -->/ { print; print table; skip = 1; next }
        /<!-- requests:end -->/   { skip = 0 }
        /<!-- versions:begin -->/ { print; print vers; skipv = 1; next }
        /<!-- versions:end -->/   { skipv = 0 }
        !skip && !skipv' "$README" >"$README.tmp" && mv "$README.tmp" "$README"
else
    log "note: $README has no <!-- requests:begin/end --> markers; table not updated"
fi

# --------------------------------------------------------------- summary ----
echo
echo "Fixtures written ($CAPTURE_DATE):"
for f in "$FIX"/nginx/*.log "$FIX"/apache/*.log "$FIX"/caddy/*.log "$FIX/requests.tsv" "$FIX/user-agents.tsv" "$EXAMPLE_OUT"; do
    printf '  %6d lines %8d bytes  %s\n' "$(wc -l <"$f")" "$(wc -c <"$f")" "${f#"$ROOT"/}"
done
echo "  $NGINX_VERSION | $APACHE_VERSION | caddy $CADDY_VERSION"
if ((${#warnings[@]})); then
    echo
    echo "Servers that reached another expectation than intended (see README table):"
    printf '  - %s\n' "${warnings[@]}"
fi
if ((${#problems[@]})); then
    echo
    echo "PROBLEMS:"
    printf '  - %s\n' "${problems[@]}"
    exit 1
fi
echo "All checks passed."
