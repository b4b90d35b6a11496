# nginx with the nchan module as a fan-out server, for the benchmark and profiling scripts;
# `source "$(dirname "$0")/lib/nchan.sh"` after common.sh, with `work` set to a scratch directory
# (the certificate pair $work/cert.pem, $work/key.pem made) and `cap_kb` the address-space cap.
#
#   start_nchan   # nginx_pid, server_pids (master and worker), nchan_h1, nchan_h2
#   stop_nchan
#
# nginx as scripts/lib/nginx.sh starts it (one worker pinned to CPU 1; NGINX_H2_STREAMS);
# subscribers at /sub?channel= (EventSource, or WebSocket for a WebSocket handshake), the HTTP
# publisher at /pub?channel=, on two free loopback ports: cleartext HTTP/1.1 (nchan_h1) and TLS
# with ALPN h2 or http/1.1 (nchan_h2). nginx-light and libnginx-mod-nchan are installed with
# apt-get when missing.

if ! command -v nginx >/dev/null || ! dpkg -L libnginx-mod-nchan >/dev/null 2>&1; then
  apt-get install -y nginx-light libnginx-mod-nchan >&2
fi
nchan_module=$(dpkg -L libnginx-mod-nchan | grep 'ngx_nchan_module\.so$' | head -1)
source "$(dirname "${BASH_SOURCE[0]}")/nginx.sh"

start_nchan() {
  start_nginx "load_module $nchan_module;" '
    location = /sub { nchan_subscriber eventsource websocket; nchan_channel_id $arg_channel; }
    location = /pub { nchan_publisher; nchan_channel_id $arg_channel; }'
  server_pids=("$nginx_pid" "$nginx_worker")
  nchan_h1=$nginx_h1
  nchan_h2=$nginx_h2
}
stop_nchan() { stop_nginx; }
