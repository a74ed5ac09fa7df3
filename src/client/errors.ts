/**
 * Errors of the application client. A node's HTTP API answers failures with `{error: {name, code,
 * message}}` (toWireError); `errorFromWire` turns that back into the class the in-process API throws for the same
 * failure (so `instanceof InvalidJobError` works the same on both sides), and into RemoteJobError
 * for any name it does not know. Fields that the wire does not carry (an UnknownJobTypeError's
 * `jobType`, a PayloadTooLargeError's sizes) are read back from the message where it states them.
 */
import { AbortedError, InvalidArgumentError, isWireError, NodeUnreachableError, RemoteError, SystemShutdownError, toWireError, type WireError } from '../errors.js'
import { ClusterSaturatedError, InvalidJobError, JobCancelledError, JobFailedError, NoLeaderError, PayloadTooLargeError, UnknownJobTypeError } from '../jobs/errors.js'
import { JobLogUnavailableError } from '../storage/errors.js'

export { isWireError, type WireError } from '../errors.js'

/**
 * A failure the node reported that has no class of its own here (an internal error, a route's own
 * refusal such as a missing token or an unknown job id). `name` and `code` are the node's; `status`
 * is the HTTP status, if the error came from a response.
 */
export class RemoteJobError extends RemoteError {
  constructor(
    name: string,
    code: string,
    message: string,
    readonly status: number | undefined,
  ) {
    super(name, code, message)
  }
}

/** The same message, on an error built by a constructor that writes its own. */
function keepMessage<E extends Error>(error: E, message: string): E {
  Object.defineProperty(error, 'message', { value: message, writable: true, configurable: true, enumerable: false })
  return error
}

const REBUILD: Record<string, (w: WireError) => Error> = {
  InvalidJobError: (w) => new InvalidJobError(w.message),
  UnknownJobTypeError: (w) => keepMessage(new UnknownJobTypeError(quoted(w.message) ?? ''), w.message),
  PayloadTooLargeError: (w) => {
    const [bytes, max] = numbers(w.message)
    return keepMessage(new PayloadTooLargeError(bytes ?? NaN, max ?? NaN), w.message)
  },
  ClusterSaturatedError: (w) => keepMessage(new ClusterSaturatedError(numbers(w.message)[0] ?? NaN), w.message),
  NoLeaderError: (w) => new NoLeaderError(w.message),
  JobLogUnavailableError: (w) => new JobLogUnavailableError(w.message, true),
  SystemShutdownError: (w) => new SystemShutdownError(w.message),
  AbortedError: (w) => new AbortedError(w.message),
  InvalidArgumentError: (w) => new InvalidArgumentError(w.message),
}

/**
 * The error for a wire error. `jobId` is set when the error is a job's recorded failure (from its
 * outcome): that becomes JobCancelledError or JobFailedError, exactly as `handle.result()` rejects
 * in process.
 */
export function errorFromWire(wire: WireError, context: { status?: number; jobId?: string } = {}): Error {
  if (context.jobId !== undefined) {
    return wire.name === 'JobCancelledError' ? new JobCancelledError(context.jobId) : new JobFailedError(context.jobId, toWireError(wire))
  }
  const rebuild = REBUILD[wire.name]
  return rebuild === undefined ? new RemoteJobError(wire.name, wire.code, wire.message, context.status) : rebuild(wire)
}

/** The error for a response that is not a success, whatever its body. */
export function errorFromResponse(status: number, body: unknown): Error {
  const wire = (body as { error?: unknown } | null)?.error
  if (isWireError(wire)) return errorFromWire(wire, { status })
  return new RemoteJobError('HttpError', 'ERR_HTTP', `HTTP ${status}`, status)
}

/** Thrown when no peer of the list could be reached within the time allowed. */
export function unreachable(peers: readonly string[], reason: string): NodeUnreachableError {
  return new NodeUnreachableError(peers.join(', '), reason)
}

function quoted(message: string): string | undefined {
  const match = /"((?:[^"\\]|\\.)*)"/.exec(message)
  if (match === null) return undefined
  try {
    return JSON.parse(`"${match[1]!}"`) as string
  } catch {
    return match[1]
  }
}

function numbers(message: string): number[] {
  return [...message.matchAll(/\d+/g)].map((m) => Number(m[0]))
}
