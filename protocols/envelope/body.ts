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
  if (typeof value === 'object') {
    if (value !== null) checkObject(value, depth)
  } else checkScalar(value)
}

function checkScalar(value: unknown): void {
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
    case 'bigint':
    case 'undefined':
      return
    default:
      throw new InvalidEnvelopeError(`a ${typeof value} cannot travel in a message body`)
  }
}

/**
 * Arrays and plain objects first, and their strings and numbers checked in the loop rather than by
 * a call each: every envelope's body is walked on both sides (a batch of entity messages holds
 * several hundred values).
 */
function checkObject(value: object, depth: number): void {
  if (Array.isArray(value)) {
    if (depth >= BODY_MAX_DEPTH) throw new InvalidEnvelopeError(`message body nests deeper than ${BODY_MAX_DEPTH}`)
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i]
      if (typeof v === 'object') {
        if (v !== null) checkObject(v, depth + 1)
      } else if (typeof v !== 'string' && typeof v !== 'number') checkScalar(v)
    }
    return
  }
  const proto: unknown = Object.getPrototypeOf(value)
  if (proto === Object.prototype || proto === null) {
    if (depth >= BODY_MAX_DEPTH) throw new InvalidEnvelopeError(`message body nests deeper than ${BODY_MAX_DEPTH}`)
    for (const key in value) {
      const v: unknown = (value as Record<string, unknown>)[key]
      if (typeof v === 'object') {
        if (v !== null) checkObject(v, depth + 1)
      } else if (typeof v !== 'string' && typeof v !== 'number') checkScalar(v)
    }
    return
  }
  if (value instanceof Uint8Array) return
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new InvalidEnvelopeError('invalid date in message body')
    return
  }
  if (depth >= BODY_MAX_DEPTH) throw new InvalidEnvelopeError(`message body nests deeper than ${BODY_MAX_DEPTH}`)
  throw new InvalidEnvelopeError('message body may hold only plain objects, arrays and primitives')
}
