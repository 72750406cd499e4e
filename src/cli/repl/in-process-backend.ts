/**
 * The REPL backend over an engine in this process: statements go to `engine.execute`, names
 * come from the catalog directly, and a SUBSCRIBE listens to the engine's change feed.
 */
import { toSluiceError } from '../../common/errors.js';
import { KIND_LABEL } from '../../catalog/index.js';
import { createEngine, type Engine, type StatementResult } from '../../exec/runtime/engine.js';
import { commandTag } from '../../server/command-tag.js';
import { throttledPrinter } from '../../exec/runtime/progress.js';
import { pgParameter } from '../../server/pg-parameters.js';
import type { LiveSink, LiveStream, MessageSink, ReplBackend, ReplRelation, ReplResult } from './backend.js';

/** Opens a fresh engine (persisting under `dataDir` when given) and wraps it as a backend. */
export async function openInProcessBackend(dataDir: string | null, onMessage: MessageSink): Promise<ReplBackend> {
  // The engine's log (restored objects, a view that stopped, a sink that failed) is shown
  // between prompts rather than on stderr, where it would tear through the line being typed.
  const engine = await createEngine({ dataDir, log: (m) => onMessage('LOG', m) });
  // The REPL answers SHOW server_version and the like as a pg-wire connection would.
  engine.setParameterSource(pgParameter);
  // A long backfill or table load reports its progress between the lines it would otherwise hold up.
  engine.progress.listen(throttledPrinter((line) => onMessage('PROGRESS', line)));
  return inProcessBackend(engine, true);
}

/** A backend over an existing engine; `owned` engines are closed with the backend. */
export function inProcessBackend(engine: Engine, owned = false): ReplBackend {
  return {
    description: 'in-process engine',
    async run(sql) {
      return (await engine.execute(sql)).map(toReplResult);
    },
    subscribe: (sql, sink) => subscribeInProcess(engine, sql, sink),
    // A statement that has started in the engine runs to its end; there is nothing to cancel.
    cancel: async () => undefined,
    relations: async () => engine.catalog.list().map((e): ReplRelation => ({ name: e.name, kind: KIND_LABEL[e.kind] as ReplRelation['kind'] })),
    names: () => engine.catalog.list().map((e) => e.name),
    refreshNames: async () => undefined,
    close: () => (owned ? engine.close() : Promise.resolve()),
  };
}

function toReplResult(r: StatementResult): ReplResult {
  switch (r.kind) {
    case 'rows':
      return { kind: 'rows', tag: commandTag(r.tag), columns: r.columns, rows: r.rows };
    case 'command':
      return { kind: 'command', tag: commandTag(r.tag), notice: r.notice };
    case 'subscription': {
      // Only reached when SUBSCRIBE was not recognised up front: show the snapshot, let go.
      r.listen(() => undefined, () => undefined)();
      return { kind: 'rows', tag: 'SUBSCRIBE', columns: r.columns, rows: r.rows };
    }
  }
}

function subscribeInProcess(engine: Engine, sql: string, sink: LiveSink): LiveStream {
  let unlisten: (() => void) | null = null;
  let stopped = false;
  let settle: (reason: string | null) => void = () => undefined;
  let fail: (e: unknown) => void = () => undefined;
  const done = new Promise<string | null>((resolve, reject) => {
    settle = resolve;
    fail = reject;
  });
  engine.execute(sql).then(
    (results) => {
      const r = results[0];
      if (!r || r.kind !== 'subscription') {
        settle(null);
        return;
      }
      sink.columns(r.columns);
      if (r.rows.length && !stopped) sink.rows(r.rows);
      // listen() also releases the engine-side registration, so call it even when stop()
      // came first; otherwise the view would queue changes for nobody forever.
      unlisten = r.listen(
        (rows) => {
          if (!stopped) sink.rows(rows);
        },
        (reason) => {
          unlisten?.();
          settle(reason);
        },
      );
      if (stopped) unlisten();
    },
    (e) => fail(toSluiceError(e)),
  );
  return {
    done,
    async stop() {
      stopped = true;
      unlisten?.();
      settle(null);
      await done.catch(() => undefined);
    },
  };
}
