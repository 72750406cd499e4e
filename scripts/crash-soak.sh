#!/usr/bin/env bash
# The long kill loops: the crash tests of `npm test` with many more kills (default 100 each).
#   scripts/crash-soak.sh [KILLS]
# Runs the file/table crash test, the parallel-view one (instances in shard worker threads) and
# the Kafka/PostgreSQL one (which starts its own broker), and the 3-process cluster one (a fifth
# of the kills: each restart of a member waits out a consumer-group rebalance); each checks lost
# and duplicated rows, which must both be 0.
set -euo pipefail
cd "$(dirname "$0")/.."
kills="${1:-100}"
echo "crash-soak: ${kills} kills per test" >&2
SLUICE_KILLS="$kills" npx vitest run --project unit test/crash/file-table.test.ts
SLUICE_PARALLEL_KILLS="$kills" npx vitest run --project unit test/crash/parallel.test.ts
SLUICE_KILLS="$kills" SLUICE_KILLS_P2="$kills" npx vitest run --project kafka test/kafka/crash.test.ts
SLUICE_CLUSTER_KILLS="$(( kills / 5 > 1 ? kills / 5 : 1 ))" npx vitest run --project kafka test/kafka/cluster.test.ts
