/**
 * This node's own registrations, as the receptionist actor (actors/receptionist.ts) announces them
 * to its peers. Sans-I/O: it decides whether a registration is accepted, and builds the `update`,
 * `digest` and full announcements the driver sends; refs are address strings.
 *
 * Invariants:
 * - versions only grow: one counter (`version`) numbers every change of every key, and it and the
 *   incarnation (`inc`) outlive a restart of the actor (`restart` keeps both and bumps the counter,
 *   so the digest of a restarted receptionist, which has lost its registrations, is newer than
 *   anything it announced before); peers order announcements by them (view.ts);
 * - a key is held only while it has refs, and every held key has the version of its last change;
 *   the digest lists exactly the held keys;
 * - the bounds of types.ts hold: at most MAX_KEYS_PER_NODE keys, MAX_REFS_PER_KEY refs per key,
 *   MAX_REGISTRATIONS_PER_NODE refs in all (`registrations` counts them);
 * - a peer that asks for everything again within PULL_GAP_MS of the last full announcement to it
 *   gets nothing more (that one is on its way).
 */
import { assert } from '../assert.js'
import { InvalidArgumentError } from '../errors.js'
import type { NodeId } from '../net/types.js'
import type { ReceptionistMsg } from './protocol.js'
import { ADDRESS_MAX_CHARS, isServiceKeyName, MAX_KEYS_PER_NODE, MAX_REFS_PER_KEY, MAX_REGISTRATIONS_PER_NODE, ReceptionistFullError } from './types.js'

/** A peer asking for everything again within this time gets nothing more (the last one is on its way). */
export const PULL_GAP_MS = 500

/** An announcement of one key's refs to the peers. */
export type ReceptionistUpdate = Extract<ReceptionistMsg, { type: 'update' }>
/** Every held key with its version. */
export type ReceptionistDigest = Extract<ReceptionistMsg, { type: 'digest' }>

/** What a registration did: refused, accepted with the update to announce, or already held. */
export type Registered = { readonly refused: Error } | { readonly update: ReceptionistUpdate } | { readonly held: true }

export class LocalRegistry {
  /** This node's incarnation: set by the first `restart`, kept by the later ones. */
  private inc: number | undefined = undefined
  private version = 0
  /** Key -> the addresses registered under it; no key with an empty set. */
  private readonly local = new Map<string, Set<string>>()
  /** Key -> the version of its last change, for every held key. */
  private readonly versions = new Map<string, number>()
  private registrations = 0
  /** When each peer was last sent everything. */
  private readonly lastFull = new Map<NodeId, number>()

  constructor(private readonly self: NodeId) {}

  /**
   * A new incarnation of the actor: its registrations are gone. The incarnation is `wallMs` the
   * first time (whole milliseconds), and stays the same afterwards.
   */
  restart(wallMs: number): void {
    this.inc ??= Math.max(0, Math.floor(wallMs))
    this.local.clear()
    this.versions.clear()
    this.registrations = 0
    this.lastFull.clear()
    this.version++
  }

  /** Registers `address` (an actor on `node`) under `key`, unless a check or a bound refuses it. */
  register(key: unknown, node: NodeId, address: string): Registered {
    if (!isServiceKeyName(key)) return { refused: new InvalidArgumentError(`invalid service key ${String(key)}`) }
    if (node !== this.self) return { refused: new InvalidArgumentError(`only actors of this node (${this.self}) can be registered here; ${address} lives on ${node}`) }
    if (address.length > ADDRESS_MAX_CHARS) return { refused: new InvalidArgumentError(`actor address longer than ${ADDRESS_MAX_CHARS} characters: ${address.slice(0, 80)}...`) }
    const set = this.local.get(key)
    if (set?.has(address) === true) return { held: true }
    if (set === undefined && this.local.size >= MAX_KEYS_PER_NODE) return { refused: new ReceptionistFullError(`this node registers under ${MAX_KEYS_PER_NODE} keys already`) }
    if ((set?.size ?? 0) >= MAX_REFS_PER_KEY) return { refused: new ReceptionistFullError(`${MAX_REFS_PER_KEY} actors are registered under ${key} on this node already`) }
    if (this.registrations >= MAX_REGISTRATIONS_PER_NODE) return { refused: new ReceptionistFullError(`this node holds ${MAX_REGISTRATIONS_PER_NODE} registrations already`) }
    this.local.set(key, (set ?? new Set<string>()).add(address))
    this.registrations++
    return { update: this.changed(key) }
  }

  /** Removes `address` from `key`; the update to announce, or undefined if it was not registered there. */
  remove(key: string, address: string): ReceptionistUpdate | undefined {
    const set = this.local.get(key)
    if (set === undefined || !set.delete(address)) return undefined
    this.registrations--
    assert(this.registrations >= 0, `registrations counted below zero removing ${address} from ${key}`)
    if (set.size === 0) this.local.delete(key)
    return this.changed(key)
  }

  /** Removes `address` from every key (it terminated); the updates to announce, in key order of registration. */
  removeEverywhere(address: string): ReceptionistUpdate[] {
    const updates: ReceptionistUpdate[] = []
    for (const key of [...this.local.keys()]) {
      const update = this.remove(key, address)
      if (update !== undefined) updates.push(update)
    }
    return updates
  }

  /** The addresses registered under `key` on this node, in registration order. */
  addresses(key: string): string[] {
    return [...(this.local.get(key)?.keys() ?? [])]
  }

  digest(): ReceptionistDigest {
    return { type: 'digest', inc: this.incarnation(), version: this.version, keys: [...this.versions] }
  }

  /** Everything for `node`: every key, then the digest that removes what this node no longer has. */
  full(node: NodeId, nowMs: number): ReceptionistMsg[] {
    this.lastFull.set(node, nowMs)
    const out: ReceptionistMsg[] = []
    for (const key of this.local.keys()) out.push(this.update(key, this.versions.get(key)!))
    out.push(this.digest())
    return out
  }

  /** Everything for `node`, which asked for it; none if it was sent everything less than PULL_GAP_MS ago. */
  pulled(node: NodeId, nowMs: number): ReceptionistMsg[] {
    const last = this.lastFull.get(node)
    if (last !== undefined && nowMs - last < PULL_GAP_MS) return []
    return this.full(node, nowMs)
  }

  /** `node` went down: its next pull is answered whenever it comes. */
  peerDown(node: NodeId): void {
    this.lastFull.delete(node)
  }

  /** Records a change of `key` under a new version. */
  private changed(key: string): ReceptionistUpdate {
    this.version++
    if (this.local.has(key)) this.versions.set(key, this.version)
    else this.versions.delete(key)
    return this.update(key, this.version)
  }

  private update(key: string, version: number): ReceptionistUpdate {
    return { type: 'update', inc: this.incarnation(), version, key, refs: this.addresses(key) }
  }

  private incarnation(): number {
    assert(this.inc !== undefined, 'the local registry announces nothing before its first restart()')
    return this.inc
  }
}
