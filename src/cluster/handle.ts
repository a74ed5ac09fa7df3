/**
 * ClusterHandle: a node's synchronous view of coordination for components outside the cluster
 * actor (manager duties, the job client, the executor, entities, the running node). It lives in
 * src/ so that those components never import actors/; the cluster actor (actors/cluster.ts)
 * attaches its core when it starts. Until then setters are kept and applied on attach, and
 * readers see nothing.
 */
import { checkLogPosition, type ClusterCore } from './core.js'
import type { ClusterView, LogPosition } from './types.js'
import type { Clock } from '../env/types.js'

/** Called when this node gains or loses the right to run manager duties. */
export type LeadershipListener = (leading: boolean, epoch: number | undefined) => void

/**
 * A node's synchronous view of coordination, for components outside the actor: manager duties ask
 * it before every leader-only effect.
 */
export class ClusterHandle {
  private core: ClusterCore | undefined = undefined
  private clock: Clock | undefined = undefined
  /** Makes the actor run a step soon (publish what changed). */
  private poke: () => void = () => {}
  /** Set before the actor starts, applied when it attaches. */
  private pendingLog: LogPosition | undefined = undefined
  private pendingCommit: number | undefined = undefined
  private pendingResign: string | undefined = undefined
  private readonly listeners = new Set<LeadershipListener>()
  private leading = false
  private epoch: number | undefined = undefined

  /** The epoch this node leads while its lease holds, else undefined. */
  leaderEpoch(): number | undefined {
    const core = this.core
    if (core === undefined || !core.holdsLease(this.clock!.monotonicMs())) return undefined
    return core.leaderEpoch ?? undefined
  }

  /** The current view, or undefined before the cluster actor has started. */
  view(): ClusterView | undefined {
    return this.core?.view(this.clock!.monotonicMs())
  }

  /** `view()?.config` without building the view. */
  config(): ClusterView['config'] | undefined {
    return this.core?.currentConfig
  }

  /** `view()?.leader` without building the view: for checks on every message. */
  leader(): ClusterView['leader'] | undefined {
    return this.core?.leader(this.clock!.monotonicMs())
  }

  /** True when `nodeId` is among `view()?.members`, without building the view. */
  knows(nodeId: string): boolean {
    return this.core?.knows(nodeId) === true
  }

  /**
   * The durable end of this node's replica log, for the election's up-to-date rule: index is one
   * past the last entry, epoch the epoch of that entry. Called synchronously BEFORE a write that
   * extends the log starts, and again after a cut or failure. Throws RangeError for a negative or
   * non-integer position.
   */
  setLogPosition(position: { epoch: number; index: number }): void {
    if (this.core === undefined) {
      this.pendingLog = checkLogPosition(position)
      return
    }
    this.core.setLogPosition(position)
  }

  /**
   * The commit index of this node's replica log (one past the last committed entry it knows; exact
   * on the leader), so that the leader makes voters only of members whose log holds every committed
   * entry. Throws RangeError for a negative or non-integer index.
   */
  setCommitIndex(index: number): void {
    if (this.core === undefined) {
      if (!Number.isSafeInteger(index) || index < 0) throw new RangeError(`invalid commit index ${index}`)
      this.pendingCommit = Math.max(this.pendingCommit ?? 0, index)
      return
    }
    this.core.setCommitIndex(index)
  }

  /**
   * On the leader of `epoch`: how far each member's replica log is acknowledged durable and
   * matching (the replicator's view), which decides who holds the log for voter changes.
   */
  setLogMatches(epoch: number, byNode: ReadonlyMap<string, number>): void {
    this.core?.setLogMatches(epoch, byNode)
  }

  /**
   * Gives up the lead (if leading) and does not campaign for a while (3 leases), so that another
   * voter takes over; the reason shows on /status until this node leads again.
   */
  resign(reason: string): void {
    const core = this.core
    if (core === undefined) {
      this.pendingResign = reason
      return
    }
    core.resign(reason, this.clock!.monotonicMs())
    this.notify()
    this.poke()
  }

  /** The cluster's identity (created by the founder, adopted by members on admission); undefined until known. */
  clusterId(): string | undefined {
    return this.core?.clusterId ?? undefined
  }

  /** Subscribes to leadership changes; returns an unsubscribe function. */
  onLeadershipChange(listener: LeadershipListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** @internal */
  attach(core: ClusterCore, clock: Clock, poke: () => void): void {
    this.core = core
    this.clock = clock
    this.poke = poke
    if (this.pendingLog !== undefined) core.setLogPosition(this.pendingLog)
    if (this.pendingCommit !== undefined) core.setCommitIndex(this.pendingCommit)
    if (this.pendingResign !== undefined) core.resign(this.pendingResign, clock.monotonicMs())
    this.pendingLog = undefined
    this.pendingCommit = undefined
    this.pendingResign = undefined
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
