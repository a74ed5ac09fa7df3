/**
 * Field checks for decoders of peer input: each returns the value when it has the expected shape
 * and throws InvalidEnvelopeError otherwise, the message naming the datum and the field
 * (`invalid cluster record: epoch -1`). A decoder takes one set, made for its datum.
 */
import { InvalidEnvelopeError, showValue } from './errors.js'

export interface FieldChecks {
  invalid(what: string): InvalidEnvelopeError
  fail(what: string): never
  /** A safe integer of at least 0. */
  count(x: unknown, what: string): number
  /** A finite number. */
  real(x: unknown, what: string): number
  /** A non-empty string of at most `max` characters. */
  text(x: unknown, max: number, what: string): string
  /** An array of at most `max` items. */
  list(x: unknown, max: number, what: string): unknown[]
  /** An array of exactly `length` items, made into a value by `build`. */
  tuple<T>(x: unknown, length: number, build: (x: unknown[]) => T): T
}

/** The checks of one datum, `datum` naming it in every error. */
export function fieldChecks(datum: string): FieldChecks {
  const invalid = (what: string): InvalidEnvelopeError => new InvalidEnvelopeError(`invalid ${datum}: ${what}`)
  return {
    invalid,
    fail(what) {
      throw invalid(what)
    },
    count(x, what) {
      if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < 0) throw invalid(`${what} ${showValue(x)}`)
      // -0 passes as 0: msgpack writes it as the integer 0, so a direct check gives what a decode would.
      return x === 0 ? 0 : x
    },
    real(x, what) {
      if (typeof x !== 'number' || !Number.isFinite(x)) throw invalid(`${what} ${showValue(x)}`)
      return x
    },
    text(x, max, what) {
      if (typeof x !== 'string' || x.length === 0 || x.length > max) throw invalid(`${what} ${showValue(x)}`)
      return x
    },
    list(x, max, what) {
      if (!Array.isArray(x) || x.length > max) throw invalid(what)
      return x
    },
    tuple(x, length, build) {
      if (!Array.isArray(x) || x.length !== length) throw invalid('tuple')
      return build(x)
    },
  }
}
