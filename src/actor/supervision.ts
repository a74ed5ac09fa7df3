/** Supervision settings with defaults applied, and the restart backoff they imply. */
import type { Random } from '../env/types.js'
import { backoffDelayMs, validBackoff, type Backoff } from '../util/backoff.js'
import { InvalidArgumentError } from '../errors.js'
import type { SupervisionInit, SupervisorDecision } from './types.js'

/** Default restart limit within the window. */
export const MAX_RESTARTS = 10
/** Default restart window. */
export const RESTART_WINDOW_MS = 60_000
/** Default backoff before the first restart in a window. */
export const BACKOFF_MIN_MS = 10
/** Default backoff ceiling. */
export const BACKOFF_MAX_MS = 10_000

/** Supervision with every option resolved. */
export interface Supervision {
  readonly decide: (error: Error) => SupervisorDecision
  readonly maxRestarts: number
  readonly windowMs: number
  readonly backoff: Backoff
}

const restartAlways = (): SupervisorDecision => 'restart'

/** Resolves supervision options: spawn options override the definition, which overrides the defaults. */
export function resolveSupervision(def: SupervisionInit | undefined, spawn: SupervisionInit | undefined): Supervision {
  const backoff = { ...def?.backoff, ...spawn?.backoff }
  const resolved: Supervision = {
    decide: spawn?.decide ?? def?.decide ?? restartAlways,
    maxRestarts: spawn?.maxRestarts ?? def?.maxRestarts ?? MAX_RESTARTS,
    windowMs: spawn?.windowMs ?? def?.windowMs ?? RESTART_WINDOW_MS,
    backoff: { minMs: backoff.minMs ?? BACKOFF_MIN_MS, maxMs: backoff.maxMs ?? BACKOFF_MAX_MS, factor: backoff.factor ?? 2, jitter: backoff.jitter ?? 0.2 },
  }
  if (!(resolved.maxRestarts >= 0) || !(resolved.windowMs > 0) || !validBackoff(resolved.backoff)) {
    throw new InvalidArgumentError(`invalid supervision options: ${JSON.stringify(resolved)}`)
  }
  return resolved
}

/** The delay before the `attempt`-th restart (1-based) within the window. */
export function restartDelayMs(s: Supervision, attempt: number, random: Random): number {
  return backoffDelayMs(s.backoff, attempt, random)
}
