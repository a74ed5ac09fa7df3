/**
 * The receptionist actor's protocol (it runs at /system/receptionist on every node) and the checks
 * of what peers send it. Local messages carry refs; peer messages carry address strings, each of
 * which must name an actor on the sending node: only the node hosting a ref may announce it.
 */
import { addressProblem } from '../../protocols/address.js'
import type { ActorRef, AnyActorRef, Ask, Message } from '../actor/types.js'
import type { NodeId } from '../net/types.js'
import { ADDRESS_MAX_CHARS, isServiceKeyName, MAX_KEYS_PER_NODE, MAX_REFS_PER_KEY, type Listing } from './types.js'

/** Where every node runs its receptionist. */
export const RECEPTIONIST_PATH = '/system/receptionist'

export type ReceptionistMsg =
  | Ask<{ type: 'register'; key: string; ref: AnyActorRef }, true>
  | Ask<{ type: 'deregister'; key: string; ref: AnyActorRef }, true>
  | { type: 'subscribe'; key: string; subscriber: ActorRef<Listing<Message>> }
  | { type: 'unsubscribe'; key: string; subscriber: AnyActorRef }
  | Ask<{ type: 'find'; key: string }, Array<ActorRef<Message>>>
  | { type: 'terminated'; address: string }
  | { type: 'peer'; node: NodeId; up: boolean }
  | { type: 'tick' }
  /** A peer's refs under one key as of its `version`, in its incarnation `inc`. */
  | { type: 'update'; inc: number; version: number; key: string; refs: string[] }
  /** Every key a peer has refs under, with the version of each, as of its `version`. */
  | { type: 'digest'; inc: number; version: number; keys: Array<[string, number]> }
  /** A peer lacks some of this node's versions: send it everything. */
  | { type: 'pull' }

/** Why a peer message was dropped. */
export type DropReason = 'malformed' | 'forged'

const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0

/** Parses `dx://<node><path>` sent by a peer; undefined if it is not a valid address. */
function nodeOf(text: unknown): NodeId | undefined {
  if (typeof text !== 'string' || text.length > ADDRESS_MAX_CHARS) return undefined
  const match = /^dx:\/\/([^/]+)(\/.*)$/.exec(text)
  if (match === null) return undefined
  return addressProblem({ node: match[1], path: match[2] }) === undefined ? match[1] : undefined
}

/** What is wrong with an `update` from `from`, or undefined if nothing. */
export function updateProblem(from: NodeId, m: unknown): DropReason | undefined {
  const u = m as { inc?: unknown; version?: unknown; key?: unknown; refs?: unknown }
  if (!isCount(u.inc) || !isCount(u.version) || !isServiceKeyName(u.key) || !Array.isArray(u.refs) || u.refs.length > MAX_REFS_PER_KEY) return 'malformed'
  let forged = false
  for (const ref of u.refs as unknown[]) {
    const node = nodeOf(ref)
    if (node === undefined) return 'malformed'
    if (node !== from) forged = true
  }
  return forged ? 'forged' : undefined
}

/** What is wrong with a `digest`, or undefined if nothing. */
export function digestProblem(m: unknown): DropReason | undefined {
  const d = m as { inc?: unknown; version?: unknown; keys?: unknown }
  if (!isCount(d.inc) || !isCount(d.version) || !Array.isArray(d.keys) || d.keys.length > MAX_KEYS_PER_NODE) return 'malformed'
  for (const entry of d.keys as unknown[]) {
    if (!Array.isArray(entry) || entry.length !== 2 || !isServiceKeyName(entry[0]) || !isCount(entry[1])) return 'malformed'
  }
  return undefined
}
