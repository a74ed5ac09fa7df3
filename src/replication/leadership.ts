/**
 * Which epoch the replication core leads, aligned with the cluster's view before every input of the
 * replicator (actors/replicator.ts), and why a request for an epoch cannot be served. Sans-I/O.
 *
 * Rules:
 * - the core leads epoch E when the cluster says this node leads E (with or without its lease), E is newer
 *   than any epoch an earlier core led (`highestLed`: a reopened log may have lost entries this node
 *   sent in that epoch, so leading it again could give one (index, epoch) two different entries),
 *   or E is that epoch and the core is the one that led it (a lease that lapsed and came back: its
 *   log was never cut), and no voter told this core of a newer epoch while it led E (`deposedIn`);
 * - it stops leading when the cluster's epoch changes or a voter deposed it; the waiting requests
 *   are then failed (`onLost`);
 * - while leading, a new configuration or new learners are handed to the core (both are replaced,
 *   never changed in place, so identity tells a change).
 * `highestLed` outlives the actor's restarts (`restart` keeps it); the rest does not.
 *
 * Why a lapsed lease does not stop the core (the driver passes the epoch led with or without it):
 * replication's safety rests on epochs, votes and log positions (core.ts), never on the lease. A
 * lapsed leader has promised nothing to a candidate (src/cluster/core.ts, "Lapses"): a voter that
 * votes for a newer epoch follows nobody in the old one from then on and refuses its appends, so
 * what the core commits in the lapse is committed by Raft's rules, as it would be by a leader that
 * merely paused; and the scheduler makes no new request before its lease is back. Stepping down at
 * every lapse instead failed every append under way (ambiguous, retried after a backoff) and opened a
 * new term with its no-op entry and its followers' progress forgotten: under load (issue 9, load
 * average 30 on two cores) a leader did so 17 times in 25 s of the jobs bench (test/bench/RESULTS.md).
 */
import type { NodeId } from '../net/types.js'
import { FencedError, JobLogUnavailableError } from '../storage/errors.js'
import type { ReplicationCore } from './core.js'

/** The cluster's view that leadership follows. */
export interface LeadershipView {
  /** The epoch this node leads (the replicator passes it with or without a held lease), if any. */
  readonly epoch: number | undefined
  /** The configuration (compared by identity) and its voters. */
  readonly config: unknown
  readonly voters: readonly NodeId[]
  /** Members that get the log without voting (compared by identity). */
  readonly learners: readonly NodeId[]
}

export class Leadership {
  /** The highest epoch a core of this node led (see the module doc). */
  private highestLed = 0
  /** The epoch the core leads, as told by the cluster. */
  private led: number | undefined = undefined
  /** An epoch in which a voter told us of a newer one: not led again. */
  private deposedIn = 0
  /** The core that led `highestLed`. */
  private ledCore: ReplicationCore | undefined = undefined
  private syncedConfig: unknown = undefined
  private syncedLearners: readonly NodeId[] | undefined = undefined

  /** The epoch the core leads, if any. */
  get ledEpoch(): number | undefined {
    return this.led
  }

  /** A new incarnation of the replicator: everything but `highestLed` is forgotten. */
  restart(): void {
    this.led = undefined
    this.deposedIn = 0
    this.ledCore = undefined
    this.syncedConfig = undefined
    this.syncedLearners = undefined
  }

  /** The core was replaced or dropped (a log opened or failed): it leads nothing. */
  forgetCore(): void {
    this.led = undefined
  }

  /** Aligns `core` with `view`; `onLost(epoch)` runs when the core stops leading, before it may lead anew. */
  sync(core: ReplicationCore, view: LeadershipView, nowMs: number, onLost: (epoch: number) => void): void {
    const epoch = view.epoch
    if (this.led !== undefined && (epoch !== this.led || core.deposedByEpoch !== undefined)) {
      if (core.deposedByEpoch !== undefined) this.deposedIn = this.led
      const lost = this.led
      core.stepDown()
      this.led = undefined
      onLost(lost)
    }
    if (this.led === undefined && epoch !== undefined && this.mayLead(epoch, core)) {
      core.lead(epoch, view.voters, nowMs, view.learners)
      this.led = epoch
      this.highestLed = epoch
      this.ledCore = core
      this.syncedConfig = view.config
      this.syncedLearners = view.learners
    } else if (this.led !== undefined && (view.config !== this.syncedConfig || view.learners !== this.syncedLearners)) {
      this.syncedConfig = view.config
      this.syncedLearners = view.learners
      core.setVoters(view.voters, nowMs, view.learners)
    }
  }

  /**
   * Why a fence, append or compaction for `epoch` cannot be served by `core` (which does not lead
   * it), given the newest epoch the cluster knows a leader of.
   */
  unavailable(epoch: number, knownEpoch: number | undefined, core: ReplicationCore): Error {
    if (knownEpoch !== undefined && knownEpoch > epoch) return new FencedError(epoch, knownEpoch)
    // A lapsed lease on an epoch this core led, or may yet lead (the lease lapsed before the first
    // sync saw it held), may come back, and sync then leads it: the caller retries instead of
    // giving up the lead over a slow event loop.
    if (this.mayLead(epoch, core)) return new JobLogUnavailableError(`this node's lease on epoch ${epoch} lapsed; appends resume if it comes back`, false)
    return new FencedError(epoch, undefined, `this node's replica log does not lead epoch ${epoch} (it lost the lead, or reopened its log and waits for a newer epoch)`)
  }

  private mayLead(epoch: number, core: ReplicationCore): boolean {
    return (epoch > this.highestLed || (epoch === this.highestLed && this.ledCore === core)) && epoch > this.deposedIn
  }
}
