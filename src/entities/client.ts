/**
 * `node.entities`: typed references to entities by type and key, and the activations of this node.
 * A reference is only an address (see address.ts), so getting one does no I/O and activates
 * nothing; the first message does.
 */
import type { ActorSystem } from '../actor/system.js'
import type { Message } from '../actor/types.js'
import { entityAddress } from './address.js'
import type { EntityDef, EntityInfo, EntityRef } from './types.js'

export class EntityClient {
  constructor(
    private readonly system: ActorSystem,
    private readonly listing: () => EntityInfo[],
    /** The entity types this node registers. */
    readonly types: ReadonlySet<string> = new Set(),
  ) {}

  /** The reference to entity `key` of type `def`; throws InvalidArgumentError for an invalid key. */
  get<M extends Message, S>(def: EntityDef<M, S>, key: string): EntityRef<M> {
    return this.system.ref<M>(entityAddress(def.type, key))
  }

  /** The activations living on this node now. */
  list(): EntityInfo[] {
    return this.listing()
  }
}
