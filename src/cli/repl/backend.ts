/**
 * What the REPL runs statements against. Two implementations: an engine in this process
 * (in-process-backend.ts) and a sluice server over the PostgreSQL wire protocol
 * (remote-backend.ts). The REPL itself never knows which one it talks to.
 */
import type { Field, Value } from '../../common/types.js';

/** The result of one statement, ready to print: a row set, or a command tag. */
export type ReplResult =
  | { readonly kind: 'rows'; readonly tag: string; readonly columns: readonly Field[]; readonly rows: readonly (readonly Value[])[] }
  | { readonly kind: 'command'; readonly tag: string; readonly notice?: string; readonly warning?: string };

/** A relation or sink as `\d` lists it. */
export interface ReplRelation {
  readonly name: string;
  readonly kind: RelationKind;
}

/** The kinds of catalog objects, in the words `\d` prints. */
export type RelationKind = 'source' | 'table' | 'materialized view' | 'sink' | 'model';

/** The receiver of a running SUBSCRIBE: its columns (epoch, weight, then the view's) once, then rows. */
export interface LiveSink {
  columns(columns: readonly Field[]): void;
  rows(rows: readonly (readonly Value[])[]): void;
}

/** A running SUBSCRIBE. */
export interface LiveStream {
  /**
   * Settles when the subscription is over: resolves with the reason the server gave (the view
   * was dropped) or null when stop() ended it; rejects with the statement's error.
   */
  readonly done: Promise<string | null>;
  /** Ends the subscription (Ctrl-C); resolves once it is over. */
  stop(): Promise<void>;
}

/** A place statements run: an in-process engine or a server. */
export interface ReplBackend {
  /** How the banner names it: "in-process engine" or "connected to URL". */
  readonly description: string;
  /** Runs one statement (not a SUBSCRIBE); errors are thrown as SluiceError or pg errors. */
  run(sql: string): Promise<ReplResult[]>;
  /** Starts a SUBSCRIBE statement; changes go to `sink` until the stream is stopped or ends. */
  subscribe(sql: string, sink: LiveSink): LiveStream;
  /** Asks the statement in flight to stop (a CancelRequest); a no-op where that is impossible. */
  cancel(): Promise<void>;
  /** Every source, table, materialized view and sink, in creation order. */
  relations(): Promise<ReplRelation[]>;
  /** Object names for Tab completion, as last known (synchronous: completion cannot wait). */
  names(): readonly string[];
  /** Updates what names() returns (after DDL). */
  refreshNames(): Promise<void>;
  close(): Promise<void>;
}

/** The receiver of what a backend reports outside any result: engine log lines, server notices. */
export type MessageSink = (severity: string, message: string) => void;
