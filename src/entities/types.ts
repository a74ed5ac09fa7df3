/**
 * The typed entity API: an entity type is an actor protocol plus a name; every key of the type is
 * one virtual actor that the cluster activates on first message, on one peer at a time. A reference
 * to an entity is an ordinary ActorRef whose address names the type and key instead of a node, so
 * it is valid on every peer and travels inside messages as its address string.
 */
import type { ActorContext, ActorRef, Handlers, MailboxInit, Message, SupervisionInit } from '../actor/types.js'
import type { AbortOptions } from '../env/types.js'

/** The durable state of one entity, for types declared `persistent`. */
export interface EntityState<S> {
  /** The last saved value, or undefined if none was ever saved. */
  load(): Promise<S | undefined>
  /** Saves `value`; resolves once it is durable (a reply sent after this cannot be lost with the peer). */
  save(value: S): Promise<void>
}

/** What an entity's setup gets: the actor context plus its type, key and state. */
export interface EntityContext<M extends Message, S = unknown> extends ActorContext<M> {
  readonly entityType: string
  readonly key: string
  /** The ownership epoch of this activation: a later activation of the key has a higher one. */
  readonly epoch: number
  /** Rejects with NotPersistentError unless the type is declared `persistent: true`. */
  readonly state: EntityState<S>
}

/** How an entity type behaves. */
export interface EntitySpec<M extends Message, S = unknown> {
  /** Builds one activation of the key `ctx.key`; runs on activation and after a restart. */
  setup(ctx: EntityContext<M, S>): Handlers<M> | Promise<Handlers<M>>
  /** Keep `ctx.state` in the cluster's entity state store; without it state is lost with the peer. */
  persistent?: boolean
  /**
   * Stop an activation after this long without messages (it comes back on the next one). Default
   * 120,000. Idle activations are looked for every tenth of this (at most every second), so one may
   * live up to that much longer.
   */
  passivateAfterMs?: number
  mailbox?: MailboxInit
  supervision?: SupervisionInit
}

/** An entity type, as defineEntity builds it. */
export interface EntityDef<M extends Message = Message, S = unknown> {
  readonly kind: 'entity'
  readonly type: string
  readonly spec: EntitySpec<M, S>
  readonly __protocol?: (message: M) => void
}

/** An entity type of any protocol, for lists of definitions (a node's registered types). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyEntityDef = EntityDef<any, any>

/** A reference to the entity of one type and key, valid on every peer. */
export type EntityRef<M extends Message> = ActorRef<M>

/** The stored value of an entity: the value and the ownership epoch that wrote it. */
export interface StoredEntityState {
  readonly epoch: number
  readonly version: number
  readonly value: Uint8Array
}

/**
 * Where persistent entities keep their state. `epoch` is the ownership epoch of the activation:
 * `load` claims the key for it and `save` is refused (StaleEpochError) once a newer epoch has
 * claimed the key, so an activation that lost its lease cannot overwrite its successor's state.
 */
export interface EntityStateStore {
  load(type: string, key: string, epoch: number, options?: AbortOptions): Promise<StoredEntityState | undefined>
  save(type: string, key: string, state: StoredEntityState, options?: AbortOptions): Promise<void>
}

/** One live activation, as `GET /entities` lists it. */
export interface EntityInfo {
  readonly type: string
  readonly key: string
  readonly shard: number
  readonly epoch: number
}
