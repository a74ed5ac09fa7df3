/**
 * Assertions for programmer errors. Operating errors (bad input, a peer gone) are typed errors that
 * callers handle; a failed assertion means the code is wrong, and the only safe reaction is to stop.
 */

/** Thrown when an internal invariant does not hold. */
export class AssertionFailure extends Error {
  override readonly name = 'AssertionFailure'
  readonly code = 'ERR_ASSERTION'
}

/** Throws AssertionFailure when `condition` is false. */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionFailure(message)
}

/** Marks a branch the type checker proves unreachable. */
export function unreachable(value: never): never {
  throw new AssertionFailure(`unreachable: ${JSON.stringify(value)}`)
}
