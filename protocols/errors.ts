/**
 * Errors of the wire protocols. Every decode failure is a ProtocolError subclass, so a connection
 * handler needs one catch; the numeric `wireCode` is what goes back to a peer in a failure frame.
 * As in libp2p, malformed bytes (InvalidEnvelopeError) are kept apart from well-formed input
 * that breaks the protocol's rules (UnsupportedVersionError, EnvelopeTooLargeError).
 *
 * The base of every typed error, DistributeXError, lives here too, with the one mapping of any error
 * to its wire form and back (`toWireError`, `fromWireError`): protocols/ is the bottom layer and
 * imports nothing from src/, which re-exports them (src/errors.ts).
 */

/** The base of every DistributeX error. */
export class DistributeXError extends Error {
  override readonly name: string = 'DistributeXError'
  readonly code: string = 'ERR_DISTRIBUTEX'
}

/**
 * Makes an error without capturing a stack trace, for errors whose local stack nobody reads: a
 * failure rebuilt from the wire (its throw site was on the other node) and an error made only to go
 * to a peer. Capturing a stack is the costliest part of an error: in the simulator's fault swarms,
 * refused submits and failure frames made it 9% of all CPU time.
 */
export function withoutStack<E extends Error>(make: () => E): E {
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 0
  try {
    return make()
  } finally {
    Error.stackTraceLimit = limit
  }
}

/** A short, never-throwing rendering of an untrusted value for error messages. */
export function showValue(value: unknown): string {
  let text: string
  try {
    text = typeof value === 'string' ? JSON.stringify(value) : typeof value === 'object' && value !== null ? Object.prototype.toString.call(value) : String(value)
  } catch {
    text = typeof value
  }
  return text.length > 64 ? `${text.slice(0, 61)}...` : text
}

/** Longest error name, and longest error code, a wire error carries. */
export const WIRE_ERROR_NAME_MAX_CHARS = 256
/** Longest error message a wire error carries. */
export const WIRE_ERROR_MESSAGE_MAX_CHARS = 4096

/** An error as it crosses the wire (failure frames, job outcomes, HTTP answers): what survives of it on the other side. */
export interface WireError {
  readonly name: string
  readonly code: string
  readonly message: string
}

/**
 * The wire form of any thrown value, or a copy of a wire error with nothing else on it. Name and code are cut to WIRE_ERROR_NAME_MAX_CHARS and the
 * message to WIRE_ERROR_MESSAGE_MAX_CHARS, so the result always passes the codecs' checks; an error
 * without a string `code` gets `fallbackCode`, which says where the failure was caught.
 */
export function toWireError(error: unknown, fallbackCode = 'ERR_INTERNAL'): WireError {
  const e: { name: string; message: string; code?: unknown } = error instanceof Error || isWireError(error) ? error : new Error(String(error))
  const code = e.code
  return {
    name: String(e.name).slice(0, WIRE_ERROR_NAME_MAX_CHARS) || 'Error',
    code: (typeof code === 'string' ? code : fallbackCode).slice(0, WIRE_ERROR_NAME_MAX_CHARS),
    message: String(e.message).slice(0, WIRE_ERROR_MESSAGE_MAX_CHARS),
  }
}

/** True when `value` has the shape of a wire error (the limits are the codecs' business). */
export function isWireError(value: unknown): value is WireError {
  const e = value as Partial<WireError> | null
  return typeof e === 'object' && e !== null && typeof e.name === 'string' && typeof e.code === 'string' && typeof e.message === 'string'
}

/**
 * An error that happened on another node, rebuilt here from its name, code and message. Its `name`
 * is the original one, so `err.name === 'ValidationError'` holds for local and remote failures alike.
 */
export class RemoteError extends DistributeXError {
  override readonly name: string
  override readonly code: string
  constructor(name: string, code: string, message: string) {
    super(message)
    this.name = name
    this.code = code
  }
}

/** The error a wire error stands for on this side: a RemoteError keeping its name, code and message, and no local stack. */
export function fromWireError(wire: WireError): RemoteError {
  return withoutStack(() => new RemoteError(wire.name, wire.code, wire.message))
}

/** Numeric codes of wire errors; stable across versions. */
export const WireErrorCode = {
  Malformed: 1,
  UnsupportedVersion: 2,
  TooLarge: 3,
} as const
export type WireErrorCode = (typeof WireErrorCode)[keyof typeof WireErrorCode]

/** The base of every wire-protocol error. */
export class ProtocolError extends DistributeXError {
  override readonly name: string = 'ProtocolError'
  override readonly code: string = 'ERR_PROTOCOL'
  readonly wireCode: WireErrorCode = WireErrorCode.Malformed
}

/** Thrown when bytes are not a valid envelope: not msgpack, wrong shape, or a field of the wrong type. */
export class InvalidEnvelopeError extends ProtocolError {
  override readonly name = 'InvalidEnvelopeError'
  override readonly code = 'ERR_INVALID_ENVELOPE'
  override readonly wireCode = WireErrorCode.Malformed
}

/** Thrown when an envelope carries a protocol version this node does not speak. */
export class UnsupportedVersionError extends ProtocolError {
  override readonly name = 'UnsupportedVersionError'
  override readonly code = 'ERR_UNSUPPORTED_VERSION'
  override readonly wireCode = WireErrorCode.UnsupportedVersion
  constructor(readonly version: unknown) {
    super(`unsupported envelope version ${showValue(version)}`)
  }
}

/** Thrown when an envelope exceeds the size limit, on encode or on decode. */
export class EnvelopeTooLargeError extends ProtocolError {
  override readonly name = 'EnvelopeTooLargeError'
  override readonly code = 'ERR_ENVELOPE_TOO_LARGE'
  override readonly wireCode = WireErrorCode.TooLarge
  constructor(
    readonly bytes: number,
    readonly maxBytes: number,
  ) {
    super(`envelope of ${bytes} bytes exceeds the limit of ${maxBytes} bytes`)
  }
}
