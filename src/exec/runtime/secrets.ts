/**
 * Connector secrets: passwords and keys given in WITH options (`password`, `sasl.password`,
 * a `url` with a password in it …) and user passwords. The catalog keeps the statements as
 * written — a restarted engine must reconnect with them — but nothing a client or a log sees
 * shows them: SHOW CREATE prints `'[REDACTED]'`, and error messages and log lines have every
 * secret value the engine knows replaced by `[REDACTED]`.
 *
 * Secrets are found in statement text by lexing it, so even a statement that fails to parse
 * has its secrets recognised.
 */
import { SluiceError } from '../../common/errors.js';
import { lex, type Token } from '../../parser/index.js';

/** What a secret is shown as. */
export const REDACTED = '[REDACTED]';

/** Option names whose value is a secret (the last dotted part, or the whole name). */
const SECRET_OPTION = /(^|[._])(password|passwd|secret|token|api[._]?key|private[._]?key|access[._]?key|credentials?|sasl\.jaas\.config)$/i;

/** `scheme://user:password@` in a value: the password part. */
const URL_PASSWORD = /([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*:)([^@/?#\s]+)(@)/gi;

/** A secret-bearing string literal of a statement: where it is and its value. */
interface SecretLiteral {
  readonly start: number;
  readonly end: number;
  /** The whole literal is secret (an option value), or only URL passwords inside it. */
  readonly whole: boolean;
  readonly value: string;
}

/** The string literals of `sql` that hold secrets. */
function secretLiterals(sql: string): SecretLiteral[] {
  let toks: Token[];
  try {
    toks = lex(sql);
  } catch {
    return [];
  }
  const out: SecretLiteral[] = [];
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i]!;
    if (t.kind !== 'string') continue;
    const key = optionKeyBefore(toks, i);
    if (key !== null && SECRET_OPTION.test(key)) out.push({ start: t.start, end: t.end, whole: true, value: t.value });
    else if (new RegExp(URL_PASSWORD.source, 'i').test(t.value)) out.push({ start: t.start, end: t.end, whole: false, value: t.value });
  }
  return out;
}

/** The option name of `key = <literal at i>` (dotted parts joined), or `password` for `PASSWORD '…'`. */
function optionKeyBefore(toks: readonly Token[], i: number): string | null {
  const prev = toks[i - 1];
  if (prev?.kind === 'ident' && prev.value === 'password') return 'password';
  if (prev?.kind !== 'symbol' || prev.value !== '=') return null;
  const parts: string[] = [];
  let j = i - 2;
  while (j >= 0) {
    const t = toks[j]!;
    if (t.kind !== 'ident' && t.kind !== 'quoted' && t.kind !== 'string') break;
    parts.unshift(t.value);
    if (toks[j - 1]?.kind === 'symbol' && toks[j - 1]!.value === '.') j -= 2;
    else break;
  }
  return parts.length ? parts.join('.') : null;
}

/** The secret values in statement text (option values, URL passwords, user passwords). */
export function secretsIn(sql: string): string[] {
  const out: string[] = [];
  for (const s of secretLiterals(sql)) {
    if (s.whole) out.push(s.value);
    else for (const m of s.value.matchAll(URL_PASSWORD)) out.push(m[2]!);
  }
  return out.filter((v) => v.length > 0);
}

/** The statement with its secrets shown as '[REDACTED]' (what SHOW CREATE prints). */
export function redactStatement(sql: string): string {
  let out = '';
  let at = 0;
  for (const s of secretLiterals(sql)) {
    out += sql.slice(at, s.start);
    out += s.whole ? `'${REDACTED}'` : `'${s.value.replace(URL_PASSWORD, `$1${REDACTED}$3`).replaceAll("'", "''")}'`;
    at = s.end;
  }
  return out + sql.slice(at);
}

/**
 * Secrets shorter than this are not searched for in messages: replacing every "x" would garble
 * them, and so short a secret protects nothing anyway.
 */
const MIN_SCRUBBED_LENGTH = 4;

/** `text` with every secret (and its URL-encoded form) replaced by [REDACTED]. */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  // Longest first, so a secret containing another is replaced whole.
  for (const s of [...new Set(secrets)].filter((x) => x.length >= MIN_SCRUBBED_LENGTH).sort((a, b) => b.length - a.length)) {
    out = out.replaceAll(s, REDACTED);
    const encoded = encodeURIComponent(s);
    if (encoded !== s) out = out.replaceAll(encoded, REDACTED);
  }
  return out;
}

/** The error with secrets removed from its message and hint. */
export function scrubError(e: SluiceError, secrets: readonly string[]): SluiceError {
  if (!secrets.length) return e;
  const message = scrub(e.message, secrets);
  const hint = e.hint === undefined ? undefined : scrub(e.hint, secrets);
  if (message === e.message && hint === e.hint) return e;
  // The cause may quote the secret too (a driver's message): it is dropped.
  return new SluiceError(e.category, message, { position: e.position, hint });
}
