#!/usr/bin/env bash
# End-to-end comparison of Walnut with the real twemproxy, on this machine.
#
# A wrapper: it installs the tools, builds what is missing (the harness, and mcload from
# benchmarks/e2e/mcload.c), raises the open-file limit, and runs the harness,
# walnut.benchmarks.e2e.EndToEnd (benchmarks/src/main/java/walnut/benchmarks/e2e/), which starts
# 3 redis-servers and 3 memcacheds on free loopback ports, twemproxy (Debian's nutcracker), Walnut
# (--threads 1, 2, ...) and any --proxy candidate with the same pools, measures each proxy's
# resident memory (idle, with 5,000 idle clients), then drives each proxy in turn, and one backend
# directly (the ceiling), with redis-benchmark (GET, SET, MGET of 10 keys; pipeline 1 and 16; 50
# connections) and mcload (memcached get, set; pipeline 1 and 16; 50 connections), in rounds that
# alternate the proxies; then measures the memory again, right after the load and 30 s later
# (--settle), and times each proxy's configuration test (-t). The table gives the median of the
# rounds: ops/s, p50, p99 and p99.9 latency, the ratios to twemproxy and the CPU per request.
#
#   benchmarks/e2e/run.sh                 # 3 rounds of ~5 s runs: 10-15 minutes on 2 cores
#   benchmarks/e2e/run.sh --quick         # 1 round of ~1 s runs: a check that it all works
#   benchmarks/e2e/run.sh --threads 1,2,4 --rounds 5 --seconds 10
#   benchmarks/e2e/run.sh --proxy 'mine=/opt/mine/bin/proxy -c {conf} -s {stats}'
#   benchmarks/e2e/run.sh --threads 1 --cases 'GET P1,GET P16' --tls --tls-providers openssl,jdk
#                                         # each case also over TLS: client side, server side,
#                                         # both, and redis-benchmark --tls to a TLS redis-server
#   benchmarks/e2e/run.sh --help          # every option
#
# Writes benchmarks/results/e2e.md (the tables, with the machine it ran on), e2e.png (the chart),
# e2e-runs.csv (every run) and e2e-memory.csv; --quick writes e2e-quick.*. Installs nutcracker,
# redis-server, redis-tools, memcached, gcc and openssl (the TLS cases' certificates) with apt-get
# when missing (as root).
# Every process the harness starts is stopped by its pid when it ends, Ctrl-C included.
set -euo pipefail

root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)"

die() {
  echo "e2e: $*" >&2
  exit 1
}

help=0
idle_clients=5000
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[$i]}" in
    -h|--help) help=1 ;;
    --idle-clients) idle_clients="${args[$((i + 1))]:-0}" ;;
  esac
done

# --- the harness: built with Walnut, rebuilt when its sources or the fixtures changed -----------
java="${JAVA:-java}"
[[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]] && java="$JAVA_HOME/bin/java"
jar="$root/benchmarks/target/benchmarks.jar"
if ! ls "$root"/server/target/walnut/lib/walnut-server-*.jar >/dev/null 2>&1 || [[ ! -f "$jar" ]] ||
  [[ -n $(find "$root/benchmarks/src/main" "$root/testing/src/main" -newer "$jar" -print -quit) ]]
then
  echo "== building Walnut and the benchmarks jar"
  (cd "$root" && mvn -q -B -DskipTests package -pl server,benchmarks -am) ||
    die "the build failed; build with: mvn -B -DskipTests package -pl server,benchmarks -am"
fi
harness=("$java" -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true
  -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -Dwalnut.e2e.root="$root"
  -cp "$jar" walnut.benchmarks.e2e.EndToEnd)
if [[ $help == 1 ]]; then
  exec "${harness[@]}" --help
fi

# --- tools -------------------------------------------------------------------------------------
# Debian installs nutcracker in /usr/sbin, which a user's PATH may lack.
export PATH="$PATH:/usr/sbin:/sbin"
need=()
command -v nutcracker >/dev/null || need+=(nutcracker)
command -v redis-server >/dev/null || need+=(redis-server)
command -v redis-benchmark >/dev/null && command -v redis-cli >/dev/null || need+=(redis-tools)
command -v memcached >/dev/null || need+=(memcached)
command -v openssl >/dev/null || need+=(openssl) # the TLS cases' certificates (TestPki)
# mcload, the memcached load generator, is compiled from its source when missing or older.
mcload="$root/benchmarks/target/mcload"
mcload_src="$root/benchmarks/e2e/mcload.c"
stale=0
[[ -x "$mcload" && ! "$mcload_src" -nt "$mcload" ]] || stale=1
[[ $stale == 0 ]] || command -v gcc >/dev/null || need+=(gcc)
if [[ ${#need[@]} -gt 0 ]]; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    echo "== installing ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    die "missing ${need[*]}: install them (Debian: sudo apt-get install ${need[*]})"
  fi
fi

if [[ $stale == 1 ]]; then
  command -v gcc >/dev/null ||
    die "gcc is missing: it compiles $mcload_src, the memcached load generator (Debian: apt-get install gcc)"
  echo "== compiling benchmarks/e2e/mcload.c"
  mkdir -p "$(dirname "$mcload")"
  gcc -O2 -Wall -o "$mcload" "$mcload_src" || die "gcc could not compile $mcload_src"
fi

# --- open files --------------------------------------------------------------------------------
# The memory measurement holds --idle-clients connections to each proxy: the harness and the
# proxy (which inherits this limit) each need that many descriptors, plus their own. Raise the
# soft limit as far as the hard one allows; the harness holds fewer clients, and says so, if
# that is not enough.
[[ "$idle_clients" =~ ^[0-9]+$ ]] || idle_clients=5000
want=$((idle_clients + 1024))
soft=$(ulimit -Sn)
hard=$(ulimit -Hn)
if [[ $soft != unlimited && $soft -lt $want ]]; then
  if [[ $hard == unlimited || $hard -ge $want ]]; then
    ulimit -Sn "$want"
  else
    echo "== the open-file limit is $hard (ulimit -Hn); $want would hold $idle_clients idle clients"
    ulimit -Sn "$hard"
  fi
fi

exec "${harness[@]}" "$@"
