import type { ActorDef, ActorSpec, Message } from './types.js'

/** Declares an actor type whose protocol is `M`; handlers are checked against it. */
export function defineActor<M extends Message>(spec: ActorSpec<M>): ActorDef<M> {
  return spec
}
