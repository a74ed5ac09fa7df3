/**
 * The owner side of a received 'deliver' batch (sans-I/O): which result each message has, and when
 * the batch is answered. The driver (actors/entities.ts) offers each message to its owner core and
 * reports verdicts and answers here; time comes in as arguments.
 *
 * A batch is answered once every message is accepted or bounced and either every ask has answered
 * or `lingerMs` passed (checked by `expire`, at the driver's tick): an ask still running then is
 * marked "later" and its answer goes alone through `late`, so one slow entity delays the rest of its
 * batch by a tick at most. Past the batch's timeout, whatever it still waits for fails with
 * AskTimeoutError.
 *
 * Invariants (asserted): each message gets exactly one result (later settlements are ignored);
 * 0 <= undecided <= open <= messages; a batch is answered once, and tracked here until its last
 * message has its result.
 */
import { assert } from '../assert.js'
import type { ReplyTarget } from '../actor/reply.js'
import { AskTimeoutError, toWireError } from '../errors.js'
import type { NodeId } from '../net/types.js'
import { EntityUnavailableError } from './errors.js'
import type { Delivery } from './router.js'
import { ACCEPTED, BOUNCED, DELIVER_VERSION, LATER, type ItemResult } from './wire.js'

/** What an owner does with a message offered under an epoch: deliver it, or bounce it back. */
export interface Inbound {
  readonly delivery: Delivery | undefined
  readonly bounce: () => void
  /** A marker: answered once everything before it was accepted or bounced. */
  readonly done?: () => void
  /** Called when the message enters its activation (a forwarded tell is answered then). */
  readonly accepted?: () => void
}

/** A received batch: its results so far, and what it still waits for. */
export interface OpenBatch {
  readonly from: NodeId
  readonly ids: readonly number[]
  readonly results: Array<ItemResult | undefined>
  /** Messages without a result yet. */
  open: number
  /** Messages neither accepted nor bounced yet (held for a grant): the reply waits for them. */
  undecided: number
  readonly decided: boolean[]
  readonly receivedAtMs: number
  readonly deadlineMs: number
  readonly timeoutMs: number
  readonly reply: ReplyTarget
  replied: boolean
}

/** Where the answer of a message marked "later" goes: to the batch's sender, alone. */
export type SendLate = (to: NodeId, id: number, r: ItemResult) => void

export class InboundBatches {
  /** Batches received that wait for a verdict or an answer of some of their messages. */
  private readonly waiting = new Set<OpenBatch>()

  constructor(
    private readonly sendLate: SendLate,
    /** How long a batch waits for its slow asks once every message is decided. */
    private readonly lingerMs: number,
    /** Named in the timeout error of a batch that ran out of time. */
    private readonly path: string,
  ) {}

  /** Batches still tracked (some message has no result yet). */
  get size(): number {
    return this.waiting.size
  }

  /** A batch of `ids.length` messages from `from` arrived at `nowMs`; `reply` takes its answer. */
  open(from: NodeId, ids: readonly number[], nowMs: number, timeoutMs: number, reply: ReplyTarget): OpenBatch {
    const n = ids.length
    assert(n > 0, 'an empty entity batch')
    const batch: OpenBatch = {
      from,
      ids,
      results: new Array<ItemResult | undefined>(n),
      open: n,
      undecided: n,
      decided: new Array<boolean>(n).fill(false),
      receivedAtMs: nowMs,
      deadlineMs: nowMs + timeoutMs,
      timeoutMs,
      reply,
      replied: false,
    }
    this.waiting.add(batch)
    return batch
  }

  /** Message `i` of `batch` was accepted or bounced: the reply no longer waits for its verdict. */
  decide(batch: OpenBatch, i: number): void {
    if (batch.decided[i] === true) return
    batch.decided[i] = true
    batch.undecided--
    assert(batch.undecided >= 0 && batch.undecided <= batch.open, 'entity batch: more decided messages than messages')
  }

  /** Message `i` of `batch` has its result (only the first counts). */
  settle(batch: OpenBatch, i: number, result: ItemResult): void {
    if (batch.results[i] !== undefined) return
    this.decide(batch, i)
    if (batch.replied) {
      // Its batch was answered without it ("later"); a bounce now means it waited in a stopping activation.
      const r: ItemResult = result[0] === 2 ? [1, toWireError(new EntityUnavailableError(`an entity moved while a message waited for it; send it again`), 'ERR_REMOTE')] : result
      batch.results[i] = r
      if (--batch.open === 0) this.waiting.delete(batch)
      this.sendLate(batch.from, batch.ids[i]!, r)
      return
    }
    batch.results[i] = result
    if (--batch.open === 0) this.reply(batch)
  }

  /**
   * Replies to batches whose every message is decided but some asks still run (after lingerMs),
   * and answers what a batch still waits for once its timeout passed.
   */
  expire(nowMs: number): void {
    for (const batch of this.waiting) {
      if (nowMs >= batch.deadlineMs) {
        const timedOut: ItemResult = [1, toWireError(new AskTimeoutError(this.path, batch.timeoutMs), 'ERR_REMOTE')]
        for (let i = 0; i < batch.results.length; i++) this.settle(batch, i, timedOut)
      } else if (!batch.replied && batch.undecided === 0 && nowMs - batch.receivedAtMs >= this.lingerMs) this.reply(batch)
    }
  }

  private reply(batch: OpenBatch): void {
    assert(!batch.replied, 'entity batch answered twice')
    batch.replied = true
    if (batch.open === 0) this.waiting.delete(batch)
    // Array.from, not map: map skips the holes of the asks still running.
    batch.reply.resolve({ v: DELIVER_VERSION, r: Array.from(batch.results, (r) => r ?? LATER) })
  }
}

/**
 * One message of a received batch: the delivery itself, its reply target (an ask's) and its
 * inbound verdicts, as one object with methods rather than a delivery and closures (separate
 * objects per message were a visible share of the owner's allocations).
 */
export class BatchItem implements ReplyTarget, Inbound, Delivery {
  readonly delivery: Delivery = this
  readonly reply: ReplyTarget | undefined
  readonly watch: { readonly node: NodeId; readonly id: number } | undefined
  constructor(
    private readonly batches: InboundBatches,
    readonly batch: OpenBatch,
    readonly i: number,
    readonly entityType: string,
    readonly key: string,
    readonly body: unknown,
    /** 0 an ask, 1 a tell, 2 a watch by `from` under `id` (the wire's item kinds). */
    kind: number,
    from: NodeId,
    id: number,
    readonly deadlineMs: number,
  ) {
    this.reply = kind === 1 ? undefined : this
    this.watch = kind === 2 ? { node: from, id } : undefined
  }
  resolve(value: unknown): void {
    this.batches.settle(this.batch, this.i, [0, value])
  }
  reject(error: Error): void {
    this.batches.settle(this.batch, this.i, [1, toWireError(error, 'ERR_REMOTE')])
  }
  bounce(): void {
    this.batches.settle(this.batch, this.i, BOUNCED)
  }
  accepted(): void {
    if (this.reply === undefined) this.batches.settle(this.batch, this.i, ACCEPTED)
    else this.batches.decide(this.batch, this.i)
  }
}
