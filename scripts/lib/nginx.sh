# nginx as a reference server for the benchmark scripts; `source "$(dirname "$0")/lib/nginx.sh"`
# after common.sh, with `work` set to a scratch directory (the certificate pair $work/cert.pem,
# $work/key.pem made). scripts/lib/nchan.sh builds on it.
#
#   start_nginx HEAD LOCATIONS   # nginx_pid, nginx_worker, nginx_h1, nginx_h2
#   stop_nginx
#
# One worker pinned to CPU 1, on two free loopback ports: cleartext HTTP/1.1 (nginx_h1) and TLS
# with ALPN h2 or http/1.1, whichever the client offers (nginx_h2). HEAD goes before the config's
# first line (e.g. a `load_module`), LOCATIONS into its one `server` block. Set before the start:
# cap_kb caps the processes' address space (none when empty), NGINX_H2_STREAMS is HTTP/2's
# SETTINGS_MAX_CONCURRENT_STREAMS (100, nginx's default and the server's, when unset).
# NGINX_WRAP is a command to run nginx under (e.g. valgrind); with it, nginx runs without its master
# process, as one process that is its own worker (nginx_worker = nginx_pid).

nginx_pid=""
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start_nginx() {
  local head=$1 locations=$2 p1 p2 cap=()
  p1=$(free_port)
  p2=$(free_port)
  rm -rf "$work/nginx"
  mkdir -p "$work/nginx"
  cat > "$work/nginx.conf" <<CONF
$head
worker_processes 1;
worker_rlimit_nofile 40000;
daemon off;
${NGINX_WRAP:+master_process off;}
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
  http2_max_concurrent_streams ${NGINX_H2_STREAMS:-100};
  server {
    listen 127.0.0.1:$p1;
    listen 127.0.0.1:$p2 ssl http2;
    ssl_certificate $work/cert.pem;
    ssl_certificate_key $work/key.pem;
    $locations
  }
}
CONF
  [ -z "${cap_kb:-}" ] || cap=(prlimit --as=$((cap_kb * 1024)))
  local wrap=()
  [ -z "${NGINX_WRAP:-}" ] || read -r -a wrap <<< "$NGINX_WRAP"
  taskset -c 1 "${cap[@]}" "${wrap[@]}" nginx -c "$work/nginx.conf" -p "$work/nginx" 2>"$work/nginx.err" &
  nginx_pid=$!
  nginx_worker=""
  for _ in $(seq 50); do
    if [ -n "${NGINX_WRAP:-}" ]; then nginx_worker=$nginx_pid; else
      nginx_worker=$(pgrep -P "$nginx_pid" | head -1 || true)
    fi
    [ -z "$nginx_worker" ] || break
    sleep 0.1
  done
  [ -n "$nginx_worker" ] || { echo "error: nginx did not start: $(cat "$work/nginx.err")" >&2; exit 1; }
  # Let it listen before the first connect (slower under a wrapper such as valgrind).
  for _ in $(seq "$([ -n "${NGINX_WRAP:-}" ] && echo 600 || echo 50)"); do
    (exec 3<>"/dev/tcp/127.0.0.1/$p1") 2>/dev/null && break
    sleep 0.1
  done
  nginx_h1="http://127.0.0.1:$p1"
  nginx_h2="https://127.0.0.1:$p2"
}
stop_nginx() {
  [ -z "$nginx_pid" ] || { kill "$nginx_pid" 2>/dev/null || true; wait "$nginx_pid" 2>/dev/null || true; }
  nginx_pid=""
}
