#!/usr/bin/env bash
# Runs every JMH benchmark once, with one fork and 100 ms iterations, so that a benchmark that
# throws (a bad @Param value, a failing @Setup or @TearDown, a round trip that gets a wrong
# reply) fails CI. The numbers it prints are too short to mean anything. ProxyRoundTripBenchmark
# starts real redis-servers (the `testing` fixtures: free ports, stopped by pid in its @TearDown),
# so redis-server must be installed, as for the integration tests.
#
# Build first:  mvn -B -pl benchmarks -am package -DskipTests
#
# The full run, for numbers (defaults from the annotations: 1 fork, 3 x 1 s warm-up,
# 5 x 1 s measurement; -prof gc adds gc.alloc.rate.norm, the bytes allocated per operation):
#   java -jar benchmarks/target/benchmarks.jar -prof gc                         # every suite
#   java -jar benchmarks/target/benchmarks.jar -prof gc RespRequestBenchmark    # one suite
# The suites: HashBenchmark, ContinuumBenchmark, RespRequestBenchmark (Walnut's RESP request
# decoder vs Netty's codec-redis, and decode + route), RespReplyBenchmark (reply framing vs
# Netty's), MultiKeyBenchmark (MGET split and merge), ProxyRoundTripBenchmark (in-process proxy
# over real redis-servers, ops/s). One parameter value only:
#   ... -p hash=FNV1A_64,MURMUR -p keySize=32 HashBenchmark
#   ... -p input=PIPELINE_16 -p decoder=WALNUT RespRequestBenchmark
# The README's "Performance" section says what each one reports.
set -euo pipefail

cd "$(dirname "$0")/.."
jar=benchmarks/target/benchmarks.jar
if [[ ! -f "$jar" ]]; then
  echo "run-smoke: $jar is missing (expected: built by 'mvn -pl benchmarks -am package')" >&2
  exit 1
fi
# -foe: fail on error, so a broken benchmark makes the exit status non-zero.
exec java -jar "$jar" -f 1 -wi 1 -i 1 -w 100ms -r 100ms -foe true "$@"
