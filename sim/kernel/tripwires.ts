/**
 * Tripwires: while a simulation runs, the global sources of nondeterminism throw a
 * DeterminismViolation instead of silently making the run unreproducible. The kernel keeps its own
 * reference to setImmediate; everything else must come from the simulated environment.
 */
import { createRequire, syncBuiltinESMExports } from 'node:module'

/** Thrown when code under simulation reaches for real time, timers or randomness. */
export class DeterminismViolation extends Error {
  override readonly name = 'DeterminismViolation'
  readonly code = 'ERR_DETERMINISM_VIOLATION'
}

const require = createRequire(import.meta.url)

/** Installs the tripwires and returns a function that removes them. */
export function installTripwires(): () => void {
  const g = globalThis as unknown as Record<string, unknown>
  const nodeCrypto = require('node:crypto') as Record<string, unknown>
  const webCrypto = Object.getPrototypeOf(globalThis.crypto) as object
  const RealDate = globalThis.Date
  const saved: Array<[object, string, PropertyDescriptor]> = []
  const trip = (target: object, key: string, what: string): void => {
    const original = Object.getOwnPropertyDescriptor(target, key)
    if (original === undefined || original.configurable !== true) return
    saved.push([target, key, original])
    Object.defineProperty(target, key, {
      configurable: true,
      writable: true,
      value: () => {
        throw new DeterminismViolation(`${what} called during a simulation; use the injected environment`)
      },
    })
  }
  trip(g, 'setTimeout', 'setTimeout')
  trip(g, 'setInterval', 'setInterval')
  trip(g, 'setImmediate', 'setImmediate')
  trip(Math, 'random', 'Math.random')
  for (const key of ['randomBytes', 'randomUUID', 'randomInt', 'randomFillSync', 'getRandomValues']) trip(nodeCrypto, key, `crypto.${key}`)
  for (const key of ['randomUUID', 'getRandomValues']) trip(webCrypto, key, `crypto.${key}`)
  class SimDate extends RealDate {
    constructor(...args: unknown[]) {
      if (args.length === 0) throw new DeterminismViolation('new Date() called during a simulation; use the injected clock')
      super(...(args as [number]))
    }

    static override now(): number {
      throw new DeterminismViolation('Date.now called during a simulation; use the injected clock')
    }
  }
  g.Date = SimDate
  syncBuiltinESMExports()
  return () => {
    g.Date = RealDate
    for (const [target, key, descriptor] of saved.reverse()) Object.defineProperty(target, key, descriptor)
    syncBuiltinESMExports()
  }
}
