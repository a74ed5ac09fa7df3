/**
 * Entity addresses and shards. An entity's address is `dx://@entities/entity/<type>/<key>`: the
 * virtual node `@entities` tells the actor system to route through the entity router instead of
 * to a node. Keys map to a fixed number of shards by a stable hash, and ownership is per shard, so
 * the leader's table and every routing cache stay small however many keys there are.
 */
import { assertValidName, type ActorAddress } from '../actor/address.js'
import { InvalidArgumentError, showValue } from '../errors.js'

/** The virtual node id of entity addresses. */
export const ENTITY_NODE = '@entities'

const PREFIX = '/entity/'

/**
 * Where an address built by entityAddress carries its type and key, so that the router need not
 * look its path up for every message (a map of every key seen, probed with a fresh string: 3% of a
 * peer's CPU under load). A symbol: encoding, formatting and comparing addresses never see it.
 */
const CARRIED = Symbol('dx.entity')
type Carrying = ActorAddress & { readonly [CARRIED]?: { readonly type: string; readonly key: string } }

/** The address of the entity `type`/`key`; throws InvalidArgumentError for an invalid type or key. */
export function entityAddress(type: string, key: string): ActorAddress {
  assertValidEntityName('type', type)
  assertValidEntityName('key', key)
  const address: Carrying = { node: ENTITY_NODE, path: `${PREFIX}${type}/${key}`, [CARRIED]: { type, key } }
  return address
}

/** The type and key `address` carries when entityAddress built it; undefined for any other (one parsed from text, say). */
export function carriedEntity(address: ActorAddress): { readonly type: string; readonly key: string } | undefined {
  return (address as Carrying)[CARRIED]
}

/** The type and key an entity address names; InvalidArgumentError for any other address. */
export function parseEntityAddress(address: ActorAddress): { type: string; key: string } {
  const rest = address.node === ENTITY_NODE && address.path.startsWith(PREFIX) ? address.path.slice(PREFIX.length) : undefined
  const slash = rest?.indexOf('/') ?? -1
  if (rest === undefined || slash <= 0) throw new InvalidArgumentError(`not an entity address: ${showValue(address.path)}`)
  const type = rest.slice(0, slash)
  const key = rest.slice(slash + 1)
  assertValidEntityName('type', type)
  assertValidEntityName('key', key)
  return { type, key }
}

function assertValidEntityName(what: string, name: string): void {
  try {
    assertValidName(name)
  } catch {
    throw new InvalidArgumentError(`invalid entity ${what} ${showValue(name)}: use 1-128 of [A-Za-z0-9_.:@-], not starting with . : @ or -`)
  }
}

/** The shard of a key: FNV-1a of `type/key`, modulo `shards`. Stable across peers and versions. */
export function shardOf(type: string, key: string, shards: number): number {
  // The hash of `type/key`, without building that string for every message.
  let hash = fnv(0x811c9dc5, type)
  hash = Math.imul(hash ^ 0x2f, 0x01000193)
  return (fnv(hash, key) >>> 0) % shards
}

function fnv(start: number, text: string): number {
  let hash = start
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  return hash
}
