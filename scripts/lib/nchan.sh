# nginx with the nchan module as a fan-out server, for the benchmark and profiling scripts;
# `source "$(dirname "$0")/lib/nchan.sh"` after common.sh, with `work` set to a scratch directory
# (the certificate pair $work/cert.pem, $work/key.pem made) and `cap_kb` the address-space cap.
#
#   start_nchan   # nginx_pid, server_pids (master and worker), nchan_h1, nchan_h2
#   stop_nchan
#
# One worker pinned to CPU 1; EventSource subscribers at /sub?channel=, the HTTP publisher at
# /pub?channel=, on two free loopback ports: cleartext HTTP/1.1 (nchan_h1) and TLS with ALPN h2
# (nchan_h2). nginx-light and libnginx-mod-nchan are installed with apt-get when missing.

if ! command -v nginx >/dev/null || ! dpkg -L libnginx-mod-nchan >/dev/null 2>&1; then
  apt-get install -y nginx-light libnginx-mod-nchan >&2
fi
nchan_module=$(dpkg -L libnginx-mod-nchan | grep 'ngx_nchan_module\.so$' | head -1)
nginx_pid=""
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_nchan: nginx + nchan, one worker on CPU 1, EventSource subscribers at /sub, the HTTP
# publisher at /pub, on two free ports (cleartext HTTP/1.1; TLS with ALPN h2).
start_nchan() {
  local p1 p2
  p1=$(free_port)
  p2=$(free_port)
  rm -rf "$work/nginx"
  mkdir -p "$work/nginx"
  cat > "$work/nginx.conf" <<CONF
load_module $nchan_module;
worker_processes 1;
worker_rlimit_nofile 40000;
daemon off;
user root;
pid $work/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 30000; }
http {
  access_log off;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  keepalive_requests 1000000;
  http2_max_concurrent_streams 100;
  server {
    listen 127.0.0.1:$p1;
    listen 127.0.0.1:$p2 ssl http2;
    ssl_certificate $work/cert.pem;
    ssl_certificate_key $work/key.pem;
    location = /sub { nchan_subscriber eventsource; nchan_channel_id \$arg_channel; }
    location = /pub { nchan_publisher; nchan_channel_id \$arg_channel; }
  }
}
CONF
  taskset -c 1 prlimit --as=$((cap_kb * 1024)) nginx -c "$work/nginx.conf" -p "$work/nginx" 2>"$work/nginx.err" &
  nginx_pid=$!
  local worker=""
  for _ in $(seq 50); do
    worker=$(pgrep -P "$nginx_pid" | head -1 || true)
    [ -z "$worker" ] || break
    sleep 0.1
  done
  [ -n "$worker" ] || { echo "error: nginx did not start: $(cat "$work/nginx.err")" >&2; exit 1; }
  # Let it listen before the first connect.
  for _ in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$p1") 2>/dev/null && break
    sleep 0.1
  done
  server_pids=("$nginx_pid" "$worker")
  nchan_h1="http://127.0.0.1:$p1"
  nchan_h2="https://127.0.0.1:$p2"
}
stop_nchan() {
  [ -z "$nginx_pid" ] || { kill "$nginx_pid" 2>/dev/null || true; wait "$nginx_pid" 2>/dev/null || true; }
  nginx_pid=""
}
