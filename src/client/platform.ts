/**
 * The client's only contact with real time and randomness: the client runs in applications (a web
 * server, a browser, a script), not inside the runtime, so it has no injected Environment. Kept in
 * one file so the determinism check of src/ can allow exactly this binding. Uses only what browsers
 * and Node.js 20 both provide (setTimeout, AbortSignal.timeout, Date.now, crypto.getRandomValues).
 */
import { abortable } from '../env/abort.js'

/** Wall-clock milliseconds, for the client's own deadlines. */
export function nowMs(): number {
  return Date.now()
}

/** Resolves after `ms`, or rejects with AbortedError when `signal` aborts first. */
export function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return abortable<void>(signal, (resolve) => {
    const timer = setTimeout(resolve, ms)
    return () => clearTimeout(timer)
  })
}

/** A signal that aborts after `ms`. */
export function timeoutSignal(ms: number): AbortSignal {
  return AbortSignal.timeout(ms)
}

/** A random number in [0, 1), for backoff jitter. */
export function jitter(): number {
  return Math.random()
}

/** 128 random bits as 32 hex characters, for the idempotency keys that make resubmission safe. */
export function randomKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16))
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
}
