/**
 * Actor addresses: plain, serializable data (node id + path). A reference built from an address
 * reaches the actor wherever it lives, which is what lets remote delivery plug in without API changes.
 */
import { InvalidArgumentError, showValue } from '../errors.js'

/** Where an actor lives: the node's id and the actor's path on that node, e.g. `/user/counter`. */
export interface ActorAddress {
  readonly node: string
  readonly path: string
}

const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.:@-]{0,127}$/
const GENERATED_NAME = /^\$[A-Za-z0-9_]{1,64}$/
const NODE_ID = /^[A-Za-z0-9_.:@-]{1,128}$/

/** The canonical string form, `dx://<node><path>`. */
export function formatAddress(address: ActorAddress): string {
  return `dx://${address.node}${address.path}`
}

/** Parses `dx://<node><path>`; throws InvalidArgumentError for anything else. */
export function parseAddress(text: string): ActorAddress {
  const match = /^dx:\/\/([^/]+)(\/.*)$/.exec(text)
  if (match === null) throw new InvalidArgumentError(`not an actor address: ${showValue(text)}`)
  const address = { node: match[1]!, path: match[2]! }
  assertValidAddress(address)
  return address
}

/** True when both addresses name the same actor. */
export function sameAddress(a: ActorAddress, b: ActorAddress): boolean {
  return a.node === b.node && a.path === b.path
}

/** Checks a user-chosen actor name (generated names start with `$` and are reserved). */
export function assertValidName(name: string): void {
  if (!NAME.test(name)) {
    throw new InvalidArgumentError(`invalid actor name ${showValue(name)}: use 1-128 of [A-Za-z0-9_.:@-], not starting with . : @ or -`)
  }
}

/** Checks a node id. */
export function assertValidNodeId(node: string): void {
  if (!NODE_ID.test(node)) throw new InvalidArgumentError(`invalid node id ${showValue(node)}`)
}

/** Checks an address received from outside (a peer or a user). */
export function assertValidAddress(address: unknown): asserts address is ActorAddress {
  if (typeof address !== 'object' || address === null) throw new InvalidArgumentError('actor address must be an object')
  const { node, path } = address as { node?: unknown; path?: unknown }
  if (typeof node !== 'string' || !NODE_ID.test(node)) throw new InvalidArgumentError(`invalid node id in address: ${showValue(node)}`)
  if (typeof path !== 'string' || path.length > 1024 || !path.startsWith('/')) {
    throw new InvalidArgumentError(`invalid actor path: ${showValue(path)}`)
  }
  for (const segment of path.slice(1).split('/')) {
    if (!NAME.test(segment) && !GENERATED_NAME.test(segment)) throw new InvalidArgumentError(`invalid actor path: ${showValue(path)}`)
  }
}
