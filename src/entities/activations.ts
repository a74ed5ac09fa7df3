/**
 * The activations an owner runs (sans-I/O bookkeeping; actors/entities.ts spawns and stops them):
 * one per key, which ones are idle, and which shards being handed off wait for their last
 * activation to stop before they are reported released.
 *
 * Invariants (asserted): at most one live activation per key in the table (a replaced one is
 * ignored when it ends); a stopping activation never starts again; a shard is reported released
 * once, only when no activation of it remains.
 */
import { assert } from '../assert.js'
import type { ActorRef, Message } from '../actor/types.js'
import type { NodeId } from '../net/types.js'
import type { Inbound } from './inbound-batches.js'
import type { Watched } from './owner-watches.js'
import type { EndReason } from './wire.js'

export interface Activation extends Watched {
  readonly ref: ActorRef<Message>
  readonly type: string
  readonly key: string
  readonly shard: number
  readonly epoch: number
  lastMs: number
  stopping: boolean
  /** Why it is stopping, when this node stopped it (idle, handed off: passivated; lease lost: failed-over). */
  endReason: EndReason | undefined
  /** Deliveries that arrived while it stopped; offered again once it has. */
  readonly waiting: Inbound[]
  /** Watches of this activation: per watcher node, the watch ids that node chose (created with the first). */
  watchers: Map<NodeId, Set<number>> | undefined
}

/** Longest time between two idle scans, whatever the idle times. */
const IDLE_SCAN_MAX_MS = 1000

/**
 * How often an owner looks for idle activations: a tenth of the shortest idle time, between one
 * tick and a second. A scan reads every activation (1.4% of a loaded peer's CPU at one per 50 ms
 * tick over 3,300 activations), and with the default 120 s idle time a second late is nothing.
 */
export function idleScanEveryMs(idleTimesMs: readonly number[], tickMs: number): number {
  return Math.max(tickMs, Math.min(IDLE_SCAN_MAX_MS, ...idleTimesMs.map((ms) => ms / 10)))
}

export class Activations {
  /**
   * Per type, per key: every message an owner accepts looks its activation up, and a `type/key`
   * string per message (built, flattened, hashed) cost more than two lookups of the strings the
   * message already carries.
   */
  private readonly byType = new Map<string, Map<string, Activation>>()
  /** Shards being handed off: reported released once their last activation stopped. */
  private readonly releasing = new Set<number>()

  get(type: string, key: string): Activation | undefined {
    return this.byType.get(type)?.get(key)
  }

  *values(): IterableIterator<Activation> {
    for (const ofType of this.byType.values()) yield* ofType.values()
  }

  /** Records a new activation of a key (the one it replaces, of an older epoch, is ending). */
  add(activation: Activation): void {
    assert(!activation.stopping, 'a stopping activation started')
    let ofType = this.byType.get(activation.type)
    if (ofType === undefined) this.byType.set(activation.type, (ofType = new Map()))
    ofType.set(activation.key, activation)
  }

  /** `activation` ended: false when a newer activation of its key had taken its place. */
  remove(activation: Activation): boolean {
    const ofType = this.byType.get(activation.type)
    if (ofType?.get(activation.key) !== activation) return false
    ofType.delete(activation.key)
    if (ofType.size === 0) this.byType.delete(activation.type)
    return true
  }

  /** Marks `activation` stopping, for `reason`: false when it already was. */
  stop(activation: Activation, reason: EndReason): boolean {
    if (activation.stopping) return false
    activation.stopping = true
    activation.endReason = reason
    return true
  }

  /** The activations not stopping yet whose last message is older than their type's idle time. */
  idle(nowMs: number, idleMs: (type: string) => number): Activation[] {
    // Runs every tick over every activation: plain loops, and one idle time per type.
    const found: Activation[] = []
    for (const [type, ofType] of this.byType) {
      const limitMs = idleMs(type)
      for (const a of ofType.values()) if (!a.stopping && nowMs - a.lastMs > limitMs) found.push(a)
    }
    return found
  }

  /** The activations of the shards `shards`. */
  ofShards(shards: ReadonlySet<number>): Activation[] {
    // Called at every tick with the shards whose lease lapsed, nearly always none: no walk then.
    const found: Activation[] = []
    if (shards.size === 0) return found
    for (const ofType of this.byType.values()) for (const a of ofType.values()) if (shards.has(a.shard)) found.push(a)
    return found
  }

  /** `shard` is handed off: released once its last activation stopped (see `releasable`). */
  release(shard: number): void {
    this.releasing.add(shard)
  }

  /** The shards no longer handed off (their lease was dropped). */
  cancelRelease(shards: readonly number[]): void {
    for (const shard of shards) this.releasing.delete(shard)
  }

  /** True, once, when `shard` was being handed off and its last activation stopped: report it released now. */
  releasable(shard: number): boolean {
    if (!this.releasing.has(shard)) return false
    for (const ofType of this.byType.values()) for (const a of ofType.values()) if (a.shard === shard) return false
    this.releasing.delete(shard)
    return true
  }
}
