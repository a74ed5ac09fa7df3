/**
 * Actor addresses: plain, serializable data (node id + path). A reference built from an address
 * reaches the actor wherever it lives, which is what lets remote delivery plug in without API changes.
 * The type and its grammar are wire-level and live in protocols/address.ts; these checks throw
 * InvalidArgumentError for the runtime's callers.
 */
import { addressProblem, isValidName, isValidNodeId, type ActorAddress } from '../../protocols/address.js'
import { InvalidArgumentError, showValue } from '../errors.js'

export type { ActorAddress }

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
  if (!isValidName(name)) {
    throw new InvalidArgumentError(`invalid actor name ${showValue(name)}: use 1-128 of [A-Za-z0-9_.:@-], not starting with . : @ or -`)
  }
}

/** Checks a node id. */
export function assertValidNodeId(node: string): void {
  if (!isValidNodeId(node)) throw new InvalidArgumentError(`invalid node id ${showValue(node)}`)
}

/** Checks an address received from outside (a peer or a user). */
export function assertValidAddress(address: unknown): asserts address is ActorAddress {
  const problem = addressProblem(address)
  if (problem !== undefined) throw new InvalidArgumentError(problem)
}
