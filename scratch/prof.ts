import { createEngine } from '../src/exec/runtime/engine.js';
const dir = process.argv[2]!;
const phase = process.argv[3]!;
if (phase === 'build') {
  const e = await createEngine({ dataDir: dir, autoStart: false, log: () => undefined });
  await e.execute(`CREATE SOURCE bids (id BIGINT, price BIGINT) WITH (connector = 'datagen', rows_per_second = 1000000000, max_batch_rows = 1000000, max_rows = 2000000,
      fields.id.kind = 'sequence', fields.id.start = 0, fields.price.kind = 'sequence', fields.price.start = 0, fields.price.end = 999);
    CREATE MATERIALIZED VIEW v AS SELECT id % 1000000 AS k, count(*) AS n, sum(price) AS s FROM bids GROUP BY id % 1000000;`);
  let t = performance.now();
  await e.flush(); console.log('epoch1', performance.now() - t);
  t = performance.now();
  await e.flush(); console.log('epoch2', performance.now() - t);
  await e.close();
} else {
  const t = performance.now();
  const e = await createEngine({ dataDir: dir, autoStart: false, log: (m) => console.log(m) });
  console.log('open', performance.now() - t);
  await e.close();
}
