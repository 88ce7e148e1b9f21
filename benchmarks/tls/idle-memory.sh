#!/usr/bin/env bash
# What an idle client costs Walnut in resident memory, plain and over TLS (#23).
#
# Usage: benchmarks/tls/idle-memory.sh [CLIENTS] [PROVIDERS]   (defaults: 3000 "openssl jdk")
# Needs bin/walnut built (mvn -B -q package -DskipTests), redis-server with TLS, openssl, python3.
# Starts one TLS redis-server, then for plain TCP and for each TLS engine: Walnut, 200 warm-up
# clients, then CLIENTS clients that each send one PING and stay idle; prints Walnut's resident
# set size before and after, and the difference per client. Every process it starts is stopped.
set -euo pipefail
clients=${1:-3000}
providers=${2:-"openssl jdk"}
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
ulimit -n $((clients * 2 + 1000))
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 200); do ss -ltn | grep -q ":$1 " && return 0; sleep 0.05; done; echo "port $1 never listened" >&2; exit 1; }

cd "$work"
printf '[s]\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n' > ext.cnf
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -subj /CN=ca -days 2 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout tls.key -out tls.csr -subj /CN=localhost 2>/dev/null
openssl x509 -req -in tls.csr -CA ca.crt -CAkey ca.key -set_serial 2 -out tls.crt -days 1 \
  -extfile ext.cnf -extensions s 2>/dev/null

redis_port=$(free_port)
redis-server --port 0 --tls-port "$redis_port" --bind 127.0.0.1 --tls-cert-file tls.crt \
  --tls-key-file tls.key --tls-ca-cert-file ca.crt --tls-auth-clients no --save "" \
  --appendonly no > redis.log 2>&1 &
pids+=($!)
wait_port "$redis_port"

cat > idle.py <<'PY'
import socket, ssl, sys
n, port, tls, ca = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "tls", sys.argv[4]
ctx = ssl.create_default_context(cafile=ca)
held = []
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    c = ctx.wrap_socket(s, server_hostname="127.0.0.1") if tls else s
    c.sendall(b"*1\r\n$4\r\nPING\r\n")
    assert c.recv(100).startswith(b"+PONG")
    held.append(c)
print("open", flush=True)
sys.stdin.readline()
PY

measure() { # mode provider
  local mode=$1 provider=$2 port stats conf wpid
  port=$(free_port); stats=$(free_port); conf=$work/walnut-$mode.yml
  { echo "bench:"; echo "  listen: 127.0.0.1:$port"; echo "  redis: true"
    if [ "$mode" = tls ]; then echo "  tls_cert_file: $work/tls.crt"; echo "  tls_key_file: $work/tls.key"; fi
    echo "  server_tls: true"; echo "  server_tls_ca_file: $work/ca.crt"
    echo "  servers:"; echo "   - 127.0.0.1:$redis_port:1 r1"; } > "$conf"
  "$root/bin/walnut" -c "$conf" -s "$stats" --threads 1 --tls-provider "$provider" > "walnut-$mode-$provider.log" 2>&1 &
  wpid=$!; pids+=($wpid)
  wait_port "$port"
  python3 idle.py 200 "$port" "$mode" "$work/ca.crt" > /dev/null < /dev/null
  local java before after
  java=$(pgrep -P "$wpid" java || echo "$wpid")
  sleep 1; before=$(ps -o rss= -p "$java")
  mkfifo "hold-$mode-$provider"
  python3 idle.py "$clients" "$port" "$mode" "$work/ca.crt" < "hold-$mode-$provider" > "idle-$mode-$provider.out" &
  local cpid=$!; pids+=($cpid)
  exec 7> "hold-$mode-$provider"
  for _ in $(seq 1 600); do grep -q open "idle-$mode-$provider.out" && break; kill -0 $cpid || break; sleep 0.2; done
  grep -q open "idle-$mode-$provider.out" || { echo "clients failed: $(cat "idle-$mode-$provider.out")" >&2; exit 1; }
  sleep 2; after=$(ps -o rss= -p "$java")
  printf '%-6s %-8s %6d clients  RSS %7d KiB -> %7d KiB  %5.1f KiB per idle client\n' "$mode" \
    "$provider" "$clients" "$before" "$after" "$(echo "($after - $before) / $clients" | bc -l)"
  exec 7>&-
  wait $cpid 2>/dev/null || true
  kill "$wpid"; wait "$wpid" 2>/dev/null || true
}

measure plain "$(echo $providers | cut -d' ' -f1)"
for p in $providers; do measure tls "$p"; done
