/** Helpers that turn AbortSignals into typed errors, and the one way a wait is made abortable. */
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

/**
 * A wait that `signal` can end: `start` begins it with settle functions and returns how to stop it.
 * When the signal aborts first, the wait is stopped and the promise rejects with AbortedError; when
 * the wait settles first, the abort listener is removed, so a long-lived signal does not collect
 * listeners. An already aborted signal rejects at once, without starting the wait. Settling twice
 * is harmless, so `start` need not guard against a late timer.
 */
export function abortable<T>(signal: AbortSignal | undefined, start: (resolve: (value: T) => void, reject: (error: unknown) => void) => () => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(abortError(signal))
      return
    }
    let settled = false
    const onAbort = (): void => {
      settled = true
      stop()
      reject(abortError(signal!))
    }
    const settle = (): void => {
      settled = true
      signal?.removeEventListener('abort', onAbort)
    }
    const stop = start(
      (value) => {
        settle()
        resolve(value)
      },
      (error) => {
        settle()
        reject(error)
      },
    )
    // A wait that settled while starting needs no listener.
    if (!settled) signal?.addEventListener('abort', onAbort, { once: true })
  })
}

/** Resolves after `ms` on the given timers, or rejects with AbortedError when `signal` aborts first. */
export function sleepOn(timers: Pick<Timers, 'schedule' | 'cancel'>, ms: number, signal: AbortSignal | undefined): Promise<void> {
  return abortable<void>(signal, (resolve) => {
    const timer = timers.schedule(ms, () => resolve())
    return () => timers.cancel(timer)
  })
}

/** A signal that aborts after `ms` on the environment's timers; `clear` stops the timer early. */
export function timeoutSignal(timers: Timers, ms: number): { signal: AbortSignal; clear: () => void } {
  const controller = new AbortController()
  const handle = timers.schedule(ms, () => controller.abort(new AbortedError(`timed out after ${ms} ms`)))
  return { signal: controller.signal, clear: () => timers.cancel(handle) }
}
