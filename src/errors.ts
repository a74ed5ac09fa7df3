/**
 * Typed errors of the runtime. Each failure has its own class whose `name` is stable and whose
 * `code` is a machine-readable string; callers may compare either, which also works for errors that
 * crossed the network and were rebuilt on this side. The base class, `showValue`, RemoteError and
 * the wire mapping (`toWireError`, `fromWireError`) live in protocols/errors.ts, the bottom layer,
 * and are re-exported here.
 */
import { DistributeXError } from '../protocols/errors.js'

export { DistributeXError, fromWireError, isWireError, RemoteError, showValue, toWireError, type WireError, withoutStack } from '../protocols/errors.js'

/** Thrown when an ask gets no reply within its timeout. */
export class AskTimeoutError extends DistributeXError {
  override readonly name = 'AskTimeoutError'
  override readonly code = 'ERR_ASK_TIMEOUT'
  constructor(
    readonly target: string,
    readonly timeoutMs: number,
  ) {
    super(`ask to ${target} timed out after ${timeoutMs} ms`)
  }
}

/** Thrown when an operation is cancelled through its AbortSignal; `cause` holds the signal's reason. */
export class AbortedError extends DistributeXError {
  override readonly name = 'AbortedError'
  override readonly code = 'ERR_ABORTED'
  constructor(message = 'operation aborted', options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** Thrown when no actor lives at an address. */
export class ActorNotFoundError extends DistributeXError {
  override readonly name = 'ActorNotFoundError'
  override readonly code = 'ERR_ACTOR_NOT_FOUND'
  constructor(readonly address: string) {
    super(`no actor at ${address}`)
  }
}

/** Thrown when a message reaches an actor that is stopping or stopped. */
export class ActorStoppedError extends DistributeXError {
  override readonly name = 'ActorStoppedError'
  override readonly code = 'ERR_ACTOR_STOPPED'
  constructor(readonly address: string) {
    super(`actor ${address} is stopped`)
  }
}

/** Thrown when a message is refused because the target's mailbox is at capacity. */
export class MailboxFullError extends DistributeXError {
  override readonly name = 'MailboxFullError'
  override readonly code = 'ERR_MAILBOX_FULL'
  constructor(
    readonly address: string,
    readonly capacity: number,
  ) {
    super(`mailbox of ${address} is full (${capacity} messages)`)
  }
}

/** Thrown when an actor has no handler for a message's type. */
export class UnhandledMessageError extends DistributeXError {
  override readonly name = 'UnhandledMessageError'
  override readonly code = 'ERR_UNHANDLED_MESSAGE'
  constructor(
    readonly address: string,
    readonly messageType: string,
  ) {
    super(`actor ${address} has no handler for message type ${JSON.stringify(messageType)}`)
  }
}

/**
 * Answers an ask that arrived from another node with a message type the target actor does not accept
 * from that node (its `remote` policy). The message was dropped before the mailbox.
 */
export class ForbiddenMessageError extends DistributeXError {
  override readonly name = 'ForbiddenMessageError'
  override readonly code = 'ERR_FORBIDDEN_MESSAGE'
  constructor(
    readonly address: string,
    readonly messageType: string,
    readonly from: string,
  ) {
    super(`actor ${address} does not accept message type ${JSON.stringify(messageType.slice(0, 128))} from node ${from}`)
  }
}

/** Thrown when spawning an actor under a name its parent already uses. */
export class ActorNameTakenError extends DistributeXError {
  override readonly name = 'ActorNameTakenError'
  override readonly code = 'ERR_ACTOR_NAME_TAKEN'
  constructor(readonly address: string) {
    super(`an actor already lives at ${address}`)
  }
}

/** Thrown for a bad argument from the caller, such as a negative timeout or an invalid actor name. */
export class InvalidArgumentError extends DistributeXError {
  override readonly name = 'InvalidArgumentError'
  override readonly code = 'ERR_INVALID_ARGUMENT'
}

/** The failure a child escalates to its parent; `cause` is the child's own error. */
export class ChildFailedError extends DistributeXError {
  override readonly name = 'ChildFailedError'
  override readonly code = 'ERR_CHILD_FAILED'
  constructor(
    readonly child: string,
    cause: unknown,
  ) {
    super(`child ${child} failed: ${describe(cause)}`, { cause })
  }
}

/** Thrown for asks and spawns that arrive while, or after, the actor system shuts down. */
export class SystemShutdownError extends DistributeXError {
  override readonly name = 'SystemShutdownError'
  override readonly code = 'ERR_SYSTEM_SHUTDOWN'
  constructor(message = 'actor system is shutting down') {
    super(message)
  }
}

/**
 * Thrown when a message cannot reach another node (no route, or the node is down). `unsent` says
 * the message certainly never left this node, so sending it again elsewhere cannot duplicate it;
 * otherwise (a connection closed under an ask) it may have arrived.
 */
export class NodeUnreachableError extends DistributeXError {
  override readonly name = 'NodeUnreachableError'
  override readonly code = 'ERR_NODE_UNREACHABLE'
  constructor(
    readonly node: string,
    reason?: string,
    readonly unsent = false,
  ) {
    super(`node ${node} is unreachable${reason === undefined ? '' : `: ${reason}`}`)
  }
}

/** A short human description of any thrown value. */
export function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`
  return String(error)
}

/** Converts any thrown value into an Error, keeping Errors as they are. */
export function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(describe(error))
}
