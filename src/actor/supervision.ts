/** Supervision settings with defaults applied, and the restart backoff they imply. */
import type { Random } from '../env/types.js'
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
  readonly backoffMinMs: number
  readonly backoffMaxMs: number
  readonly backoffFactor: number
  readonly backoffJitter: number
}

const restartAlways = (): SupervisorDecision => 'restart'

/** Resolves supervision options: spawn options override the definition, which overrides the defaults. */
export function resolveSupervision(def: SupervisionInit | undefined, spawn: SupervisionInit | undefined): Supervision {
  const backoff = { ...def?.backoff, ...spawn?.backoff }
  const resolved: Supervision = {
    decide: spawn?.decide ?? def?.decide ?? restartAlways,
    maxRestarts: spawn?.maxRestarts ?? def?.maxRestarts ?? MAX_RESTARTS,
    windowMs: spawn?.windowMs ?? def?.windowMs ?? RESTART_WINDOW_MS,
    backoffMinMs: backoff.minMs ?? BACKOFF_MIN_MS,
    backoffMaxMs: backoff.maxMs ?? BACKOFF_MAX_MS,
    backoffFactor: backoff.factor ?? 2,
    backoffJitter: backoff.jitter ?? 0.2,
  }
  if (!(resolved.maxRestarts >= 0) || !(resolved.windowMs > 0) || !(resolved.backoffMinMs >= 0) || !(resolved.backoffMaxMs >= resolved.backoffMinMs) || !(resolved.backoffFactor >= 1) || !(resolved.backoffJitter >= 0 && resolved.backoffJitter < 1)) {
    throw new InvalidArgumentError(`invalid supervision options: ${JSON.stringify(resolved)}`)
  }
  return resolved
}

/** The delay before the `attempt`-th restart (1-based) within the window. */
export function restartDelayMs(s: Supervision, attempt: number, random: Random): number {
  const base = Math.min(s.backoffMaxMs, s.backoffMinMs * s.backoffFactor ** Math.max(0, attempt - 1))
  const spread = base * s.backoffJitter * (2 * random.next() - 1)
  return Math.max(0, Math.round(base + spread))
}
