/**
 * Flow control (ARCHITECTURE.md "Flow control"): per-source rate limits and backpressure.
 *
 * `max_rate` (rows per second, a WITH option the engine takes for every source) caps a source's
 * epoch at max_rate × batch interval rows. Backpressure (on by default; `SET backpressure = off`)
 * is Spark 1.5's PID rate estimator, one per source, fed after each epoch with the epoch's end
 * time, the source's rows, the epoch's processing time and its scheduling delay:
 *
 *   processingRate  = rows / processing time                       (rows/s)
 *   error           = latestRate − processingRate
 *   historicalError = schedulingDelay × processingRate / batchInterval
 *   dError          = (error − latestError) / time since the last update
 *   newRate         = max(latestRate − kp·error − ki·historicalError − kd·dError, minRate)
 *
 * with Spark's defaults kp = 1.0, ki = 0.2, kd = 0, minRate = 100 rows/s. The first epoch with
 * rows only seeds latestRate with its processing rate (no limit yet); epochs without rows, or
 * that took no time, leave the estimate alone. One departure from Spark: an epoch that was
 * light — processing under 20 % of the batch interval and scheduling delay under 10 % — and
 * whose read the limit did not cut short is not fed either. Its processing rate is mostly fixed per-epoch overhead (10 rows in 5 ms say
 * 2 000 rows/s of a engine that does millions), and taking it as the rate would throttle an idle
 * source's first burst; the estimator engages when epochs start to weigh, and keeps adjusting while its limit binds
 * (so a rate that is too low rises again).
 *
 * A second departure, a hard cap from the cost per row: Spark's update sets the next rate to
 * about the last epoch's processing rate, so the next epoch takes about one interval — and any
 * rise in the cost per row (a collection, another process taking the CPU) carries it past the
 * interval by the same factor; on a loaded machine a quarter of the epochs went past 1.5 × the
 * interval. So each fed epoch's cost per row (processing time / rows) is kept, and the rate is
 * at most target × (1 / the highest cost of the last COST_SAMPLES fed epochs), target being
 * `backpressure_target` (default COST_CAP_TARGET = 0.8; 0 turns the cap off, Spark's behaviour): epochs
 * aim at 80 % of the interval at the recent worst cost, and only a cost jump of about 1.9 × over
 * that worst one carries an epoch past 1.5 × the interval. (Five epochs rather than three: in the
 * flow-control run at load ~18, three still let one epoch in twenty past 1.5 ×, five none.) The cost includes the epoch's fixed
 * overhead, so it is overestimated for small epochs (the cap is then conservative, and rises as
 * the limited epochs show the true cost).
 *
 * The next epoch then reads at most rate × batch interval rows from that source (the smaller of
 * that and max_rate's cap). Pull sources read
 * less; receivers take less from their logs, whose backlog then makes them pause their
 * connection (socket reads, MQTT acknowledgements) at their bound.
 */

/** Spark's defaults (spark.streaming.backpressure.pid.*). */
export const PID_DEFAULTS = { proportional: 1.0, integral: 0.2, derivative: 0, minRate: 100 } as const;

/** The share of the batch interval the cost cap aims an epoch's processing time at (SET backpressure_target; 0: no cap). */
export const COST_CAP_TARGET = 0.8;
/** How many fed epochs' costs per row the cap takes the highest of. */
export const COST_SAMPLES = 5;

/** One source's PID rate estimator. */
export class PidRateEstimator {
  private firstRun = true;
  private latestTime = -1;
  private latestRate = -1;
  private latestError = -1;
  /** Cost per row (ms) of the last COST_SAMPLES fed epochs, oldest first. */
  private readonly costs: number[] = [];

  constructor(
    private readonly batchIntervalMs: () => number,
    private readonly k: { proportional: number; integral: number; derivative: number; minRate: number } = PID_DEFAULTS,
    private readonly costTarget: () => number = () => COST_CAP_TARGET,
  ) {}

  /** The rate the estimator last set (rows/s; with the cost cap), or null before it has one. */
  get rate(): number | null {
    return this.firstRun ? null : this.capped(this.latestRate);
  }

  /** The cost cap (rows/s): target / the highest recent cost per row; null before a fed epoch or with target 0. */
  get costCap(): number | null {
    const target = this.costTarget();
    if (!this.costs.length || !(target > 0)) return null;
    return (target * 1000) / Math.max(...this.costs);
  }

  private capped(rate: number): number {
    const cap = this.costCap;
    return cap === null ? rate : Math.max(Math.min(rate, cap), this.k.minRate);
  }

  /**
   * Feeds one epoch (time: its end, ms; delays in ms); returns the new rate (Spark's update,
   * then the cost cap), or null when it has none yet or the epoch tells nothing (no rows, no time).
   */
  compute(timeMs: number, rows: number, processingMs: number, schedulingDelayMs: number, limited = false): number | null {
    if (!(timeMs > this.latestTime && rows > 0 && processingMs > 0)) return null;
    const interval = this.batchIntervalMs();
    if (!limited && processingMs < 0.2 * interval && schedulingDelayMs < 0.1 * interval) return null;
    this.costs.push(processingMs / rows);
    if (this.costs.length > COST_SAMPLES) this.costs.shift();
    const sinceUpdate = this.latestTime < 0 ? 0 : (timeMs - this.latestTime) / 1000;
    const processingRate = (rows / processingMs) * 1000;
    const error = this.latestRate - processingRate;
    const historicalError = (schedulingDelayMs * processingRate) / this.batchIntervalMs();
    const dError = sinceUpdate > 0 ? (error - this.latestError) / sinceUpdate : 0;
    const newRate = Math.max(this.latestRate - this.k.proportional * error - this.k.integral * historicalError - this.k.derivative * dError, this.k.minRate);
    this.latestTime = timeMs;
    if (this.firstRun) {
      this.latestRate = processingRate;
      this.latestError = 0;
      this.firstRun = false;
      return null;
    }
    this.latestRate = newRate;
    this.latestError = error;
    return this.capped(newRate);
  }
}

/**
 * The rate a source reads at next (rows/s; null: unlimited): the smaller of its max_rate and,
 * with backpressure on, the estimator's rate — or, before the estimator has one,
 * `backpressure_initial_rate` (Spark's initialRate; 0: none), so the first epoch of a source
 * with a big backlog does not take all of it.
 */
export function sourceRate(maxRate: number | null, pidRate: number | null, settings: { readonly backpressure: boolean; readonly backpressureInitialRate: number }): number | null {
  const bp = settings.backpressure ? (pidRate ?? (settings.backpressureInitialRate > 0 ? settings.backpressureInitialRate : null)) : null;
  if (maxRate === null) return bp;
  return bp === null ? maxRate : Math.min(maxRate, bp);
}

/** The row limit of one epoch of a source: min of max_rate and the backpressure rate, × interval. */
export function epochLimit(maxRate: number | null, pidRate: number | null, batchIntervalMs: number): number {
  const rates = [maxRate, pidRate].filter((r): r is number => r !== null);
  if (!rates.length) return Infinity;
  return Math.max(1, Math.floor((Math.min(...rates) * batchIntervalMs) / 1000));
}
