/**
 * Prometheus metrics at `/metrics` (text format 0.0.4) with prom-client, on a registry of this
 * server's own (no global registry: two engines in one process keep their figures apart).
 *
 * Per-epoch figures (the epoch counter, processing time and scheduling delay histograms) are
 * observed as each epoch ends (a listener on the engine, a few additions per epoch). Everything
 * else is read from one monitor snapshot when scraped, so a scrape costs the engine nothing
 * between scrapes. Totals the engine keeps as absolute counts (source rows, dead letters, late
 * rows, sink rows) are exported as counters advanced by the difference since the last scrape.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Engine } from '../exec/runtime/engine.js';
import type { Overview } from '../exec/runtime/monitor.js';

/** Buckets for epoch processing time and scheduling delay, in seconds (1 ms … 60 s). */
const SECONDS_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** A counter fed from an absolute total: advanced by the growth since the last scrape. */
class TotalCounter<L extends string> {
  private readonly last = new Map<string, number>();
  readonly counter: Counter<L>;

  constructor(registry: Registry, name: string, help: string, labelNames: readonly L[]) {
    this.counter = new Counter({ name, help, labelNames, registers: [registry] });
  }

  /** Sets each labelled series to its total; series no longer present are removed. */
  update(totals: readonly { labels: Record<L, string>; total: number }[]): void {
    const seen = new Set<string>();
    for (const { labels, total } of totals) {
      const key = JSON.stringify(labels);
      seen.add(key);
      const before = this.last.get(key);
      // An object dropped and created again under the same name starts from zero.
      if (before === undefined || total < before) {
        this.counter.remove(labels);
        this.counter.inc(labels, total);
      } else if (total > before) {
        this.counter.inc(labels, total - before);
      }
      this.last.set(key, total);
    }
    for (const key of [...this.last.keys()]) {
      if (seen.has(key)) continue;
      this.counter.remove(JSON.parse(key) as Record<L, string>);
      this.last.delete(key);
    }
  }
}

/** The registry and its metric families for one engine. */
export class PrometheusExporter {
  private readonly registry = new Registry();
  private readonly epochs: Counter;
  private readonly processing: Histogram;
  private readonly delay: Histogram;
  private readonly sourceRows: TotalCounter<'source'>;
  private readonly sourceErrors: TotalCounter<'source'>;
  private readonly sourceLag: Gauge<'source' | 'partition'>;
  private readonly sourceRateLimit: Gauge<'source'>;
  private readonly viewRows: Gauge<'view'>;
  private readonly viewStateBytes: Gauge<'view'>;
  private readonly viewLate: TotalCounter<'view'>;
  private readonly sinkRows: TotalCounter<'sink'>;
  private readonly stopListening: () => void;

  constructor(private readonly engine: Engine) {
    const r = this.registry;
    collectDefaultMetrics({ register: r });
    this.epochs = new Counter({ name: 'sluice_epochs_total', help: 'Epochs run since the engine started.', registers: [r] });
    this.processing = new Histogram({ name: 'sluice_epoch_processing_seconds', help: 'Time to process an epoch (read, views, commit).', buckets: SECONDS_BUCKETS, registers: [r] });
    this.delay = new Histogram({ name: 'sluice_epoch_scheduling_delay_seconds', help: 'How late an epoch started after its scheduled time.', buckets: SECONDS_BUCKETS, registers: [r] });
    this.sourceRows = new TotalCounter(r, 'sluice_source_rows_total', 'Rows read from a source.', ['source']);
    this.sourceErrors = new TotalCounter(r, 'sluice_source_errors_total', 'Records of a source sent to its dead-letter table (<source>_errors).', ['source']);
    this.sourceLag = new Gauge({ name: 'sluice_source_lag_rows', help: 'Records left beyond the last epoch\'s range, per partition.', labelNames: ['source', 'partition'], registers: [r] });
    this.sourceRateLimit = new Gauge({ name: 'sluice_source_rate_limit_rows_per_second', help: 'The most rows per second a source may take (sources with a limit only).', labelNames: ['source'], registers: [r] });
    this.viewRows = new Gauge({ name: 'sluice_view_rows', help: 'Rows in a materialized view.', labelNames: ['view'], registers: [r] });
    this.viewStateBytes = new Gauge({ name: 'sluice_view_state_bytes', help: 'Bytes of operator state a view holds.', labelNames: ['view'], registers: [r] });
    this.viewLate = new TotalCounter(r, 'sluice_view_late_rows_total', 'Rows a view dropped as late (below its watermark).', ['view']);
    this.sinkRows = new TotalCounter(r, 'sluice_sink_rows_total', 'Rows (changes) a sink delivered to its destination.', ['sink']);
    this.stopListening = engine.onEpoch((m) => {
      this.epochs.inc();
      this.processing.observe(m.processingTimeMs / 1000);
      this.delay.observe(m.schedulingDelayMs / 1000);
    });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The metrics text of a scrape. */
  async text(): Promise<string> {
    this.update(await this.engine.monitor((m) => m.overview()));
    return this.registry.metrics();
  }

  close(): void {
    this.stopListening();
  }

  private update(o: Overview): void {
    this.sourceRows.update(o.sources.map((s) => ({ labels: { source: s.name }, total: s.rows })));
    this.sourceErrors.update(o.sources.map((s) => ({ labels: { source: s.name }, total: s.deadLetters })));
    this.sourceLag.reset();
    this.sourceRateLimit.reset();
    for (const s of o.sources) {
      for (const p of s.lag) this.sourceLag.set({ source: s.name, partition: String(p.partition) }, p.lag);
      if (s.rateLimit !== null) this.sourceRateLimit.set({ source: s.name }, s.rateLimit);
    }
    this.viewRows.reset();
    this.viewStateBytes.reset();
    for (const v of o.views) {
      this.viewRows.set({ view: v.name }, v.rows);
      this.viewStateBytes.set({ view: v.name }, v.stateBytes);
    }
    this.viewLate.update(o.views.map((v) => ({ labels: { view: v.name }, total: v.lateRows })));
    this.sinkRows.update(o.sinks.map((s) => ({ labels: { sink: s.name }, total: s.rowsWritten })));
  }
}
