/**
 * The receptionist's local subscribers, per service key, and which listings are due to them.
 * Sans-I/O: the receptionist actor (actors/receptionist.ts) tells each subscriber the listings
 * this decides; subscribers are opaque values (the actor's refs), addresses are strings.
 *
 * Invariants:
 * - a subscriber gets a listing of its key at once, then only when the key's addresses differ
 *   from the last listing its key's subscribers were sent (`lastSent`), so a change that leaves
 *   the addresses as they were sends nothing;
 * - a key is held only while it has subscribers; with the last one its `lastSent` goes too;
 * - only actors of this node subscribe, under well-formed keys.
 */
import type { NodeId } from '../net/types.js'
import { isServiceKeyName } from './types.js'

/** A listing to tell: the current addresses under `key`, for each of its subscribers. */
export interface DueListing<S> {
  readonly key: string
  readonly addresses: readonly string[]
  readonly subscribers: readonly S[]
}

export class Subscriptions<S> {
  /** Key -> subscriber address -> subscriber. */
  private readonly byKey = new Map<string, Map<string, S>>()
  /** What each key's subscribers were last sent (addresses joined by spaces). */
  private readonly lastSent = new Map<string, string>()

  /** `addressesOf(key)`: the addresses registered under `key` in the cluster, sorted. */
  constructor(
    private readonly self: NodeId,
    private readonly addressesOf: (key: string) => string[],
  ) {}

  /**
   * Subscribes `subscriber` (at `address`, on `node`) to `key`; the addresses of its first listing,
   * or undefined if it is refused (a malformed key, or an actor of another node).
   */
  subscribe(key: unknown, node: NodeId, address: string, subscriber: S): string[] | undefined {
    if (!isServiceKeyName(key) || node !== this.self) return undefined
    let subs = this.byKey.get(key)
    if (subs === undefined) this.byKey.set(key, (subs = new Map()))
    subs.set(address, subscriber)
    const current = this.addressesOf(key)
    this.lastSent.set(key, current.join(' '))
    return current
  }

  unsubscribe(key: string, address: string): void {
    const subs = this.byKey.get(key)
    if (subs === undefined || !subs.delete(address) || subs.size > 0) return
    this.drop(key)
  }

  /** The actor at `address` terminated: it subscribes to nothing any more. */
  terminated(address: string): void {
    for (const [key, subs] of this.byKey) if (subs.delete(address) && subs.size === 0) this.drop(key)
  }

  /** The listings due after `keys` may have changed: one per key with subscribers whose addresses changed. */
  due(keys: Iterable<string>): Array<DueListing<S>> {
    const out: Array<DueListing<S>> = []
    for (const key of new Set(keys)) {
      const subs = this.byKey.get(key)
      if (subs === undefined) continue
      const current = this.addressesOf(key)
      const joined = current.join(' ')
      if (this.lastSent.get(key) === joined) continue
      this.lastSent.set(key, joined)
      out.push({ key, addresses: current, subscribers: [...subs.values()] })
    }
    return out
  }

  private drop(key: string): void {
    this.byKey.delete(key)
    this.lastSent.delete(key)
  }
}
