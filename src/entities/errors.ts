/** Typed errors of cluster entities. */
import { DistributeXError } from '../errors.js'

/** `ctx.state` was used by an entity type not declared `persistent: true`. */
export class NotPersistentError extends DistributeXError {
  override readonly name = 'NotPersistentError'
  override readonly code = 'ERR_NOT_PERSISTENT'
  constructor(readonly entityType: string) {
    super(`entity type ${entityType} is not persistent: declare persistent: true to use ctx.state`)
  }
}

/** A state write of an activation whose ownership epoch was superseded (it lost its lease). */
export class StaleEpochError extends DistributeXError {
  override readonly name = 'StaleEpochError'
  override readonly code = 'ERR_STALE_EPOCH'
  constructor(
    readonly entity: string,
    readonly epoch: number,
  ) {
    super(`state of ${entity} was claimed by an epoch newer than ${epoch}`)
  }
}

/** The entity could not be reached: no owner could be found, or its state store did not answer. */
export class EntityUnavailableError extends DistributeXError {
  override readonly name = 'EntityUnavailableError'
  override readonly code = 'ERR_ENTITY_UNAVAILABLE'
}

/** A message named an entity type this peer does not register. */
export class UnknownEntityTypeError extends DistributeXError {
  override readonly name = 'UnknownEntityTypeError'
  override readonly code = 'ERR_UNKNOWN_ENTITY_TYPE'
  constructor(readonly entityType: string) {
    super(`unknown entity type ${entityType}: register it with defineEntity in the --actors module of every peer`)
  }
}
