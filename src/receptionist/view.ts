/**
 * What a node knows of its peers' registrations: per peer, per key, the refs (as address strings)
 * and the version they were announced at. Pure: the receptionist actor feeds it what arrives and
 * sends what it says.
 *
 * Ordering. Each node numbers its changes with one counter (`version`), and stamps its messages
 * with its incarnation (`inc`, the wall-clock time it started): an update is applied only if it is
 * newer than what is held for that key, so a late or reordered one is ignored; a message of an
 * older incarnation is ignored, one of a newer incarnation replaces everything held for the node.
 * A deleted key is kept as a tombstone (no refs) so that an older update cannot bring it back;
 * tombstones beyond a bound are forgotten oldest first, and the periodic digest (every key a node
 * has, with its version) removes anything held that the node no longer has.
 */
import type { NodeId } from '../net/types.js'
import { MAX_KEYS_PER_NODE, MAX_REGISTRATIONS_PER_NODE } from './types.js'

/** The tombstones kept per peer beyond its live keys. */
const MAX_TOMBSTONES = MAX_KEYS_PER_NODE

interface Entry {
  readonly version: number
  /** Sorted address strings; empty for a tombstone. */
  readonly refs: readonly string[]
}

interface PeerState {
  readonly inc: number
  readonly keys: Map<string, Entry>
  /** Keys with refs. */
  live: number
  /** Refs over all keys. */
  registrations: number
}

/** What applying a peer message did. */
export interface Applied {
  /** Keys whose refs changed. */
  readonly changed: readonly string[]
  /** Why the message was ignored, if it was. */
  readonly ignored?: 'stale' | 'bounds'
  /** The peer holds versions this node lacks: ask it for a full announcement. */
  readonly pull?: boolean
}

export class PeerView {
  private readonly peers = new Map<NodeId, PeerState>()

  /** Applies peer `from`'s announcement that `key` has `refs` as of `version`. */
  update(from: NodeId, inc: number, version: number, key: string, refs: readonly string[]): Applied {
    const changed: string[] = []
    const state = this.session(from, inc, changed)
    if (state === undefined) return { changed, ignored: 'stale' }
    const held = state.keys.get(key)
    if (held !== undefined && held.version >= version) return { changed, ignored: 'stale' }
    const sorted = [...new Set(refs)].sort()
    const live = state.live + (sorted.length > 0 ? 1 : 0) - ((held?.refs.length ?? 0) > 0 ? 1 : 0)
    const registrations = state.registrations + sorted.length - (held?.refs.length ?? 0)
    if (live > MAX_KEYS_PER_NODE || registrations > MAX_REGISTRATIONS_PER_NODE) return { changed, ignored: 'bounds' }
    state.keys.set(key, { version, refs: sorted })
    state.live = live
    state.registrations = registrations
    if (!sameRefs(held?.refs ?? [], sorted)) changed.push(key)
    if (state.keys.size > state.live + MAX_TOMBSTONES) forgetTombstones(state)
    return { changed }
  }

  /**
   * Applies peer `from`'s digest: every key it has refs under, with its version, as of `version`.
   * Keys held for it that it no longer has are removed; a key it has at a version this node lacks
   * asks for a pull.
   */
  digest(from: NodeId, inc: number, version: number, keys: ReadonlyArray<readonly [string, number]>): Applied {
    const changed: string[] = []
    const state = this.session(from, inc, changed)
    if (state === undefined) return { changed, ignored: 'stale' }
    const listed = new Map(keys)
    for (const [key, entry] of state.keys) {
      if (listed.has(key) || entry.version >= version) continue
      if (entry.refs.length > 0) {
        state.live--
        state.registrations -= entry.refs.length
        changed.push(key)
      }
      state.keys.set(key, { version, refs: [] })
    }
    let pull = false
    for (const [key, v] of listed) if ((state.keys.get(key)?.version ?? -1) < v) pull = true
    if (state.keys.size > state.live + MAX_TOMBSTONES) forgetTombstones(state)
    return { changed, pull }
  }

  /** Forgets everything held for `node` (it went down); returns the keys that lost refs. */
  drop(node: NodeId): string[] {
    const state = this.peers.get(node)
    if (state === undefined) return []
    this.peers.delete(node)
    return [...state.keys].filter(([, e]) => e.refs.length > 0).map(([key]) => key)
  }

  /** The refs every peer holds under `key`, as sorted address strings. */
  refs(key: string): string[] {
    const out: string[] = []
    for (const state of this.peers.values()) {
      const entry = state.keys.get(key)
      if (entry !== undefined) out.push(...entry.refs)
    }
    return out.sort()
  }

  /** The peers something is held for. */
  nodes(): NodeId[] {
    return [...this.peers.keys()]
  }

  /** The state of `from` for incarnation `inc`: undefined if older than the one held, fresh if newer. */
  private session(from: NodeId, inc: number, changed: string[]): PeerState | undefined {
    const held = this.peers.get(from)
    if (held !== undefined && held.inc > inc) return undefined
    if (held !== undefined && held.inc === inc) return held
    if (held !== undefined) changed.push(...this.drop(from))
    const state: PeerState = { inc, keys: new Map(), live: 0, registrations: 0 }
    this.peers.set(from, state)
    return state
  }
}

function forgetTombstones(state: PeerState): void {
  const tombstones = [...state.keys].filter(([, e]) => e.refs.length === 0).sort((a, b) => a[1].version - b[1].version)
  for (const [key] of tombstones.slice(0, tombstones.length - MAX_TOMBSTONES)) state.keys.delete(key)
}

function sameRefs(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((r, i) => r === b[i])
}
