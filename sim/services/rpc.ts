/**
 * Request/response between a node and a simulated service over the simulated network. The request
 * and the response each cross a link, so partitions, loss and latency apply; the caller gives up
 * after its timeout without knowing whether the service acted, exactly like a real client.
 */
import { abortError } from '../../src/env/abort.js'
import { withoutStack } from '../../src/errors.js'
import type { SimNetwork } from '../net/network.js'
import { EventKind, type Owner } from '../kernel/loop.js'

/** The outcome a service computes for one request. */
export type ServiceOutcome<T> = { ok: true; value: T } | { ok: false; error: Error }

/** Options of one call. */
export interface CallInit<T> {
  net: SimNetwork
  /** The caller's network position and owner (its incarnation receives the response). */
  from: number
  owner: Owner
  service: number
  timeoutMs: number
  /** Runs at the service when the request arrives. */
  execute: () => ServiceOutcome<T>
  /** Decides, at the service, whether the response is lost after the request took effect. */
  loseResponse?: () => boolean
  /** The error for a call that got no answer in time (made without a stack: it would show only the kernel's loop). */
  timeoutError: () => Error
  signal?: AbortSignal
}

/** Performs one call; the promise never settles if the caller's incarnation dies first. */
export function call<T>(init: CallInit<T>): Promise<T> {
  const { net } = init
  return new Promise<T>((resolve, reject) => {
    let done = false
    const settle = (outcome: ServiceOutcome<T>): void => {
      if (done) return
      done = true
      net.kernel.cancel(timer)
      init.signal?.removeEventListener('abort', onAbort)
      if (outcome.ok) resolve(outcome.value)
      else reject(outcome.error)
    }
    const onAbort = (): void => settle({ ok: false, error: abortError(init.signal!) })
    const timer = net.kernel.schedule(net.kernel.now + init.timeoutMs * 1000, EventKind.Service, () => settle({ ok: false, error: withoutStack(init.timeoutError) }), init.owner)
    init.signal?.addEventListener('abort', onAbort, { once: true })
    net.transmit(init.from, init.service, 0, () => {
      const outcome = init.execute()
      if (init.loseResponse?.() === true) return
      net.transmit(init.service, init.from, 0, () => settle(outcome))
    })
  })
}
