import type { ActorDef, ActorSpec, Message, RemotePolicies, SystemActorDef } from './types.js'

/**
 * Declares an actor type whose protocol is `M`; handlers (and remote policies, when declared) are
 * checked against it. A definition with a `remote` block can be spawned as a system actor.
 */
export function defineActor<M extends Message>(spec: ActorSpec<M> & { remote: RemotePolicies<M> }): SystemActorDef<M>
export function defineActor<M extends Message>(spec: ActorSpec<M>): ActorDef<M>
export function defineActor<M extends Message>(spec: ActorSpec<M>): ActorDef<M> {
  return spec
}
