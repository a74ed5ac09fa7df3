/**
 * Actor addresses and node ids as they cross the wire, with their grammar. The checks return a
 * problem instead of throwing, so each layer raises its own error: the envelope codec an
 * InvalidEnvelopeError, the actor runtime (src/actor/address.ts) an InvalidArgumentError.
 */
import { showValue } from './errors.js'

/** A node's identity on the network (in production, its libp2p peer id). */
export type NodeId = string

/** Where an actor lives: the node's id and the actor's path on that node, e.g. `/user/counter`. */
export interface ActorAddress {
  readonly node: NodeId
  readonly path: string
}

const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.:@-]{0,127}$/
const GENERATED_NAME = /^\$[A-Za-z0-9_]{1,64}$/
const NODE_ID = /^[A-Za-z0-9_.:@-]{1,128}$/

/**
 * True for a user-chosen actor name (generated names start with `$` and are reserved). The same
 * grammar as NAME, by character codes: every entity reference checks its type and key with it, and
 * the loop costs a fraction of the regular expression's call.
 */
export function isValidName(name: string): boolean {
  const n = name.length
  if (n === 0 || n > 128) return false
  for (let i = 0; i < n; i++) {
    const c = name.charCodeAt(i)
    const word = (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95
    // After the first character also . : @ and -.
    if (!word && (i === 0 || !(c === 46 || c === 58 || c === 64 || c === 45))) return false
  }
  return true
}

/** True for a well-formed node id. */
export function isValidNodeId(node: string): boolean {
  return NODE_ID.test(node)
}

/** What is wrong with an address received from outside (a peer or a user), or undefined if nothing. */
export function addressProblem(address: unknown): string | undefined {
  if (typeof address !== 'object' || address === null) return 'actor address must be an object'
  const { node, path } = address as { node?: unknown; path?: unknown }
  if (typeof node !== 'string' || !NODE_ID.test(node)) return `invalid node id in address: ${showValue(node)}`
  if (typeof path !== 'string' || path.length > 1024 || !path.startsWith('/')) return `invalid actor path: ${showValue(path)}`
  for (const segment of path.slice(1).split('/')) {
    if (!NAME.test(segment) && !GENERATED_NAME.test(segment)) return `invalid actor path: ${showValue(path)}`
  }
  return undefined
}
