import { InvalidArgumentError } from '../errors.js'
import type { JobContext, JobDef } from './types.js'

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
 * ```
 */
export function defineJob<I, O>(
  type: string,
  run: (input: I, ctx: JobContext) => O | Promise<O>,
  options: { concurrency?: number; validate?: (input: unknown) => I } = {},
): JobDef<I, O> {
  if (!TYPE.test(type)) throw new InvalidArgumentError(`invalid job type ${JSON.stringify(type)}: use 1-128 of [A-Za-z0-9_.:-]`)
  const concurrency = options.concurrency ?? JOB_CONCURRENCY
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new InvalidArgumentError(`concurrency must be a positive integer, got ${concurrency}`)
  return { type, run, concurrency, ...(options.validate === undefined ? {} : { validate: options.validate }) }
}
