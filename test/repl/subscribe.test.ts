/** SUBSCRIBE in the REPL: change lines off a terminal, a table redrawn in place on one, Ctrl-C to stop. */
import { afterEach, describe, expect, it } from 'vitest';
import { LiveDisplay } from '../../src/cli/repl/live-display.js';
import { LiveTable } from '../../src/cli/repl/live-table.js';
import type { Field } from '../../src/common/types.js';
import { removeTempDirs, startRepl } from './repl-driver.js';

afterEach(removeTempDirs);

// A source that produces rows on its own, so the view changes while the REPL is subscribed.
const SETUP = `SET batch_interval = '50ms';
CREATE SOURCE gen (id BIGINT) WITH (connector = 'datagen', rows_per_second = 40, fields.id.kind = 'sequence');
CREATE MATERIALIZED VIEW c AS SELECT count(*) AS n FROM gen;
`;

describe('SUBSCRIBE in the REPL', () => {
  it('prints each change as a line off a terminal until Ctrl-C, then goes on with queued input', async () => {
    const r = startRepl();
    r.send(SETUP + 'SUBSCRIBE c;\nSELECT 1 AS after;\n');
    await r.waitFor('epoch\tweight\tn\n');
    // A count moving up: each epoch retracts the old row (-1) and adds the new one (+1).
    await r.waitFor(/\n\d+\t-1\t\d+\n\d+\t1\t\d+\n[^]*\n\d+\t-1\t\d+\n\d+\t1\t\d+\n/);
    // The statement typed meanwhile waits for the subscription to end.
    expect(r.text()).not.toContain(' after');
    r.interrupt();
    await r.waitFor(/subscription stopped after \d+ changes\n/);
    await r.waitFor(/ after\s*\n-------\n\s+1\n/);
    const lines = r.text().split('epoch\tweight\tn\n')[1]!.split('subscription stopped')[0]!.trim().split('\n');
    expect(lines.every((l) => /^\d+\t-?1\t\d+$/.test(l))).toBe(true);
    r.send('\\q\n');
    await r.done;
  });

  it('shows the snapshot unless WITH (snapshot = false), and reports a dropped view', async () => {
    const r = startRepl();
    r.send("CREATE TABLE t (k VARCHAR);\nINSERT INTO t VALUES ('a'), ('b');\nCREATE MATERIALIZED VIEW v AS SELECT k FROM t;\nSUBSCRIBE v;\n");
    await r.waitFor(/epoch\tweight\tk\n\d+\t1\ta\n\d+\t1\tb\n|epoch\tweight\tk\n\d+\t1\tb\n\d+\t1\ta\n/);
    r.interrupt();
    await r.waitFor('subscription stopped after 2 changes');
    r.send('SUBSCRIBE v WITH (snapshot = false);\n');
    await r.waitFor(/stopped after 2 changes\n[^]*epoch\tweight\tk\n$/);
    r.interrupt();
    await r.waitFor('subscription stopped after 0 changes');
    r.send('\\q\n');
    await r.done;
  });

  it('redraws the view in place on a terminal, with a status line', async () => {
    const r = startRepl({ terminal: true });
    r.send(SETUP.replace(/\n/g, '\r') + 'SUBSCRIBE c;\r');
    await r.waitFor(/Ctrl-C to stop/);
    // Redraws move the cursor up over the last table and clear to the end of the screen.
    await r.waitFor(/\x1b\[\d+A\r\x1b\[0J n\s*\n-+\n\s+\d+\n\(1 row\)\nepoch \d+ · \d+ changes · Ctrl-C to stop\n[^]*\x1b\[\d+A\r\x1b\[0J/);
    // Keys typed under the live table are neither echoed nor run.
    const before = r.text().length;
    r.send('SELECT 99 AS typed;\r');
    r.interrupt();
    await r.waitFor(/subscription stopped after \d+ changes\n/);
    r.send('\\q\r');
    await r.done;
    const after = r.text().slice(before);
    expect(after).not.toContain('SELECT 99');
    expect(after).not.toContain('typed');
    // Each redraw goes up exactly as many lines as the frame before it drew.
    const frames = r.text().split(/\x1b\[(\d+)A\r\x1b\[0J/);
    expect(frames.length).toBeGreaterThanOrEqual(5);
    for (let i = 3; i + 1 < frames.length; i += 2) expect(Number(frames[i])).toBe(frames[i - 1]!.split('\n').length - 1);
  });
});

describe('LiveTable and LiveDisplay', () => {
  const columns: Field[] = [{ name: 'epoch', type: 'bigint' }, { name: 'weight', type: 'int' }, { name: 'k', type: 'varchar' }, { name: 'n', type: 'bigint' }];

  it('keeps the contents as a multiset, sorted, and cuts to the rows and width it may use', () => {
    const t = new LiveTable(columns);
    t.apply([[1n, 1, 'b', 1n], [1n, 1, 'a', 1n], [1n, 1, 'a', 1n]]);
    expect(t.rows()).toEqual([['a', 1n], ['a', 1n], ['b', 1n]]);
    t.apply([[2n, -1, 'a', 1n], [2n, -1, 'b', 1n], [2n, 1, 'b', 2n], [2n, 1, null, 5n]]);
    expect(t.rows()).toEqual([['a', 1n], ['b', 2n], [null, 5n]]);
    expect(t.epoch).toBe(2n);
    expect(t.changes).toBe(7);
    expect(t.render()).toEqual([' k | n', '---+---', ' a | 1', ' b | 2', '   | 5', '(3 rows)']);
    expect(t.render(1, 4)).toEqual([' k ', '---', ' a ', '(3 rows, 2 not shown)'.slice(0, 3)]);
    expect(t.render(2)).toEqual([' k | n', '---+---', ' a | 1', ' b | 2', '(3 rows, 1 not shown)']);
  });

  it('redraws at most every minRedrawMs, drawing the last state at finish', async () => {
    let out = '';
    const d = new LiveDisplay({ write: (s) => (out += s), terminal: true, minRedrawMs: 200, size: () => ({ columns: 80, rows: 24 }) });
    d.columns(columns);
    for (let i = 1; i <= 50; i++) d.rows([[BigInt(i), 1, `k${i}`, BigInt(i)]]);
    await new Promise((r) => setTimeout(r, 50));
    d.rows([[51n, 1, 'k51', 51n]]);
    d.finish();
    // The header at once, then one coalesced redraw at finish: 2 frames, not 52.
    expect(out.match(/Ctrl-C to stop/g)!.length).toBe(2);
    expect(out).toContain('epoch 51 · 51 changes');
    // 24 rows on the screen: the table keeps to them and says how many it left out.
    expect(out).toContain('(51 rows, 32 not shown)');
  });
});
