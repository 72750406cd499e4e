/**
 * The cursors of one session: DECLARE name CURSOR FOR query | SUBSCRIBE …, FETCH, CLOSE. A
 * query's cursor holds its result and hands it out in pieces; a SUBSCRIBE's cursor holds a live
 * feed, and FETCH waits (up to its timeout) for the next changes, as Materialize does. Cursors
 * live until CLOSE or the end of their transaction block.
 */
import type { StatementResult } from '../exec/runtime/engine.js';
import type { Field, Value } from '../common/types.js';
import type { Statement } from '../parser/index.js';
import { PgServerError } from './server-error.js';
import { SubscriptionFeed } from './subscription-feed.js';

type Cursor =
  | { readonly kind: 'rows'; readonly columns: readonly Field[]; readonly rows: Value[][]; at: number }
  | { readonly kind: 'feed'; readonly feed: SubscriptionFeed };

type Fetch = Extract<Statement, { kind: 'fetch' }>;

export class Cursors {
  private readonly open = new Map<string, Cursor>();

  constructor(private readonly subscribeQueueRows: number) {}

  has(name: string): boolean {
    return this.open.has(name);
  }

  /** Opens cursor `name` over a statement's result (rows or a subscription). */
  declare(name: string, result: StatementResult): void {
    if (this.open.has(name)) {
      if (result.kind === 'subscription') result.listen(() => undefined, () => undefined)();
      throw new PgServerError('42P03', `cursor "${name}" already exists`, { category: 'duplicate_object' });
    }
    if (result.kind === 'command') throw new PgServerError('42601', 'DECLARE CURSOR takes a query that returns rows', { category: 'syntax' });
    this.open.set(name, result.kind === 'rows'
      ? { kind: 'rows', columns: result.columns, rows: result.rows, at: 0 }
      : { kind: 'feed', feed: new SubscriptionFeed(result, this.subscribeQueueRows) });
  }

  /** FETCH: the next rows of a cursor; a SUBSCRIBE cursor waits for at least one (or the timeout). */
  async fetch(stmt: Fetch, aborted: Promise<never>): Promise<StatementResult> {
    const c = this.open.get(stmt.name);
    if (!c) throw new PgServerError('34000', `cursor "${stmt.name}" does not exist`, { category: 'invalid_parameter' });
    let rows: Value[][];
    if (c.kind === 'rows') {
      const end = stmt.count === null ? c.rows.length : Math.min(c.rows.length, c.at + stmt.count);
      rows = c.rows.slice(c.at, end);
      c.at = end;
    } else {
      // FETCH 0 only asks for the columns; a count of rows is taken as soon as some are there.
      rows = stmt.count === 0 ? [] : await c.feed.take(stmt.count, stmt.timeoutMs, aborted);
    }
    return { kind: 'rows', tag: `FETCH ${rows.length}`, columns: c.kind === 'rows' ? c.columns : c.feed.columns, rows };
  }

  /** CLOSE name, or every cursor (CLOSE ALL, the end of a transaction block, the session's end). */
  close(name: string | null): void {
    if (name === null) {
      for (const c of this.open.values()) if (c.kind === 'feed') c.feed.close();
      this.open.clear();
      return;
    }
    const c = this.open.get(name);
    if (!c) throw new PgServerError('34000', `cursor "${name}" does not exist`, { category: 'invalid_parameter' });
    if (c.kind === 'feed') c.feed.close();
    this.open.delete(name);
  }
}
