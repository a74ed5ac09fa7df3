/**
 * What may travel as a message body or job payload: null, booleans, numbers, bigints, strings,
 * byte arrays, valid dates, arrays and plain (or null-prototype) objects, nested at most
 * BODY_MAX_DEPTH deep. Anything else (functions, class instances, maps) is refused with a typed
 * error at the sender, instead of arriving mangled at the receiver.
 */
import { InvalidEnvelopeError } from '../errors.js'
import { BODY_MAX_DEPTH } from './constants.js'

/** Checks that a body is plain data within the depth limit; throws InvalidEnvelopeError otherwise. */
export function checkBody(value: unknown, depth = 0): void {
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
    case 'bigint':
    case 'undefined':
      return
    case 'object': {
      if (value === null || value instanceof Uint8Array) return
      if (value instanceof Date) {
        if (Number.isNaN(value.getTime())) throw new InvalidEnvelopeError('invalid date in message body')
        return
      }
      if (depth >= BODY_MAX_DEPTH) throw new InvalidEnvelopeError(`message body nests deeper than ${BODY_MAX_DEPTH}`)
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) checkBody(value[i], depth + 1)
        return
      }
      const proto: unknown = Object.getPrototypeOf(value)
      if (proto !== Object.prototype && proto !== null) throw new InvalidEnvelopeError('message body may hold only plain objects, arrays and primitives')
      for (const key in value) checkBody((value as Record<string, unknown>)[key], depth + 1)
      return
    }
    default:
      throw new InvalidEnvelopeError(`a ${typeof value} cannot travel in a message body`)
  }
}
