/**
 * A leader-only duty for the cluster scenario: on gaining leadership it fences the job log with its
 * epoch, then appends a tick record every interval while (and only while) its lease holds. The
 * appends are the "leader-only effects" whose acceptance the checkers examine.
 */
import { defineActor } from '../../../src/actor/define.js'
import type { ClusterHandle } from '../../../src/cluster/handle.js'
import type { JobLogFactory } from '../../../src/storage/types.js'

type DutyMsg = { type: 'tick' }

export interface DutyInit {
  epoch: number
  jobLog: JobLogFactory
  handle: ClusterHandle
  intervalMs: number
}

export function leaderDuty(init: DutyInit) {
  return defineActor<DutyMsg>({
    // Ticks come from its own timer only.
    remote: { tick: 'never' },
    supervision: { decide: () => 'stop' },
    async setup(ctx) {
      const jobLog = await init.jobLog.open({ signal: ctx.signal })
      ctx.onStop(() => jobLog.close())
      await jobLog.fence(init.epoch, { signal: ctx.signal })
      ctx.timers.every('tick', init.intervalMs, { type: 'tick' })
      const payload = new TextEncoder().encode(ctx.self.address.node)
      return {
        async tick() {
          if (init.handle.leaderEpoch() !== init.epoch) return
          await jobLog.append(init.epoch, [payload], { signal: ctx.signal })
        },
      }
    },
  })
}
