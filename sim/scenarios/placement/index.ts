/**
 * The `placement` scenario (S8 of the placement study, in whole nodes): the `jobs` scenario with the
 * `eect` placement, whose accounting and predictions live only in the leader's memory, under the
 * jobs scenario's faults (crashes, partitions, a lost leader: failovers mid-run), and with the
 * cluster's alerts read on every node once a second as GET /alerts does (ClusterAlerts: the leader
 * answers from its own analytics, any other node asks the leader). The alerts are made sensitive
 * (short warm-up, low saturation threshold) so that they fire in a small world.
 *
 * Checks (end), besides every check of `jobs` (no job lost or run with two visible results across
 * the failovers): every alerts document a node served names only nodes of the world, holds each
 * alert key once, and lists its transitions in time order; and at least one node that did not lead
 * served a non-empty list asked of the leader, so the check is not trivially about empty lists.
 */
import { ClusterAlerts, type AlertsDocument } from '../../../src/node/cluster-alerts.js'
import type { AssembledNode } from '../../../src/node/assemble.js'
import type { Scenario } from '../../run.js'
import { jobsScenario } from '../jobs/index.js'

/** How often every node reads the cluster's alerts. */
const READ_EVERY_MS = 1000

export function placementScenario(): Scenario<AssembledNode> {
  const jobs = jobsScenario({ placement: 'eect', analytics: { alerts: { warmup: 3, confirm: 1, saturation: 0.05, demand: 0.01, instability: 0.01 } } })
  const served: Array<{ node: string; doc: AlertsDocument }> = []
  return {
    ...jobs,
    name: 'placement',
    boot(ctx, world) {
      const node = jobs.boot(ctx, world)
      const alerts = new ClusterAlerts({
        analytics: node.analytics,
        timers: ctx.env.timers,
        leader: () => node.cluster.view()?.leader?.nodeId ?? null,
        leading: () => node.cluster.view()?.leading ?? false,
        ask: (history, signal) => node.jobs.forecast(1, { history, signal }),
      })
      const read = (): void => {
        ctx.env.timers.schedule(READ_EVERY_MS, read)
        alerts.snapshot(new AbortController().signal).then(
          (doc) => served.push({ node: ctx.id, doc }),
          () => {},
        )
      }
      ctx.env.timers.schedule(READ_EVERY_MS, read)
      return node
    },
    final: [
      ...jobs.final,
      {
        name: 'alerts-name-members-once-in-order',
        check(world) {
          const ids = new Set(world.nodeIds)
          for (const { node, doc } of served) {
            const keys = new Set<string>()
            for (const a of doc.alerts) {
              if (a.node !== null && !ids.has(a.node)) return `${node} served an alert for ${a.node}, not a node of the world`
              if (keys.has(a.key)) return `${node} served alert ${a.key} twice in one document`
              keys.add(a.key)
            }
            for (let i = 1; i < doc.history.length; i++)
              if (doc.history[i]!.at < doc.history[i - 1]!.at) return `${node} served transitions out of order: ${doc.history[i - 1]!.at} then ${doc.history[i]!.at}`
          }
          return served.some((s) => s.doc.source === 'leader' && s.doc.alerts.length > 0) ? undefined : "no follower ever served the leader's alerts"
        },
      },
    ],
    summary(world) {
      const fromLeader = served.filter((s) => s.doc.source === 'leader').length
      return `${jobs.summary?.(world) ?? ''} alerts: documents=${served.length} asked-of-leader=${fromLeader}`
    },
  }
}
