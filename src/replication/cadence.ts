/**
 * How often the replicator (actors/replicator.ts) ticks, and how often it recomputes its learners.
 * Sans-I/O: the driver sets its timer and reads the cluster's view when these say so.
 *
 * - Ticks come when there is time-driven work, at most every `fastMs` (25 ms by default): waiting
 *   requests (their timeouts), and a leader's followers: every `fastMs` while one has appends under
 *   way or is behind, else when the next idle heartbeat is due (ReplicationCore.nextTickMs). With
 *   none, every `idleMs` (never below `fastMs`; never later either): a follower's ticks only look for work that leading
 *   brings and for a change of leadership, which the cluster handle reports at once. An idle
 *   follower woke up 40 times a second for nothing before, and so did an idle leader.
 * - Learners are recomputed at most every LEARNERS_REFRESH_MS: building the whole view (each
 *   member's failure detector) on every input cost more than the replication itself, and on every
 *   25 ms tick of a leader it was a sixth of an idle peer's timer CPU. Only liveness depends on
 *   them. The list is replaced only when it changes, so leadership.ts compares identities.
 */
import type { NodeId } from '../net/types.js'

/** Least time between two refreshes of the learners (a busy leader ticks every 25 ms, an idle one within a second: a new learner is taken on by then). */
export const LEARNERS_REFRESH_MS = 250

export class TickPace {
  private readonly idleMs: number
  /** When the armed timer fires, or undefined when none is armed. */
  private armedAtMs: number | undefined = undefined

  constructor(
    private readonly fastMs: number,
    idleMs: number,
  ) {
    this.idleMs = Math.max(fastMs, idleMs)
  }

  /**
   * The delay to arm the one-shot tick timer with at `nowMs`, for work due at `dueMs` (undefined for
   * none), or undefined when the armed timer comes soon enough. Re-arms for an earlier tick, so a busy
   * driver that calls this after every input does not reset its timer each time; and for a later one
   * when the work it was armed for went away (an answered probe, a settled append) and the armed
   * timer would fire more than `fastMs` before the next work due: that tick only woke the process.
   * Only an absolute due time moves it later, never the idle bound, which inputs would push on forever.
   */
  next(nowMs: number, dueMs: number | undefined): number | undefined {
    const at = Math.min(Math.max(dueMs ?? Infinity, nowMs + this.fastMs), nowMs + this.idleMs)
    const armed = this.armedAtMs
    if (armed !== undefined && armed <= at) {
      const early = dueMs !== undefined && dueMs < nowMs + this.idleMs && armed < at - this.fastMs
      if (!early) return undefined
    }
    this.armedAtMs = at
    return at - nowMs
  }

  /** The armed timer fired (or a tick came otherwise): the next call arms one again. */
  fired(): void {
    this.armedAtMs = undefined
  }
}

export class LearnersCache {
  private list: readonly NodeId[] = []
  private atMs = -Infinity

  /** The learners as last computed. */
  get current(): readonly NodeId[] {
    return this.list
  }

  /** Whether they are due to be computed again. */
  due(nowMs: number): boolean {
    return nowMs - this.atMs >= LEARNERS_REFRESH_MS
  }

  /** Takes `next` as the learners computed at `nowMs`; the list keeps its identity if they are the same. */
  refresh(next: readonly NodeId[], nowMs: number): void {
    this.atMs = nowMs
    if (next.length !== this.list.length || next.some((id, i) => id !== this.list[i])) this.list = next
  }
}
