/** The placement policies by name, as `--placement` and `startNode` select them. */
import type { Random } from '../../env/types.js'
import { InvalidArgumentError } from '../../errors.js'
import { LeastLoadedPlacement, LOCAL_PREFERENCE, OVERCOMMIT, type Placement, type PlacementModel } from '../placement.js'
import {
  EectPlacement,
  GossipAccountedPlacement,
  GossipLeastLoadedPlacement,
  PowerOfTwoPlacement,
  RandomPlacement,
  RoundRobinPlacement,
  WeightedRoundRobinPlacement,
} from './policies.js'

export const PLACEMENT_NAMES = ['wlc', 'eect', 'eect-pull', 'p2c', 'least-loaded', 'wlc-gossip', 'weighted-round-robin', 'round-robin', 'random'] as const
export type PlacementName = (typeof PLACEMENT_NAMES)[number]

/** The policy a cluster uses when none is named (the simulator's winner; see README "Placement"). */
export const DEFAULT_PLACEMENT: PlacementName = 'eect'

/** What a policy may use besides the candidates. */
export interface PlacementDeps {
  readonly random: Random
  readonly model: PlacementModel
  /** Attempts per unit of capacity a peer may hold (default OVERCOMMIT; Infinity: pure push). */
  readonly overcommit?: number
  /** For wlc and eect: how much emptier the leader's own node looks (default LOCAL_PREFERENCE; the simulator passes 0). */
  readonly localPreference?: number
}

export function isPlacementName(name: string): name is PlacementName {
  return (PLACEMENT_NAMES as readonly string[]).includes(name)
}

/** Builds a policy by name; throws InvalidArgumentError for an unknown one. */
export function createPlacement(name: string, deps: PlacementDeps): Placement {
  const overcommit = deps.overcommit ?? OVERCOMMIT
  switch (name) {
    case 'wlc':
      return new LeastLoadedPlacement(deps.model, overcommit, deps.localPreference)
    case 'eect':
      return new EectPlacement(deps.model, deps.random, { overcommit, localPreference: deps.localPreference ?? LOCAL_PREFERENCE })
    case 'eect-pull':
      return new EectPlacement(deps.model, deps.random, { overcommit, pull: true })
    case 'p2c':
      return new PowerOfTwoPlacement(deps.model, deps.random, overcommit)
    case 'least-loaded':
      return new GossipLeastLoadedPlacement(overcommit)
    case 'wlc-gossip':
      return new GossipAccountedPlacement(deps.model, overcommit)
    case 'weighted-round-robin':
      return new WeightedRoundRobinPlacement(deps.model, overcommit)
    case 'round-robin':
      return new RoundRobinPlacement(overcommit)
    case 'random':
      return new RandomPlacement(deps.random, overcommit)
    default:
      throw new InvalidArgumentError(`unknown placement ${JSON.stringify(name)}; one of ${PLACEMENT_NAMES.join(', ')}`)
  }
}
