/**
 * Tab completion: SQL keywords and catalog object names for the word before the cursor,
 * backslash commands at the start of a line. A completion keeps the case of what was typed
 * ('sel' → 'select', 'SEL' → 'SELECT'); after FROM, JOIN, SUBSCRIBE, DESCRIBE, `\d` and the
 * like only object names (and TUMBLE, HOP, SESSION) are offered, all of them when nothing is
 * typed yet.
 */
import { RELATION_CONTEXT, SQL_KEYWORDS } from './keywords.js';
import { META_COMMAND_NAMES } from './meta-commands.js';

/** The table functions that take a relation and may stand where one does. */
const WINDOW_FUNCTIONS: readonly string[] = ['TUMBLE', 'HOP', 'SESSION'];

/**
 * Completions of `line` (the text before the cursor) in readline's form: the candidates and
 * the substring they replace. `names` are the catalog's objects; `previous` is the query
 * buffer's earlier lines (the word before the cursor may be on one of them).
 */
export function completeLine(line: string, names: readonly string[], previous = ''): [string[], string] {
  const command = /^\s*(\\[A-Za-z?+]*)$/.exec(line);
  if (command && previous === '') {
    const word = command[1]!;
    return [META_COMMAND_NAMES.filter((c) => c.startsWith(word)), word];
  }
  const m = /(?:"[^"]*|[A-Za-z_][A-Za-z0-9_$]*)$/.exec(line);
  const word = m ? m[0] : '';
  const before = `${previous}\n${line.slice(0, line.length - word.length)}`;
  const prev = previousWord(before);
  const meta = /^\s*\\d[a-z+]*\s+\S*$/.test(line);
  const relationWanted = meta || RELATION_CONTEXT.has(prev);
  // Where a query reads a relation, it may also read a windowing table function of one.
  const keywords = !relationWanted ? SQL_KEYWORDS : !meta && (prev === 'from' || prev === 'join') ? WINDOW_FUNCTIONS : [];
  if (word.startsWith('"')) {
    // A quoted name: matched exactly, completed with its closing quote.
    const typed = word.slice(1);
    return [names.filter((n) => n.startsWith(typed)).map((n) => `"${n}"`), word];
  }
  if (word === '' && !relationWanted) return [[], ''];
  const lower = word.toLowerCase();
  const nameHits = names.filter((n) => n.toLowerCase().startsWith(lower)).map((n) => nameCompletion(n, word));
  const keywordHits = keywords.filter((k) => k.toLowerCase().startsWith(lower)).map((k) => recase(word, k));
  return [[...new Set([...nameHits, ...keywordHits])], word];
}

/** The last word of `text`, lower-cased ('' when it ends in something else, such as a comma); `tumble(` counts as tumble. */
function previousWord(text: string): string {
  const m = /([A-Za-z_][A-Za-z0-9_]*)\s*\(?\s*$/.exec(text);
  return m ? m[1]!.toLowerCase() : '';
}

/** `full` completed from `typed`: the typed prefix kept, the rest in the case of its last letter. */
function recase(typed: string, full: string): string {
  const letters = typed.replace(/[^A-Za-z]/g, '');
  const last = letters[letters.length - 1];
  const upper = last !== undefined && last === last.toUpperCase();
  const rest = full.slice(typed.length);
  return typed + (upper ? rest.toUpperCase() : rest.toLowerCase());
}

/** An object name completed from `typed`: a lower-case name folds like a keyword; any other needs quotes. */
function nameCompletion(name: string, typed: string): string {
  if (!/^[a-z_][a-z0-9_$]*$/.test(name)) return `"${name}"`;
  return name.startsWith(typed) ? name : recase(typed, name);
}
