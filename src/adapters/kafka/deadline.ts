/**
 * Bounding a call that cannot itself be cancelled: kafkajs requests run to their own timeouts, so
 * a caller's deadline or AbortSignal can only stop the waiting. Whoever uses this must treat the
 * abandoned work as still running (the job log discards a producer whose step timed out).
 */
import { abortError } from '../../env/abort.js'
import type { Timers } from '../../env/types.js'

/** Settles like `work`, or rejects with `timeoutError()` after `ms`, or with AbortedError when `signal` aborts. */
export function withDeadline<T>(timers: Timers, work: Promise<T>, ms: number, signal: AbortSignal | undefined, timeoutError: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal?.aborted === true) {
      work.catch(() => {})
      reject(abortError(signal))
      return
    }
    const onAbort = (): void => {
      timers.cancel(timer)
      reject(abortError(signal!))
    }
    const timer = timers.schedule(ms, () => {
      signal?.removeEventListener('abort', onAbort)
      reject(timeoutError())
    })
    signal?.addEventListener('abort', onAbort, { once: true })
    work.then(
      (value) => {
        timers.cancel(timer)
        signal?.removeEventListener('abort', onAbort)
        resolve(value)
      },
      (error: unknown) => {
        timers.cancel(timer)
        signal?.removeEventListener('abort', onAbort)
        reject(error)
      },
    )
  })
}
