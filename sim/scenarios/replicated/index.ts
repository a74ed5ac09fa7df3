/**
 * The `replicated` scenario: the `jobs` scenario (whole nodes, the real scheduler, executor and
 * job client, every node submitting) with the job log replicated among the nodes
 * (src/replication) instead of the simulated shared service: each node keeps its copy on its own
 * simulated disk, which crashes, power losses (unsynced writes lost or torn), broken and full disks
 * damage, and only a majority's durable copies make an entry committed. On request, on top of the
 * run's fault schedule, it kills whichever node leads every few seconds (half of the time as a power
 * loss) and restarts it, so that every run hands the log from leader to leader. Also on request,
 * every node's event loop lags (`lag`): it stalls again and again for hundreds of ms, as on a host
 * at a load average of 30 (issue 9's election livelock), and the summary counts leader changes,
 * and how often schedulers replayed the log and paused through a lapse of their lease (all
 * incarnations of every node).
 *
 * Online checks, after every event:
 * - one-leader-per-epoch: no two nodes replicate as leader of the same epoch;
 * - committed-entries-are-stable: whenever a leader's commit index passes entries, those entries
 *   are held identically (index, epoch, payload) by a majority of its voters' durable copies, and an
 *   index once committed never holds another entry later;
 * - leaders-hold-committed-entries: a node that starts leading an epoch has a log at least as long
 *   as the committed prefix, and its durable copy agrees with every committed entry it holds.
 * - committed-history-is-on-a-majority (at the end): every committed entry is held by a majority of
 *   the newest configuration's voters (a compacted copy holds what it compacted).
 * History checks (the `jobs` ones, over the committed history): every acknowledged job's submission
 * is committed, each job's first recorded result is the only one anyone saw, nothing ran unsubmitted.
 */
import type { AssembledNode } from '../../../src/node/assemble.js'
import type { LogRecord } from '../../../src/storage/types.js'
import type { Scenario } from '../../run.js'
import type { World } from '../../world.js'
import { jobsScenario } from '../jobs/index.js'
import { decodeJobRecord, maybeSnapshotRecord } from '../../../protocols/jobs/codec.js'

/** Options of the replicated scenario. */
export interface ReplicatedScenarioInit {
  /** Time between submissions of one node. */
  submitEveryMs?: number
  /** Longest run of one job (the jobs scenario's default when absent): longer runs keep more jobs unfinished in every snapshot. */
  jobMaxMs?: number
  /**
   * Mean time between kills of whichever node leads (half of them power losses), on top of the
   * run's fault schedule, so that every run changes leaders; 0 (the default) for none. Liveness
   * runs must stop them before the final heal with `killUntilMs`.
   */
  killLeaderEveryMs?: number
  /** No kills from this time on (before a liveness run's final heal, say). */
  killUntilMs?: number
  /**
   * Pauses the leader (as SIGSTOP would, for 1.5-3 s: past its lease) the moment a follower holds
   * only the first parts of a snapshot of several parts, up to this many times before
   * `killUntilMs`; 0 (the default) for never. With `splitBytes` this hands the next leader a log
   * ending in an incomplete snapshot, which a random kill rarely does (issue 9's stall).
   */
  pauseMidSnapshot?: number
  /** No new submissions from this time on (default: to the run's quiet end), so that a liveness run with long jobs has a quiet moment to converge in. */
  submitUntilMs?: number
  /**
   * How many nodes (the last ones) start late, with empty logs, at random times within
   * `lateStartWithinMs`: they join a cluster with committed entries and are admitted and promoted
   * while leaders change, which is where a voter admitted before its log caught up would lose a
   * committed entry. 0 (the default) for none.
   */
  lateNodes?: number
  /** The window the late nodes start in (default 10 s). */
  lateStartWithinMs?: number
  /** Finished jobs the leader keeps (the jobs scenario's default when absent). */
  retainJobs?: number
  /**
   * Snapshot parts and replication batches of this many bytes (production sizes when absent):
   * small ones make a snapshot several records sent to the followers in several batches, so a
   * leader killed mid-way leaves only its first parts committed, as with a leader's multi-MB
   * snapshot under load (issue 9's stall).
   */
  splitBytes?: number
  /**
   * Event-loop lag on every node from `fromMs` to `untilMs`: the node runs for a random time in
   * `runMs`, then stalls for one in `pauseMs` (its events wait, as a busy process's would), and so
   * on. None when absent.
   */
  lag?: { fromMs: number; untilMs: number; runMs: readonly [number, number]; pauseMs: readonly [number, number] }
}

interface Committed {
  readonly epoch: number
  readonly offset: number
  readonly payloads: readonly Uint8Array[]
}

/** The identity of an entry's content: epoch, offset and records. */
function entryKey(e: Committed): string {
  return `${e.epoch}/${e.offset}/${e.payloads.map((p) => Buffer.from(p).toString('base64')).join(',')}`
}

export function replicatedScenario(init: ReplicatedScenarioInit = {}): Scenario<AssembledNode> {
  /** The committed log as leaders announced it, index by index from 0. */
  const committed: Committed[] = []
  const leaders = new Map<number, string>()
  const checkedLeaders = new Set<string>()
  /** Every incarnation's scheduler counts. */
  const schedulerStats: Array<AssembledNode['schedulerStats']> = []
  const history = (): LogRecord[] => committed.flatMap((c) => c.payloads.flatMap((payload, i) => (payload.length === 0 ? [] : [{ offset: c.offset + i, epoch: c.epoch, payload }])))
  const base = jobsScenario({
    submitEveryMs: init.submitEveryMs ?? 200,
    ...(init.jobMaxMs === undefined ? {} : { jobMaxMs: init.jobMaxMs }),
    jobLog: { kind: 'replicated', records: history },
    ...(init.retainJobs === undefined ? {} : { retainJobs: init.retainJobs }),
    ...(init.splitBytes === undefined ? {} : { snapshotPartBytes: init.splitBytes, replicationBatchMaxBytes: init.splitBytes }),
  })

  /**
   * The entry at `index` held identically by a majority of `voters`' durable copies, if any. With
   * `compacted`, a copy compacted beyond `index` counts as holding `expected` (a node compacts only
   * below its commit end, into a snapshot entry that keeps what the entries said).
   */
  const majorityEntry = (world: World<AssembledNode>, voters: readonly string[], index: number, compacted?: Committed): Committed | undefined => {
    const counts = new Map<string, { entry: Committed; n: number }>()
    for (const node of world.nodes.filter((n) => voters.includes(n.id))) {
      const image = node.disk.replica.image()
      const e = compacted !== undefined && index < image.start ? compacted : image.entries[index - image.start]
      if (e === undefined) continue
      const key = entryKey(e)
      const c = counts.get(key) ?? { entry: { epoch: e.epoch, offset: e.offset, payloads: e.payloads }, n: 0 }
      c.n++
      counts.set(key, c)
    }
    for (const { entry, n } of counts.values()) if (n > voters.length / 2) return entry
    return undefined
  }

  const killEveryMs = init.killLeaderEveryMs ?? 0
  /** Leaders paused while a follower held part of a snapshot. */
  let midSnapshotPauses = 0
  const killUntilMs = init.killUntilMs ?? Infinity

  /** Kills the leader now and then and restarts it a little later; stops before the quiet end. */
  const killLeaders = (world: World<AssembledNode>, endMs: number): void => {
    const random = world.workload.fork('leader-kills')
    const next = (): void => {
      const atMs = world.nowMs + killEveryMs * (0.5 + random.next())
      if (atMs >= Math.min(endMs, killUntilMs)) return
      world.at(atMs, () => {
        const leader = world.nodes.find((n) => n.app?.cluster.leaderEpoch() !== undefined && n.owner.status === 'up')
        if (leader !== undefined) {
          const powerLoss = random.next() < 0.5
          world.log('nemesis', `killing the leader ${leader.id}${powerLoss ? ' (power loss)' : ''}`)
          if (powerLoss) leader.disk.replica.powerLoss()
          world.crash(leader)
          world.at(Math.min(endMs, world.nowMs + 1000 + random.next() * 4000), () => world.start(leader))
        }
        next()
      })
    }
    next()
  }

  /** Stalls every node's event loop again and again while `init.lag` lasts. */
  const lagNodes = (world: World<AssembledNode>): void => {
    const lag = init.lag
    if (lag === undefined) return
    const random = world.workload.fork('lag')
    const between = ([min, max]: readonly [number, number]): number => Math.round(min + random.next() * (max - min))
    for (const node of world.nodes) {
      const stall = (): void => {
        const forMs = Math.min(between(lag.pauseMs), lag.untilMs - world.nowMs)
        if (forMs <= 0) return
        world.pause(node, forMs)
        world.at(world.nowMs + forMs + between(lag.runMs), stall)
      }
      world.at(lag.fromMs + between(lag.runMs), stall)
    }
  }

  /**
   * Watches the followers' durable copies every millisecond and pauses the leader once one ends
   * inside a snapshot of several parts (each snapshot at most once).
   */
  const pauseMidSnapshot = (world: World<AssembledNode>, endMs: number): void => {
    let left = init.pauseMidSnapshot ?? 0
    if (left <= 0) return
    const random = world.workload.fork('mid-snapshot')
    const tried = new Set<string>()
    midSnapshotPauses = 0
    const poll = (): void => {
      if (left <= 0 || world.nowMs >= Math.min(endMs, killUntilMs)) return
      world.at(world.nowMs + 1, poll)
      const leader = world.nodes.find((n) => n.app?.cluster.leaderEpoch() !== undefined && n.owner.status === 'up')
      if (leader === undefined) return
      for (const node of world.nodes) {
        if (node === leader) continue
        const entries = node.disk.replica.image().entries
        // An entry holds one append, or a piece of a large one: its last record is where the copy ends.
        const last = entries[entries.length - 1]?.payloads.at(-1)
        if (last === undefined || last.length === 0 || !maybeSnapshotRecord(last)) continue
        const record = decodeJobRecord(last)
        if (record.kind !== 'snapshot' || record.part >= record.parts - 1 || tried.has(record.id)) continue
        tried.add(record.id)
        left--
        midSnapshotPauses++
        world.log('nemesis', `pausing the leader ${leader.id}: ${node.id} holds part ${record.part} of ${record.parts} of snapshot ${record.id}`)
        world.pause(leader, 1500 + Math.round(random.next() * 1500))
        return
      }
    }
    world.at(1000, poll)
  }

  /** Holds the last `lateNodes` nodes down from the start and starts each at a random time. */
  const startLate = (world: World<AssembledNode>): void => {
    const random = world.workload.fork('late-nodes')
    for (const node of world.nodes.slice(world.nodes.length - (init.lateNodes ?? 0))) {
      const atMs = 1000 + random.next() * ((init.lateStartWithinMs ?? 10_000) - 1000)
      world.at(0, () => world.crash(node))
      world.at(atMs, () => {
        world.log('nemesis', `starting the late node ${node.id}`)
        world.start(node)
      })
    }
  }

  return {
    ...base,
    name: 'replicated',
    boot(ctx, world) {
      const app = base.boot(ctx, world)
      schedulerStats.push(app.schedulerStats)
      return app
    },
    workload(world, endMs) {
      base.workload?.(world, Math.min(endMs, init.submitUntilMs ?? Infinity))
      if (killEveryMs > 0) killLeaders(world, endMs)
      pauseMidSnapshot(world, endMs)
      startLate(world)
      lagNodes(world)
    },
    invariants: [
      {
        name: 'one-leader-per-epoch',
        check(world) {
          for (const node of world.nodes) {
            const epoch = node.app?.replication?.status()?.leaderEpoch
            if (epoch === undefined) continue
            const other = leaders.get(epoch)
            if (other !== undefined && other !== node.id) return `${node.id} and ${other} both lead epoch ${epoch}`
            leaders.set(epoch, node.id)
          }
          return undefined
        },
      },
      {
        name: 'committed-entries-are-stable',
        check(world) {
          for (const node of world.nodes) {
            const s = node.app?.replication?.status()
            if (s === undefined || s.leaderEpoch === undefined) continue
            // Entries below the recorded prefix were checked when they were recorded.
            for (let index = committed.length; index < s.commitEnd; index++) {
              const voters = node.app?.cluster.view()?.config?.members ?? []
              const entry = majorityEntry(world, voters, index)
              if (entry === undefined) return `${node.id} (epoch ${s.leaderEpoch}) committed index ${index}, which no majority of ${voters.join(',')} holds durably`
              committed.push(entry)
            }
          }
          return undefined
        },
      },
      {
        name: 'leaders-hold-committed-entries',
        check(world) {
          for (const node of world.nodes) {
            const s = node.app?.replication?.status()
            if (s === undefined || s.leaderEpoch === undefined) continue
            const key = `${node.id}/${node.owner.incarnation}/${s.leaderEpoch}`
            if (checkedLeaders.has(key)) continue
            checkedLeaders.add(key)
            if (s.position.index < committed.length)
              return `${node.id} leads epoch ${s.leaderEpoch} with a log ending at ${s.position.index}, below the ${committed.length} committed entries`
            const image = node.disk.replica.image()
            const upTo = Math.min(committed.length, image.start + image.entries.length)
            for (let index = image.start; index < upTo; index++) {
              const e = image.entries[index - image.start]!
              const c = committed[index]!
              if (entryKey(e) !== entryKey(c))
                return `${node.id} leads epoch ${s.leaderEpoch} but its entry ${index} (epoch ${e.epoch}) differs from the committed one (epoch ${c.epoch})`
            }
          }
          return undefined
        },
      },
    ],
    final: [
      ...base.final,
      {
        name: 'committed-history-is-on-a-majority',
        check(world) {
          // The voters of the newest configuration any live node holds (workers need not hold the log).
          const configs = world.nodes.flatMap((n) => n.app?.cluster.view()?.config ?? [])
          configs.sort((a, b) => b.epoch - a.epoch || b.counter - a.counter)
          const voters = configs[0]?.members ?? world.nodeIds
          for (let index = 0; index < committed.length; index++) {
            const c = committed[index]!
            const e = majorityEntry(world, voters, index, c)
            if (e === undefined || entryKey(e) !== entryKey(c))
              return `committed entry ${index} (epoch ${c.epoch}) is no longer held by a majority of the voters ${voters.join(',')}`
          }
          return undefined
        },
      },
    ],
    summary(world) {
      const epochs = leaders.size
      const late = world.nodes.slice(world.nodes.length - (init.lateNodes ?? 0)).map((n) => n.id)
      const config = world.nodes.map((n) => n.app?.cluster.view()?.config).find((c) => c !== null && c !== undefined)
      const lateVoters = late.filter((id) => config?.members.includes(id) === true).length
      const sum = (key: 'replays' | 'pauses' | 'resumes'): number => schedulerStats.reduce((n, s) => n + s[key], 0)
      const schedulers = `scheduler-replays=${sum('replays')} scheduler-pauses=${sum('pauses')} scheduler-resumes=${sum('resumes')}`
      const pauses = (init.pauseMidSnapshot ?? 0) > 0 ? ` mid-snapshot-pauses=${midSnapshotPauses}` : ''
      return `${base.summary?.(world) ?? ''} committed=${committed.length} committed-records=${history().length} leader-epochs=${epochs} ${schedulers}${late.length > 0 ? ` late-voters=${lateVoters}` : ''}${pauses}`
    },
  }
}
