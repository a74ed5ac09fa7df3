/**
 * The replicator actor: drives the replication core (src/replication/core.ts) with the node's copy
 * of the replicated job log (a ReplicaLog), the network and the cluster handle. It runs on every
 * node: on the leader it replicates the log to the voters and serves the job-log session of the
 * scheduler (src/replication/job-log.ts) by asks; on the others it takes the leader's appends.
 *
 * A thin driver: it carries out what sans-I/O modules of src/replication/ decide.
 * - core.ts: the log's replication (appends, matches, commit, catch-up, compaction);
 * - leadership.ts: which epoch the core leads, from the cluster's view, and why a request for
 *   another epoch is refused (retry, or fenced for good);
 * - waiters.ts: the session's fences, appends and compactions until committed or timed out;
 * - reports.ts: what the election is told after every input (position, commit index, and the
 *   followers' durable matches, matches.ts); learners.ts: who else gets the log;
 * - requests.ts, asks.ts: append checks, reads and bounds of committed records, compaction checks,
 *   and the errors that answer requests the replicator cannot serve;
 * - cadence.ts: how fast it ticks, how often it recomputes the learners; metrics.ts: its metrics.
 *
 * Duties and order:
 * - before every input it reads the cluster handle: whether this node leads an epoch, with or
 *   without its lease (then the core leads it, with voters = config().members; a lapsed lease does
 *   not interrupt replication, see leadership.ts), and whom it follows (appends from anyone else are
 *   refused); the learners are read by a leader's ticks, every 250 ms at most (a node that gains the
 *   lead ticks at once, so it reads them then);
 * - after every input it reports the core's log position to the cluster handle BEFORE starting the
 *   next local mutation (so the election's up-to-date rule covers a write under way), and its
 *   commit index (on the leader, so that voters are made only of members holding it), starts it
 *   (one at a time), and sends what the core produced;
 * - once the cluster's identity is known it is recorded in the log (a joiner opens its copy
 *   before it knows it), so the copy refuses another cluster from then on;
 * - a failed mutation poisons the log: the node resigns (no campaigning), answers waiting appends
 *   as ambiguous, reopens the log (recovery finds what is really durable), builds a new core from
 *   it, and only then reports its position again.
 */
import {
  checkAppend,
  chooseLearners,
  ClusterReports,
  compactionIndex,
  compactionProblem,
  defineActor,
  JobLogUnavailableError,
  Leadership,
  LearnersCache,
  logBounds,
  readCommitted,
  readFailed,
  readRange,
  registerReplicationMetrics,
  reopening,
  ReplicationCore,
  ReplicationCounts,
  ReplicationWaiters,
  TickPace,
  toError,
  unavailable,
} from '../src/internal.js'
import type {
  ActorContext,
  ClusterHandle,
  Following,
  Handlers,
  LocalOp,
  Network,
  NodeId,
  ReadRequest,
  ReplicaEntry,
  ReplicaLog,
  ReplicaLogOpener,
  ReplicatedLogRequest,
  ReplicationHandle,
  ReplicationOptions,
  ReplicationStatus,
} from '../src/internal.js'
import { decodeReplication, REPLICATION_PROTOCOL, ReplicationEncoder, type ReplicationMessage } from '../protocols/replication/codec.js'
import { ProtocolError } from '../protocols/errors.js'

export type ReplicatorMsg =
  | ReplicatedLogRequest
  | { type: 'tick' }
  | { type: 'net'; from: NodeId; message: ReplicationMessage }
  | { type: 'opDone'; generation: number; error: Error | undefined }
  | { type: 'readDone'; generation: number; request: ReadRequest; entries: ReplicaEntry[] | undefined }
  | { type: 'reopen' }

export interface ReplicatorInit {
  network: Network
  opener: ReplicaLogOpener
  cluster: ClusterHandle
  /** Where the replicator publishes its status. */
  handle?: ReplicationHandle
  options?: Partial<ReplicationOptions>
  /** Least time between ticks (heartbeats, resends, timeouts) while followers or waiters need them. Default 25 ms. */
  tickMs?: number
  /** Time between ticks otherwise (a follower, an idle leader between heartbeats, no leader). Default 1000 ms. */
  idleTickMs?: number
  /** How long fence and append wait for a majority before answering that the log is unavailable. */
  commitTimeoutMs?: number
  /** Delay before reopening a failed log. */
  reopenMs?: number
  /** The cluster's `voters` option, when set: which members must get the log to be promotable (src/replication/learners.ts). */
  voters?: number
}

/** Ticks of a follower or a node without a leader, by default (cadence.ts says why they are slow). */
const IDLE_TICK_MS = 1000

/** What outlives a restart of the actor. */
interface Shared {
  /** Created once, so that the highest epoch led outlives actor restarts (leadership.ts). */
  readonly leadership: Leadership
  /**
   * Bumped with every new core, so completions of a previous log are ignored. Kept out of setup: a
   * restarted actor gets its previous incarnation's completions too (same mailbox), and a count
   * starting again at 0 took them for its own ("opDone without an operation under way").
   */
  generation: number
}

export function replicatorActor(init: ReplicatorInit) {
  const shared: Shared = { leadership: new Leadership(), generation: 0 }
  return defineActor<ReplicatorMsg>({
    // Replication traffic arrives on its own network protocol, whose sender the network port
    // authenticates; the leader's job-log session and the actor's own timers and I/O completions are
    // local. Nothing here may come over actor messaging (a remote `net` could name any sender).
    remote: { fence: 'never', append: 'never', read: 'never', bounds: 'never', compact: 'never', tick: 'never', net: 'never', opDone: 'never', readDone: 'never', reopen: 'never' },
    mailbox: { capacity: 100_000 },
    async setup(ctx) {
      const driver = new ReplicatorDriver(ctx, init, shared)
      await driver.start()
      return driver.handlers()
    },
  })
}

type Ctx = ActorContext<ReplicatorMsg>

class ReplicatorDriver {
  private readonly cluster: ClusterHandle
  private readonly leadership: Leadership
  private log: ReplicaLog | undefined = undefined
  private core: ReplicationCore | undefined = undefined
  private readonly waiters: ReplicationWaiters
  private readonly reports = new ClusterReports()
  private readonly counts = new ReplicationCounts()
  /** Packs each run of entries once for all the followers it is sent to. */
  private readonly encoder = new ReplicationEncoder()
  private readonly pace: TickPace
  /** Members that get the log without voting (learners.ts); the voters are read before every input. */
  private readonly learners = new LearnersCache()
  /** A cluster identity being recorded in the log. */
  private claiming = false

  constructor(
    private readonly ctx: Ctx,
    private readonly init: ReplicatorInit,
    private readonly shared: Shared,
  ) {
    this.cluster = init.cluster
    this.leadership = shared.leadership
    this.leadership.restart()
    this.waiters = new ReplicationWaiters(init.commitTimeoutMs ?? 5000)
    this.pace = new TickPace(init.tickMs ?? 25, init.idleTickMs ?? IDLE_TICK_MS)
    registerReplicationMetrics(ctx.env.metrics, this.counts, () => this.core)
    init.handle?.attach(() => this.status())
    init.network.handle(REPLICATION_PROTOCOL, (from, bytes) => this.received(from, bytes))
    ctx.onStop(() => {
      init.network.unhandle(REPLICATION_PROTOCOL)
      this.waiters.failAll(...unavailable('the replicator stopped'))
      return this.log?.close()
    })
  }

  /** Opens the log, then follows the cluster's leadership changes and sets the tick. */
  async start(): Promise<void> {
    await this.tryOpen()
    // Gaining or losing the lead is acted on at once rather than at the next (slow) tick.
    const unsubscribe = this.cluster.onLeadershipChange(() => this.ctx.self.tell({ type: 'tick' }))
    this.ctx.onStop(unsubscribe)
    this.repace()
  }

  handlers(): Handlers<ReplicatorMsg> {
    const now = (): number => this.ctx.env.clock.monotonicMs()
    return {
      tick: () => {
        this.pace.fired()
        this.claimCluster()
        // Only a leader sends to learners; building the view for them cost every follower a tick's worth each second.
        if (this.cluster.leadingEpoch() !== undefined && this.learners.due(now())) this.refreshLearners()
        this.sync()
        this.core?.tick(now())
        this.flush()
        this.repace()
      },
      net: (msg) => {
        const following = this.sync()
        this.core?.receive(msg.from, msg.message, following, now())
        this.flush()
      },
      opDone: (msg) => {
        if (msg.generation !== this.shared.generation || this.core === undefined) return
        if (msg.error !== undefined) return this.fail(msg.error)
        this.sync()
        this.core.opDone(true, now())
        this.flush()
      },
      readDone: (msg) => {
        if (msg.generation !== this.shared.generation || this.core === undefined) return
        this.core.readDone(msg.request, msg.entries, now())
        this.flush()
      },
      reopen: async () => {
        if (this.core === undefined) await this.tryOpen()
      },
      fence: (msg, c) => {
        const reply = c.defer()
        const led = this.leading(msg.epoch, reply)
        if (led !== undefined) {
          this.waiters.fence(msg.epoch, led.position().index, reply, now())
          this.flush()
        }
        return reply
      },
      append: (msg, c) => {
        const reply = c.defer()
        const led = this.leading(msg.epoch, reply)
        const invalid = led === undefined ? undefined : checkAppend(msg.payloads)
        if (invalid !== undefined) reply.reject(invalid)
        else if (led !== undefined) {
          const { offset, end } = led.propose(msg.payloads, now())
          this.waiters.append(offset, end, reply, now())
          this.flush()
        }
        return reply
      },
      read: (msg, c) => {
        const reply = c.defer()
        const log = this.log
        const range = readRange(log === undefined ? undefined : this.core, msg.from, msg.max)
        if ('error' in range) reply.reject(range.error)
        else if ('empty' in range) reply.resolve([])
        else readCommitted(log!, range.offset, range.from, range.to, range.max).then(reply.resolve.bind(reply), (error: unknown) => reply.reject(readFailed(error)))
        return reply
      },
      bounds: (_msg, c) => {
        const reply = c.defer()
        const bounds = logBounds(this.core)
        if ('error' in bounds) reply.reject(bounds.error)
        else reply.resolve(bounds)
        return reply
      },
      compact: (msg, c) => {
        const reply = c.defer()
        const led = this.leading(msg.epoch, reply)
        if (led === undefined) return reply
        const index = compactionIndex(msg.offset)
        const problem = compactionProblem(index, led.commitEnd)
        if (problem !== undefined) reply.reject(problem)
        else {
          led.compact(index)
          this.waiters.compaction(index, reply)
          this.flush()
        }
        return reply
      },
    }
  }

  private status(): ReplicationStatus | undefined {
    const core = this.core
    if (core === undefined) return undefined
    const { framesSent, framesReceived, writes } = this.counts
    return {
      leaderEpoch: this.leadership.ledEpoch === undefined ? undefined : core.leaderEpoch,
      commitEnd: core.commitEnd,
      durableEnd: core.durable,
      start: core.startIndex,
      position: core.position(),
      counts: { framesSent, framesReceived, writes },
    }
  }

  /** A frame of the replication protocol: decoded here, handled in the mailbox. */
  private received(from: NodeId, bytes: Uint8Array): void {
    this.counts.framesReceived++
    let message: ReplicationMessage
    try {
      message = decodeReplication(bytes)
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error
      this.counts.invalidFrames++
      return
    }
    this.ctx.self.tell({ type: 'net', from, message })
  }

  /** Ticks when time-driven work is due (waiters, a leader's followers), slowly otherwise (cadence.ts). */
  private repace(): void {
    const nowMs = this.ctx.env.clock.monotonicMs()
    const delayMs = this.pace.next(nowMs, this.waiters.pending ? nowMs : this.core?.nextTickMs(nowMs))
    if (delayMs !== undefined) this.ctx.timers.once('tick', delayMs, { type: 'tick' })
  }

  /** Opens the log and builds a core over it; an opened log of no cluster yet records this one's. */
  private async open(): Promise<void> {
    const opened = await this.init.opener.open({ signal: this.ctx.signal })
    const id = this.cluster.clusterId()
    if (id !== undefined && opened.state().clusterId !== id) {
      await opened.setClusterId(id).catch(async (error: unknown) => {
        await opened.close().catch(() => {})
        throw error
      })
    }
    this.log = opened
    this.shared.generation++
    this.leadership.forgetCore()
    const options = this.init.options
    this.core = new ReplicationCore(
      { self: this.init.network.self, state: opened.state(), epochAt: (i) => opened.epochAt(i), ...(options === undefined ? {} : { options }) },
      this.ctx.env.clock.monotonicMs(),
    )
    this.refreshLearners()
    this.sync()
    this.flush()
  }

  /** Opens the log; until that works this node keeps resigning, as it has no log to lead with. */
  private async tryOpen(): Promise<void> {
    try {
      await this.open()
    } catch (error) {
      this.ctx.log.warn('opening the replica log failed; retrying', { error })
      this.cluster.resign(`replica log cannot be opened: ${toError(error).message}`)
      this.ctx.timers.once('reopen', this.init.reopenMs ?? 1000, { type: 'reopen' })
    }
  }

  private refreshLearners(): void {
    const nowMs = this.ctx.env.clock.monotonicMs()
    const view = this.cluster.view()
    this.learners.refresh(chooseLearners(view?.members ?? [], view?.config, this.init.voters), nowMs)
  }

  /** Why a request for `epoch` cannot be served by this node's log (the core exists, and does not lead it). */
  private refusal(epoch: number, core: ReplicationCore): Error {
    return this.leadership.unavailable(epoch, this.cluster.leader()?.epoch, core)
  }

  /** Aligns the core with the cluster's view (leadership.ts); returns whom this node follows. */
  private sync(): Following | undefined {
    const core = this.core
    if (core === undefined) return undefined
    const config = this.cluster.config()
    // The epoch led with or without its lease: a lapse that comes back in the same epoch keeps the
    // core leading, its appends under way and its followers' progress (leadership.ts says why that is safe).
    const view = { epoch: this.cluster.leadingEpoch(), config, voters: config?.members ?? [], learners: this.learners.current }
    this.leadership.sync(core, view, this.ctx.env.clock.monotonicMs(), (lost) =>
      // As for a fence asked now: a lapsed lease (no newer epoch known) is retried, not final.
      // A FencedError here made the scheduler of a leader whose lease lapsed for a moment under
      // event-loop lag stop for good, and the node resign its lead (issue 9's election livelock).
      this.waiters.failAll(this.refusal(lost, core), new JobLogUnavailableError(`this node no longer leads epoch ${lost}; the records may or may not be committed`, true)),
    )
    const leader = this.cluster.leader()
    return leader === null || leader === undefined ? undefined : { leader: leader.nodeId, epoch: leader.epoch }
  }

  /** Carries out what the core asks: reports first (reports.ts), then the mutation, the sends and the reads. */
  private flush(): void {
    const core = this.core
    if (core === undefined) return
    const ready = core.takeReady()
    const ledEpoch = this.leadership.ledEpoch
    const report = this.reports.next(ready.position, core, ledEpoch)
    if (report.position !== undefined) this.cluster.setLogPosition(report.position)
    if (report.commitIndex !== undefined) this.cluster.setCommitIndex(report.commitIndex)
    if (report.matches !== undefined) this.cluster.setLogMatches(report.matches.epoch, report.matches.byNode)
    if (ready.op !== undefined) this.startOp(ready.op)
    for (const { to, message } of ready.send) this.send(to, message)
    for (const request of ready.reads) this.startRead(request, core.options.batchMaxBytes)
    this.waiters.settle({ ledEpoch, noopIndex: core.noopIndex, commitEnd: core.commitEnd, startIndex: core.startIndex }, this.ctx.env.clock.monotonicMs())
    this.repace()
  }

  /** Starts a mutation of the local log; its completion comes back as `opDone`. */
  private startOp(op: LocalOp): void {
    const log = this.log!
    const generation = this.shared.generation
    const self = this.ctx.self
    if (op.kind === 'write') this.counts.writes++
    const done = op.kind === 'write' ? log.write(op.from, op.entries) : op.kind === 'compact' ? log.compact(op.index) : log.reset(op.start, op.prevEpoch)
    done.then(
      () => self.tell({ type: 'opDone', generation, error: undefined }),
      (error: unknown) => self.tell({ type: 'opDone', generation, error: toError(error) }),
    )
  }

  private send(to: NodeId, message: ReplicationMessage): void {
    let bytes: Uint8Array
    try {
      bytes = this.encoder.encode(message)
    } catch (error) {
      this.ctx.log.error('replication message could not be encoded', { to, error })
      return
    }
    // A full queue or a broken connection loses the message; the core resends on its timer.
    this.init.network.send(to, REPLICATION_PROTOCOL, bytes)
    this.counts.framesSent++
  }

  /** Reads entries back for a follower behind; they come back as `readDone`. */
  private startRead(request: ReadRequest, batchMaxBytes: number): void {
    const generation = this.shared.generation
    const self = this.ctx.self
    // An append's worth: a read-back batch obeys the byte budget that keeps appends within a frame.
    this.log!.read(request.from, request.to - request.from, batchMaxBytes).then(
      (entries) => self.tell({ type: 'readDone', generation, request, entries }),
      () => self.tell({ type: 'readDone', generation, request, entries: undefined }),
    )
  }

  /** A failed mutation poisons the log: resign, answer the waiting requests, reopen the log later. */
  private fail(error: Error): void {
    this.counts.failures++
    this.ctx.log.error('replica log write failed; resigning and reopening it', { error })
    this.cluster.resign(`replica log failed: ${error.message}`)
    this.shared.generation++
    this.core?.stepDown()
    this.core = undefined
    this.leadership.forgetCore()
    this.waiters.failAll(...unavailable(`the local replica log failed: ${error.message}`))
    const broken = this.log
    this.log = undefined
    broken?.close().catch((e: unknown) => this.ctx.log.debug('closing the failed replica log failed', { error: e }))
    this.ctx.timers.once('reopen', this.init.reopenMs ?? 1000, { type: 'reopen' })
  }

  /**
   * A node that opened its log before it learned the cluster's identity (a joiner) records it
   * once known, so that its copy, like the founder's, refuses another cluster from then on.
   */
  private claimCluster(): void {
    const log = this.log
    const id = this.cluster.clusterId()
    if (this.claiming || log === undefined || id === undefined || log.state().clusterId !== undefined) return
    this.claiming = true
    const generation = this.shared.generation
    log.setClusterId(id).then(
      () => (this.claiming = false),
      (error: unknown) => {
        this.claiming = false
        if (generation === this.shared.generation) this.ctx.self.tell({ type: 'opDone', generation, error: toError(error) })
      },
    )
  }

  /** The core, if it leads `epoch`; otherwise `reply` is rejected with the reason. */
  private leading(epoch: number, reply: { reject(error: Error): void }): ReplicationCore | undefined {
    this.sync()
    const core = this.core
    if (core === undefined) reply.reject(reopening())
    // A new request also needs the lease, as the scheduler's own do: through a lapse the core goes
    // on with what is under way, but takes nothing new (the caller is told to retry).
    else if (this.leadership.ledEpoch !== epoch || this.cluster.leaderEpoch() !== epoch) reply.reject(this.refusal(epoch, core))
    else return core
    return undefined
  }
}
