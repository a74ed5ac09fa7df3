/** Helpers that turn AbortSignals into typed errors. */
import { AbortedError } from '../errors.js'

/** The typed error for an aborted signal, carrying its reason as `cause`. */
export function abortError(signal: AbortSignal): AbortedError {
  return new AbortedError('operation aborted', { cause: signal.reason })
}

/** Throws AbortedError when `signal` has already aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw abortError(signal)
}
