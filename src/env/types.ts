/**
 * The environment ports: every source of time, randomness, logging and metrics the runtime may use.
 *
 * Runtime code in src/, actors/ and protocols/ reaches the outside world only through these
 * interfaces. Production binds them to Node (src/env/real.ts), unit tests to manual time
 * (src/env/manual.ts) and the simulator to its deterministic kernel, so the same code runs in all three.
 */

/** Options accepted by every cancellable operation. */
export interface AbortOptions {
  signal?: AbortSignal
}

/** Reads time. Wall time may jump or be skewed; monotonic time never goes backwards. */
export interface Clock {
  /** Milliseconds since the Unix epoch, as this node believes it to be. */
  wallMs(): number
  /** Milliseconds since an arbitrary origin; only differences are meaningful. */
  monotonicMs(): number
}

/** An opaque handle to a scheduled callback; each binding uses its own object. */
export type TimerHandle = object

/** Schedules callbacks on the environment's notion of time. */
export interface Timers {
  /**
   * Runs `fn` once after `delayMs` (0 means "on the next turn of the event loop, after I/O").
   * Callbacks with equal deadlines run in the order they were scheduled.
   */
  schedule(delayMs: number, fn: () => void): TimerHandle
  /** Cancels a scheduled callback; cancelling twice or after it ran does nothing. */
  cancel(handle: TimerHandle): void
  /** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
  sleep(ms: number, options?: AbortOptions): Promise<void>
}

/** A source of pseudo-random numbers; seeded and reproducible outside production. */
export interface Random {
  /** A float in [0, 1). */
  next(): number
  /** An integer in [lo, hi] inclusive. */
  int(lo: number, hi: number): number
  /** `n` random bytes. */
  bytes(n: number): Uint8Array
  /** A 128-bit identifier as 32 lowercase hex characters. */
  id(): string
  /** An independent stream derived from this one and a label, so that streams do not disturb each other. */
  fork(label: string): Random
}

/** Structured fields attached to a log line. */
export type LogFields = Record<string, unknown>

/** Structured logging. Implementations decide the format and the sink. */
export interface Logger {
  debug(message: string, fields?: LogFields): void
  info(message: string, fields?: LogFields): void
  warn(message: string, fields?: LogFields): void
  error(message: string, fields?: LogFields): void
  /** A logger that adds `bindings` to every line. */
  child(bindings: LogFields): Logger
}

/** Label values of one metric sample. */
export type MetricLabels = Record<string, string>

/** A monotonically increasing count. */
export interface Counter {
  inc(labels?: MetricLabels, value?: number): void
}

/** A value that goes up and down. */
export interface Gauge {
  set(value: number, labels?: MetricLabels): void
}

/** A distribution of observed values, such as latencies. */
export interface Histogram {
  observe(value: number, labels?: MetricLabels): void
}

/**
 * Metric hooks. Hot paths keep plain counters and expose them through `collect` callbacks, so that
 * a message send never pays for a metrics call.
 */
export interface Metrics {
  /** A counter; with `collect`, its value is read from the caller's own count at scrape time. */
  counter(name: string, help: string, labelNames?: readonly string[], collect?: (set: (value: number, labels?: MetricLabels) => void) => void): Counter
  /** A gauge; with `collect`, its value is read at scrape time. */
  gauge(name: string, help: string, labelNames?: readonly string[], collect?: (set: (value: number, labels?: MetricLabels) => void) => void): Gauge
  histogram(name: string, help: string, buckets: readonly number[], labelNames?: readonly string[]): Histogram
}

/** Everything a node's runtime needs from the world outside its own logic. */
export interface Environment {
  readonly clock: Clock
  readonly timers: Timers
  readonly random: Random
  readonly logger: Logger
  readonly metrics: Metrics
}
