#!/usr/bin/env bash
# End-to-end comparison of Walnut with the real twemproxy, on this machine.
#
# Starts 3 redis-servers and 3 memcacheds on free loopback ports, twemproxy (Debian's nutcracker)
# and Walnut (--threads 1, 2, ...) with the same pools, then drives each proxy in turn, and one
# backend directly (the ceiling), with redis-benchmark (GET, SET, MGET of 10 keys; pipeline 1 and
# 16; 50 connections) and memcslap (get, set; 50 threads). Each round runs every case against every
# proxy, alternating them (the order rotates from round to round), and the table gives the median
# of the rounds: ops/s, p50 and p99 latency, and the ratios to twemproxy.
#
#   benchmarks/e2e/run.sh                 # 3 rounds of ~5 s runs: 10-15 minutes on 2 cores
#   benchmarks/e2e/run.sh --quick         # 1 round of ~1 s runs: a check that it all works
#   benchmarks/e2e/run.sh --threads 1,2,4 --rounds 5 --seconds 10
#
# Writes benchmarks/results/e2e.md (the table, with the machine it ran on), e2e.png (throughput
# and p99 per case, proxies side by side) and e2e-runs.csv (every run); --quick writes
# e2e-quick.*. Installs nutcracker, redis-server, redis-tools, memcached and libmemcached-tools
# with apt-get when missing (as root). Every process it starts is stopped by its pid on exit.
set -euo pipefail

root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)"

usage() {
  cat <<EOF
usage: benchmarks/e2e/run.sh [--quick] [--threads LIST] [--transports LIST] [--rounds K] [--seconds S]
                             [--clients C] [--cases LIST] [--no-memcache] [--keep] [--out DIR]
                             [--also NAME=DIR]...
  --quick          1 round of ~1 s runs (unless --rounds/--seconds say otherwise)
  --transports LIST  Walnut transports to compare (auto, nio, epoll, io_uring; default: auto);
                   each is run with every --threads value, as walnut-<transport>-tN
  --threads LIST   Walnut event loops to compare, comma-separated (default: 1,2 and doubling up
                   to the number of cores)
  --rounds K       rounds of alternating runs; the table shows their median (default: 3)
  --seconds S      length of one measured run, roughly (default: 5)
  --clients C      connections (redis-benchmark -c) and threads (memcslap -c) (default: 50)
  --cases LIST     only these cases, comma-separated (default: every one of
                   GET P1,GET P16,SET P1,SET P16,MGET10 P1,MGET10 P16,mc get,mc set)
  --no-memcache    Redis cases only
  --keep           keep the working directory (logs, configs) after a successful run
  --out DIR        where the results go (default: benchmarks/results)
  --also NAME=DIR  also run the Walnut of another built checkout, DIR/bin/walnut (its own
                   server/target/walnut), as walnut-NAME-tN beside walnut-tN (NAME: a-z and _);
                   repeatable, e.g. --also before=../walnut-before
EOF
}

die() {
  echo "e2e: $*" >&2
  exit 1
}

cores=$(nproc)
threads=""
rounds=""
seconds=""
quick=0
clients=50
memcache=1
only_cases=""
keep=0
out="$root/benchmarks/results"
variants=("=$root")
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) quick=1 ;;
    --threads) threads="${2:?--threads needs a list, e.g. 1,2}"; shift ;;
    --transports) transports="${2:?--transports needs a list, e.g. epoll,io_uring}"; shift ;;
    --rounds) rounds="${2:?--rounds needs a number}"; shift ;;
    --seconds) seconds="${2:?--seconds needs a number}"; shift ;;
    --clients) clients="${2:?--clients needs a number}"; shift ;;
    --cases) only_cases="${2:?--cases needs a list, e.g. 'GET P1,mc get'}"; shift ;;
    --no-memcache) memcache=0 ;;
    --keep) keep=1 ;;
    --out) out="${2:?--out needs a directory}"; shift ;;
    --also) variants+=("${2:?--also needs NAME=DIR, e.g. before=../walnut-before}"); shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: '$1'" ;;
  esac
  shift
done
if [[ -z "$threads" ]]; then
  threads=1
  for ((t = 2; t <= cores; t *= 2)); do threads+=",$t"; done
fi
rounds=${rounds:-$((quick ? 1 : 3))}
seconds=${seconds:-$((quick ? 1 : 5))}
for v in "$rounds" "$seconds" "$clients"; do
  [[ "$v" =~ ^[1-9][0-9]*$ ]] || die "'$v' is not a positive integer"
done
IFS=',' read -r -a thread_list <<<"$threads"
IFS=',' read -r -a transport_list <<<"${transports:-auto}"
for tr in "${transport_list[@]}"; do
  [[ "$tr" =~ ^(auto|nio|epoll|io_uring)$ ]] || die "--transports: '$tr' is not auto, nio, epoll or io_uring"
done
for t in "${thread_list[@]}"; do
  [[ "$t" =~ ^[1-9][0-9]*$ ]] || die "--threads: '$t' is not a positive integer"
done
for v in "${variants[@]:1}"; do
  [[ "$v" =~ ^[a-z_]+=. ]] || die "--also: '$v' is not NAME=DIR (NAME: a-z and _)"
  ls "${v#*=}"/server/target/walnut/lib/walnut-server-*.jar >/dev/null 2>&1 ||
    die "--also: ${v#*=} has no built distribution (run mvn -q -B -DskipTests package there)"
done
prefix=$([[ $quick == 1 ]] && echo e2e-quick || echo e2e)

# The cases: pipeline 1 and 16 for every Redis command, then memcached get and set.
cases=("GET P1" "GET P16" "SET P1" "SET P16" "MGET10 P1" "MGET10 P16")
[[ $memcache == 1 ]] && cases+=("mc get" "mc set")
if [[ -n "$only_cases" ]]; then
  IFS=',' read -r -a wanted <<<"$only_cases"
  selected=()
  for w in "${wanted[@]}"; do
    found=0
    for tc in "${cases[@]}"; do [[ "$tc" == "$w" ]] && found=1; done
    [[ $found == 1 ]] || die "--cases: '$w' is unknown (known: $(IFS=,; echo "${cases[*]}"))"
    selected+=("$w")
  done
  cases=("${selected[@]}")
  # No memcached case chosen: no memcached backends either.
  [[ " ${cases[*]}" == *" mc "* ]] || memcache=0
fi
keyspace=10000

# --- tools -------------------------------------------------------------------------------------
nutcracker=$(command -v nutcracker || true)
[[ -z "$nutcracker" && -x /usr/sbin/nutcracker ]] && nutcracker=/usr/sbin/nutcracker
need=()
[[ -n "$nutcracker" ]] || need+=(nutcracker)
command -v redis-server >/dev/null || need+=(redis-server)
command -v redis-benchmark >/dev/null && command -v redis-cli >/dev/null || need+=(redis-tools)
command -v memcached >/dev/null || need+=(memcached)
command -v memcslap >/dev/null || need+=(libmemcached-tools)
if [[ ${#need[@]} -gt 0 ]]; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    echo "== installing ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
    nutcracker=$(command -v nutcracker || echo /usr/sbin/nutcracker)
  else
    die "missing ${need[*]}: install them (Debian: sudo apt-get install ${need[*]})"
  fi
fi
java="${JAVA:-java}"
[[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]] && java="$JAVA_HOME/bin/java"
jar="$root/benchmarks/target/benchmarks.jar"
if ! ls "$root"/server/target/walnut/lib/walnut-server-*.jar >/dev/null 2>&1 || [[ ! -f "$jar" ]]
then
  echo "== building Walnut and the benchmarks jar"
  (cd "$root" && mvn -q -B -DskipTests package -pl server,benchmarks -am) ||
    die "the build failed; build with: mvn -B -DskipTests package -pl server,benchmarks -am"
fi

# --- processes ---------------------------------------------------------------------------------
work=$(mktemp -d /tmp/walnut-e2e.XXXXXX)
pids=()
names=()
declare -A pid_of=()
ok=0

cleanup() {
  local i pid
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    pid=${pids[$i]}
    kill -TERM "$pid" 2>/dev/null || true
  done
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    pid=${pids[$i]}
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "e2e: ${names[$i]} (pid $pid) ignored SIGTERM; sending SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
  if [[ $ok == 1 && $keep == 0 ]]; then
    rm -rf "$work"
  else
    echo "e2e: logs and configs kept in $work" >&2
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Starts "$@" in the background as $1's name; its output goes to $work/<name>.log.
start() {
  local name=$1
  shift
  "$@" >"$work/$name.log" 2>&1 &
  pids+=($!)
  names+=("$name")
  pid_of[$name]=$!
  REPLY=$!
}

# A port below the usual ephemeral range (32768+), so client sockets never take it, that nothing
# listens on and that this script has not handed out yet. Sets REPLY (no subshell: it records).
declare -A taken=()
free_port() {
  local p
  for _ in $(seq 500); do
    p=$((20000 + RANDOM % 12000))
    [[ -n "${taken[$p]:-}" ]] && continue
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      taken[$p]=1
      REPLY=$p
      return
    fi
  done
  die "no free port found"
}

redis_ready() {
  [[ $(redis-cli -p "$1" ping 2>/dev/null) == PONG ]]
}

listening() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# True when a memcached (or a proxy's memcache pool) on port $1 answers a get with END.
mc_answers() {
  (
    exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf 'get walnut:e2e:probe\r\n' >&3
    read -r -t 2 reply <&3 || exit 1
    [[ "$reply" == END* ]]
  ) 2>/dev/null
}

# Waits until "$@" succeeds while process $pid lives; fails after $limit seconds.
await() {
  local pid=$1 limit=$2 what=$3
  shift 3
  local deadline=$((SECONDS + limit))
  until "$@"; do
    kill -0 "$pid" 2>/dev/null || return 1
    ((SECONDS < deadline)) || { echo "e2e: $what: not ready after ${limit}s" >&2; return 1; }
    sleep 0.1
  done
}

fail_start() {
  local name=$1
  echo "e2e: $name did not start; the end of its log:" >&2
  tail -20 "$work/$name.log" >&2 || true
  exit 1
}

# --- backends ----------------------------------------------------------------------------------
echo "== backends (3 redis-server, 3 memcached), logs in $work"
redis_ports=()
mc_ports=()
mc_user=()
[[ $(id -u) == 0 ]] && mc_user=(-u root)
for i in 1 2 3; do
  free_port
  port=$REPLY
  start "redis-$i" redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
    --daemonize no --protected-mode no
  await "$REPLY" 10 "redis-$i" redis_ready "$port" || fail_start "redis-$i"
  redis_ports+=("$port")
  if [[ $memcache == 1 ]]; then
    free_port
    port=$REPLY
    start "memcached-$i" memcached "${mc_user[@]}" -l 127.0.0.1 -p "$port" -U 0 -m 256 -t 2
    await "$REPLY" 10 "memcached-$i" mc_answers "$port" || fail_start "memcached-$i"
    mc_ports+=("$port")
  fi
done

# The pools, in plain nutcracker.yml keys only (twemproxy refuses keys it does not know, and the
# comparison must run both proxies on the same file): listen ports differ per proxy instance.
write_conf() {
  local file=$1 redis_listen=$2 mc_listen=$3 p
  {
    echo "bench_redis:"
    echo "  listen: 127.0.0.1:$redis_listen"
    echo "  hash: fnv1a_64"
    echo "  distribution: ketama"
    echo "  redis: true"
    echo "  servers:"
    for p in "${redis_ports[@]}"; do echo "   - 127.0.0.1:$p:1"; done
    if [[ -n "$mc_listen" ]]; then
      echo "bench_memcache:"
      echo "  listen: 127.0.0.1:$mc_listen"
      echo "  hash: fnv1a_64"
      echo "  distribution: ketama"
      echo "  servers:"
      for p in "${mc_ports[@]}"; do echo "   - 127.0.0.1:$p:1"; done
    fi
  } >"$file"
}

# --- proxies -----------------------------------------------------------------------------------
proxies=(twemproxy)
declare -A redis_port=() mc_port=() mc_skip=()
free_port; redis_port[twemproxy]=$REPLY
mc_listen=""
if [[ $memcache == 1 ]]; then free_port; mc_listen=$REPLY; mc_port[twemproxy]=$REPLY; fi
write_conf "$work/twemproxy.yml" "${redis_port[twemproxy]}" "$mc_listen"
if ! check=$("$nutcracker" -t -c "$work/twemproxy.yml" 2>&1); then
  echo "$check" >&2
  die "nutcracker refuses the generated configuration ($work/twemproxy.yml); the comparison" \
    "needs a file both proxies accept, in twemproxy 0.5.0's keys"
fi
free_port
twemproxy_version=$("$nutcracker" -V 2>&1 | awk '/nutcracker-/ { sub(/.*nutcracker-/, ""); print; exit }')
echo "== twemproxy $twemproxy_version on ${redis_port[twemproxy]}" \
  "(redis)${mc_listen:+, $mc_listen (memcache)}"
start twemproxy "$nutcracker" -c "$work/twemproxy.yml" -s "$REPLY" -a 127.0.0.1 -v 4
await "$REPLY" 10 twemproxy listening "${redis_port[twemproxy]}" || fail_start twemproxy

walnut_memcache=$memcache
if [[ $memcache == 1 ]]; then
  write_conf "$work/walnut-check.yml" 1 2
  if ! check=$("$root/bin/walnut" -t -c "$work/walnut-check.yml" 2>&1); then
    if grep -qi memcache <<<"$check"; then
      walnut_memcache=0
      echo "== walnut: skipping the memcache cases: Walnut refuses the memcache pool:" \
        "$(grep -i memcache <<<"$check" | head -1)"
    else
      echo "$check" >&2
      die "walnut refuses the generated configuration ($work/walnut-check.yml)"
    fi
  fi
fi
for v in "${variants[@]}"; do
label=${v%%=*}
walnut="${v#*=}/bin/walnut"
for tr in "${transport_list[@]}"; do
for t in "${thread_list[@]}"; do
  name="walnut-t$t"
  [[ "$tr" == auto ]] || name="walnut-$tr-t$t"
  [[ -z "$label" ]] || name="walnut-$label-${name#walnut-}"
  proxies+=("$name")
  free_port; redis_port[$name]=$REPLY
  mc_listen=""
  if [[ $walnut_memcache == 1 ]]; then free_port; mc_listen=$REPLY; mc_port[$name]=$REPLY; fi
  write_conf "$work/$name.yml" "${redis_port[$name]}" "$mc_listen"
  "$walnut" -t -c "$work/$name.yml" >/dev/null 2>&1 ||
    die "walnut refuses $work/$name.yml: run $walnut -t -c $work/$name.yml"
  free_port
  echo "== $name on ${redis_port[$name]} (redis)${mc_listen:+, $mc_listen (memcache)}"
  start "$name" "$walnut" -c "$work/$name.yml" -s "$REPLY" --threads "$t" \
    --transport "$tr" --shutdown-grace 1000
  await "$REPLY" 60 "$name" listening "${redis_port[$name]}" || fail_start "$name"
  if [[ $memcache == 1 && $walnut_memcache == 0 ]]; then
    mc_skip[$name]="Walnut refuses memcache pools"
  fi
done
done
done
proxies+=(direct)
redis_port[direct]=${redis_ports[0]}
[[ $memcache == 1 ]] && mc_port[direct]=${mc_ports[0]}

if [[ $memcache == 1 ]]; then
  for p in "${proxies[@]}"; do
    if [[ -z "${mc_skip[$p]:-}" ]] && ! mc_answers "${mc_port[$p]}"; then
      mc_skip[$p]="its memcache port 127.0.0.1:${mc_port[$p]} answers nothing to 'get'"
      echo "== $p: skipping the memcache cases: ${mc_skip[$p]}"
    fi
  done
fi

# --- load --------------------------------------------------------------------------------------
mget_args=(mget)
for _ in $(seq 10); do mget_args+=("key:__rand_int__"); done

# Runs case $1 against port $2 with $3 requests; prints "rps,p50,p99" (latencies empty for
# memcslap), or nothing when the tool failed (its output is appended to $work/load.log).
run_case() {
  local tc=$1 port=$2 n=$3 pipe cmd output limit
  limit=$((seconds * 20 + 60))
  case "$tc" in
    mc\ *)
      local per_thread=$(((n + clients - 1) / clients))
      output=$(timeout -k 5 "$limit" memcslap -s "127.0.0.1:$port" -t "${tc#mc }" \
        -c "$clients" -e "$per_thread" 2>&1) || { echo "$output" >>"$work/load.log"; return 0; }
      echo "$output" >>"$work/load.log"
      awk '/^Time to (get|set) .* keys by/ { keys = $4; secs = $(NF-1) }
        END { if (secs > 0) printf "%.0f,,\n", keys / secs }' <<<"$output"
      ;;
    *)
      pipe=${tc##* P}
      case "$tc" in
        GET*) cmd=(-t get) ;;
        SET*) cmd=(-t set) ;;
        MGET10*) cmd=("${mget_args[@]}") ;;
      esac
      output=$(timeout -k 5 "$limit" redis-benchmark -h 127.0.0.1 -p "$port" -c "$clients" \
        -n "$n" -P "$pipe" -r "$keyspace" --csv "${cmd[@]}" 2>>"$work/load.log") ||
        { echo "$output" >>"$work/load.log"; return 0; }
      # "test","rps","avg","min","p50","p95","p99","max": counted from the end, so a command
      # line with commas in the test name cannot shift the fields.
      tail -1 <<<"$output" | tr -d '"' |
        awk -F, 'NF >= 8 && $(NF-6) > 0 { printf "%s,%s,%s\n", $(NF-6), $(NF-3), $(NF-1) }'
      ;;
  esac
}

# CPU time in clock ticks: of process $1 (user + system, every thread), or of the whole machine
# without an argument (user, nice, system, irq and softirq of every CPU).
ticks() {
  if [[ -n "${1:-}" ]]; then
    # The fields after the command name, which may hold spaces: utime and stime are 12th and 13th.
    sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $12 + $13 }'
  else
    awk '/^cpu / { print $2 + $3 + $4 + $7 + $8; exit }' /proc/stat
  fi
}
clk_tck=$(getconf CLK_TCK)

# run_case, and the CPU it cost per request: appends ",proxy_us,machine_us" to its line, the
# proxy's own CPU time (empty for direct) and the whole machine's busy time, in microseconds per
# request. Both are for the whole run, load generator and backends included in the second.
measured_case() {
  local proxy=$1 tc=$2 n=$3 pid=${pid_of[$1]:-} p0="" p1="" m0 m1 result
  if [[ -n "$pid" ]]; then p0=$(ticks "$pid"); fi
  m0=$(ticks)
  result=$(run_case "$tc" "$(port_of "$proxy" "$tc")" "$n")
  m1=$(ticks)
  if [[ -n "$pid" ]]; then p1=$(ticks "$pid"); fi
  if [[ -n "$result" ]]; then
    awk -v r="$result" -v n="$n" -v hz="$clk_tck" -v p0="$p0" -v p1="$p1" -v m0="$m0" \
      -v m1="$m1" 'BEGIN { us = 1e6 / hz / n
        printf "%s,%s,%.2f\n", r, (p0 != "" && p1 != "") ? sprintf("%.2f", (p1 - p0) * us) : "",
          (m1 - m0) * us }'
  fi
}

skips() {
  local proxy=$1 tc=$2
  [[ "$tc" == mc\ * && -n "${mc_skip[$proxy]:-}" ]]
}

port_of() {
  local proxy=$1 tc=$2
  if [[ "$tc" == mc\ * ]]; then echo "${mc_port[$proxy]}"; else echo "${redis_port[$proxy]}"; fi
}

echo "== filling $keyspace keys per pool through twemproxy"
redis-benchmark -h 127.0.0.1 -p "${redis_port[twemproxy]}" -c "$clients" -n $((keyspace * 10)) \
  -P 64 -r "$keyspace" -t set --csv >>"$work/load.log" 2>&1 ||
  die "filling the Redis pool through twemproxy failed; see $work/load.log"

# Warm-up: every proxy runs every case once, unmeasured, which also warms Walnut's JIT; its rate
# sets how many requests make a measured run last about $seconds seconds.
echo "== warm-up and calibration"
declare -A requests=()
for tc in "${cases[@]}"; do
  case "$tc" in
    *P16) warm=$((quick ? 100000 : 400000)) ;;
    *) warm=$((quick ? 20000 : 60000)) ;;
  esac
  for proxy in "${proxies[@]}"; do
    skips "$proxy" "$tc" && continue
    result=$(run_case "$tc" "$(port_of "$proxy" "$tc")" "$warm")
    rps=${result%%,*}
    if [[ -z "$result" ]]; then
      echo "   $proxy, $tc: the warm-up failed (see $work/load.log); using $warm requests"
      requests["$proxy|$tc"]=$warm
    else
      requests["$proxy|$tc"]=$(awk -v r="$rps" -v s="$seconds" -v w="$warm" \
        'BEGIN { n = r * s; if (n < w / 4) n = w / 4; printf "%d", n }')
    fi
  done
done

raw="$work/runs.csv"
echo "round,proxy,case,rps,p50_ms,p99_ms,proxy_us,machine_us" >"$raw"
failures=0
for ((round = 1; round <= rounds; round++)); do
  echo "== round $round of $rounds"
  for tc in "${cases[@]}"; do
    # A/B: the proxies take turns, starting one further each round.
    n_proxies=${#proxies[@]}
    for ((k = 0; k < n_proxies; k++)); do
      proxy=${proxies[$(((k + round - 1) % n_proxies))]}
      skips "$proxy" "$tc" && continue
      result=$(measured_case "$proxy" "$tc" "${requests["$proxy|$tc"]}")
      if [[ -z "$result" ]]; then
        echo "   $tc, $proxy: failed (see $work/load.log)"
        failures=$((failures + 1))
        continue
      fi
      echo "$round,$proxy,$tc,$result" >>"$raw"
      IFS=, read -r rps p50 p99 proxy_us machine_us <<<"$result"
      printf '   %-10s %-18s %12.0f ops/s  p50 %6s ms  p99 %6s ms  cpu %6s / %6s us\n' "$tc" \
        "$proxy" "$rps" "${p50:-n/a}" "${p99:-n/a}" "${proxy_us:-n/a}" "$machine_us"
    done
  done
done

# The checkout whose bin/walnut is "$1/bin/walnut", with its commit, for the report.
checkout_of() {
  local dir
  dir=$(cd "$(dirname "$(readlink -f "$1/bin/walnut")")/.." && pwd)
  echo "\`$dir\` ($(git -C "$dir" log -1 --format='%h %s' 2>/dev/null || echo 'not a git checkout')$(
    [[ -n $(git -C "$dir" status --porcelain -uno 2>/dev/null) ]] && echo ', uncommitted changes'))"
}

# --- report ------------------------------------------------------------------------------------
mkdir -p "$out"
cp "$raw" "$out/$prefix-runs.csv"
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
mem=$(awk '/^MemTotal/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)
jv=$("$java" -version 2>&1 | head -1 | sed 's/"//g')
{
  echo "## End-to-end: Walnut vs twemproxy$([[ $quick == 1 ]] && echo " (quick run)")"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC') on ${cpu:-an unknown CPU}, $cores cores, ${mem} GiB," \
    "Linux $(uname -r); $jv; twemproxy $twemproxy_version;" \
    "redis-server $(redis-server --version | sed -n 's/.* v=\([^ ]*\).*/\1/p')$(
      [[ $memcache == 1 ]] && echo "; memcached $(memcached -V | awk '{print $2}')")." \
    "Load generators, proxies and backends share the machine."
  echo
  if [[ $memcache == 1 ]]; then
    backends="3 redis-server and 3 memcached backends"
    memcslap_text="; memcslap -c $clients (\`mc get\`, \`mc set\`; it reports no latency)"
  else
    backends="3 redis-server backends"
    memcslap_text=""
  fi
  echo "Pools: $backends, fnv1a_64 + ketama, the same nutcracker.yml pools for every proxy;" \
    "\`direct\` is one backend without a proxy (the ceiling). Walnut runs with" \
    "\`--threads N\` as walnut-tN. Load: redis-benchmark -c $clients -r $keyspace (3-byte" \
    "values; MGET10 is \`MGET\` of 10 random keys), pipeline 1 (P1) and 16 (P16)$memcslap_text." \
    "Median of $rounds round(s) of runs of about ${seconds} s each, the proxies alternating" \
    "within each round."
  for v in "${variants[@]:1}"; do
    echo
    echo "walnut-${v%%=*}-tN: $(checkout_of "${v#*=}"); walnut-tN: $(checkout_of "$root")."
  done
  declare -A skipped_by=()
  for p in "${proxies[@]}"; do
    reason=${mc_skip[$p]:-}
    [[ -n "$reason" ]] && skipped_by[$reason]+="${skipped_by[$reason]:+, }$p"
  done
  for reason in "${!skipped_by[@]}"; do
    echo
    echo "Memcache cases skipped for ${skipped_by[$reason]}: $reason."
  done
  if [[ $failures -gt 0 ]]; then echo; echo "$failures run(s) failed and are not in the table."; fi
} >"$work/meta.md"
"$java" -Djava.awt.headless=true -cp "$jar" walnut.benchmarks.e2e.Report --raw "$raw" \
  --meta "$work/meta.md" --markdown "$out/$prefix.md" --chart "$out/$prefix.png" \
  --title "Walnut vs twemproxy, end to end$([[ $quick == 1 ]] && echo " (quick run)")"
echo
echo "== wrote $out/$prefix.md, $out/$prefix.png and $out/$prefix-runs.csv"
ok=1
