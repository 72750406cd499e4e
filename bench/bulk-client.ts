/**
 * The client side of bench/bulk.ts, in a process of its own so that the engine's CPU time is
 * the engine's: `bulk-client.ts copy|insert PORT TABLE ROWS` loads ROWS rows (id, name, v) into
 * TABLE through the pg driver — COPY FROM STDIN by pg-copy-streams, or one INSERT … VALUES —
 * and prints the wall seconds of the load as JSON.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

const [mode, port, table, rowsArg] = process.argv.slice(2);
const rows = Number(rowsArg);

function* copyText(): Generator<string> {
  let piece = '';
  for (let i = 0; i < rows; i++) {
    piece += `${i}\tname ${i % 1000}\t${i % 100}.5\n`;
    if (piece.length >= 64 * 1024) {
      yield piece;
      piece = '';
    }
  }
  if (piece) yield piece;
}

const client = new pg.Client({ host: '127.0.0.1', port: Number(port), user: 'bench', database: 'bench' });
await client.connect();
let seconds: number;
if (mode === 'copy') {
  const pieces = [...copyText()];
  const t0 = performance.now();
  const stream = client.query(copyFrom(`COPY ${table} FROM STDIN`));
  await pipeline(Readable.from(pieces), stream);
  seconds = (performance.now() - t0) / 1000;
  if (stream.rowCount !== rows) throw new Error(`COPY said ${stream.rowCount} rows, not ${rows}`);
} else {
  const values: string[] = [];
  for (let i = 0; i < rows; i++) values.push(`(${i}, 'name ${i % 1000}', ${i % 100}.5)`);
  const sql = `INSERT INTO ${table} VALUES ${values.join(', ')}`;
  const t0 = performance.now();
  const r = await client.query(sql);
  seconds = (performance.now() - t0) / 1000;
  if (r.rowCount !== rows) throw new Error(`INSERT said ${r.rowCount} rows, not ${rows}`);
}
await client.end();
process.stdout.write(JSON.stringify({ wallSeconds: seconds }) + '\n');
