/**
 * How often the replicator (actors/replicator.ts) ticks, and how often it recomputes its learners.
 * Sans-I/O: the driver sets its timer and reads the cluster's view when these say so.
 *
 * - Ticks are fast (`fastMs`, 25 ms by default) while there is time-driven work: leading
 *   (heartbeats, resends) or waiting requests (their timeouts); slow (`idleMs`, never below
 *   `fastMs`) otherwise. A follower's ticks only look for work that leading brings and for a change
 *   of leadership, which the cluster handle reports at once; an idle follower woke up 40 times a
 *   second for nothing before.
 * - Learners are recomputed at most every LEARNERS_REFRESH_MS: building the whole view (each
 *   member's failure detector) on every input cost more than the replication itself, and on every
 *   25 ms tick of a leader it was a sixth of an idle peer's timer CPU. Only liveness depends on
 *   them. The list is replaced only when it changes, so leadership.ts compares identities.
 */
import type { NodeId } from '../net/types.js'

/** Least time between two refreshes of the learners (a leader ticks every 25 ms). */
export const LEARNERS_REFRESH_MS = 250

export class TickPace {
  private readonly idleMs: number
  private current = 0

  constructor(
    private readonly fastMs: number,
    idleMs: number,
  ) {
    this.idleMs = Math.max(fastMs, idleMs)
  }

  /** The interval to tick at from now on, or undefined when it stays as it is. */
  next(busy: boolean): number | undefined {
    const want = busy ? this.fastMs : this.idleMs
    if (want === this.current) return undefined
    this.current = want
    return want
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
