/** The REPL in process, driven through streams: statements over several lines, backslash commands, errors, timing. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { removeTempDirs, startRepl, tempDir } from './repl-driver.js';

afterEach(removeTempDirs);

describe('sluice repl (in process)', () => {
  it('runs a statement typed over several lines, with the continuation prompt', async () => {
    const r = startRepl();
    await r.waitFor('sluice=> ');
    r.send('CREATE TABLE t (k VARCHAR, v INT);\n');
    await r.waitFor('CREATE TABLE\n');
    r.send("INSERT INTO t VALUES\n  ('a', 1),\n  ('b', 2);\n");
    await r.waitFor('INSERT 0 2');
    // Each unfinished line got the continuation prompt; the finished statement, the main one.
    expect(r.text()).toMatch(/sluice=> sluice-> sluice-> INSERT 0 2\nsluice=> $/);
    r.send('CREATE MATERIALIZED VIEW m AS\n  SELECT k, sum(v) AS total\n  FROM t\n  GROUP BY k;\nFLUSH;\nSELECT * FROM m ORDER BY k;\n');
    await r.waitFor('(2 rows)');
    expect(r.text()).toContain(' k | total\n---+-------\n a |     1\n b |     2\n(2 rows)\n\n');
    r.send('\\q\n');
    expect(await r.done).toBe(0);
  });

  it('runs several statements on a line, and keeps what follows the last ; for the next line', async () => {
    const r = startRepl();
    r.send("SELECT 1 AS a; SELECT 'x;y' AS b; SELECT\n");
    await r.waitFor('sluice-> ');
    expect(r.text()).toMatch(/ a\s*\n---\n 1\n\(1 row\)/);
    expect(r.text()).toMatch(/ b\s*\n-----\n x;y\n\(1 row\)/);
    r.send('2 AS c;\n');
    await r.waitFor(/ c\s*\n---\n 2\n/);
    // A string or a comment left open keeps the statement going, whatever it contains.
    r.send("SELECT 'one;\n");
    await r.waitFor("sluice'> ");
    r.send("two' AS s; /* a;\n");
    await r.waitFor(' one;\ntwo\n');
    await r.waitFor('sluice*> ');
    r.send('*/ SELECT 3 AS d; -- done;\n');
    await r.waitFor(/ d\s*\n---\n 3\n/);
    await r.waitFor(/\(1 row\)\n\nsluice=> $/);
    r.send('\\q\n');
    await r.done;
  });

  it('lists and describes relations with \\d, \\dt, \\dm and patterns', async () => {
    const r = startRepl();
    r.send("CREATE TABLE orders (id INT, amount DOUBLE);\nCREATE SOURCE gen (id BIGINT) WITH (connector = 'datagen');\n");
    r.send('CREATE MATERIALIZED VIEW totals AS SELECT count(*) AS n, sum(amount) AS total FROM orders;\n');
    r.send('\\d\n');
    await r.waitFor('List of relations');
    expect(r.text()).toMatch(/ Name\s+\|\s+Type\s*\n-+\+-+\n orders\s+\| table\n gen\s+\| source\n totals \| materialized view\n\(3 rows\)/);
    r.send('\\d totals\n');
    await r.waitFor('Materialized view "totals"');
    await r.waitFor(/ n\s+\| bigint\n total \| double precision\n/);
    r.send('\\dt\n');
    await r.waitFor('List of tables');
    r.send('\\dm tot*\n');
    await r.waitFor('List of materialized views');
    r.send('\\d nothing\n\\dt x*\n\\zz\n');
    await r.waitFor('Did not find any relation named "nothing".');
    await r.waitFor('Did not find any relation named "x*".');
    await r.waitFor('invalid command \\zz\nTry \\? for help.');
    r.send('\\?\n\\q\n');
    await r.done;
    expect(r.text()).toContain('\\d NAME             describe a relation');
  });

  it('prints errors as psql does: LINE with a caret under the position, and the hint', async () => {
    const r = startRepl();
    r.send('CREATE TABLE t (k VARCHAR);\nSELECT k,\n       nope\n  FROM t;\n');
    await r.waitFor('ERROR:');
    await r.waitFor(/\^\n/);
    expect(r.text()).toContain('ERROR:  column "nope" does not exist\nLINE 2:        nope\n               ^\n');
    r.send('SELECT * FROM missing;\n');
    await r.waitFor('relation "missing" does not exist');
    expect(r.text()).toContain('LINE 1: SELECT * FROM missing\n                      ^\n');
    r.send('SUBSCRIBE t;\n');
    await r.waitFor('cannot SUBSCRIBE to table "t"');
    expect(r.text()).toMatch(/ERROR:  cannot SUBSCRIBE to table "t"\nLINE 1: SUBSCRIBE t\n {18}\^\nHINT:  SUBSCRIBE takes a materialized view/);
    // An error does not stop the statements after it on the same line.
    r.send('SELECT 1/0 AS boom FROM nowhere; SELECT 7 AS after;\n');
    await r.waitFor(/ after\s*\n-------\n\s+7\n/);
    r.send('\\q\n');
    await r.done;
  });

  it('times statements with \\timing and shows records with \\x', async () => {
    const r = startRepl();
    r.send('\\timing\nSELECT 1 AS one, 2 AS two;\n');
    await r.waitFor('Timing is on.');
    await r.waitFor(/\(1 row\)\n\nTime: \d+\.\d{3} ms\n/);
    r.send('\\x\nSELECT 1 AS one, 22 AS two;\n');
    await r.waitFor('Expanded display is on.');
    await r.waitFor('-[ RECORD 1 ]-\none | 1\ntwo | 22\n');
    r.send('\\timing off\n\\x off\nSELECT 3 AS three;\n');
    await r.waitFor('Timing is off.');
    await r.waitFor(/ three\s*\n-------\n\s+3\n\(1 row\)\n\n/);
    expect(r.text().split('Timing is off.')[1]).not.toContain('Time:');
    r.send('\\q\n');
    await r.done;
  });

  it('clears the query buffer on Ctrl-C and \\r', async () => {
    const r = startRepl();
    await r.waitFor('sluice=> ');
    r.send('SELECT nope\n');
    await r.waitFor('sluice-> ');
    r.interrupt();
    await r.waitFor(/sluice-> \nsluice=> $/);
    r.send('SELECT 5 AS five\n\\r\n;\n');
    await r.waitFor('Query buffer reset (cleared).');
    r.send('SELECT 6 AS six;\n\\q\n');
    await r.done;
    expect(r.text()).not.toContain('nope');
    expect(r.text()).not.toContain(' five');
    expect(r.text()).toMatch(/ six\s*\n-----\n\s+6\n/);
  });

  it('runs a file with \\i, and a last statement without ; at the end of piped input', async () => {
    const file = join(tempDir(), 'setup.sql');
    writeFileSync(file, "CREATE TABLE t (v INT);\nINSERT INTO t\n  VALUES (1), (2);\n\\dt\n");
    const r = startRepl();
    r.send(`\\i ${file}\n\\i /no/such/file.sql\nSELECT sum(v) AS s FROM t`);
    r.input.end();
    expect(await r.done).toBe(0);
    expect(r.text()).toContain('INSERT 0 2');
    expect(r.text()).toContain('List of tables');
    expect(r.text()).toContain('\\i: /no/such/file.sql: No such file or directory');
    expect(r.text()).toMatch(/ s\s*\n---\n 3\n\(1 row\)/);
  });

  it('keeps its catalog in a data dir across runs', async () => {
    const dataDir = tempDir();
    const a = startRepl({ dataDir });
    a.send('CREATE TABLE kept (v INT);\nINSERT INTO kept VALUES (41);\n\\q\n');
    await a.done;
    const b = startRepl({ dataDir });
    b.send('SELECT v + 1 AS v FROM kept;\n\\q\n');
    await b.done;
    expect(b.text()).toMatch(/ v\s*\n----\n 42\n/);
  });
});
