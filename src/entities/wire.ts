/**
 * The messages entities actors of two nodes exchange (actors/entities.ts), and their remote checks.
 *
 * Messages to another peer's entities travel in batches: one 'deliver' ask carrying up to
 * DEFAULT_BATCH_LIMITS.maxItems messages (tells and watches included), answered by one reply listing
 * each message's outcome in order. An ask still running when the owner replies is marked "later";
 * its answer follows alone in a 'late' tell. Watches end by 'ended' (owner to watcher), 'forget'
 * (watcher to owner) and 'watching' (the watcher asks which of its watches the owner still holds).
 *
 * Invariants: every message from a peer passes its check here before a handler sees it; the checks
 * bound every length (items, ids, grants) and accept only DELIVER_VERSION.
 */
import { isWireError, type WireError } from '../errors.js'
import type { TerminationReason } from '../actor/types.js'
import type { ShardGrant } from './coordinator-core.js'
import { DEFAULT_BATCH_LIMITS } from './router.js'

/**
 * The version of the 'deliver' batch, its reply and the watch messages; a peer refuses any other
 * (remote validation). Version 3 added watch items (kind 2) and the 'ended' and 'forget' messages.
 */
export const DELIVER_VERSION = 3
/** Longest a batch may ask the owner to wait for its answers. */
export const DELIVER_TIMEOUT_MAX_MS = 3_600_000
/** Ids in one 'ended', 'forget' or 'watching' message. */
export const WATCH_IDS_MAX = 100_000
/** Grants in one renewal. */
const GRANTS_MAX = 1_000_000

/**
 * One message of a batch: shard, epoch, entity type, key, body, its kind (0 an ask, 1 a tell
 * answered on accept, 2 a watch of the key's activation, answered with the owner's id or null when
 * the key has none), and the sender's id of an ask or a watch (a 'late' or 'ended' message names it).
 */
export type DeliverItem = [shard: number, epoch: number, entity: string, key: string, body: unknown, kind: 0 | 1 | 2, id: number]
/** Why an activation's watches end, as its owner reports it ('ended'). */
export type EndReason = Extract<TerminationReason, 'passivated' | 'failed-over' | 'stopped' | 'failed'>
const END_REASONS: readonly string[] = ['passivated', 'failed-over', 'stopped', 'failed'] satisfies EndReason[]
/**
 * Per message, in order: [0] accepted tell, [0, value] an ask's value, [1, error] its error,
 * [2] bounced, [3] accepted, its answer follows in a 'late' message.
 */
export type ItemResult = [0] | [0, unknown] | [1, WireError] | [2] | [3]
export type DeliverReply = { readonly v: number; readonly r: ItemResult[] }
export const BOUNCED: ItemResult = [2]
export const ACCEPTED: ItemResult = [0]
export const LATER: ItemResult = [3]

export const isInt = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0
const isName = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 128

/** @internal The remote check of a 'deliver' batch: version, shape and size bounds. */
export const validDeliver = (_from: string, m: unknown): boolean => {
  const d = m as { v?: unknown; items?: unknown; timeoutMs?: unknown }
  return (
    d.v === DELIVER_VERSION &&
    isInt(d.timeoutMs) &&
    d.timeoutMs <= DELIVER_TIMEOUT_MAX_MS &&
    Array.isArray(d.items) &&
    d.items.length > 0 &&
    d.items.length <= DEFAULT_BATCH_LIMITS.maxItems &&
    everyIndex(d.items as unknown[], validItem)
  )
}
const validItem = (i: unknown): boolean =>
  Array.isArray(i) && i.length === 7 && isInt(i[0]) && isInt(i[1]) && isName(i[2]) && isName(i[3]) && (i[5] === 0 || i[5] === 1 || i[5] === 2) && isInt(i[6])
/** Like every(), but a hole counts as undefined (every() skips holes), and no copy of the array (Array.from) per batch. */
function everyIndex(values: readonly unknown[], ok: (v: unknown) => boolean): boolean {
  for (let k = 0; k < values.length; k++) if (!ok(values[k])) return false
  return true
}
const validResult = (x: unknown): x is ItemResult => Array.isArray(x) && (x[0] === 0 || x[0] === 2 || x[0] === 3 || (x[0] === 1 && isWireError(x[1])))
/** @internal The remote check of a 'late' answer. */
export const validLate = (_from: string, m: unknown): boolean => {
  const l = m as { v?: unknown; id?: unknown; r?: unknown }
  return l.v === DELIVER_VERSION && isInt(l.id) && validResult(l.r) && l.r[0] !== 3 && l.r[0] !== 2
}
/** @internal A reply from a peer is checked like any input: one result per message, of a known kind. */
export const validDeliverReply = (a: unknown, n: number): a is DeliverReply => {
  const reply = a as { v?: unknown; r?: unknown } | null | undefined
  const r = reply?.r
  return reply?.v === DELIVER_VERSION && Array.isArray(r) && r.length === n && everyIndex(r as unknown[], validResult)
}
const validIds = (v: unknown): boolean => Array.isArray(v) && v.length > 0 && v.length <= WATCH_IDS_MAX && Array.from(v as unknown[]).every(isInt)
/** @internal The remote check of an 'ended' message: the owner's report that watched activations ended. */
export const validEnded = (_from: string, m: unknown): boolean => {
  const e = m as { v?: unknown; ids?: unknown; reason?: unknown; error?: unknown }
  return e.v === DELIVER_VERSION && validIds(e.ids) && typeof e.reason === 'string' && END_REASONS.includes(e.reason) && (e.error === null || isWireError(e.error))
}
/** @internal The remote check of a 'forget' or 'watching' message: a watcher node drops or checks some of its watches. */
export const validWatchIds = (_from: string, m: unknown): boolean => {
  const f = m as { v?: unknown; ids?: unknown }
  return f.v === DELIVER_VERSION && validIds(f.ids)
}
/** @internal The remote check of a renewal's claims. */
export const validGrants = (v: unknown): boolean =>
  Array.isArray(v) &&
  v.length <= GRANTS_MAX &&
  v.every((g) => isInt((g as ShardGrant)?.shard) && isInt((g as ShardGrant)?.epoch) && ((g as ShardGrant).lapsed === undefined || typeof (g as ShardGrant).lapsed === 'boolean'))
/** @internal The remote check of a message naming a shard and, with `epoch`, one of its epochs ('marker', 'released', 'locate'). */
export const validShard = (m: unknown, epoch: boolean): boolean => isInt((m as { shard?: unknown }).shard) && (!epoch || isInt((m as { epoch?: unknown }).epoch))
