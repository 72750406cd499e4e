/**
 * SCRAM-SHA-256 verifiers (RFC 5802, RFC 7677): what is kept instead of a password, by the
 * server for its superuser and by the catalog for every user. The text form is PostgreSQL's
 * (`SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`, base64), so a verifier can be
 * compared with what PostgreSQL stores in pg_authid.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { SluiceError } from './errors.js';

/** A SCRAM verifier: salt, iteration count and the two keys derived from the password. */
export interface ScramVerifier {
  readonly salt: Buffer;
  readonly iterations: number;
  readonly storedKey: Buffer;
  readonly serverKey: Buffer;
}

const hmac = (key: Buffer, data: string | Buffer) => createHmac('sha256', key).update(data).digest();
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest();

/**
 * Derives the verifier of a password. PostgreSQL runs the password through SASLprep first; NFKC
 * normalization is its main step (ASCII passwords are unchanged either way).
 */
export function scramVerifier(password: string, iterations = 4096, salt: Buffer = randomBytes(16)): ScramVerifier {
  const salted = pbkdf2Sync(Buffer.from(password.normalize('NFKC'), 'utf8'), salt, iterations, 32, 'sha256');
  return {
    salt,
    iterations,
    storedKey: sha256(hmac(salted, 'Client Key')),
    serverKey: hmac(salted, 'Server Key'),
  };
}

/** The verifier in PostgreSQL's text form. */
export function formatVerifier(v: ScramVerifier): string {
  return `SCRAM-SHA-256$${v.iterations}:${v.salt.toString('base64')}$${v.storedKey.toString('base64')}:${v.serverKey.toString('base64')}`;
}

/** Reads PostgreSQL's text form back; throws on anything else. */
export function parseVerifier(text: string): ScramVerifier {
  const m = /^SCRAM-SHA-256\$(\d+):([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)$/.exec(text);
  if (!m) throw new SluiceError('invalid_input', 'a stored password verifier is not in SCRAM-SHA-256 form');
  return { iterations: Number(m[1]), salt: Buffer.from(m[2]!, 'base64'), storedKey: Buffer.from(m[3]!, 'base64'), serverKey: Buffer.from(m[4]!, 'base64') };
}
