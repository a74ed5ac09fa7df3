/**
 * Typed errors of the libp2p network binding. Dial failures reach callers of `dial`; frame and
 * protocol errors describe what a peer did wrong and end up in logs and metrics, never as a crash.
 */
import { DistributeXError } from '../../errors.js'

/** Thrown when a dial does not produce a connection and a mesh stream within its timeout. */
export class DialTimeoutError extends DistributeXError {
  override readonly name = 'DialTimeoutError'
  override readonly code = 'ERR_DIAL_TIMEOUT'
  constructor(
    readonly address: string,
    readonly timeoutMs: number,
  ) {
    super(`dial to ${address} timed out after ${timeoutMs} ms`)
  }
}

/** Thrown when a dial fails for any other reason (refused, wrong peer, no mesh protocol); `cause` holds libp2p's error. */
export class DialFailedError extends DistributeXError {
  override readonly name = 'DialFailedError'
  override readonly code = 'ERR_DIAL_FAILED'
  constructor(
    readonly address: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`dial to ${address} failed: ${reason}`, options)
  }
}

/** Thrown when the network is used in a state that does not allow it (before `start()`, after `stop()`). */
export class NetworkStateError extends DistributeXError {
  override readonly name = 'NetworkStateError'
  override readonly code = 'ERR_NETWORK_STATE'
  constructor(
    readonly operation: string,
    readonly state: string,
  ) {
    super(`cannot ${operation} while the network is ${state}`)
  }
}

/** Thrown by the frame decoder for bytes that are not a valid frame. */
export class MalformedFrameError extends DistributeXError {
  override readonly name = 'MalformedFrameError'
  override readonly code = 'ERR_MALFORMED_FRAME'
}

/** Thrown for well-formed frames that break the mesh protocol's rules (credit overrun, unbound protocol). */
export class ProtocolViolationError extends DistributeXError {
  override readonly name = 'ProtocolViolationError'
  override readonly code = 'ERR_PROTOCOL_VIOLATION'
}

/** The reason a channel closes when its peer has been silent past the idle timeout. */
export class ChannelIdleError extends DistributeXError {
  override readonly name = 'ChannelIdleError'
  override readonly code = 'ERR_CHANNEL_IDLE'
  constructor(readonly idleMs: number) {
    super(`no bytes from the peer for ${idleMs} ms`)
  }
}

/** The reason a channel closes when the peer opened a newer mesh stream that takes its place. */
export class ChannelReplacedError extends DistributeXError {
  override readonly name = 'ChannelReplacedError'
  override readonly code = 'ERR_CHANNEL_REPLACED'
  constructor() {
    super('a newer mesh stream from the same peer replaced this one')
  }
}

/**
 * Whether a dial failed because nothing listened at the address (ECONNREFUSED, however deep
 * libp2p wrapped it: `cause`, or one of an AggregateError's `errors`): the peer's process is gone
 * from there, which a timeout (a cut or a busy host) does not show.
 */
export function refusedDial(error: unknown, depth = 0): boolean {
  if (typeof error !== 'object' || error === null || depth > 6) return false
  const e = error as { code?: unknown; cause?: unknown; errors?: unknown }
  if (e.code === 'ECONNREFUSED') return true
  if (refusedDial(e.cause, depth + 1)) return true
  return Array.isArray(e.errors) && e.errors.some((x) => refusedDial(x, depth + 1))
}
