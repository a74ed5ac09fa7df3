/**
 * Replication of the embedded job log as a pure state machine (Raft's log replication, §5.3-5.4).
 * It performs no I/O: a driver (actors/replicator.ts) feeds it messages, time, the cluster's view and
 * the completion of local writes, and carries out what `takeReady` returns: report the log position
 * to the election, start at most one mutation of the local ReplicaLog, send messages, read entries.
 *
 * An entry is a batch of records: one scheduler append, or part of one too large for an entry's
 * byte budget (issue 9: per-entry work on every copy is then paid per append, not per record). The
 * records' offsets are the session's business (protocols/replication/offsets.ts); everything here
 * counts entries.
 *
 * ## Roles
 * Election is not ours: the cluster core (src/cluster/core.ts) elects at most one leader per epoch
 * with a majority of the voters (view().config.members). The node that leads epoch E (with a lease)
 * runs the leader side; every other node answers appends only from the node it follows in the epoch
 * it follows it in (the driver passes that in from the cluster view on every message). A node that
 * voted for a newer epoch follows nobody until that epoch's leader is known, so it refuses the old
 * leader from the moment it votes. The leader also replicates to learners (members that are not
 * voters and may be promoted, chosen by learners.ts), so that a member promoted to voter already
 * holds the log; only voters count for commit.
 *
 * ## Rules
 * 1. The leader never cuts or rewrites its log; it appends entries of its own epoch, starting with a
 *    no-op entry when it takes the lead.
 * 2. Log matching: an append carries (prevIndex, prevEpoch); a follower accepts it only if its entry
 *    at prevIndex has epoch prevEpoch, and then cuts only the suffix that CONFLICTS with the
 *    carried entries (an entry at the same index with another epoch), never one that matches.
 *    By induction, two logs holding an entry with the same (index, epoch) are identical up to it.
 * 3. A follower acknowledges entries (reply ok with `end`) only once they are durable.
 * 4. Commit: the leader's commit end is the highest n such that a majority of the CURRENT voters
 *    (itself counted by its durable end) holds [0, n) durably and the entry n-1 is of the leader's
 *    own epoch. Entries of older epochs are committed only as the prefix of such an entry (§5.4.2).
 * 5. Position: the election's up-to-date rule compares (lastEpoch, end). A node reports the position
 *    its log will have BEFORE a write starts (the maximum of the old and the new one), and its true
 *    durable position once the write is done; a node whose write failed resigns until it has
 *    reopened its log and reported what is really durable.
 * 6. Compaction: a node drops entries only below its commit end (below a snapshot entry, so what they
 *    said survives in the log); a follower that needs compacted entries is reset to the leader's
 *    start, and a reset never drops a committed entry that is not covered by the leader's snapshot.
 *
 * ## Why a new leader holds every committed entry (Leader Completeness, adapted)
 * Suppose entry X was committed in epoch E: a majority M of E's voters held X durably and acked it.
 * A leader of epoch F > E won the votes of a majority V of F's voters; configurations change one
 * voter at a time and only once the previous change is held by a majority, so M and V share a voter
 * v. v acknowledged X before or after voting for F's leader. If after: v had reported a position
 * covering X before the write of X started (rule 5), and stopped following E's leader when it voted,
 * so the write was already under way and the vote compared against a position covering X. If
 * before: v's position covered X when it voted. Either way F's leader's log was at least as up to
 * date as a log holding X; by Raft's argument (the leader of F's last epoch held X, by induction on
 * epochs, and log matching) F's leader holds X. Leases only keep two leaders from acting at once;
 * safety rests on epochs, votes and positions, so a paused leader's late appends are refused or
 * land in a log that a newer leader will overwrite only where they were never committed.
 *
 * ## Invariants (asserted)
 * - commit end never decreases, and nothing below it is ever cut;
 * - entries' epochs never decrease along the log, and no entry is newer than its writer's epoch;
 * - at most one local mutation is under way.
 */
import { assert, AssertionFailure } from '../assert.js'
import type { NodeId } from '../net/types.js'
import type { ReplicaEntry, ReplicaLogState } from '../storage/types.js'
import {
  REPLICATION_ENTRIES_MAX,
  REPLICATION_PAYLOAD_MAX_BYTES,
  type AppendMessage,
  type ReplicationMessage,
  type ReplyMessage,
  type ResetMessage,
} from '../../protocols/replication/codec.js'
import { appendOffset, entryBytes, OFFSET_STRIDE, RECORD_OVERHEAD_BYTES } from '../../protocols/replication/offsets.js'
import { DEFAULT_REPLICATION_OPTIONS, type Following, type LocalOp, type LogPosition, type Ready, type ReadRequest, type ReplicationOptions } from './types.js'

/** Most entries one coalesced follower write carries (a few leader batches). */
const COALESCED_WRITE_MAX_ENTRIES = 4 * REPLICATION_ENTRIES_MAX

/** The longest an unanswered append waits for a slow follower before it is resent, in units of `retryMs`. */
const RETRY_MAX_FACTOR = 8

/** A run of entries of one epoch, from index `from` up to the next run. */
interface Run {
  from: number
  readonly epoch: number
}

interface InFlight {
  /** One past the last entry the append carried. */
  readonly end: number
  readonly sentAtMs: number
}

/** What the leader knows of one follower. */
interface FollowerState {
  /** Next index to send. */
  next: number
  /** One past the last entry known to match and be durable on the follower. */
  match: number
  inFlight: InFlight[]
  lastSentMs: number
  /** When it last answered us (any reply of our epoch): a follower that answers is not losing our appends. */
  lastReplyMs: number
  /** Smoothed time from sending an append to its acknowledgement, and its mean deviation (TCP's SRTT and RTTVAR). */
  srttMs: number | undefined
  rttVarMs: number
  /** The commit index the last append to it carried. */
  sentCommit: number
  /** No sends before this time (the follower refused, e.g. it does not follow us yet). */
  holdUntilMs: number
  reading: boolean
  /** Not a voter: counts for no commit, so an idle one hears from us every `learnerIdleHeartbeatMs`. */
  learner: boolean
}

interface Leading {
  readonly epoch: number
  readonly term: number
  readonly followers: Map<NodeId, FollowerState>
  voters: readonly NodeId[]
  /** Index of the no-op entry that opened this leadership. */
  readonly noop: number
}

/** An operation under way, and what to do once it is durable. */
interface Pending {
  readonly op: LocalOp
  readonly done: () => void
}

/** A follower's message waiting for the local log to be free. */
interface Queued {
  readonly from: NodeId
  readonly message: AppendMessage | ResetMessage
  readonly following: Following | undefined
}

export interface ReplicationCoreInit {
  self: NodeId
  /** The local log as opened. */
  state: ReplicaLogState
  /** Epoch of a durable entry (and of start-1), read once at construction. */
  epochAt: (index: number) => number | undefined
  options?: Partial<ReplicationOptions>
}

export class ReplicationCore {
  readonly options: ReplicationOptions
  readonly self: NodeId
  /** First index held (entries below are compacted). */
  private start: number
  /** One past the last entry of the log including the mutation under way and the leader's unwritten entries. */
  private end: number
  /** One past the last durable entry. */
  private durableEnd: number
  /** Epochs of [start-1, end): runs sorted by `from`, the first one covering start-1. */
  private runs: Run[]
  private commit: number
  private leading: Leading | undefined = undefined
  private terms = 0
  /** Entries at [end - buffer.length, end), kept for followers. */
  private buffer: ReplicaEntry[] = []
  private bufferBytes = 0
  /** The leader's entries not yet handed to a write: they follow the op under way. */
  private unwritten: ReplicaEntry[] = []
  private pending: Pending | undefined = undefined
  private readonly opQueue: Pending[] = []
  private readonly queue: Queued[] = []
  private outbox: Array<{ to: NodeId; message: ReplicationMessage }> = []
  private reads: ReadRequest[] = []
  private reported: LogPosition | undefined = undefined
  private positionChanged = true
  /** A newer epoch some follower told us about, while leading. */
  private deposedBy: number | undefined = undefined
  /** Bumped whenever the followers or what they hold change (see `matchesVersion`). */
  private matchesChanged = 0
  private nowMs: number

  constructor(init: ReplicationCoreInit, nowMs: number) {
    this.options = { ...DEFAULT_REPLICATION_OPTIONS, ...init.options }
    const o = this.options
    // A batch (plus one entry that may exceed the byte budget alone) must fit a frame.
    assert(o.batchMaxEntries >= 1 && o.batchMaxEntries <= REPLICATION_ENTRIES_MAX, `batchMaxEntries ${o.batchMaxEntries} outside [1, ${REPLICATION_ENTRIES_MAX}]`)
    assert(
      o.batchMaxBytes <= REPLICATION_PAYLOAD_MAX_BYTES,
      `batchMaxBytes ${o.batchMaxBytes} above the entry limit ${REPLICATION_PAYLOAD_MAX_BYTES}: appends would outgrow the network's frames`,
    )
    assert(o.window >= 1, 'window must be at least 1')
    this.self = init.self
    const s = init.state
    assert(s.start <= s.end, `log start ${s.start} beyond end ${s.end}`)
    this.start = s.start
    this.end = s.end
    this.durableEnd = s.end
    // What was committed before a restart is unknown; below start it was (compaction is below commit).
    this.commit = s.start
    this.runs = buildRuns(s, init.epochAt)
    this.nowMs = nowMs
  }

  // ---- queries --------------------------------------------------------------------------------

  /** One past the last committed entry this node knows of. */
  get commitEnd(): number {
    return this.commit
  }

  /** First index held. */
  get startIndex(): number {
    return this.start
  }

  /** One past the last durable entry. */
  get durable(): number {
    return this.durableEnd
  }

  /** The epoch this node leads replication for, if any. */
  get leaderEpoch(): number | undefined {
    return this.deposedBy === undefined ? this.leading?.epoch : undefined
  }

  /** Index of the no-op entry opening the current leadership. */
  get noopIndex(): number | undefined {
    return this.leading?.noop
  }

  /** A newer epoch a follower reported while this node led. */
  get deposedByEpoch(): number | undefined {
    return this.deposedBy
  }

  /** The log position as it stands (including a write under way). */
  position(): LogPosition {
    return { epoch: this.epochAt(this.end - 1) ?? 0, index: this.end }
  }

  /** Epoch of the entry at `index` for start-1 <= index < end. */
  epochAt(index: number): number | undefined {
    if (index < this.start - 1 || index >= this.end) return undefined
    let lo = 0
    let hi = this.runs.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1
      if (this.runs[mid]!.from <= index) lo = mid
      else hi = mid - 1
    }
    return this.runs[lo]!.epoch
  }

  /**
   * Changes whenever `followers()` may show other members or other matches: a driver that reports
   * the matches (to the election's catch-up rules) rebuilds them only then, not after every input.
   */
  get matchesVersion(): number {
    return this.matchesChanged
  }

  /** Replication progress of each follower (for /status and tests). */
  followers(): Array<{ node: NodeId; match: number; next: number; inFlight: number }> {
    return [...(this.leading?.followers ?? [])].map(([node, f]) => ({ node, match: f.match, next: f.next, inFlight: f.inFlight.length }))
  }

  // ---- leader side ----------------------------------------------------------------------------

  /**
   * Starts leading `epoch` with these voters: appends the no-op entry of the epoch. Its commit
   * commits every earlier entry (rule 4), which is what a new leader waits for before reading.
   */
  lead(epoch: number, voters: readonly NodeId[], nowMs: number, learners: readonly NodeId[] = []): void {
    this.nowMs = nowMs
    if (this.leading?.epoch === epoch && this.deposedBy === undefined) return
    this.stepDown()
    assert(epoch >= (this.epochAt(this.end - 1) ?? 0), `leading epoch ${epoch} below the log's last epoch ${this.epochAt(this.end - 1)}`)
    // A follower's queued messages are of an older leadership now.
    this.queue.length = 0
    this.leading = { epoch, term: ++this.terms, followers: new Map(), voters: [], noop: this.end }
    this.matchesChanged++
    this.setVoters(voters, nowMs, learners)
    this.appendLocal([new Uint8Array(0)])
    this.pumpAll()
  }

  /**
   * Stops leading. Entries not yet written are still written: they may have reached followers, and
   * a log is never cut within its leader's epoch, so that one (index, epoch) always names one entry
   * even if this node leads the same epoch again.
   */
  stepDown(): void {
    if (this.leading === undefined) return
    this.leading = undefined
    this.deposedBy = undefined
    if (this.unwritten.length > 0) this.startLeaderWrite()
    this.buffer = []
    this.bufferBytes = 0
    this.reads = []
  }

  /**
   * The current voters (the quorum set) and learners (members about to become voters, which get the
   * log so that they hold it when they start counting). Followers are both, minus this node.
   */
  setVoters(voters: readonly NodeId[], nowMs: number, learners: readonly NodeId[] = []): void {
    this.nowMs = nowMs
    const leading = this.leading
    if (leading === undefined) return
    leading.voters = [...voters]
    const members = [...voters, ...learners]
    for (const node of members) {
      if (node === this.self || leading.followers.has(node)) continue
      leading.followers.set(node, {
        next: this.end,
        match: 0,
        inFlight: [],
        lastSentMs: -Infinity,
        lastReplyMs: -Infinity,
        srttMs: undefined,
        rttVarMs: 0,
        sentCommit: -1,
        holdUntilMs: -Infinity,
        reading: false,
        learner: true,
      })
      this.matchesChanged++
    }
    for (const [node, f] of [...leading.followers]) {
      f.learner = !voters.includes(node)
      if (members.includes(node)) continue
      leading.followers.delete(node)
      this.matchesChanged++
    }
    this.advanceCommit()
    this.pumpAll()
  }

  /**
   * Appends payloads as records of the leader's epoch, in as few entries as the byte budget allows
   * (offsets.ts); returns the first record's offset and one past the last entry: the caller waits
   * until `commitEnd` reaches that.
   */
  propose(payloads: readonly Uint8Array[], nowMs: number): { readonly offset: number; readonly end: number } {
    this.nowMs = nowMs
    const leading = this.leading
    assert(leading !== undefined && this.deposedBy === undefined, 'propose while not leading')
    assert(payloads.length > 0 && payloads.length <= OFFSET_STRIDE, `propose of ${payloads.length} records, outside [1, ${OFFSET_STRIDE}]`)
    assert(
      payloads.every((p) => p.length <= REPLICATION_PAYLOAD_MAX_BYTES),
      `a record exceeds ${REPLICATION_PAYLOAD_MAX_BYTES} bytes`,
    )
    const offset = appendOffset(this.end)
    this.appendLocal(payloads)
    this.pumpAll()
    return { offset, end: this.end }
  }

  /**
   * Lets the log drop entries below `index`: the caller's snapshot entry at `index` is committed.
   * Followers learn it with the next append and compact below their own commit end.
   */
  compact(index: number): void {
    assert(index <= this.commit, `compaction at ${index} above the commit end ${this.commit}`)
    if (index <= this.start) return
    this.enqueueOp({ kind: 'compact', index }, () => this.applyCompact(index))
  }

  /** Time passes: heartbeats, resends of lost appends. */
  tick(nowMs: number): void {
    this.nowMs = nowMs
    const leading = this.leading
    if (leading === undefined) return
    for (const f of leading.followers.values()) {
      const oldest = f.inFlight[0]
      const retryMs = this.retryMs(f)
      if (oldest !== undefined && nowMs - oldest.sentAtMs >= retryMs && nowMs - f.lastReplyMs >= retryMs) {
        // The append or its reply is lost (a broken connection drops what was in flight): go back to
        // what we know the follower holds; the log-matching check makes any duplicate harmless.
        // Only once the follower has been silent for as long too: one that keeps answering is slow,
        // not losing messages (a connection delivers in order, and an append lost before a later
        // one is refused by the follower, which resets `next` at once). Under load (issue 9) the
        // appends waiting in a busy follower's queue outlived retryMs, and resending them all made
        // the leader send about 1.5 times each entry to each follower and fill its window with copies.
        // For the same reason the bound grows with the follower's measured round trip (`retryMs`).
        f.inFlight = []
        if (f.match > 0) f.next = f.match
      }
    }
    this.pumpAll()
  }

  /**
   * When `tick` next has work, or undefined when nothing here is time-driven (not leading, no
   * followers). A follower that holds everything only needs its idle heartbeat; any other (appends
   * under way, behind, held, being read for) gets ticks as soon as the driver's fastest pace allows.
   * Lets an idle leader sleep between heartbeats instead of ticking 40 times a second.
   */
  nextTickMs(nowMs: number): number | undefined {
    const leading = this.leading
    if (leading === undefined || this.deposedBy !== undefined) return undefined
    let due: number | undefined = undefined
    for (const f of leading.followers.values()) {
      const settled = !f.reading && f.holdUntilMs <= nowMs && f.next >= this.end && f.inFlight.length === 0 && f.match === this.end && f.sentCommit === this.commit
      const at = settled ? f.lastSentMs + this.heartbeatDueMs(f) : nowMs
      due = due === undefined ? at : Math.min(due, at)
    }
    return due
  }

  /** Entries read back from the local log for a follower (or undefined when the read failed). */
  readDone(request: ReadRequest, entries: readonly ReplicaEntry[] | undefined, nowMs: number): void {
    this.nowMs = nowMs
    const leading = this.leading
    const f = leading?.followers.get(request.peer)
    if (leading === undefined || leading.term !== request.term || f === undefined) return
    f.reading = false
    if (entries === undefined || entries.length === 0 || entries[0]!.index !== f.next) {
      this.pump(request.peer, f)
      return
    }
    // Read-back entries obey the same byte budget as buffered ones (at least one entry), or the
    // append could outgrow the network's frame and be refused on every resend; the rest is read again.
    let bytes = 0
    let n = 0
    while (n < entries.length && (n === 0 || bytes + entryBytes(entries[n]!) <= this.options.batchMaxBytes)) bytes += entryBytes(entries[n++]!)
    this.sendAppend(request.peer, f, n === entries.length ? entries : entries.slice(0, n))
    this.pump(request.peer, f)
  }

  // ---- messages -------------------------------------------------------------------------------

  /** A message from `from`; `following` is whom this node follows now, from the cluster view. */
  receive(from: NodeId, message: ReplicationMessage, following: Following | undefined, nowMs: number): void {
    this.nowMs = nowMs
    switch (message.kind) {
      case 'reply':
        this.onReply(from, message)
        return
      case 'append':
      case 'reset':
        if (this.pending !== undefined || this.opQueue.length > 0 || this.queue.length > 0) {
          if (this.queue.length < this.options.followerQueueMax) this.queue.push({ from, message, following })
          return
        }
        this.onLeaderMessage(from, message, following)
    }
  }

  // ---- local log ------------------------------------------------------------------------------

  /** The mutation handed out by takeReady is durable (ok) or failed (the driver reopens the log). */
  opDone(ok: boolean, nowMs: number): void {
    this.nowMs = nowMs
    const pending = this.pending
    assert(pending !== undefined, 'opDone without an operation under way')
    this.pending = undefined
    assert(ok, 'a failed local write must be handled by reopening the log and building a new core')
    pending.done()
    this.positionChanged = true
    this.drainQueue()
  }

  /** What to do now; call after every input. */
  takeReady(): Ready {
    let op: LocalOp | undefined
    if (this.pending === undefined) {
      if (this.opQueue.length === 0 && this.unwritten.length > 0) this.startLeaderWrite()
      const next = this.opQueue.shift()
      if (next !== undefined) {
        this.pending = next
        op = next.op
        this.positionChanged = true
      }
    }
    let position: LogPosition | undefined
    if (this.positionChanged) {
      this.positionChanged = false
      // While a mutation is under way the position covers both the old and the new log (rule 5).
      const now = this.position()
      const durable = this.durablePosition()
      const next = this.pending === undefined ? durable : maxPosition(now, maxPosition(durable, this.reported ?? durable))
      if (this.reported === undefined || next.epoch !== this.reported.epoch || next.index !== this.reported.index) {
        this.reported = next
        position = next
      }
    }
    const send = withoutSupersededAcks(this.outbox)
    const reads = this.reads
    this.outbox = []
    this.reads = []
    return { position, op, send, reads }
  }

  // ---- internals: leader ----------------------------------------------------------------------

  /**
   * Appends one append's records as entries of at most `batchMaxBytes` (one larger record alone),
   * so that an append batch still fits the network's frames; the first entry's index fixes the
   * records' offsets (offsets.ts).
   */
  private appendLocal(payloads: readonly Uint8Array[]): void {
    const epoch = this.leading!.epoch
    const budget = this.options.batchMaxBytes
    let offset = appendOffset(this.end)
    for (let i = 0; i < payloads.length;) {
      const first = i
      let bytes = payloads[i++]!.length + RECORD_OVERHEAD_BYTES
      while (i < payloads.length && bytes + payloads[i]!.length + RECORD_OVERHEAD_BYTES <= budget) bytes += payloads[i++]!.length + RECORD_OVERHEAD_BYTES
      const entry: ReplicaEntry = { index: this.end, epoch, offset, payloads: first === 0 && i === payloads.length ? payloads : payloads.slice(first, i) }
      offset += i - first
      this.extendRuns(entry.index, epoch)
      this.end++
      this.unwritten.push(entry)
      this.buffer.push(entry)
      this.bufferBytes += bytes
    }
    this.trimBuffer()
  }

  private startLeaderWrite(): void {
    const entries = this.unwritten
    this.unwritten = []
    const from = entries[0]!.index
    const newEnd = from + entries.length
    this.opQueue.push({
      op: { kind: 'write', from, entries },
      done: () => {
        assert(this.durableEnd === from, `leader write at ${from} but durable end is ${this.durableEnd}`)
        this.durableEnd = newEnd
        this.advanceCommit()
        this.pumpAll()
      },
    })
  }

  private onReply(from: NodeId, reply: ReplyMessage): void {
    const leading = this.leading
    const f = leading?.followers.get(from)
    if (leading === undefined || f === undefined) return
    if (reply.epoch > leading.epoch) {
      // A voter follows a newer epoch: this leadership is over, whatever our lease says.
      this.deposedBy = Math.max(this.deposedBy ?? 0, reply.epoch)
      return
    }
    if (reply.epoch < leading.epoch) return
    f.lastReplyMs = this.nowMs
    if (reply.ok) {
      if (reply.end > this.end) return
      if (reply.end > f.match) {
        f.match = reply.end
        this.matchesChanged++
      }
      if (f.next < f.match) f.next = f.match
      let acked: InFlight | undefined
      for (const a of f.inFlight) if (a.end <= reply.end) acked = a
      if (acked !== undefined) this.sampleRoundTrip(f, this.nowMs - acked.sentAtMs)
      f.inFlight = f.inFlight.filter((a) => a.end > reply.end)
      this.advanceCommit()
      this.trimBuffer()
    } else if (reply.hint !== undefined) {
      // The logs differ before what we sent: resend from the follower's hint (never below what it
      // acknowledged, never beyond our end); a hint below our start leads to a reset.
      f.inFlight = []
      f.next = Math.min(this.end, Math.max(f.match, reply.hint))
    } else {
      // It does not take appends from us yet (it has not learned of our lead) or is busy.
      f.inFlight = []
      f.holdUntilMs = this.nowMs + this.options.heartbeatMs
    }
    this.pump(from, f)
  }

  /** One round trip measured to `f` (the newest append a reply acknowledged), as TCP does (RFC 6298). */
  private sampleRoundTrip(f: FollowerState, sampleMs: number): void {
    if (f.srttMs === undefined) {
      f.srttMs = sampleMs
      f.rttVarMs = sampleMs / 2
      return
    }
    f.rttVarMs = 0.75 * f.rttVarMs + 0.25 * Math.abs(f.srttMs - sampleMs)
    f.srttMs = 0.875 * f.srttMs + 0.125 * sampleMs
  }

  /**
   * How long an append to `f` may go unanswered before it counts as lost: `retryMs`, or the
   * follower's round trip plus four deviations when that is longer (a loaded host, issue 9: round
   * trips of 0.5-3 s), at most RETRY_MAX_FACTOR times `retryMs` so that a lost append is still resent.
   */
  private retryMs(f: FollowerState): number {
    const base = this.options.retryMs
    const rto = f.srttMs === undefined ? base : f.srttMs + 4 * f.rttVarMs
    return Math.min(RETRY_MAX_FACTOR * base, Math.max(base, rto))
  }

  private advanceCommit(): void {
    const leading = this.leading
    if (leading === undefined || leading.voters.length === 0) return
    const ends = leading.voters.map((v) => (v === this.self ? this.durableEnd : (leading.followers.get(v)?.match ?? 0))).sort((a, b) => b - a)
    const candidate = ends[Math.floor(leading.voters.length / 2)]!
    if (candidate <= this.commit || this.epochAt(candidate - 1) !== leading.epoch) return
    this.raiseCommit(candidate)
  }

  private pumpAll(): void {
    const leading = this.leading
    if (leading === undefined || this.deposedBy !== undefined) return
    for (const [node, f] of leading.followers) this.pump(node, f)
  }

  /** Sends what the window allows to one follower, or a heartbeat when it is due. */
  private pump(node: NodeId, f: FollowerState): void {
    const leading = this.leading
    if (leading === undefined || this.deposedBy !== undefined || f.reading || this.nowMs < f.holdUntilMs) return
    while (f.inFlight.length < this.options.window) {
      if (f.next < this.start) {
        if (f.inFlight.length > 0) return
        const prevEpoch = this.epochAt(this.start - 1) ?? 0
        this.outbox.push({ to: node, message: { kind: 'reset', epoch: leading.epoch, leaderCommit: this.commit, start: this.start, prevEpoch } })
        f.inFlight.push({ end: this.start, sentAtMs: this.nowMs })
        f.lastSentMs = this.nowMs
        f.next = this.start
        return
      }
      if (f.next >= this.end) {
        if (this.nowMs - f.lastSentMs >= this.heartbeatDueMs(f)) this.sendAppend(node, f, [])
        return
      }
      const bufferStart = this.end - this.buffer.length
      if (f.next < bufferStart) {
        // Only durable entries can be read back. Those of this leadership are always buffered until
        // durable, but a node that leads again (a lapsed lease that came back, or the next epoch)
        // while its previous leadership's write is under way holds entries that are neither: the
        // follower waits for that write, whose completion pumps again.
        const to = Math.min(bufferStart, this.durableEnd, f.next + this.options.batchMaxEntries)
        if (to <= f.next) return
        f.reading = true
        this.reads.push({ peer: node, from: f.next, to, term: leading.term })
        return
      }
      const batch: ReplicaEntry[] = []
      let bytes = 0
      for (let i = f.next - bufferStart; i < this.buffer.length && batch.length < this.options.batchMaxEntries; i++) {
        const entry = this.buffer[i]!
        const size = entryBytes(entry)
        if (batch.length > 0 && bytes + size > this.options.batchMaxBytes) break
        batch.push(entry)
        bytes += size
      }
      this.sendAppend(node, f, batch)
    }
  }

  /**
   * A follower that holds everything and knows the commit index hears from us every
   * `idleHeartbeatMs`: at the usual pace, an idle cluster's heartbeats and their replies were a third
   * of each peer's messages. One with news, or with an append unanswered, still gets `heartbeatMs`.
   * A settled learner waits `learnerIdleHeartbeatMs`: its acknowledgements count for no commit, new
   * entries and commit indexes still go out at once, and the heartbeat only finds a learner that
   * lost its log (issue 16: the leader's idle frames grow with voters plus learners).
   */
  private heartbeatDueMs(f: FollowerState): number {
    const settled = f.inFlight.length === 0 && f.match === this.end && f.sentCommit === this.commit
    if (!settled) return this.options.heartbeatMs
    return Math.max(this.options.heartbeatMs, f.learner ? this.options.learnerIdleHeartbeatMs : this.options.idleHeartbeatMs)
  }

  private sendAppend(node: NodeId, f: FollowerState, entries: readonly ReplicaEntry[]): void {
    const leading = this.leading!
    const prevIndex = f.next - 1
    const prevEpoch = this.epochAt(prevIndex)
    assert(prevEpoch !== undefined, `no epoch for index ${prevIndex} (log [${this.start}, ${this.end}))`)
    const message: AppendMessage = {
      kind: 'append',
      epoch: leading.epoch,
      leaderCommit: this.commit,
      prevIndex,
      prevEpoch,
      entries,
      ...(this.start > 0 ? { compactBelow: this.start } : {}),
    }
    this.outbox.push({ to: node, message })
    f.next += entries.length
    f.inFlight.push({ end: f.next, sentAtMs: this.nowMs })
    f.lastSentMs = this.nowMs
    f.sentCommit = this.commit
  }

  /** Drops buffered entries every follower has, and the oldest durable ones beyond the byte budget. */
  private trimBuffer(): void {
    const leading = this.leading
    if (leading === undefined) return
    let keepFrom = this.end
    for (const f of leading.followers.values()) keepFrom = Math.min(keepFrom, f.match)
    let bufferStart = this.end - this.buffer.length
    let drop = 0
    while (drop < this.buffer.length) {
      const index = bufferStart + drop
      // Entries not yet durable here cannot be read back, so they stay whatever the budget.
      if (index >= this.durableEnd || (index >= keepFrom && this.bufferBytes <= this.options.bufferMaxBytes)) break
      this.bufferBytes -= entryBytes(this.buffer[drop]!)
      drop++
    }
    if (drop > 0) {
      this.buffer = this.buffer.slice(drop)
      bufferStart += drop
    }
  }

  // ---- internals: follower --------------------------------------------------------------------

  private onLeaderMessage(from: NodeId, message: AppendMessage | ResetMessage, following: Following | undefined): void {
    const own = following?.epoch ?? 0
    const accepted = following !== undefined && following.epoch === message.epoch && following.leader === from && this.leading === undefined
    if (!accepted) {
      // A newer epoch in the reply tells a deposed leader; otherwise "not now" (no hint).
      this.outbox.push({ to: from, message: { kind: 'reply', epoch: Math.max(own, message.epoch), ok: false, end: this.durableEnd } })
      return
    }
    if (message.kind === 'reset') this.onReset(from, message)
    else this.onAppend(from, message)
  }

  private onAppend(from: NodeId, m: AppendMessage): void {
    const reply = (ok: boolean, end: number, hint?: number): void => {
      this.outbox.push({ to: from, message: { kind: 'reply', epoch: m.epoch, ok, end, ...(hint === undefined ? {} : { hint }) } })
    }
    let prevIndex = m.prevIndex
    let prevEpoch = m.prevEpoch
    let entries = m.entries
    const msgEnd = m.prevIndex + 1 + m.entries.length
    if (prevIndex < this.start - 1) {
      // Everything below our start is committed, and the leader holds every committed entry.
      const skip = this.start - 1 - prevIndex
      if (skip > entries.length) {
        reply(false, this.durableEnd, this.start)
        return
      }
      prevEpoch = skip === 0 ? prevEpoch : entries[skip - 1]!.epoch
      prevIndex = this.start - 1
      entries = entries.slice(skip)
    }
    if (prevIndex >= this.end) {
      reply(false, this.durableEnd, this.end)
      return
    }
    const ours = this.epochAt(prevIndex)
    if (ours !== prevEpoch) {
      assert(prevIndex >= this.commit, `leader's entry ${prevIndex} (epoch ${prevEpoch}) differs from our committed one (epoch ${ours})`)
      // Skip our whole run of that epoch: none of it can match (rule 2).
      const runStart = this.runs.findLast((r) => r.from <= prevIndex)!.from
      reply(false, this.durableEnd, Math.max(this.commit, this.start, Math.min(runStart, prevIndex)))
      return
    }
    // Find the first carried entry we do not already hold with the same epoch.
    let i = 0
    while (i < entries.length && entries[i]!.index < this.end && this.epochAt(entries[i]!.index) === entries[i]!.epoch) i++
    const learnCommit = (): void => {
      this.raiseCommit(Math.min(m.leaderCommit, msgEnd, this.durableEnd))
      this.followerCompact(m.compactBelow)
    }
    if (i === entries.length) {
      reply(true, msgEnd)
      learnCommit()
      return
    }
    const cut = entries[i]!.index
    assert(cut >= this.commit, `append would cut committed entries at ${cut} (commit ${this.commit})`)
    const tail = entries.slice(i)
    // Epochs never decrease along a batch (extendRuns asserts it), so its last entry is its newest.
    assert(tail[tail.length - 1]!.epoch <= m.epoch, `an append of epoch ${m.epoch} carries an entry of epoch ${tail[tail.length - 1]!.epoch}`)
    this.truncateTarget(cut)
    for (const e of tail) {
      this.extendRuns(e.index, e.epoch)
      this.end++
    }
    if (this.durableEnd > cut) this.durableEnd = cut
    const newEnd = this.end
    this.enqueueOp({ kind: 'write', from: cut, entries: tail }, () => {
      this.durableEnd = newEnd
      reply(true, msgEnd)
      learnCommit()
    })
  }

  private onReset(from: NodeId, m: ResetMessage): void {
    const reply = (): void => {
      this.outbox.push({ to: from, message: { kind: 'reply', epoch: m.epoch, ok: true, end: m.start } })
    }
    if (m.start < this.start) {
      // We compacted further (under an earlier leader): appends from our start will do.
      this.outbox.push({ to: from, message: { kind: 'reply', epoch: m.epoch, ok: false, end: this.durableEnd, hint: this.start } })
      return
    }
    if (m.start <= this.end && m.start >= this.start && this.epochAt(m.start - 1) === m.prevEpoch) {
      // We hold the leader's prefix: entries below its start are committed; keep ours from there.
      this.raiseCommit(Math.min(m.start, this.durableEnd))
      if (m.start > this.start) this.enqueueOp({ kind: 'compact', index: m.start }, () => this.applyCompact(m.start))
      reply()
      return
    }
    // Our entry at start-1 (if any) differs from the leader's committed one, so nothing we hold at or
    // beyond it is committed; what lies below is covered by the leader's committed snapshot.
    assert(this.commit <= m.start, `reset to ${m.start} would drop committed entries up to ${this.commit}`)
    this.runs = [{ from: m.start - 1, epoch: m.prevEpoch }]
    this.start = m.start
    this.end = m.start
    this.durableEnd = Math.min(this.durableEnd, m.start)
    this.enqueueOp({ kind: 'reset', start: m.start, prevEpoch: m.prevEpoch }, () => {
      this.durableEnd = m.start
      this.raiseCommit(m.start)
      reply()
    })
  }

  private followerCompact(below: number | undefined): void {
    if (below === undefined) return
    const index = Math.min(below, this.commit)
    if (index > this.start && !this.opQueue.some((p) => p.op.kind === 'compact')) this.enqueueOp({ kind: 'compact', index }, () => this.applyCompact(index))
  }

  /**
   * Takes queued leader messages while no mutation is under way. Appends that only extend the write
   * waiting to start join it, so a follower behind a pipelined leader pays one fsync for the whole
   * queue instead of one per message (each is still acknowledged only once that write is durable).
   */
  private drainQueue(): void {
    while (this.pending === undefined) {
      const next = this.queue[0]
      if (next === undefined) return
      if (this.opQueue.length > 0 && !this.extendsQueuedWrite(next.message)) return
      this.queue.shift()
      this.onLeaderMessage(next.from, next.message, next.following)
    }
  }

  /** Whether `m` appends right after the only queued (not yet started) operation, a write. */
  private extendsQueuedWrite(m: AppendMessage | ResetMessage): boolean {
    const last = this.opQueue.length === 1 ? this.opQueue[0]!.op : undefined
    return (
      last?.kind === 'write' &&
      m.kind === 'append' &&
      m.entries.length > 0 &&
      last.from + last.entries.length === this.end &&
      m.prevIndex === this.end - 1 &&
      this.epochAt(m.prevIndex) === m.prevEpoch &&
      last.entries.length + m.entries.length <= COALESCED_WRITE_MAX_ENTRIES
    )
  }

  // ---- internals: the log's shape -------------------------------------------------------------

  /** Queues a mutation; a write that continues the queued write it follows is merged into it. */
  private enqueueOp(op: LocalOp, done: () => void): void {
    const last = this.opQueue[this.opQueue.length - 1]
    if (op.kind === 'write' && last?.op.kind === 'write' && last.op.from + last.op.entries.length === op.from) {
      const before = last.done
      this.opQueue[this.opQueue.length - 1] = {
        op: { kind: 'write', from: last.op.from, entries: [...last.op.entries, ...op.entries] },
        done: () => {
          before()
          done()
        },
      }
      return
    }
    this.opQueue.push({ op, done })
  }

  private applyCompact(index: number): void {
    if (index <= this.start) return
    assert(index <= this.commit, `applying compaction at ${index} beyond the commit end ${this.commit}`)
    const below = this.epochAt(index - 1)!
    this.runs = this.runs.filter((r) => r.from >= index)
    if (this.runs[0]?.from !== index - 1) this.runs.unshift({ from: index - 1, epoch: below })
    this.start = index
    this.trimBuffer()
  }

  /** Drops [from, end) from the log's shape. */
  private truncateTarget(from: number): void {
    this.runs = this.runs.filter((r, i) => i === 0 || r.from < from)
    this.end = from
  }

  private extendRuns(index: number, epoch: number): void {
    const last = this.runs[this.runs.length - 1]
    // Tested before a message is built: this runs for every entry on every copy of the log.
    if (index !== this.end || last === undefined) throw new AssertionFailure(`entry ${index} is not at the log's end ${this.end}`)
    if (epoch < last.epoch) throw new AssertionFailure(`entry ${index} of epoch ${epoch} after an entry of epoch ${last.epoch}`)
    if (epoch !== last.epoch) this.runs.push({ from: index, epoch })
  }

  /** Commit only moves forward, and never past what this node's log holds. */
  private raiseCommit(to: number): void {
    if (to <= this.commit) return
    assert(to <= this.end, `commit ${to} beyond the log's end ${this.end}`)
    this.commit = to
  }

  private durablePosition(): LogPosition {
    return { epoch: this.epochAt(this.durableEnd - 1) ?? 0, index: this.durableEnd }
  }
}

/**
 * The output without acknowledgements a later one in it supersedes: a follower's coalesced write
 * answers every append it merged, all at once, and a leader needs only the last of them (an ok
 * reply's `end` covers every append below it; what the leader knows of a follower only grows). A
 * refusal in between keeps the earlier acknowledgement, so the leader sees the same order of events.
 */
function withoutSupersededAcks(out: Array<{ to: NodeId; message: ReplicationMessage }>): Array<{ to: NodeId; message: ReplicationMessage }> {
  if (out.length < 2) return out
  /** Per leader: the end of the next ok reply to it, going backwards, while no refusal lies between. */
  const later = new Map<NodeId, { epoch: number; end: number }>()
  const kept: Array<{ to: NodeId; message: ReplicationMessage }> = []
  for (let i = out.length - 1; i >= 0; i--) {
    const o = out[i]!
    const m = o.message
    if (m.kind === 'reply') {
      const next = later.get(o.to)
      if (m.ok && next !== undefined && next.epoch === m.epoch && next.end >= m.end) continue
      if (m.ok) later.set(o.to, { epoch: m.epoch, end: m.end })
      else later.delete(o.to)
    }
    kept.push(o)
  }
  return kept.reverse()
}

/** The lexicographically larger of two positions (Raft §5.4.1). */
export function maxPosition(a: LogPosition, b: LogPosition): LogPosition {
  return a.epoch > b.epoch || (a.epoch === b.epoch && a.index >= b.index) ? a : b
}

/** Epoch runs of a durable log, by binary search (epochs never decrease along a log). */
function buildRuns(s: ReplicaLogState, epochAt: (index: number) => number | undefined): Run[] {
  const first = s.start - 1
  const runs: Run[] = [{ from: first, epoch: first < 0 ? 0 : (epochAt(first) ?? s.lastEpoch) }]
  let cur = runs[0]!
  for (;;) {
    // Last index with cur.epoch.
    let lo = cur.from
    let hi = s.end - 1
    if (lo >= hi) break
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1
      if (epochAt(mid) === cur.epoch) lo = mid
      else hi = mid - 1
    }
    if (lo + 1 >= s.end) break
    const epoch = epochAt(lo + 1)
    assert(epoch !== undefined && epoch > cur.epoch, `log epochs go backwards at ${lo + 1}`)
    cur = { from: lo + 1, epoch }
    runs.push(cur)
  }
  return runs
}
