/**
 * Errors of the wire protocols. Every decode failure is a ProtocolError subclass, so a connection
 * handler needs one catch; the numeric `wireCode` is what goes back to a peer in a failure frame.
 * As in libp2p, malformed bytes (InvalidEnvelopeError) are kept apart from well-formed input
 * that breaks the protocol's rules (UnsupportedVersionError, EnvelopeTooLargeError).
 *
 * The base of every typed error, DistributeXError, lives here too: protocols/ is the bottom layer
 * and imports nothing from src/, which re-exports it (src/errors.ts).
 */

/** The base of every DistributeX error. */
export class DistributeXError extends Error {
  override readonly name: string = 'DistributeXError'
  readonly code: string = 'ERR_DISTRIBUTEX'
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
