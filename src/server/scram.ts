/**
 * SCRAM-SHA-256 password authentication, server side (RFC 5802 and RFC 7677), as PostgreSQL does
 * it: no channel binding, the user name in the SCRAM messages is ignored (the startup packet's
 * counts), and the password is checked against a stored verifier, never kept in clear text.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ScramVerifier } from '../common/scram-verifier.js';
import { protocolViolation } from './server-error.js';

export { scramVerifier, type ScramVerifier } from '../common/scram-verifier.js';

/** The SASL mechanism name. */
export const SCRAM_SHA_256 = 'SCRAM-SHA-256';

const hmac = (key: Buffer, data: string | Buffer) => createHmac('sha256', key).update(data).digest();
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest();

/** Parses "k=v,k=v" SCRAM attributes; values may contain '=' (base64). */
function attributes(s: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const part of s.split(',')) {
    if (part.length < 2 || part[1] !== '=') throw malformed();
    m.set(part[0]!, part.slice(2));
  }
  return m;
}

const malformed = () => protocolViolation('malformed SCRAM message', true);

/** One SCRAM exchange: client-first → server-first, client-final → server-final. */
export class ScramExchange {
  private clientFirstBare = '';
  private serverFirst = '';
  private nonce = '';
  private gs2Header = '';

  constructor(private readonly verifier: ScramVerifier) {}

  /** Takes the client-first-message and returns the server-first-message. */
  start(clientFirst: string): string {
    // gs2-header: cbind-flag "," [authzid] ","
    const m = /^([ny]|p=[^,]*),(a=[^,]*)?,(.*)$/s.exec(clientFirst);
    if (!m) throw malformed();
    if (m[1]!.startsWith('p=')) throw protocolViolation('SCRAM channel binding is not supported by this server', true);
    this.gs2Header = clientFirst.slice(0, clientFirst.length - m[3]!.length);
    this.clientFirstBare = m[3]!;
    const attrs = attributes(this.clientFirstBare);
    const clientNonce = attrs.get('r');
    if (!attrs.has('n') || !clientNonce || /[^\x21-\x2b\x2d-\x7e]/.test(clientNonce)) throw malformed();
    this.nonce = clientNonce + randomBytes(18).toString('base64');
    this.serverFirst = `r=${this.nonce},s=${this.verifier.salt.toString('base64')},i=${this.verifier.iterations}`;
    return this.serverFirst;
  }

  /** Takes the client-final-message; returns the server-final-message, or null for a wrong password. */
  finish(clientFinal: string): string | null {
    const proofAt = clientFinal.lastIndexOf(',p=');
    if (proofAt < 0) throw malformed();
    const withoutProof = clientFinal.slice(0, proofAt);
    const attrs = attributes(withoutProof);
    if (attrs.get('c') !== Buffer.from(this.gs2Header).toString('base64')) throw protocolViolation('SCRAM channel binding check failed', true);
    if (attrs.get('r') !== this.nonce) throw protocolViolation('SCRAM nonce does not match', true);
    const proof = Buffer.from(clientFinal.slice(proofAt + 3), 'base64');
    if (proof.length !== 32) throw malformed();
    const authMessage = `${this.clientFirstBare},${this.serverFirst},${withoutProof}`;
    const signature = hmac(this.verifier.storedKey, authMessage);
    const clientKey = Buffer.alloc(32);
    for (let i = 0; i < 32; i++) clientKey[i] = proof[i]! ^ signature[i]!;
    if (!timingSafeEqual(sha256(clientKey), this.verifier.storedKey)) return null;
    return `v=${hmac(this.verifier.serverKey, authMessage).toString('base64')}`;
  }
}
