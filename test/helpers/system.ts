/** Builds an actor system on manual time for unit tests. */
import { ManualEnvironment } from '../../src/env/manual.js'
import { type ActorSystem, createActorSystem } from '../../src/actor/system.js'

export interface ManualSystem {
  env: ManualEnvironment
  system: ActorSystem
}

export function manualSystem(seed = 1): ManualSystem {
  const env = new ManualEnvironment({ seed })
  const system = createActorSystem({ env, nodeId: 'node-a' })
  return { env, system }
}

/** A promise with its resolve function exposed, for handlers that must wait on the test. */
export function gate<T = void>(): { promise: Promise<T>; open: (value: T) => void } {
  let open!: (value: T) => void
  const promise = new Promise<T>((resolve) => (open = resolve))
  return { promise, open }
}

/** Captures a promise's rejection so a test can assert on it after moving time. */
export function outcome<T>(promise: Promise<T>): { readonly value?: T; readonly error?: unknown; readonly settled: boolean } {
  const state: { value?: T; error?: unknown; settled: boolean } = { settled: false }
  promise.then(
    (value) => {
      state.value = value
      state.settled = true
    },
    (error: unknown) => {
      state.error = error
      state.settled = true
    },
  )
  return state
}
