/**
 * Users (roles that can log in) and what they were granted. The server's own user — the one
 * `--password` authenticates — is the superuser and is not listed here; every user here is an
 * ordinary user who may read (SELECT, SUBSCRIBE) the relations granted to it and nothing else.
 * A user is kept with its SCRAM verifier, never its password.
 */
import { SluiceError } from '../common/errors.js';
import { formatVerifier, parseVerifier, type ScramVerifier } from '../common/scram-verifier.js';

/** The name the superuser is known by (it cannot be created, altered or dropped as a user). */
export const SUPERUSER_NAME = 'sluice';

/** A privilege a user can hold on a relation (only reading can be granted). */
export type Privilege = 'SELECT';

/** One user as persisted: its verifier in PostgreSQL's text form and its grants. */
export interface StoredRole {
  readonly name: string;
  readonly verifier: string;
  readonly select: readonly string[];
}

interface Role {
  verifier: ScramVerifier;
  readonly select: Set<string>;
}

/** The users of one engine; `onChange` persists them. */
export class Roles {
  private readonly roles = new Map<string, Role>();

  constructor(private readonly onChange: () => void) {}

  /** Loads persisted users (no onChange). */
  load(stored: readonly StoredRole[]): void {
    for (const r of stored) this.roles.set(r.name, { verifier: parseVerifier(r.verifier), select: new Set(r.select) });
  }

  /** What to persist. */
  stored(): StoredRole[] {
    return [...this.roles].map(([name, r]) => ({ name, verifier: formatVerifier(r.verifier), select: [...r.select].sort() }));
  }

  has(name: string): boolean {
    return this.roles.has(name);
  }

  names(): string[] {
    return [...this.roles.keys()].sort();
  }

  /** The verifier a user authenticates against, or undefined for a name that is not a user. */
  verifier(name: string): ScramVerifier | undefined {
    return this.roles.get(name)?.verifier;
  }

  create(name: string, verifier: ScramVerifier): void {
    if (this.roles.has(name) || name === SUPERUSER_NAME) throw new SluiceError('duplicate_object', `role "${name}" already exists`);
    this.roles.set(name, { verifier, select: new Set() });
    this.onChange();
  }

  setVerifier(name: string, verifier: ScramVerifier): void {
    this.get(name).verifier = verifier;
    this.onChange();
  }

  drop(name: string): void {
    this.get(name);
    this.roles.delete(name);
    this.onChange();
  }

  grant(name: string, relation: string): void {
    this.get(name).select.add(relation);
    this.onChange();
  }

  revoke(name: string, relation: string): void {
    this.get(name).select.delete(relation);
    this.onChange();
  }

  /** Whether `name` holds `privilege` on `relation`. */
  holds(name: string, privilege: Privilege, relation: string): boolean {
    return privilege === 'SELECT' && (this.roles.get(name)?.select.has(relation) ?? false);
  }

  /** A dropped relation takes its grants with it (a new one of that name starts without any). */
  forgetRelation(relation: string): void {
    let changed = false;
    for (const r of this.roles.values()) changed = r.select.delete(relation) || changed;
    if (changed) this.onChange();
  }

  /** A renamed relation keeps its grants under the new name (the caller persists). */
  renameRelation(from: string, to: string): void {
    for (const r of this.roles.values()) {
      if (r.select.delete(from)) r.select.add(to);
    }
  }

  private get(name: string): Role {
    const r = this.roles.get(name);
    if (!r) throw new SluiceError('undefined_object', `role "${name}" does not exist`, { hint: name === SUPERUSER_NAME ? 'The superuser is the server itself and holds every privilege.' : 'CREATE USER makes one.' });
    return r;
  }
}
