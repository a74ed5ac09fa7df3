/**
 * The small synchronous event loop both scale harnesses (harness.ts, cluster-harness.ts) run on:
 * a MinHeap of timed callbacks in virtual time, ordered by time then by insertion, with the
 * simulator's PRNG for the network's latency and loss. Not sim/kernel/: the cores driven here are
 * synchronous, and the kernel's drain of the promise queue after every event would dominate a run
 * of a thousand nodes.
 */
import { SeededRandom } from '../../src/env/prng.js'
import { MinHeap } from '../../src/util/heap.js'

/** What both scale harnesses take: the network, the phases, the patience. */
export interface ScaleRunOptions {
  readonly nodes: number
  readonly seed: number | string
  /** Chance that one message is lost. Default 0.01. */
  readonly lossRate?: number
  /** One-way latency, uniform in [min, max] ms. Default [1, 10]. */
  readonly latencyMs?: readonly [number, number]
  /** Joins are spread uniformly over this window (default: each harness's own). */
  readonly joinWindowMs?: number
  /**
   * Time after formation before the steady window, for the join updates to finish their sends.
   * Default 10 s; the cluster harness also waits (up to 5 virtual minutes) until no node has
   * membership updates queued: 1,000 joins keep every probe full of them for about a minute.
   */
  readonly settleMs?: number
  /** Quiet time after settling over which the steady cost is measured, before the crash. Default 10 s. */
  readonly steadyMs?: number
  /** Give up waiting for formation, convergence or healing after this long. Default 60 s. */
  readonly waitMs?: number
}

interface Timed {
  readonly at: number
  readonly seq: number
  readonly fn: () => void
}

export class ScaleLoop {
  /** Virtual time, ms. */
  now = 0
  readonly rng: SeededRandom
  /** The network's stream: latency and loss draws. */
  readonly net: SeededRandom
  readonly loss: number
  readonly waitMs: number
  /** One-way latency bounds, ms. */
  readonly latencyMs: readonly [number, number]
  private readonly heap = new MinHeap<Timed>((a, b) => a.at < b.at || (a.at === b.at && a.seq < b.seq))
  private seq = 0

  constructor(o: ScaleRunOptions) {
    this.rng = new SeededRandom(o.seed)
    this.net = this.rng.fork('net')
    this.loss = o.lossRate ?? 0.01
    this.latencyMs = o.latencyMs ?? [1, 10]
    this.waitMs = o.waitMs ?? 60_000
  }

  /** Runs `fn` at virtual time `t` (now, if `t` has passed). */
  at(t: number, fn: () => void): void {
    this.heap.push({ at: Math.max(t, this.now), seq: this.seq++, fn })
  }

  /** A one-way latency drawn from the network's stream. */
  delay(): number {
    const [min, max] = this.latencyMs
    return min + this.net.next() * (max - min)
  }

  /** Runs events until `done` holds (checked every `everyMs` virtual ms) or `limit`; returns the time it held, or null. */
  runUntil(limit: number, done: () => boolean, everyMs: number): number | null {
    let nextCheck = this.now
    for (;;) {
      if (this.now >= nextCheck) {
        if (done()) return this.now
        nextCheck = this.now + everyMs
      }
      const e = this.heap.peek()
      if (Math.min(e?.at ?? Infinity, nextCheck) > limit) {
        this.now = limit
        return done() ? this.now : null
      }
      if (e !== undefined && e.at <= nextCheck) {
        this.heap.pop()
        this.now = e.at
        e.fn()
      } else this.now = nextCheck
    }
  }
}
