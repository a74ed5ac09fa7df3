/**
 * The production binding of the environment ports: Node's clock and timers, node:crypto entropy,
 * JSON logs on stderr. This is the one module in the runtime allowed to touch them directly.
 */
import { randomBytes } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { abortable } from './abort.js'
import { JsonLogger, type LogLevel } from './logger.js'
import { noopMetrics } from './metrics.js'
import { SeededRandom } from './prng.js'
import type { AbortOptions, Clock, Environment, Logger, Metrics, Random, TimerHandle, Timers } from './types.js'

/** Options of the real environment. */
export interface RealEnvironmentInit {
  logLevel?: LogLevel
  /** Where log lines go; stderr by default. */
  logSink?: (line: string) => void
  /** A logger to use instead of the JSON lines (the assembly passes pino's). */
  logger?: Logger
  metrics?: Metrics
}

const realClock: Clock = {
  wallMs: () => Date.now(),
  monotonicMs: () => performance.now(),
}

/** Node timers; a zero delay uses setImmediate so that I/O callbacks get their turn first. */
export const realTimers: Timers = {
  schedule(delayMs: number, fn: () => void): TimerHandle {
    return delayMs <= 0 ? setImmediate(fn) : setTimeout(fn, delayMs)
  },
  cancel(handle: TimerHandle): void {
    // Only Timeout objects have refresh(); Immediate objects need their own clear function.
    if ('refresh' in handle) clearTimeout(handle as NodeJS.Timeout)
    else clearImmediate(handle as NodeJS.Immediate)
  },
  sleep(ms: number, options: AbortOptions = {}): Promise<void> {
    return abortable<void>(options.signal, (resolve) => {
      const timer = setTimeout(resolve, ms)
      return () => clearTimeout(timer)
    })
  },
}

/** A fast PRNG seeded from node:crypto, whose byte strings come straight from node:crypto. */
class CryptoSeededRandom extends SeededRandom {
  constructor() {
    super(randomBytes(16).toString('hex'))
  }

  override bytes(n: number): Uint8Array {
    return new Uint8Array(randomBytes(n))
  }
}

/** Creates the production environment. */
export function realEnvironment(init: RealEnvironmentInit = {}): Environment {
  const random: Random = new CryptoSeededRandom()
  const sink = init.logSink ?? ((line: string) => process.stderr.write(line))
  return {
    clock: realClock,
    timers: realTimers,
    random,
    logger: init.logger ?? new JsonLogger(sink, realClock, init.logLevel ?? 'info'),
    metrics: init.metrics ?? noopMetrics,
  }
}

/** Resolves after every pending microtask and nextTick callback has run (one real macrotask turn). */
export function nextMacrotask(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}
