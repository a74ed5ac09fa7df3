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
 * - matches.ts: the followers' durable matches the election is told; learners.ts: who else gets
 *   the log; requests.ts: append checks and reads of committed records.
 *
 * Duties and order:
 * - before every input it reads the cluster handle: whether this node leads an epoch (then the core
 *   leads it, with voters = config().members), and whom it follows (appends from anyone else are
 *   refused); the learners are read by ticks, every 250 ms at most;
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
  defineActor,
  InvalidArgumentError,
  JobLogUnavailableError,
  Leadership,
  MatchesReport,
  readCommitted,
  ReplicationCore,
  ReplicationWaiters,
  toError,
} from '../src/internal.js'
import type {
  ClusterHandle,
  Following,
  Network,
  NodeId,
  ReadRequest,
  ReplicaEntry,
  ReplicaLog,
  ReplicaLogOpener,
  ReplicatedLogRequest,
  ReplicationHandle,
  ReplicationOptions,
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
  /** Time between ticks (heartbeats, resends, timeouts) while leading or answering waiters. Default 25 ms. */
  tickMs?: number
  /** Time between ticks otherwise (a follower, or a node without a leader). Default 1000 ms. */
  idleTickMs?: number
  /** How long fence and append wait for a majority before answering that the log is unavailable. */
  commitTimeoutMs?: number
  /** Delay before reopening a failed log. */
  reopenMs?: number
  /** The cluster's `voters` option, when set: which members must get the log to be promotable (src/replication/learners.ts). */
  voters?: number
}

/**
 * A follower's ticks only look for work that leading brings (heartbeats, resends, waiters' timeouts)
 * and for a change of leadership, which the cluster handle reports at once; so it ticks slowly, and
 * the fast tick runs only while this node leads or has waiters. An idle follower woke up 40 times
 * a second for nothing before.
 */
const IDLE_TICK_MS = 1000

/** Least time between two refreshes of the learners (a leader ticks every 25 ms). */
const LEARNERS_REFRESH_MS = 250

export function replicatorActor(init: ReplicatorInit) {
  const commitTimeoutMs = init.commitTimeoutMs ?? 5000
  /** Created here, not in setup, so that the highest epoch led outlives actor restarts (leadership.ts). */
  const leadership = new Leadership()
  /**
   * Bumped with every new core, so completions of a previous log are ignored. Kept out of setup: a
   * restarted actor gets its previous incarnation's completions too (same mailbox), and a count
   * starting again at 0 took them for its own ("opDone without an operation under way").
   */
  let generation = 0
  return defineActor<ReplicatorMsg>({
    // Replication traffic arrives on its own network protocol, whose sender the network port
    // authenticates; the leader's job-log session and the actor's own timers and I/O completions are
    // local. Nothing here may come over actor messaging (a remote `net` could name any sender).
    remote: { fence: 'never', append: 'never', read: 'never', bounds: 'never', compact: 'never', tick: 'never', net: 'never', opDone: 'never', readDone: 'never', reopen: 'never' },
    mailbox: { capacity: 100_000 },
    async setup(ctx) {
      const { env, self } = ctx
      const clock = env.clock
      const cluster = init.cluster
      leadership.restart()
      let log: ReplicaLog | undefined
      let core: ReplicationCore | undefined
      /** The commit index last told to the cluster handle (it keeps the highest). */
      let reportedCommit = -1
      const waiters = new ReplicationWaiters(commitTimeoutMs)
      const matches = new MatchesReport()
      let invalidFrames = 0
      let failures = 0
      let framesSent = 0
      let framesReceived = 0
      let writes = 0
      /** Packs each run of entries once for all the followers it is sent to. */
      const encoder = new ReplicationEncoder()

      const fastTickMs = init.tickMs ?? 25
      const idleTickMs = Math.max(fastTickMs, init.idleTickMs ?? IDLE_TICK_MS)
      let tickMs = 0
      /** Ticks fast while there is time-driven work (leading, waiters), slowly otherwise. */
      const pace = (): void => {
        const want = leadership.ledEpoch !== undefined || waiters.pending ? fastTickMs : idleTickMs
        if (want === tickMs) return
        tickMs = want
        ctx.timers.every('tick', tickMs, { type: 'tick' })
      }

      env.metrics.counter('dx_replication_invalid_frames_total', 'Replication frames from peers that failed to decode', [], (set) => set(invalidFrames))
      env.metrics.counter('dx_replication_log_failures_total', 'Failed writes of the local replica log (each followed by a reopen)', [], (set) => set(failures))
      env.metrics.counter('dx_replication_frames_sent_total', 'Replication frames this node sent (appends, resets, replies)', [], (set) => set(framesSent))
      env.metrics.counter('dx_replication_frames_received_total', 'Replication frames this node received', [], (set) => set(framesReceived))
      env.metrics.counter('dx_replication_log_writes_total', 'Writes of entries to the local replica log, each ending with an fsync per write group', [], (set) => set(writes))
      env.metrics.gauge('dx_replication_commit_index', 'One past the last committed entry this node knows', [], (set) => set(core?.commitEnd ?? 0))
      env.metrics.gauge('dx_replication_log_end', 'One past the last durable entry of this node', [], (set) => set(core?.durable ?? 0))

      init.handle?.attach(() =>
        core === undefined
          ? undefined
          : {
              leaderEpoch: leadership.ledEpoch === undefined ? undefined : core.leaderEpoch,
              commitEnd: core.commitEnd,
              durableEnd: core.durable,
              start: core.startIndex,
              position: core.position(),
              counts: { framesSent, framesReceived, writes },
            },
      )

      const open = async (): Promise<void> => {
        const opened = await init.opener.open({ signal: ctx.signal })
        const id = cluster.clusterId()
        if (id !== undefined && opened.state().clusterId !== id) {
          await opened.setClusterId(id).catch(async (error: unknown) => {
            await opened.close().catch(() => {})
            throw error
          })
        }
        log = opened
        generation++
        leadership.forgetCore()
        core = new ReplicationCore(
          { self: init.network.self, state: opened.state(), epochAt: (i) => opened.epochAt(i), ...(init.options === undefined ? {} : { options: init.options }) },
          clock.monotonicMs(),
        )
        refreshLearners()
        sync()
        flush()
      }

      /** Why a request for `epoch` cannot be served by this node's log (the core exists, and does not lead it). */
      const refusal = (epoch: number, c: ReplicationCore): Error => leadership.unavailable(epoch, cluster.leader()?.epoch, c)

      /**
       * Members that get the log without voting (src/replication/learners.ts), refreshed by ticks
       * at most every LEARNERS_REFRESH_MS: building the whole view (each member's failure detector)
       * on every input cost more than the replication itself, and on every 25 ms tick of a leader
       * it was a sixth of an idle peer's timer CPU. Only liveness depends on them; the voters are
       * read before every input. Replaced only when they change, so leadership compares identities.
       */
      let learners: readonly NodeId[] = []
      let learnersAtMs = -Infinity
      const refreshLearners = (): void => {
        learnersAtMs = clock.monotonicMs()
        const view = cluster.view()
        const next = chooseLearners(view?.members ?? [], view?.config, init.voters)
        if (next.length !== learners.length || next.some((id, i) => id !== learners[i])) learners = next
      }

      /** Aligns the core with the cluster's view (leadership.ts); returns whom this node follows. */
      const sync = (): Following | undefined => {
        const c = core
        if (c === undefined) return undefined
        const config = cluster.config()
        leadership.sync(c, { epoch: cluster.leaderEpoch(), config, voters: config?.members ?? [], learners }, clock.monotonicMs(), (lost) =>
          // As for a fence asked now: a lapsed lease (no newer epoch known) is retried, not final.
          // A FencedError here made the scheduler of a leader whose lease lapsed for a moment under
          // event-loop lag stop for good, and the node resign its lead (issue 9's election livelock).
          waiters.failAll(refusal(lost, c), new JobLogUnavailableError(`this node no longer leads epoch ${lost}; the records may or may not be committed`, true)),
        )
        const leader = cluster.leader()
        return leader === null || leader === undefined ? undefined : { leader: leader.nodeId, epoch: leader.epoch }
      }

      /** Carries out what the core asks: position first, then the mutation, the sends and the reads. */
      const flush = (): void => {
        const c = core
        if (c === undefined) return
        const ready = c.takeReady()
        if (ready.position !== undefined) cluster.setLogPosition(ready.position)
        // On every node, so that the election core knows from the start that the log is replicated.
        if (c.commitEnd !== reportedCommit) cluster.setCommitIndex((reportedCommit = c.commitEnd))
        const ledEpoch = leadership.ledEpoch
        if (ledEpoch !== undefined) {
          const report = matches.next(ledEpoch, c)
          if (report !== undefined) cluster.setLogMatches(ledEpoch, report)
        }
        const gen = generation
        const l = log!
        if (ready.op !== undefined) {
          const op = ready.op
          if (op.kind === 'write') writes++
          const done = op.kind === 'write' ? l.write(op.from, op.entries) : op.kind === 'compact' ? l.compact(op.index) : l.reset(op.start, op.prevEpoch)
          done.then(
            () => self.tell({ type: 'opDone', generation: gen, error: undefined }),
            (error: unknown) => self.tell({ type: 'opDone', generation: gen, error: toError(error) }),
          )
        }
        for (const { to, message } of ready.send) {
          let bytes: Uint8Array
          try {
            bytes = encoder.encode(message)
          } catch (error) {
            ctx.log.error('replication message could not be encoded', { to, error })
            continue
          }
          // A full queue or a broken connection loses the message; the core resends on its timer.
          init.network.send(to, REPLICATION_PROTOCOL, bytes)
          framesSent++
        }
        for (const request of ready.reads) {
          // An append's worth: a read-back batch obeys the byte budget that keeps appends within a frame.
          l.read(request.from, request.to - request.from, c.options.batchMaxBytes).then(
            (entries) => self.tell({ type: 'readDone', generation: gen, request, entries }),
            () => self.tell({ type: 'readDone', generation: gen, request, entries: undefined }),
          )
        }
        waiters.settle({ ledEpoch, noopIndex: c.noopIndex, commitEnd: c.commitEnd, startIndex: c.startIndex }, clock.monotonicMs())
        pace()
      }

      const fail = (error: Error): void => {
        failures++
        ctx.log.error('replica log write failed; resigning and reopening it', { error })
        cluster.resign(`replica log failed: ${error.message}`)
        generation++
        core?.stepDown()
        core = undefined
        leadership.forgetCore()
        waiters.failAll(
          new JobLogUnavailableError(`the local replica log failed: ${error.message}`, false),
          new JobLogUnavailableError(`the local replica log failed: ${error.message}; the records may or may not be committed`, true),
        )
        const broken = log
        log = undefined
        broken?.close().catch((e: unknown) => ctx.log.debug('closing the failed replica log failed', { error: e }))
        ctx.timers.once('reopen', init.reopenMs ?? 1000, { type: 'reopen' })
      }

      init.network.handle(REPLICATION_PROTOCOL, (from, bytes) => {
        framesReceived++
        let message: ReplicationMessage
        try {
          message = decodeReplication(bytes)
        } catch (error) {
          if (!(error instanceof ProtocolError)) throw error
          invalidFrames++
          return
        }
        self.tell({ type: 'net', from, message })
      })
      ctx.onStop(() => {
        init.network.unhandle(REPLICATION_PROTOCOL)
        waiters.failAll(
          new JobLogUnavailableError('the replicator stopped', false),
          new JobLogUnavailableError('the replicator stopped; the records may or may not be committed', true),
        )
        return log?.close()
      })
      /** Opens the log; until that works this node keeps resigning, as it has no log to lead with. */
      const tryOpen = async (): Promise<void> => {
        try {
          await open()
        } catch (error) {
          ctx.log.warn('opening the replica log failed; retrying', { error })
          cluster.resign(`replica log cannot be opened: ${toError(error).message}`)
          ctx.timers.once('reopen', init.reopenMs ?? 1000, { type: 'reopen' })
        }
      }
      await tryOpen()
      // Gaining or losing the lead is acted on at once rather than at the next (slow) tick.
      const unsubscribe = cluster.onLeadershipChange(() => self.tell({ type: 'tick' }))
      ctx.onStop(unsubscribe)
      pace()

      /**
       * A node that opened its log before it learned the cluster's identity (a joiner) records it
       * once known, so that its copy, like the founder's, refuses another cluster from then on.
       */
      let claiming = false
      const claimCluster = (): void => {
        const l = log
        const id = cluster.clusterId()
        if (claiming || l === undefined || id === undefined || l.state().clusterId !== undefined) return
        claiming = true
        const gen = generation
        l.setClusterId(id).then(
          () => (claiming = false),
          (error: unknown) => {
            claiming = false
            if (gen === generation) self.tell({ type: 'opDone', generation: gen, error: toError(error) })
          },
        )
      }

      /** The core, if it leads `epoch`; otherwise `reply` is rejected with the reason. */
      const leading = (epoch: number, reply: { reject(error: Error): void }): ReplicationCore | undefined => {
        sync()
        if (core === undefined) reply.reject(new JobLogUnavailableError('the local replica log is being reopened', false))
        else if (leadership.ledEpoch !== epoch) reply.reject(refusal(epoch, core))
        else return core
        return undefined
      }

      return {
        tick() {
          claimCluster()
          if (clock.monotonicMs() - learnersAtMs >= LEARNERS_REFRESH_MS) refreshLearners()
          sync()
          core?.tick(clock.monotonicMs())
          flush()
        },
        net(msg) {
          const following = sync()
          core?.receive(msg.from, msg.message, following, clock.monotonicMs())
          flush()
        },
        opDone(msg) {
          if (msg.generation !== generation || core === undefined) return
          if (msg.error !== undefined) {
            fail(msg.error)
            return
          }
          sync()
          core.opDone(true, clock.monotonicMs())
          flush()
        },
        readDone(msg) {
          if (msg.generation !== generation || core === undefined) return
          core.readDone(msg.request, msg.entries, clock.monotonicMs())
          flush()
        },
        async reopen() {
          if (core === undefined) await tryOpen()
        },
        fence(msg, c) {
          const reply = c.defer()
          const led = leading(msg.epoch, reply)
          if (led !== undefined) {
            waiters.fence(msg.epoch, led.position().index, reply, clock.monotonicMs())
            flush()
          }
          return reply
        },
        append(msg, c) {
          const reply = c.defer()
          const led = leading(msg.epoch, reply)
          const invalid = led === undefined ? undefined : checkAppend(msg.payloads)
          if (invalid !== undefined) reply.reject(invalid)
          else if (led !== undefined) {
            const first = led.propose(msg.payloads, clock.monotonicMs())
            waiters.append(first, msg.payloads.length, reply, clock.monotonicMs())
            flush()
          }
          return reply
        },
        read(msg, c) {
          const reply = c.defer()
          const l = log
          if (core === undefined || l === undefined) {
            reply.reject(new JobLogUnavailableError('the local replica log is being reopened', false))
            return reply
          }
          if (msg.from < core.startIndex) {
            reply.reject(new JobLogUnavailableError(`offset ${msg.from} was compacted away; the log starts at ${core.startIndex}`, false))
            return reply
          }
          const to = Math.min(core.commitEnd, core.durable)
          if (msg.from >= to || msg.max <= 0) reply.resolve([])
          else
            readCommitted(l, msg.from, to, msg.max).then(reply.resolve.bind(reply), (error: unknown) =>
              reply.reject(new JobLogUnavailableError(`reading the local replica log failed: ${toError(error).message}`, false, { cause: error })),
            )
          return reply
        },
        bounds(_msg, c) {
          const reply = c.defer()
          if (core === undefined) reply.reject(new JobLogUnavailableError('the local replica log is being reopened', false))
          else reply.resolve({ start: core.startIndex, end: Math.min(core.commitEnd, core.durable) })
          return reply
        },
        compact(msg, c) {
          const reply = c.defer()
          const led = leading(msg.epoch, reply)
          if (led === undefined) return reply
          if (msg.offset > led.commitEnd) reply.reject(new InvalidArgumentError(`cannot compact below ${msg.offset}: only ${led.commitEnd} entries are committed`))
          else {
            led.compact(msg.offset)
            waiters.compaction(msg.offset, reply)
            flush()
          }
          return reply
        },
      }
    },
  })
}
