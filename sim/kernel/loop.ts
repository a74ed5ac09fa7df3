/**
 * The simulator's event loop: one heap of events ordered by (virtual time, sequence number).
 *
 * After each event every pending promise job is drained through one real macrotask boundary
 * (captured setImmediate), so async runtime code settles at the virtual time of the event that
 * started it, whatever the depth of its await chain. Events belong to a node incarnation: those of a
 * crashed incarnation are dropped (like a process that never runs again), those of a paused node
 * are held and run when it resumes. Time is integer microseconds.
 */
import { MinHeap } from '../../src/util/heap.js'
import { TraceHash } from './trace.js'

const realSetImmediate = globalThis.setImmediate

/** Drains the nextTick and promise queues by waiting for one real macrotask turn. */
export function drainMicrotasks(): Promise<void> {
  return new Promise((resolve) => realSetImmediate(resolve))
}

/** The life state of a simulated node, as the loop sees it. */
export interface Owner {
  readonly index: number
  incarnation: number
  status: 'up' | 'crashed' | 'paused'
  /** Events that fell due while paused, in order. */
  held: SimEvent[]
}

/** One scheduled event. */
export interface SimEvent {
  readonly at: number
  readonly seq: number
  readonly kind: number
  readonly owner: Owner | undefined
  readonly incarnation: number
  readonly fn: () => void
  cancelled: boolean
}

/** Event kinds, folded into the trace hash. */
export const EventKind = {
  Timer: 1,
  Delivery: 2,
  Fault: 3,
  Service: 4,
  Workload: 5,
  Check: 6,
} as const

export class Kernel {
  /** Virtual time in microseconds. */
  now = 0
  /** Events executed so far. */
  eventsRun = 0
  readonly trace = new TraceHash()
  private seq = 0
  private readonly heap = new MinHeap<SimEvent>((x, y) => x.at < y.at || (x.at === y.at && x.seq < y.seq))

  /** Schedules `fn` at virtual time `at` (never before now), owned by a node incarnation or by the harness. */
  schedule(at: number, kind: number, fn: () => void, owner?: Owner): SimEvent {
    const event: SimEvent = { at: Math.max(this.now, Math.round(at)), seq: this.seq++, kind, owner, incarnation: owner?.incarnation ?? 0, fn, cancelled: false }
    this.heap.push(event)
    return event
  }

  cancel(event: SimEvent): void {
    event.cancelled = true
  }

  /** Number of events waiting (including cancelled ones not yet popped). */
  get pending(): number {
    return this.heap.size
  }

  /** Re-schedules a resumed node's held events at the current time, in their original order. */
  release(owner: Owner): void {
    const held = owner.held
    owner.held = []
    for (const event of held) {
      if (!event.cancelled) this.schedule(this.now, event.kind, event.fn, owner)
    }
  }

  /**
   * Runs events up to and including virtual time `until`; `afterEvent` runs after each event has
   * settled and returns false to stop early; `onError` receives what an event threw (in production
   * that would be an uncaught exception). Resolves with true when `until` was reached.
   */
  async run(until: number, afterEvent: (owner: Owner | undefined) => boolean, onError: (error: unknown, owner: Owner | undefined) => void): Promise<boolean> {
    for (;;) {
      const event = this.heap.peek()
      if (event === undefined || event.at > until) break
      this.heap.pop()
      if (event.cancelled) continue
      const owner = event.owner
      if (owner !== undefined) {
        if (owner.incarnation !== event.incarnation || owner.status === 'crashed') continue
        if (owner.status === 'paused') {
          owner.held.push(event)
          continue
        }
      }
      this.now = event.at
      this.trace.number(event.at)
      this.trace.number(event.kind)
      this.trace.number(owner === undefined ? -1 : owner.index)
      try {
        event.fn()
      } catch (error) {
        onError(error, owner)
      }
      await drainMicrotasks()
      this.trace.endEvent()
      this.eventsRun++
      if (!afterEvent(owner)) return false
    }
    this.now = Math.max(this.now, until)
    return true
  }
}
