/**
 * The stream readline writes to: the REPL's output, except while muted. A live SUBSCRIBE
 * mutes it so that keys typed meanwhile are not echoed into the table being redrawn.
 * Terminal size and resizes pass through, as readline lays lines out by them.
 */
import { Writable } from 'node:stream';

/** A pass-through to `target` that drops writes while `muted`. */
export class MutableOutput extends Writable {
  muted = false;

  private readonly onResize = () => this.emit('resize');

  constructor(private readonly target: Writable) {
    super({ decodeStrings: false });
    target.on('resize', this.onResize);
  }

  /** Stops following the target's resizes (the session is over). */
  detach(): void {
    this.target.off('resize', this.onResize);
  }

  get isTTY(): boolean {
    return Boolean((this.target as Partial<NodeJS.WriteStream>).isTTY);
  }

  get columns(): number | undefined {
    return (this.target as Partial<NodeJS.WriteStream>).columns;
  }

  get rows(): number | undefined {
    return (this.target as Partial<NodeJS.WriteStream>).rows;
  }

  override _write(chunk: unknown, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    // Written through at once, so that readline's output and the REPL's own stay in order.
    if (!this.muted) {
      if (typeof chunk === 'string') this.target.write(chunk, encoding);
      else this.target.write(chunk as Uint8Array);
    }
    callback();
  }
}
