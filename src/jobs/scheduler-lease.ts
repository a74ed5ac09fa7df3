/**
 * The scheduler's lease gate, with no I/O: whether the scheduler of epoch E may make leader-only
 * effects now, and what waits until it may (actors/scheduler.ts asks it before each such effect).
 *
 * A scheduler runs from when its node holds E's lease until the node can no longer lead E
 * (src/node/assemble.ts). In between, the lease may lapse and come back in the same epoch (an event
 * loop stalled past the lease under load; "Lapses" in src/cluster/core.ts). During such a lapse the
 * scheduler is paused rather than stopped, so that the lease coming back costs no fence and no
 * replay of the log:
 * - no append, snapshot, compaction, dispatch or steal starts, and no message goes to an executor
 *   (assign, abort, steal): executors take those only from the leader they know, and only a node
 *   holding the lease may claim to be it;
 * - messages decided just before the lapse are held here and sent, in order, once the lease holds
 *   again; if it never does, the scheduler is stopped and they are dropped with it (the next
 *   leader replays the log and decides afresh);
 * - what is not a leader-only effect goes on: effects of records already durable (acknowledging
 *   submitters, caching results, telling watchers), executors' reports (whose records wait for the
 *   lease like any append) and queries.
 * The lease is read from the cluster's published state at each check (ClusterHandle.leaderEpoch),
 * so a check is as current as the cluster's last step; epoch fencing of the log covers the rest.
 */
import { assert } from '../assert.js'

/** How the leader's scheduler came and went on one node, across its scheduler's incarnations (for the metrics and the simulator). */
export class SchedulerStats {
  /** Incarnations that fenced and replayed the job log: one per epoch led, plus restarts after failures. */
  replays = 0
  /** Lease lapses a running scheduler waited through paused. */
  pauses = 0
  /** Pauses that ended with the lease back in the same epoch (the others ended with the scheduler stopped). */
  resumes = 0
}

/** What changed at a check. */
export type LeaseChange = 'paused' | 'resumed' | undefined

export class SchedulerLease<M> {
  private lapsed = false
  private held: M[] = []

  constructor(
    readonly epoch: number,
    private readonly stats: SchedulerStats,
  ) {}

  /** True while the lease of the epoch held at the last check: leader-only effects may go out. */
  get open(): boolean {
    return !this.lapsed
  }

  /** Messages held for the lease to come back. */
  get holding(): number {
    return this.held.length
  }

  /**
   * Takes the epoch whose lease this node holds now (undefined: none); any other epoch than the
   * scheduler's pauses it. Returns what changed since the last check.
   */
  observe(leaseEpoch: number | undefined): LeaseChange {
    const lapsed = leaseEpoch !== this.epoch
    if (lapsed === this.lapsed) return undefined
    this.lapsed = lapsed
    if (lapsed) {
      this.stats.pauses++
      return 'paused'
    }
    this.stats.resumes++
    return 'resumed'
  }

  /** Keeps `message`, decided while the lease had lapsed, for `release`. */
  hold(message: M): void {
    assert(this.lapsed, 'held a message while the lease holds')
    this.held.push(message)
  }

  /** The held messages, oldest first, once the lease holds again. */
  release(): M[] {
    assert(!this.lapsed, 'released held messages while the lease has lapsed')
    const held = this.held
    this.held = []
    return held
  }
}
