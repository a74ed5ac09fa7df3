/**
 * ClusterHandle: a node's synchronous view of coordination for components outside the cluster
 * actor (manager duties, the job client, the executor, entities, the replicator, the running node).
 * It lives in src/ so that those components never import actors/.
 *
 * Reads never touch the cluster core: the cluster actor (actors/cluster.ts) publishes an immutable
 * ClusterSnapshot (snapshot.ts) at the end of every step it takes, and each reader computes what
 * depends on time (the lease, the followed leader's liveness, phi) from it at the moment of the
 * call. `leaderEpoch()` is therefore exactly the lease check the core would make then: the core
 * changes its lease only in steps, and every step publishes before any other code can run.
 * Before the actor has started, readers see nothing.
 *
 * Writes are the core's inputs from the replicated log (ClusterInputs): they go to the core
 * synchronously, between two of its steps, and are not mailbox messages on purpose:
 * - `setLogPosition` must be in effect before the write that extends the log starts: a message
 *   could let the core grant a vote, in a step between the write and the message, to a candidate
 *   behind this node's log (election rule 7 in core.ts), and an entry committed through this
 *   node could be lost.
 * - `setCommitIndex` and `setLogMatches` feed the catch-up rules, whose proof uses the commit
 *   index as of the replicator's last input ("Log catch-up" in core.ts); a message would let a
 *   configuration change run on an older one.
 * - `resign` must end leader-only effects at once; the handle publishes the core's snapshot after
 *   it before returning, so `leaderEpoch()` is undefined from then on.
 * None of the first three changes anything a snapshot holds. Until the actor attaches, the inputs
 * are kept and applied on attach.
 */
import { checkLogPosition } from './core.js'
import { knowsIn, lagAt, leaderAt, leaseEpochAt, viewAt, type ClusterSnapshot } from './snapshot.js'
import type { ClusterView, LeaderView, LogPosition } from './types.js'
import type { Clock } from '../env/types.js'

/** Called when this node gains or loses the right to run manager duties. */
export type LeadershipListener = (leading: boolean, epoch: number | undefined) => void

/** Called when the leader this node knows changes (null: none known). */
export type LeaderListener = (leader: LeaderView | null) => void

/** The core's inputs, as the cluster actor passes them on (see the module doc for why synchronously). */
export interface ClusterInputs {
  setLogPosition(position: LogPosition): void
  setCommitIndex(index: number): void
  setLogMatches(epoch: number, byNode: ReadonlyMap<string, number>): void
  /** Resigns now and returns the snapshot after it. */
  resign(reason: string): ClusterSnapshot
}

/**
 * A node's synchronous view of coordination, for components outside the actor: manager duties ask
 * it before every leader-only effect.
 */
export class ClusterHandle {
  private published: ClusterSnapshot | undefined = undefined
  private inputs: ClusterInputs | undefined = undefined
  private clock: Clock | undefined = undefined
  /** Makes the actor run a step soon (publish what changed). */
  private poke: () => void = () => {}
  /** Set before the actor starts, applied when it attaches. */
  private pendingLog: LogPosition | undefined = undefined
  private pendingCommit: number | undefined = undefined
  private pendingResign: string | undefined = undefined
  private readonly listeners = new Set<LeadershipListener>()
  private readonly leaderListeners = new Set<LeaderListener>()
  /** The leader last told to leaderListeners. */
  private told: LeaderView | null = null
  private leading = false
  private epoch: number | undefined = undefined

  /** The epoch this node leads while its lease holds, else undefined. */
  leaderEpoch(): number | undefined {
    const s = this.published
    return s === undefined ? undefined : leaseEpochAt(s, this.clock!.monotonicMs())
  }

  /**
   * The epoch this node leads whether or not its lease holds now: set from winning the epoch until
   * this node steps down (core.ts, "Lapses"), after which it can never lead that epoch again. While
   * it is set and `leaderEpoch()` is not, the lease lapsed and may come back in the same epoch: state
   * kept for the epoch stays valid, but no leader-only effect may be made.
   */
  leadingEpoch(): number | undefined {
    return this.published?.leadingEpoch ?? undefined
  }

  /** The current view, or undefined before the cluster actor has started. */
  view(): ClusterView | undefined {
    const s = this.published
    return s === undefined ? undefined : viewAt(s, this.clock!.monotonicMs())
  }

  /** `view()?.config` without building the view. */
  config(): ClusterView['config'] | undefined {
    return this.published?.config
  }

  /** `view()?.leader` without building the view: for checks on every message. */
  leader(): ClusterView['leader'] | undefined {
    const s = this.published
    return s === undefined ? undefined : leaderAt(s, this.clock!.monotonicMs())
  }

  /** True when `nodeId` is among `view()?.members`, without building the view. */
  knows(nodeId: string): boolean {
    const s = this.published
    return s !== undefined && knowsIn(s, nodeId)
  }

  /** The lag this node observed now (core.ts, "Lag"), which it adds to its election timeout: 0 before the actor starts. */
  lagMs(): number {
    const s = this.published
    return s === undefined ? 0 : lagAt(s.lag.ms, s.lag.atMs, s.timing.leaseMs, this.clock!.monotonicMs())
  }

  /**
   * The lease of the leader's newest sequence: on the leader, the one it granted; on a follower, the
   * one it waits out after it (core.ts, "Stretched leases"); null while this node knows no leader.
   */
  leaseMs(): number | null {
    const s = this.published
    if (s === undefined) return null
    if (s.leadingEpoch !== null) return s.grantedLeaseMs
    return s.follows === null ? null : s.leaderLeaseMs
  }

  /** Records ignored because they came from another cluster (for the metrics). */
  foreignRecords(): number {
    return this.published?.foreignRecords ?? 0
  }

  /** The cluster's identity (created by the founder, adopted by members on admission); undefined until known. */
  clusterId(): string | undefined {
    return this.published?.clusterId ?? undefined
  }

  /**
   * The durable end of this node's replica log, for the election's up-to-date rule: index is one
   * past the last entry, epoch the epoch of that entry. Called synchronously BEFORE a write that
   * extends the log starts, and again after a cut or failure. Throws RangeError for a negative or
   * non-integer position.
   */
  setLogPosition(position: { epoch: number; index: number }): void {
    if (this.inputs === undefined) {
      this.pendingLog = checkLogPosition(position)
      return
    }
    this.inputs.setLogPosition(position)
  }

  /**
   * The commit index of this node's replica log (one past the last committed entry it knows; exact
   * on the leader), so that the leader makes voters only of members whose log holds every committed
   * entry. Throws RangeError for a negative or non-integer index.
   */
  setCommitIndex(index: number): void {
    if (this.inputs === undefined) {
      if (!Number.isSafeInteger(index) || index < 0) throw new RangeError(`invalid commit index ${index}`)
      this.pendingCommit = Math.max(this.pendingCommit ?? 0, index)
      return
    }
    this.inputs.setCommitIndex(index)
  }

  /**
   * On the leader of `epoch`: how far each member's replica log is acknowledged durable and
   * matching (the replicator's view), which decides who holds the log for voter changes.
   */
  setLogMatches(epoch: number, byNode: ReadonlyMap<string, number>): void {
    this.inputs?.setLogMatches(epoch, byNode)
  }

  /**
   * Gives up the lead (if leading) and does not campaign for a while (3 leases), so that another
   * voter takes over; the reason shows on /status until this node leads again.
   */
  resign(reason: string): void {
    if (this.inputs === undefined) {
      this.pendingResign = reason
      return
    }
    this.publish(this.inputs.resign(reason))
    this.notify()
    this.poke()
  }

  /**
   * Subscribes to changes of the leader this node knows, as of each published step (a leader that
   * lapses between two steps is reported at the next one, within a tick), starting with the one
   * known now if the actor has started; returns an unsubscribe function. For components that learn the leader rather than ask for it (the executor).
   */
  onLeaderChange(listener: LeaderListener): () => void {
    this.leaderListeners.add(listener)
    if (this.published !== undefined) listener(this.told)
    return () => this.leaderListeners.delete(listener)
  }

  /** Subscribes to leadership changes; returns an unsubscribe function. */
  onLeadershipChange(listener: LeadershipListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /**
   * @internal The cluster actor attaches when it starts: its inputs, its clock, a way to make it
   * take a step, and its first snapshot (taken after the inputs set before are applied).
   */
  attach(inputs: ClusterInputs, clock: Clock, poke: () => void, first: () => ClusterSnapshot): void {
    this.inputs = inputs
    this.clock = clock
    this.poke = poke
    if (this.pendingLog !== undefined) inputs.setLogPosition(this.pendingLog)
    if (this.pendingCommit !== undefined) inputs.setCommitIndex(this.pendingCommit)
    this.publish(this.pendingResign !== undefined ? inputs.resign(this.pendingResign) : first())
    this.pendingLog = undefined
    this.pendingCommit = undefined
    this.pendingResign = undefined
  }

  /** @internal The cluster actor's snapshot at the end of a step. */
  publish(snapshot: ClusterSnapshot): void {
    this.published = snapshot
    const leader = leaderAt(snapshot, this.clock!.monotonicMs())
    if (leader?.nodeId === this.told?.nodeId && leader?.epoch === this.told?.epoch) return
    this.told = leader
    for (const listener of [...this.leaderListeners]) listener(leader)
  }

  /** @internal re-evaluates leadership and tells listeners about a change. */
  notify(): void {
    const epoch = this.leaderEpoch()
    const leading = epoch !== undefined
    if (leading === this.leading && epoch === this.epoch) return
    this.leading = leading
    this.epoch = epoch
    for (const listener of [...this.listeners]) listener(leading, epoch)
  }
}
