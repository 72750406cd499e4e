#!/usr/bin/env bash
# The long kill loops: the crash tests of `npm test` with many more kills (default 100 each).
#   scripts/crash-soak.sh [KILLS]
# Runs the file/table crash test, the parallel-view one (instances in shard worker threads) and
# the Kafka/PostgreSQL one (which starts its own broker); each checks lost and duplicated rows,
# which must both be 0.
set -euo pipefail
cd "$(dirname "$0")/.."
kills="${1:-100}"
echo "crash-soak: ${kills} kills per test" >&2
SLUICE_KILLS="$kills" npx vitest run --project unit test/crash/file-table.test.ts
SLUICE_PARALLEL_KILLS="$kills" npx vitest run --project unit test/crash/parallel.test.ts
SLUICE_KILLS="$kills" npx vitest run --project kafka test/kafka/crash.test.ts
