/**
 * How a running SUBSCRIBE is shown. On a terminal: the view's current contents as an aligned
 * table, redrawn in place (cursor up, clear to the end of the screen) at most ten times a
 * second, with a status line. Elsewhere (a pipe, a file, a test): each change as a line,
 * `epoch weight col…` tab-separated, after a header line.
 */
import type { Field, Value } from '../../common/types.js';
import { formatValue } from '../../common/values.js';
import type { LiveSink } from './backend.js';
import { LiveTable } from './live-table.js';

/** Where and how a LiveDisplay draws. */
export interface LiveDisplayOptions {
  readonly write: (text: string) => void;
  /** Redraw in place (a terminal) or print each change as a line. */
  readonly terminal: boolean;
  /** The terminal's size now, when known. */
  readonly size?: () => { readonly columns?: number; readonly rows?: number };
  /** Least time between two redraws (default 100 ms). */
  readonly minRedrawMs?: number;
}

/** Lines of a redraw besides the table's rows: header, rule, row count, status. */
const FRAME_LINES = 4;

/** Shows a SUBSCRIBE's changes as they arrive; `finish` draws the last state. */
export class LiveDisplay implements LiveSink {
  private table: LiveTable | null = null;
  private fields: readonly Field[] = [];
  private drawnLines = 0;
  private lastDraw = 0;
  private timer: NodeJS.Timeout | null = null;
  private clearScreen = false;

  constructor(private readonly opts: LiveDisplayOptions) {}

  /** Changes received so far. */
  get changes(): number {
    return this.table?.changes ?? 0;
  }

  columns(columns: readonly Field[]): void {
    this.fields = columns;
    this.table = new LiveTable(columns);
    if (this.opts.terminal) this.draw();
    else this.opts.write(columns.map((c) => c.name).join('\t') + '\n');
  }

  rows(rows: readonly (readonly Value[])[]): void {
    if (!this.table) return;
    this.table.apply(rows);
    if (!this.opts.terminal) {
      this.opts.write(rows.map((r) => r.map((v, i) => formatValue(v, this.fields[i]?.type ?? 'varchar') ?? '').join('\t') + '\n').join(''));
      return;
    }
    if (this.timer) return;
    const wait = Math.max(0, (this.opts.minRedrawMs ?? 100) - (Date.now() - this.lastDraw));
    this.timer = setTimeout(() => this.draw(), wait);
  }

  /** The terminal was resized: lines drawn at the old width may wrap, so the next redraw starts from a clear screen. */
  resized(): void {
    if (!this.opts.terminal || !this.table) return;
    this.clearScreen = true;
    if (!this.timer) this.timer = setTimeout(() => this.draw(), 0);
  }

  /** Draws what is pending and stops redrawing. */
  finish(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.draw();
    }
  }

  private draw(): void {
    this.timer = null;
    this.lastDraw = Date.now();
    const table = this.table;
    if (!table) return;
    const size = this.opts.size?.() ?? {};
    const maxRows = size.rows ? Math.max(1, size.rows - FRAME_LINES - 1) : Infinity;
    const width = size.columns ?? Infinity;
    const epoch = table.epoch === null ? 'no changes yet' : `epoch ${String(table.epoch)}`;
    const status = `${epoch} · ${table.changes} change${table.changes === 1 ? '' : 's'} · Ctrl-C to stop`;
    const lines = [...table.render(maxRows, width), status.length >= width ? status.slice(0, width - 1) : status];
    let out = '';
    if (this.clearScreen) out += '\x1b[2J\x1b[H';
    else if (this.drawnLines > 0) out += `\x1b[${this.drawnLines}A\r\x1b[0J`;
    this.clearScreen = false;
    this.opts.write(out + lines.join('\n') + '\n');
    this.drawnLines = lines.length;
  }
}
