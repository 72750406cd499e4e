/**
 * Cluster mode over the real broker: three `sluice serve --cluster` processes on loopback split
 * a GROUP BY view over a 6-partition topic. While a producer writes known messages, member b is
 * SIGKILLed, member c joins, and b is started again on its data dir. At the end the view, read
 * from every member, and the Kafka sink's committed output equal the oracle: 0 lost, 0
 * duplicated. The DDL is sent to one member only (the catalog topic carries it to the others).
 * SLUICE_CLUSTER_KILLS=N kills N times in all (scripts/crash-soak.sh runs it with more).
 */
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { ServerProcess } from '../crash/server-process.js';
import { brokers, createTopic, readTopic } from './kafka-helpers.js';

const KEYS = 13;
/** SIGKILLs: the first is member b's, the rest hit a random member (SLUICE_CLUSTER_KILLS, default 1). */
const KILLS = Number(process.env.SLUICE_CLUSTER_KILLS ?? 1);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('cluster mode (3 processes, one killed and restarted, one joining)', () => {
  it('loses and duplicates nothing in the view on every member and in the sink', async () => {
    const root = mkdtempSync(join(tmpdir(), 'sluice-cluster-'));
    const input = await createTopic(6);
    const output = `${input}_out`;
    const cluster = `c${process.pid}_${Date.now()}`;
    const dir = (m: string) => {
      mkdirSync(join(root, m), { recursive: true });
      return join(root, m);
    };
    const args = (m: string) => ['--batch-interval', '200', '--cluster', cluster, '--kafka', brokers(), '--cluster-state', join(root, 'state'), '--member', m];
    const kafka = new Kafka({ brokers: brokers().split(','), clientId: 'sluice-cluster-producer', logLevel: logLevel.NOTHING });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const members = new Map<string, ServerProcess>();
    try {
      members.set('a', await ServerProcess.start(dir('a'), args('a')));
      members.set('b', await ServerProcess.start(dir('b'), args('b')));
      const c0 = await members.get('a')!.client();
      await c0.query(`CREATE SOURCE ev (id BIGINT, k VARCHAR, v BIGINT) WITH (connector = 'kafka', topic = '${input}', brokers = '${brokers()}', format = 'json', scan_startup_mode = 'earliest')`);
      // Combined in stage 1 (count, integer and NUMERIC sums, min, max): partial groups cross the exchange.
      await c0.query('CREATE MATERIALIZED VIEW agg AS SELECT k, count(*) AS n, sum(v) AS total, sum(v::numeric / 4) AS quarter, min(id) AS lo, max(id) AS hi FROM ev WHERE v >= 0 GROUP BY k');
      // Not combinable (a float sum, DISTINCT): stage 1 sends its rows as they are, not partial groups.
      await c0.query('CREATE MATERIALIZED VIEW agg2 AS SELECT k, sum(v * 0.5::float8) AS half, count(DISTINCT v) AS d FROM ev GROUP BY k');
      await c0.query(`CREATE SINK agg_out FROM agg WITH (connector = 'kafka', topic = '${output}', brokers = '${brokers()}', key = 'k')`);
      // A view cluster mode cannot split is refused with 0A000, on the member it was sent to.
      await expect(c0.query('CREATE MATERIALIZED VIEW top1 AS SELECT id, v FROM ev ORDER BY v DESC LIMIT 1')).rejects.toMatchObject({ code: '0A000' });
      await c0.end();

      let produced = 0;
      let running = true;
      const writer = (async () => {
        while (running) {
          const messages = [];
          for (let i = 0; i < 25; i++, produced++) messages.push({ key: String(produced), value: JSON.stringify({ id: produced, k: `k${produced % KEYS}`, v: produced % 7 }) });
          await producer.send({ topic: input, acks: -1, messages });
          await sleep(20);
        }
      })();

      await sleep(4000);
      // b is killed once its copies of both views hold changes (and a checkpoint has had time to
      // record where they stand), so its restart restores them rather than starting over.
      for (const until = Date.now() + 30_000; Date.now() < until; await sleep(300)) {
        const c = await members.get('b')!.client();
        const read = (await c.query('SELECT changes_read FROM sluice.cluster_members WHERE self')).rows.map((r) => Number(r.changes_read));
        await c.end();
        if (read.length === 2 && read.every((n) => n > 0)) break;
      }
      await sleep(1000);
      await members.get('b')!.kill();
      await sleep(3000);
      members.set('c', await ServerProcess.start(dir('c'), args('c')));
      await sleep(4000);
      members.set('b', await ServerProcess.start(dir('b'), args('b')));
      // b's copies of the views came back from its checkpoint, not from the changes topics' start.
      const bErr = members.get('b')!.stderr.join('');
      const at = ['agg', 'agg2'].map((view) => Number(new RegExp(`cluster view ${view} restored from its checkpoint, at offset (\\d+)`).exec(bErr)?.[1]));
      expect(at.every((o) => o > 0), `b's views restored at offsets ${at.join(', ')}; its stderr: ${bErr}`).toBe(true);
      // More kills for a soak (scripts/crash-soak.sh): a random member each time, restarted later.
      for (let k = 1; k < KILLS; k++) {
        await sleep(2000 + Math.random() * 3000);
        const victim = ['a', 'b', 'c'][Math.floor(Math.random() * 3)]!;
        await members.get(victim)!.kill();
        await sleep(500 + Math.random() * 3000);
        members.set(victim, await ServerProcess.start(dir(victim), args(victim)));
      }
      await sleep(3000);
      running = false;
      await writer;
      // Malformed records go to the <source>_errors table of the member that read them.
      const bad = ['bad-0 {', 'bad-1 {', 'bad-2 {'];
      await producer.send({ topic: input, acks: -1, messages: bad.map((value, partition) => ({ value, partition })) });

      const oracle: string[] = [];
      const oracle2: string[] = [];
      for (let k = 0; k < KEYS; k++) {
        let n = 0;
        let total = 0;
        let hi = -1;
        const vs = new Set<number>();
        for (let id = k; id < produced; id += KEYS) {
          n++;
          total += id % 7;
          vs.add(id % 7);
          hi = id;
        }
        // sum(v / 4) exactly: total / 4 has at most two decimals.
        oracle.push(`k${k}|${n}|${total}|${(total / 4).toFixed(2)}|${k}|${hi}`);
        oracle2.push(`k${k}|${total / 2}|${vs.size}`);
      }
      oracle.sort();
      oracle2.sort();
      for (const [name, m] of members) {
        const c = await m.client();
        try {
          const deadline = Date.now() + 120_000;
          let seen = -1;
          while (Date.now() < deadline) {
            seen = Number((await c.query('SELECT coalesce(sum(n), 0) AS s FROM agg')).rows[0].s);
            if (seen >= produced) break;
            await sleep(300);
          }
          expect(seen, `member ${name}: rows counted`).toBe(produced);
          const rows = (await c.query('SELECT k, n, total, round(quarter, 2) AS quarter, lo, hi FROM agg')).rows.map((r) => `${r.k}|${r.n}|${r.total}|${r.quarter}|${r.lo}|${r.hi}`).sort();
          expect(rows, `member ${name}: the view`).toEqual(oracle);
          for (let i = 0; i < 100; i++) {
            const rows2 = (await c.query('SELECT k, half, d FROM agg2')).rows.map((r) => `${r.k}|${r.half}|${r.d}`).sort();
            if (i === 99 || JSON.stringify(rows2) === JSON.stringify(oracle2)) {
              expect(rows2, `member ${name}: the view without a combiner`).toEqual(oracle2);
              break;
            }
            await sleep(300);
          }
          // A killed member stays in its groups until its session times out (10 s): wait for that.
          for (const view of ['agg', 'agg2']) {
            let cm: string[] = [];
            for (const until = Date.now() + 40_000; Date.now() < until; await sleep(500)) {
              cm = (await c.query(`SELECT member FROM sluice.cluster_members WHERE view_name = '${view}'`)).rows.map((r) => String(r.member)).sort();
              if (JSON.stringify(cm) === JSON.stringify(['a', 'b', 'c'])) break;
            }
            expect(cm, `member ${name}: sluice.cluster_members of ${view}`).toEqual(['a', 'b', 'c']);
          }
        } finally {
          await c.end();
        }
      }
      const query = async (m: ServerProcess, sql: string) => {
        const c = await m.client();
        try {
          return (await c.query(sql)).rows;
        } finally {
          await c.end();
        }
      };
      // A restored copy reads the changes topic on from its checkpoint: b (restarted, its copies
      // restored) read fewer change rows since than a (never killed in the base run) since its start.
      if (KILLS === 1) {
        // The member's own row can be missing for a moment while the table is refreshed: asked again until it is there.
        const readBy = async (m: string, view: string) => {
          for (const until = Date.now() + 10_000; ; await sleep(300)) {
            const rows = await query(members.get(m)!, `SELECT changes_read, copy_lag FROM sluice.cluster_members WHERE view_name = '${view}' AND self`);
            if (rows.length > 0 || Date.now() > until) return Number(rows[0]?.changes_read ?? Number.NaN);
          }
        };
        for (const view of ['agg', 'agg2']) {
          expect(await readBy('b', view), `change rows b read for ${view} since its restart, against a's`).toBeLessThan(await readBy('a', view));
        }
        // Caught up: nothing in the changes topics is missing from b's copies (the table is refreshed every 2 s).
        let lag: string[] = [];
        for (const until = Date.now() + 20_000; Date.now() < until; await sleep(500)) {
          lag = (await query(members.get('b')!, 'SELECT view_name, copy_lag FROM sluice.cluster_members WHERE self ORDER BY view_name')).map((r) => `${r.view_name}:${r.copy_lag}`);
          if (JSON.stringify(lag) === JSON.stringify(['agg:0', 'agg2:0'])) break;
        }
        expect(lag).toEqual(['agg:0', 'agg2:0']);
      }
      let dead: string[] = [];
      for (const until = Date.now() + 30_000; Date.now() < until; await sleep(300)) {
        dead = [];
        for (const m of members.values()) dead.push(...(await query(m, "SELECT raw FROM ev_errors WHERE raw LIKE 'bad-%'")).map((r) => String(r.raw)));
        if (new Set(dead).size >= bad.length) break;
      }
      expect([...new Set(dead)].sort()).toEqual(bad);
      await expect(query(members.get('a')!, 'ALTER MATERIALIZED VIEW agg SET PARALLELISM = 2')).rejects.toMatchObject({ code: '0A000' });
      // A view over a cluster view, and a sink added once the view has rows, are refused.
      await expect(query(members.get('c')!, 'CREATE MATERIALIZED VIEW over_agg AS SELECT sum(n) AS n FROM agg')).rejects.toMatchObject({ code: '0A000' });
      await expect(query(members.get('b')!, `CREATE SINK late_out FROM agg WITH (connector = 'kafka', topic = '${output}_late', brokers = '${brokers()}', key = 'k')`)).rejects.toMatchObject({ code: '0A000' });
      // The web UI's system page shows the cluster's members, in a real browser.
      const api = (await (await fetch(`http://127.0.0.1:${members.get('a')!.httpPort}/api/cluster`)).json()) as { name: string; member: string; members: { view: string; member: string; self: boolean; sourcePartitions: string }[] };
      const ofAgg = api.members.filter((m) => m.view === 'agg');
      expect(api.name).toBe(cluster);
      expect(api.member).toBe('a');
      expect(ofAgg.map((m) => m.member).sort()).toEqual(['a', 'b', 'c']);
      expect(ofAgg.flatMap((m) => m.sourcePartitions.split(',').filter(Boolean).map(Number)).sort()).toEqual([0, 1, 2, 3, 4, 5]);
      const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
      try {
        const page = await browser.newPage();
        await page.goto(`http://127.0.0.1:${members.get('b')!.httpPort}/#/system`);
        await page.locator('#cluster').waitFor();
        expect(await page.locator('#cluster caption').textContent()).toContain(`Cluster ${cluster}`);
        // Two views, three members each.
        await page.waitForFunction(() => document.querySelectorAll('#cluster tbody tr').length === 6, null, { timeout: 10_000 });
        expect(await page.locator('#cluster tbody').textContent()).toContain('b (this one)');
      } finally {
        await browser.close();
      }
      // The sink: upserts by key; the last committed value of each key is the view's row.
      const last = new Map<string, string>();
      for (const m of await readTopic(output)) last.set(String(m.key), String(m.value));
      const sunk = [...last.values()].map((v) => JSON.parse(v) as { k: string; n: number; total: number }).map((r) => `${r.k}|${r.n}|${r.total}`).sort();
      expect(sunk).toEqual(oracle.map((o) => o.split('|').slice(0, 3).join('|')).sort());

      // DROP on one member: the view goes from every member, with its topics, group and checkpoints.
      const prefix = `__sluice_${cluster}_agg2_`;
      const admin = kafka.admin();
      await admin.connect();
      try {
        expect((await admin.listTopics()).filter((t) => t.startsWith(prefix)).length).toBe(2);
        expect(readdirSync(join(root, 'state')).some((d) => d.startsWith('agg2.'))).toBe(true);
        await query(members.get('c')!, 'DROP MATERIALIZED VIEW agg2');
        let left: string[] = [];
        for (const until = Date.now() + 30_000; Date.now() < until; await sleep(300)) {
          left = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
          if (left.length === 0) break;
        }
        expect(left).toEqual([]);
        expect(readdirSync(join(root, 'state')).filter((d) => d.startsWith('agg2.'))).toEqual([]);
        for (const [name, m] of members) {
          let gone = false;
          for (const until = Date.now() + 10_000; Date.now() < until && !gone; await sleep(200)) {
            gone = await query(m, 'SELECT count(*) FROM agg2').then(() => false, (e: { code?: string }) => e.code === '42P01');
          }
          expect(gone, `member ${name}: agg2 dropped`).toBe(true);
        }
      } finally {
        await admin.disconnect();
      }
    } finally {
      for (const m of members.values()) await m.kill().catch(() => undefined);
      await producer.disconnect();
      rmSync(root, { recursive: true, force: true });
    }
  }, 300_000);
});
