/**
 * The window kinds — window table functions in FROM — one file each, and their registry. An
 * entry holds how a call is bound, how EXPLAIN shows the window and the operators that run it;
 * `WindowKind` is the registry's keys, so a new kind is its file plus one line here, and the
 * binder, the physical planner, EXPLAIN and the pipeline pick it up.
 */
import { hop } from './hop.js';
import { session } from './session.js';
import { tumble } from './tumble.js';
import type { WindowKindDefinition } from './window-kind.js';

export type { WindowAggPlan, WindowAggregation, WindowKindDefinition, WindowParams, WindowTagging, WindowTagPlan } from './window-kind.js';

/** Every window kind by its SQL name (lower case). */
export const WINDOW_KINDS = { tumble, hop, session } satisfies Record<string, WindowKindDefinition>;

/** A window kind: a key of the registry. */
export type WindowKind = keyof typeof WINDOW_KINDS;

/** The window kind a table function name calls, if it is one. */
export function windowKindOf(name: string): WindowKind | null {
  const k = name.toLowerCase();
  return Object.hasOwn(WINDOW_KINDS, k) ? (k as WindowKind) : null;
}

/** The kinds' names for a message: `TUMBLE, HOP and SESSION` (`conjunction` = 'and'). */
export function windowKindList(conjunction: 'and' | 'or'): string {
  const names = Object.keys(WINDOW_KINDS).map((k) => k.toUpperCase());
  return names.length === 1 ? names[0]! : `${names.slice(0, -1).join(', ')} ${conjunction} ${names.at(-1)!}`;
}
