#!/usr/bin/env bash
# Smoke test of the `server` binary with curl, on loopback only.
#
# Starts the server (target/debug/server, or $SERVER_BIN) with all four listeners on 127.0.0.1
# free ports and --write-cert, reads its `listening <protocol> <url>` lines, then checks each
# listener with the curl flags that pin its protocol:
#   h1      --http1.1                     h1-tls  --http1.1 --cacert CERT
#   h2      --http2 --cacert CERT         h2c     --http2-prior-knowledge
# For each: GET /health, POST /messages, a bounded GET /events?count=3 (clean end, three ticks),
# a streamed answer of three tokens (POST /v1/chat/completions: a role chunk, the tokens, a stop
# chunk, [DONE]; POST /v1/messages: Anthropic's typed events, message_stop last), GET /stats, and that the negotiated HTTP version is the listener's. Then that each listener
# refuses the other protocol. Exits non-zero with a message on the first failure; the server is
# stopped on exit.
#
# Usage: scripts/smoke-curl.sh            (after `cargo build -p server`)
#        SERVER_BIN=path/to/server scripts/smoke-curl.sh
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
server_bin=${SERVER_BIN:-$root/target/debug/server}

fail() {
    echo "smoke-curl: FAIL: $*" >&2
    exit 1
}

[[ -x $server_bin ]] || fail "no server binary at $server_bin (run 'cargo build -p server' or set SERVER_BIN)"
command -v curl >/dev/null || fail "curl is not installed"
curl --version | grep -qw HTTP2 || fail "this curl has no HTTP/2 support"

tmp=$(mktemp -d)
server_pid=
cleanup() {
    if [[ -n $server_pid ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

"$server_bin" --write-cert "$tmp/cert.pem" \
    --h1 127.0.0.1:0 --h1-tls 127.0.0.1:0 --h2 127.0.0.1:0 --h2c 127.0.0.1:0 \
    --event-interval 50ms >"$tmp/stdout" 2>"$tmp/stderr" &
server_pid=$!

for _ in $(seq 100); do
    [[ $(grep -c '^listening ' "$tmp/stdout" || true) -ge 4 ]] && break
    kill -0 "$server_pid" 2>/dev/null || fail "the server exited: $(cat "$tmp/stderr")"
    sleep 0.1
done
[[ $(grep -c '^listening ' "$tmp/stdout" || true) -ge 4 ]] || fail "no listening lines after 10 s"

url_of() {
    awk -v p="$1" '$1 == "listening" && $2 == p { print $3 }' "$tmp/stdout"
}

# The curl flags that make curl speak the listener's protocol, and the version it must negotiate.
flags_of() {
    case $1 in
        h1) echo "--http1.1" ;;
        h1-tls) echo "--http1.1 --cacert $tmp/cert.pem" ;;
        h2) echo "--http2 --cacert $tmp/cert.pem" ;;
        h2c) echo "--http2-prior-knowledge" ;;
    esac
}
version_of() {
    case $1 in
        h1 | h1-tls) echo "1.1" ;;
        h2 | h2c) echo "2" ;;
    esac
}

# request PROTOCOL PATH [CURL ARGS...]: the body goes to $tmp/body, headers to $tmp/headers;
# prints "<status> <http version>".
request() {
    local protocol=$1 path=$2
    shift 2
    local url
    url="$(url_of "$protocol")$path"
    # shellcheck disable=SC2046 # the flags are meant to split
    curl -sS --noproxy '*' --max-time 10 $(flags_of "$protocol") \
        -o "$tmp/body" -D "$tmp/headers" -w '%{http_code} %{http_version}' "$@" "$url" ||
        fail "$protocol: curl $path failed (exit $?)"
}

expect() {
    local what=$1 want=$2 got=$3
    [[ $got == "$want" ]] || fail "$what: expected '$want', got '$got'"
}

for protocol in h1 h1-tls h2 h2c; do
    url=$(url_of "$protocol")
    [[ -n $url ]] || fail "no listening line for $protocol"
    version=$(version_of "$protocol")

    got=$(request "$protocol" /health)
    expect "$protocol GET /health status and HTTP version" "200 $version" "$got"
    expect "$protocol GET /health body" "ok" "$(cat "$tmp/body")"

    got=$(request "$protocol" "/messages?channel=smoke" --data-binary "hello from $protocol")
    expect "$protocol POST /messages status and HTTP version" "202 $version" "$got"
    grep -Eq '^\{"id":[0-9]+,"subscribers":0\}$' "$tmp/body" ||
        fail "$protocol POST /messages body: $(cat "$tmp/body")"

    got=$(request "$protocol" "/events?count=3&interval_ms=50")
    expect "$protocol GET /events status and HTTP version" "200 $version" "$got"
    grep -qi '^content-type: text/event-stream' "$tmp/headers" ||
        fail "$protocol GET /events content type: $(cat "$tmp/headers")"
    expect "$protocol GET /events first line" "retry: 3000" "$(head -n 1 "$tmp/body")"
    expect "$protocol GET /events tick count" "3" "$(grep -c '^event: tick$' "$tmp/body")"
    expect "$protocol GET /events ids" "id: 0.1 id: 0.2 id: 0.3" "$(grep '^id: ' "$tmp/body" | tr '\n' ' ' | sed 's/ $//')"

    got=$(request "$protocol" "/v1/chat/completions?ttft_ms=0&gap_ms=10" \
        -H 'content-type: application/json' \
        --data-binary '{"model":"smoke","stream":true,"max_tokens":3,"messages":[{"role":"user","content":"hi"}]}')
    expect "$protocol POST /v1/chat/completions status and HTTP version" "200 $version" "$got"
    grep -qi '^content-type: text/event-stream' "$tmp/headers" ||
        fail "$protocol answer content type: $(cat "$tmp/headers")"
    expect "$protocol answer chunks" "5" "$(grep -c '"object":"chat.completion.chunk"' "$tmp/body")"
    expect "$protocol answer tokens" "3" "$(grep -c '"delta":{"content":' "$tmp/body")"
    expect "$protocol answer end" "data: [DONE]" "$(grep -v '^$' "$tmp/body" | tail -n 1)"

    got=$(request "$protocol" "/v1/messages?ttft_ms=0&gap_ms=10" \
        -H 'content-type: application/json' \
        --data-binary '{"model":"smoke","stream":true,"max_tokens":3,"messages":[{"role":"user","content":"hi"}]}')
    expect "$protocol POST /v1/messages status and HTTP version" "200 $version" "$got"
    expect "$protocol typed answer tokens" "3" "$(grep -c '^event: content_block_delta' "$tmp/body")"
    expect "$protocol typed answer end" "event: message_stop" "$(grep '^event: ' "$tmp/body" | tail -n 1)"

    got=$(request "$protocol" /stats)
    expect "$protocol GET /stats status" "200 $version" "$got"
    grep -q "\"protocol\":\"$protocol\"" "$tmp/body" || fail "$protocol GET /stats body: $(cat "$tmp/body")"

    echo "smoke-curl: ok: $protocol $url (HTTP/$version)"
done

# Each listener refuses the other protocol.
h1=$(url_of h1)
h2=$(url_of h2)
h1_tls=$(url_of h1-tls)
h2c=$(url_of h2c)
if curl -sS --noproxy '*' --max-time 10 --http2-prior-knowledge -o /dev/null "$h1/health" 2>/dev/null; then
    fail "h1 served an HTTP/2 prior-knowledge client"
fi
if curl -sS --noproxy '*' --max-time 10 --http1.1 --cacert "$tmp/cert.pem" -o /dev/null "$h2/health" 2>/dev/null; then
    fail "h2 served a client offering ALPN http/1.1 only"
fi
got=$(curl -sS --noproxy '*' --max-time 10 --http2 --cacert "$tmp/cert.pem" -o /dev/null \
    -w '%{http_version}' "$h1_tls/health") || fail "h1-tls failed a client offering h2 and http/1.1"
expect "h1-tls HTTP version offered h2 and http/1.1" "1.1" "$got"
got=$(curl -sS --noproxy '*' --max-time 10 --http1.1 -o /dev/null -w '%{http_code}' "$h2c/health") ||
    fail "h2c did not answer an HTTP/1.1 request"
expect "h2c answer to HTTP/1.1" "505" "$got"

got=$(curl -sS --noproxy '*' --max-time 10 "$h1/stats")
refused=$(echo "$got" | grep -o '"connections_refused":[0-9]*' | awk -F: '{ n += $2 } END { print n }')
expect "connections refused across listeners" "3" "$refused"
echo "smoke-curl: ok: refusals (h1 refuses h2, h2 refuses ALPN http/1.1, h2c refuses HTTP/1.1)"
echo "smoke-curl: PASS"
