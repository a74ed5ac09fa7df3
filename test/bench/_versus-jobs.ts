/**
 * The versus bench's CPU-bound job for DistributeX peers (`distributex start --actors` this file):
 * `spin` busy-waits CPU_MS of wall time, the same work the BullMQ worker does for its `cpu` jobs.
 * The no-op and timer jobs are the built-in `noop` and `sleep`.
 */
import { defineJob } from '../../src/jobs/define.js'
import { CPU_MS, spin as busy } from './_versus-load.js'

export const spin = defineJob('spin', () => busy(CPU_MS), { concurrency: 64 })
