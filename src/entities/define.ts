import { assertValidName } from '../actor/address.js'
import type { Message } from '../actor/types.js'
import { InvalidArgumentError, showValue } from '../errors.js'
import type { EntityDef, EntitySpec } from './types.js'

/** Default idle time before an activation is passivated. */
export const PASSIVATE_AFTER_MS = 120_000

/**
 * Declares an entity type: a virtual actor per key, activated by the cluster on first message.
 * Register the definition on every peer (export it from the `--actors` module, next to job types).
 *
 * @example
 * ```ts
 * type Account = { type: 'deposit'; amount: number } | Ask<{ type: 'balance' }, number>
 * export const account = defineEntity<Account, number>('account', {
 *   persistent: true,
 *   async setup(ctx) {
 *     let balance = (await ctx.state.load()) ?? 0
 *     return {
 *       deposit: async (msg) => { balance += msg.amount; await ctx.state.save(balance) },
 *       balance: () => balance,
 *     }
 *   },
 * })
 * ```
 */
export function defineEntity<M extends Message, S = unknown>(type: string, spec: EntitySpec<M, S>): EntityDef<M, S> {
  try {
    assertValidName(type)
  } catch {
    throw new InvalidArgumentError(`invalid entity type ${showValue(type)}: use 1-128 of [A-Za-z0-9_.:@-], not starting with . : @ or -`)
  }
  const idle = spec.passivateAfterMs ?? PASSIVATE_AFTER_MS
  if (!(idle > 0) || !Number.isFinite(idle)) throw new InvalidArgumentError(`passivateAfterMs must be a positive number, got ${String(idle)}`)
  return { kind: 'entity', type, spec }
}

/** True for a value built by defineEntity. */
export function isEntityDef(value: unknown): value is EntityDef {
  const v = value as Partial<EntityDef> | null
  return typeof v === 'object' && v !== null && v.kind === 'entity' && typeof v.type === 'string' && typeof v.spec?.setup === 'function'
}
