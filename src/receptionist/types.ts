/**
 * The receptionist's public types: typed service keys, the listing subscribers receive, and the
 * bounds every node enforces on its own registrations and on what peers announce.
 */
import { InvalidArgumentError, DistributeXError, showValue } from '../errors.js'
import type { ActorRef, Message } from '../actor/types.js'

/** Longest service key name, in characters. */
export const SERVICE_KEY_MAX_CHARS = 128
/** Most keys one node may register refs under (and most a peer may announce). */
export const MAX_KEYS_PER_NODE = 1000
/** Most refs one node may register under one key. */
export const MAX_REFS_PER_KEY = 1000
/** Most registrations (key, ref) one node may hold in total. */
export const MAX_REGISTRATIONS_PER_NODE = 10_000
/** Longest address of a registered ref, in characters: keeps one key's announcement within a frame. */
export const ADDRESS_MAX_CHARS = 512

const KEY_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.:@/-]*$/

/**
 * A service key: a name plus, at the type level only, the protocol of the actors registered under
 * it, so that listings and finds give `ActorRef<P>` without casts.
 */
export interface ServiceKey<P extends Message> {
  readonly id: string
  /** Type-level marker of the protocol; never set. */
  readonly __protocol?: (message: P) => void
}

/** The protocol of the actors registered under `K`. */
export type ProtocolOf<K> = K extends ServiceKey<infer P> ? P : never

/** True for a well-formed service key name (1-128 of [A-Za-z0-9_.:@/-], not starting with a punctuation mark). */
export function isServiceKeyName(id: unknown): id is string {
  return typeof id === 'string' && id.length > 0 && id.length <= SERVICE_KEY_MAX_CHARS && KEY_NAME.test(id)
}

/**
 * Declares a service key; every node that registers or looks up the service uses the same name.
 * Throws InvalidArgumentError for an invalid name.
 */
export function serviceKey<P extends Message>(id: string): ServiceKey<P> {
  if (!isServiceKeyName(id))
    throw new InvalidArgumentError(`invalid service key ${showValue(id)}: use 1-${SERVICE_KEY_MAX_CHARS} of [A-Za-z0-9_.:@/-], starting with a letter, digit or _`)
  return { id }
}

/**
 * What a subscriber receives at once and after every change: the live refs registered under the
 * key on every reachable node, sorted by address.
 */
export interface Listing<P extends Message> {
  readonly type: 'listing'
  readonly key: ServiceKey<P>
  readonly refs: ReadonlyArray<ActorRef<P>>
}

/** A registration was refused: this node holds as many as it may (see the *_MAX bounds). */
export class ReceptionistFullError extends DistributeXError {
  override readonly name = 'ReceptionistFullError'
  override readonly code = 'ERR_RECEPTIONIST_FULL'
}
