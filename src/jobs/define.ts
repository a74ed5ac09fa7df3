import { InvalidArgumentError } from '../errors.js'
import type { JobContext, JobDef, JobResources } from './types.js'

/** Default concurrency of a job type per peer. */
export const JOB_CONCURRENCY = 16

const TYPE = /^[A-Za-z0-9_.:-]{1,128}$/

/**
 * Declares a job type. The same definition is registered on every peer; the cluster runs each
 * submission of `type` through `run` on whichever peer it places it.
 *
 * @example
 * ```ts
 * export const resize = defineJob('resize', async (input: { url: string }, ctx) => {
 *   ctx.progress(0.5)
 *   return { width: 640 }
 * })
 * // Each render holds 4 of the 8 slots: at most 2 run at once on a peer.
 * export const render = defineJob('render', renderScene, { concurrency: 8, resources: { slots: 4 } })
 * ```
 */
export function defineJob<I, O>(
  type: string,
  run: (input: I, ctx: JobContext) => O | Promise<O>,
  options: { concurrency?: number; validate?: (input: unknown) => I; resources?: JobResources } = {},
): JobDef<I, O> {
  if (!TYPE.test(type)) throw new InvalidArgumentError(`invalid job type ${JSON.stringify(type)}: use 1-128 of [A-Za-z0-9_.:-]`)
  const concurrency = options.concurrency ?? JOB_CONCURRENCY
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new InvalidArgumentError(`concurrency must be a positive integer, got ${concurrency}`)
  const resources = options.resources === undefined ? undefined : checkResources(options.resources, concurrency)
  return { type, run, concurrency, ...(options.validate === undefined ? {} : { validate: options.validate }), ...(resources === undefined ? {} : { resources }) }
}

/** A declaration of what one job takes: only `slots` is known, a positive integer that the type's concurrency can hold (a larger one could never run). */
function checkResources(resources: JobResources, concurrency: number): JobResources {
  if (typeof resources !== 'object' || resources === null) throw new InvalidArgumentError('resources must be an object like { slots: 2 }')
  const unknown = Object.keys(resources).filter((k) => k !== 'slots')
  if (unknown.length > 0) throw new InvalidArgumentError(`unknown job resource ${JSON.stringify(unknown[0])}: only slots is supported`)
  const { slots } = resources
  if (!Number.isInteger(slots) || slots < 1) throw new InvalidArgumentError(`resources.slots must be a positive integer, got ${String(slots)}`)
  if (slots > concurrency) throw new InvalidArgumentError(`resources.slots (${slots}) exceeds the concurrency (${concurrency}): the job could never run`)
  return { slots }
}
