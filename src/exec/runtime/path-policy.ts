/**
 * The allowed roots: the only directories file sources, file sinks and file tables may touch.
 * A path is checked after resolving symlinks (of the longest part that exists, since a sink's
 * directory may not exist yet), so a link inside an allowed root cannot lead outside it.
 */
import { realpathSync } from 'node:fs';
import { dirname, isAbsolute, resolve, sep } from 'node:path';
import { SluiceError } from '../../common/errors.js';

export class PathPolicy {
  /** Real paths of the roots, each ending in the path separator. */
  readonly roots: readonly string[];

  constructor(roots: readonly string[]) {
    this.roots = [...new Set(roots.map((r) => withSep(realPathOfLongestPrefix(resolve(r)))))];
  }

  /**
   * Throws 42501 unless `path` (absolute, or relative to the current directory; a glob is
   * checked by the directory before its first wildcard) lies under an allowed root.
   */
  check(path: string, what: string): void {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path)) {
      throw new SluiceError('insufficient_privilege', `${what} may not read remote path '${path}'`, {
        hint: 'sluice reads only local files under its allowed roots (--allow-path); copy the data to one of them.',
      });
    }
    const wildcard = path.search(/[*?[{]/);
    const fixed = wildcard < 0 ? path : dirname(path.slice(0, wildcard) + 'x');
    const real = withSep(realPathOfLongestPrefix(isAbsolute(fixed) ? fixed : process.cwd() + sep + fixed));
    if (this.roots.some((root) => real.startsWith(root))) return;
    throw new SluiceError('insufficient_privilege', `${what} may not touch '${path}': it is outside the allowed paths`, {
      hint: `Allowed are ${this.roots.map((r) => r.slice(0, -1) || sep).join(', ')}; start the server with --allow-path DIR to add a directory.`,
    });
  }
}

function withSep(p: string): string {
  return p.endsWith(sep) ? p : p + sep;
}

/**
 * The real path of absolute `p`: symlinks and `..` resolved by the file system in the longest
 * prefix that exists (resolving `..` by text first would let `allowed/link/..` escape).
 * A `..` in the part that does not exist yet cannot be resolved safely and is refused.
 */
function realPathOfLongestPrefix(p: string): string {
  const parts = p.split(sep);
  for (let n = parts.length; n > 0; n--) {
    const head = parts.slice(0, n).join(sep) || sep;
    let real: string;
    try {
      real = realpathSync(head);
    } catch {
      continue;
    }
    const tail = parts.slice(n).filter((x) => x !== '' && x !== '.');
    if (tail.includes('..')) {
      throw new SluiceError('insufficient_privilege', `path '${p}' climbs out of a directory that does not exist yet`, {
        hint: "Write the path without '..', or create the directory first.",
      });
    }
    return tail.length ? real + (real.endsWith(sep) ? '' : sep) + tail.join(sep) : real;
  }
  return p;
}
