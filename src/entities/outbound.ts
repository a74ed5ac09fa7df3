/**
 * The sender side of a 'deliver' batch (no I/O: actors/entities.ts sends it): the batch's items and
 * timeout, what each result of its reply means for its message, and the order in which outcomes of
 * one owner are applied.
 *
 * Invariants: a batch carries one item per message (a map of its messages), each with an id of
 * its own (an ask's or a watch's, 0 for a tell); outcomes towards one owner are applied in the
 * order they were sent, whatever order their replies come in (see router.ts for why the router
 * needs that).
 */
import { fromWireError } from '../errors.js'
import type { NodeId } from '../net/types.js'
import type { Delivery, Forward } from './router.js'
import type { DeliverItem, ItemResult } from './wire.js'

/** A batch ready to send: its items, the ids of its asks and watches (0 for a tell), and how long it may take. */
export interface OutboundBatch {
  readonly items: DeliverItem[]
  readonly ids: number[]
  readonly timeoutMs: number
}

/**
 * The items of `batch`: an ask takes the next id from `nextId`, a watch keeps its own (drawn from the
 * same counter, the owner names it in 'ended'). The batch may take as long as its longest ask, or
 * `tellTimeoutMs` for a tell; at least 1 ms.
 */
export function outboundBatch(batch: readonly Forward[], nowMs: number, tellTimeoutMs: number, nextId: () => number): OutboundBatch {
  // One pass, no closures: it runs for every message sent to another peer.
  let timeoutMs = 1
  const n = batch.length
  const ids = new Array<number>(n)
  const items = new Array<DeliverItem>(n)
  for (let i = 0; i < n; i++) {
    const f = batch[i]!
    const d = f.delivery
    const tell = d.reply === undefined
    timeoutMs = Math.max(timeoutMs, tell ? tellTimeoutMs : Math.max(1, d.deadlineMs - nowMs))
    const id = d.watch !== undefined ? d.watch.id : tell ? 0 : nextId()
    ids[i] = id
    items[i] = [f.shard, f.epoch, d.entityType, d.key, d.watch === undefined ? d.body : null, d.watch !== undefined ? 2 : tell ? 1 : 0, id]
  }
  return { items, ids, timeoutMs }
}

/** Hands an answer to its asker: a value or an error (an accepted tell has nobody to tell). */
export function settleDelivery(delivery: Delivery, r: ItemResult): void {
  if (r[0] === 0) delivery.reply?.resolve(r[1])
  else if (r[0] === 1) delivery.reply?.reject(fromWireError(r[1]))
}

/** The distinct (shard, epoch) routes of `batch`, in order of first appearance. */
export function routesOf(batch: readonly Forward[]): Array<{ shard: number; epoch: number }> {
  const seen = new Set<string>()
  const routes: Array<{ shard: number; epoch: number }> = []
  for (const f of batch) {
    const id = `${f.shard}/${f.epoch}`
    if (seen.has(id)) continue
    seen.add(id)
    routes.push({ shard: f.shard, epoch: f.epoch })
  }
  return routes
}

/** Per owner, a chain that applies outcomes in the order they were handed over. */
export class OrderedOutcomes {
  /** Per owner, the end of the chain. */
  private readonly chains = new Map<NodeId, Promise<void>>()

  constructor(private readonly onError: (error: unknown) => void) {}

  /** Owners with outcomes still to apply. */
  get pending(): number {
    return this.chains.size
  }

  /** Applies `outcome`'s result once every earlier outcome towards `owner` was applied. */
  add(owner: NodeId, outcome: Promise<() => void>): void {
    // Never rejects: a failed link would skip every later outcome of this owner.
    const next = (this.chains.get(owner) ?? Promise.resolve())
      .then(() => outcome)
      .then((apply) => apply())
      .catch(this.onError)
    this.chains.set(owner, next)
    void next.then(() => {
      if (this.chains.get(owner) === next) this.chains.delete(owner)
    })
  }
}
