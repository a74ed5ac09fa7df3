/** Helpers that turn AbortSignals into typed errors. */
import { AbortedError } from '../errors.js'
import type { Timers } from './types.js'

/** The typed error for an aborted signal, carrying its reason as `cause`. */
export function abortError(signal: AbortSignal): AbortedError {
  return new AbortedError('operation aborted', { cause: signal.reason })
}

/** Throws AbortedError when `signal` has already aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw abortError(signal)
}

/** A signal that aborts after `ms` on the environment's timers; `clear` stops the timer early. */
export function timeoutSignal(timers: Timers, ms: number): { signal: AbortSignal; clear: () => void } {
  const controller = new AbortController()
  const handle = timers.schedule(ms, () => controller.abort(new AbortedError(`timed out after ${ms} ms`)))
  return { signal: controller.signal, clear: () => timers.cancel(handle) }
}
