/**
 * Bounding a call that cannot itself be cancelled: kafkajs requests run to their own timeouts, so
 * a caller's deadline or AbortSignal can only stop the waiting. Whoever uses this must treat the
 * abandoned work as still running (the job log discards a producer whose step timed out).
 */
import { abortable } from '../../env/abort.js'
import type { Timers } from '../../env/types.js'

/** Settles like `work`, or rejects with `timeoutError()` after `ms`, or with AbortedError when `signal` aborts. */
export function withDeadline<T>(timers: Timers, work: Promise<T>, ms: number, signal: AbortSignal | undefined, timeoutError: () => Error): Promise<T> {
  // The work is abandoned, not stopped, when the signal has already aborted: its failure must not go unhandled.
  if (signal?.aborted === true) work.catch(() => {})
  return abortable<T>(signal, (resolve, reject) => {
    const timer = timers.schedule(ms, () => reject(timeoutError()))
    work.then(
      (value) => {
        timers.cancel(timer)
        resolve(value)
      },
      (error: unknown) => {
        timers.cancel(timer)
        reject(error)
      },
    )
    return () => timers.cancel(timer)
  })
}
