/**
 * Reads a generated 2 GB JSON-lines file (in a temp dir, removed after) through a file source
 * with the default max_bytes_per_epoch (64 MiB) and prints what it took as JSON: epochs, the
 * largest epoch, peak RSS growth. `npx tsx scripts/large-file.ts [GB]`. The in-`npm test`
 * version is test/large-file.test.ts (200 MB).
 */
import { readLargeFile } from '../test/large-file.js';

const gb = Number(process.argv[2] ?? 2);
const r = await readLargeFile(Math.round(gb * 2 ** 30), 64 << 20);
process.stdout.write(JSON.stringify(r, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2) + '\n');
if (r.counted !== BigInt(r.lines) || r.sum !== r.expectedSum) {
  process.stderr.write('the file was not read completely or correctly\n');
  process.exit(1);
}
