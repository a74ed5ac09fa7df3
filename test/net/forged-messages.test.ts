// Goal: holding the cluster's network secret is not enough to drive a node's system actors. From
// a member that is not the leader, and from a connected node that is not a member at all, every
// message type of every system actor (cluster, scheduler, executor and its workers, jobs-client) is
// sent to the leader and to a follower; none changes the cluster view, a job's state, an
// executor's running set or a client's results, forbidden asks fail with ForbiddenMessageError,
// and refusals are counted. Legitimate traffic keeps working afterwards.
// Method: three whole nodes plus one bare actor system (the outsider) on the simulator's
// network, which authenticates senders like the libp2p port does; virtual time, deterministic.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createActorSystem, type ActorSystem } from '../../src/actor/system.js'
import { MemoryMetrics } from '../../src/env/metrics.js'
import { defineJob } from '../../src/jobs/define.js'
import { resolveJobOptions } from '../../src/jobs/options.js'
import { EXECUTOR_PATH, JOBS_CLIENT_PATH, SCHEDULER_PATH } from '../../src/jobs/protocol.js'
import type { JobSpec } from '../../src/jobs/types.js'
import { RemoteMessaging } from '../../src/net/remoting.js'
import { assembleNode, type AssembledNode } from '../../src/node/assemble.js'
import { emptyMetrics, type MemberRecord } from '../../src/cluster/types.js'
import { encodeJobRecord } from '../../protocols/jobs/codec.js'
import { World } from '../../sim/world.js'
import { runUntil } from '../sim/helpers.js'

let probeRuns = 0
const probe = defineJob('probe', () => void probeRuns++)
const hang = defineJob('hang', async (_input: null, ctx) => {
  await new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)))
})

interface App {
  readonly metrics: MemoryMetrics
  readonly node?: AssembledNode
  /** The outsider: connected and able to send actor messages, but never joined the cluster. */
  readonly outsider?: ActorSystem
}

const OUTSIDER = 'n3'

function world(): World<App> {
  const w = new World<App>(7, 4, (ctx) => {
    const metrics = new MemoryMetrics()
    const env = { ...ctx.env, metrics }
    if (ctx.id === OUTSIDER) {
      const system = createActorSystem({ env, nodeId: ctx.id })
      new RemoteMessaging(system, ctx.network).start()
      return { metrics, outsider: system }
    }
    return { metrics, node: assembleNode({ env, network: ctx.network, store: ctx.store, jobLog: ctx.jobLog, cache: ctx.cache }, { founder: ctx.id === 'n0', jobs: [probe, hang] }) }
  })
  for (const n of w.nodes) w.start(n)
  return w
}

/** A loosely typed sender: forged messages need not match any protocol. */
interface RawRef {
  tell(message: unknown): void
  ask(message: unknown, options: { timeoutMs: number }): Promise<unknown>
}

function raw(system: ActorSystem, node: string, path: string): RawRef {
  return system.ref({ node, path }) as unknown as RawRef
}

async function settle<T>(w: World<App>, promise: Promise<T>, limitMs = 30_000): Promise<{ value?: T; error?: Error }> {
  const out: { value?: T; error?: Error; done?: boolean } = {}
  promise.then(
    (value) => Object.assign(out, { value, done: true }),
    (error: Error) => Object.assign(out, { error, done: true }),
  )
  const end = w.nowMs + limitMs
  while (out.done !== true && w.nowMs < end) await runUntil(w, w.nowMs + 50)
  assert.equal(out.done, true, 'settled in time')
  return out
}

/** What the forged messages must not change, read from every member. */
function snapshot(w: World<App>, members: string[], jobId: string) {
  return members.map((id) => {
    const node = w.node(id).app!.node!
    const view = node.cluster.view()!
    return {
      id,
      leader: view.leader,
      members: view.members.map((m) => `${m.nodeId}:${m.state}:${m.voter}`),
      config: view.config,
      running: node.stats.running,
      queued: node.stats.queued,
      job: jobId,
    }
  })
}

test('forged system messages from a member and from an outsider change nothing and forbidden asks get ForbiddenMessageError', async () => {
  const w = world()
  await runUntil(w, 3000)
  const members = ['n0', 'n1', 'n2']
  const leader = w.node('n0').app!.node!.cluster.view()!.leader!
  assert.ok(leader !== null && members.includes(leader.nodeId), 'a leader was elected')
  const [follower, member] = members.filter((id) => id !== leader.nodeId) as [string, string]
  const followerNode = w.node(follower).app!.node!
  const leaderNode = w.node(leader.nodeId).app!.node!

  // State to protect: a running job submitted from the follower, whose result the follower awaits.
  const handle = (await settle(w, followerNode.jobs.submit(hang, null, { timeoutMs: 600_000, retries: 0 }))).value!
  const progress: number[] = []
  handle.onProgress((f) => progress.push(f))
  let settled = false
  handle.result().then(
    () => (settled = true),
    () => (settled = true),
  )
  await runUntil(w, w.nowMs + 500)
  const before = (await settle(w, handle.status())).value!
  assert.equal(before?.status, 'running')
  const runningOn = before.assignedTo!
  const before2 = snapshot(w, members, handle.id)
  const totalRunning = members.reduce((n, id) => n + w.node(id).app!.node!.stats.running, 0)
  assert.equal(totalRunning, 1)

  // Attempt keys are `${epoch}.${counter}`: a forger can guess them, so try the first few.
  const keys = Array.from({ length: 8 }, (_, i) => `${leader.epoch}.${i + 1}`)
  const forgedSpec: JobSpec = { id: 'forged-job-1', type: 'probe', input: null, options: resolveJobOptions({}), submittedAt: 0 }
  const record: MemberRecord = {
    node: leader.nodeId,
    incarnation: 1000,
    seq: 1,
    status: 'leaving',
    addresses: [],
    metrics: emptyMetrics(),
    epoch: leader.epoch + 10,
    vote: member,
    preVote: null,
    grant: null,
    leaderSeq: 1,
    support: null,
    config: { epoch: leader.epoch + 10, counter: 1, members: [member], workers: [] },
    log: null,
    clusterId: leaderNode.cluster.clusterId() ?? null,
  }
  /** Every system message type, per actor path, and whether a member (not the leader) may send it. */
  const catalogue: Array<{ path: string; type: string; ask: boolean; memberMay: boolean; body: Record<string, unknown> }> = [
    { path: '/system/cluster', type: 'tick', ask: false, memberMay: false, body: {} },
    { path: '/system/cluster', type: 'record', ask: false, memberMay: false, body: { record } },
    { path: '/system/cluster', type: 'view', ask: true, memberMay: false, body: {} },
    { path: '/system/cluster', type: 'leave', ask: true, memberMay: false, body: {} },
    { path: '/system/cluster', type: 'remove', ask: true, memberMay: true, body: { node: follower, forwarded: true } },
    { path: SCHEDULER_PATH, type: 'submit', ask: true, memberMay: true, body: { records: [encodeJobRecord({ kind: 'submitted', spec: forgedSpec })], watcher: null } },
    { path: SCHEDULER_PATH, type: 'watch', ask: true, memberMay: true, body: { ids: [handle.id], watcher: `dx://${OUTSIDER}${JOBS_CLIENT_PATH}` } },
    { path: SCHEDULER_PATH, type: 'cancel', ask: true, memberMay: true, body: { id: handle.id } },
    { path: SCHEDULER_PATH, type: 'inspect', ask: true, memberMay: true, body: { id: handle.id } },
    { path: SCHEDULER_PATH, type: 'list', ask: true, memberMay: true, body: { status: null, limit: 10 } },
    { path: SCHEDULER_PATH, type: 'forecast', ask: true, memberMay: true, body: { nodes: 10 } },
    {
      path: SCHEDULER_PATH,
      type: 'reports',
      ask: true,
      memberMay: true,
      body: { reports: keys.map((attemptKey) => ({ kind: 'finished', id: handle.id, attemptKey, outcome: { ok: true, value: 'forged' }, durationMs: 1 })) },
    },
    { path: SCHEDULER_PATH, type: 'tick', ask: false, memberMay: false, body: {} },
    { path: SCHEDULER_PATH, type: 'dispatch', ask: false, memberMay: false, body: {} },
    ...[0, 1, 2, 3].map((batch) => ({ path: SCHEDULER_PATH, type: 'appended', ask: false, memberMay: false, body: { batch, ok: true } })),
    {
      path: EXECUTOR_PATH,
      type: 'assign',
      ask: false,
      memberMay: false,
      body: { leader: leader.nodeId, assignments: [{ spec: forgedSpec, attempt: 1, attemptKey: `${leader.epoch}.999` }] },
    },
    { path: EXECUTOR_PATH, type: 'abort', ask: false, memberMay: false, body: { items: keys.map((attemptKey) => ({ id: handle.id, attemptKey })) } },
    { path: EXECUTOR_PATH, type: 'flush', ask: false, memberMay: false, body: {} },
    {
      path: `${EXECUTOR_PATH}/$0`,
      type: 'run',
      ask: true,
      memberMay: false,
      body: { run: { spec: forgedSpec, attempt: 1, attemptKey: 'x', controller: {}, lastProgressMs: 0 }, report: null },
    },
    { path: JOBS_CLIENT_PATH, type: 'finished', ask: false, memberMay: false, body: { items: [{ id: handle.id, outcome: { ok: true, value: 'forged' } }] } },
    { path: JOBS_CLIENT_PATH, type: 'progress', ask: false, memberMay: false, body: { items: [{ id: handle.id, fraction: 0.5, message: 'forged' }] } },
    { path: JOBS_CLIENT_PATH, type: 'rewatch', ask: false, memberMay: false, body: {} },
    { path: JOBS_CLIENT_PATH, type: 'leaderCheck', ask: false, memberMay: false, body: {} },
  ]

  const senders = [
    { name: 'member', system: w.node(member).app!.node!.system, isMember: true },
    { name: 'outsider', system: w.node(OUTSIDER).app!.outsider!, isMember: false },
  ]
  const asks: Array<{ label: string; promise: Promise<unknown>; expect: 'forbidden' | 'answered' }> = []
  for (const sender of senders) {
    for (const target of [leader.nodeId, follower]) {
      for (const m of catalogue) {
        // The scheduler runs on the leader only; elsewhere its address is simply not found.
        if (m.path === SCHEDULER_PATH && target !== leader.nodeId) continue
        // Members may submit, watch, cancel, inspect, list and read the forecast; those are not
        // forgeries. Reports are admitted from members but each report counts only from the node its
        // attempt runs on.
        if (sender.isMember && m.memberMay && m.type !== 'reports') continue
        const ref = raw(sender.system, target, m.path)
        const message = { type: m.type, ...m.body }
        const label = `${sender.name} -> ${target}${m.path} ${m.type}`
        if (!m.ask) ref.tell(message)
        else asks.push({ label, promise: ref.ask(message, { timeoutMs: 5000 }), expect: sender.isMember && m.memberMay ? 'answered' : 'forbidden' })
      }
    }
  }
  const outcomes = await Promise.all(asks.map(async (a) => ({ a, out: await settle(w, a.promise) })))
  for (const { a, out } of outcomes) {
    if (a.expect === 'forbidden') {
      assert.equal(out.error?.name, 'ForbiddenMessageError', `${a.label}: ${out.error?.message ?? 'answered'}`)
      assert.equal((out.error as { code?: string }).code, 'ERR_FORBIDDEN_MESSAGE', a.label)
    } else {
      assert.equal(out.error, undefined, a.label)
    }
  }
  await runUntil(w, w.nowMs + 2000)

  // Nothing changed: views, the job, executors, the follower's client.
  assert.deepEqual(snapshot(w, members, handle.id), before2)
  const after = (await settle(w, handle.status())).value!
  assert.deepEqual(
    { status: after.status, attempts: after.attempts, assignedTo: after.assignedTo, outcome: after.outcome },
    { status: 'running', attempts: 1, assignedTo: runningOn, outcome: null },
  )
  assert.equal((await settle(w, leaderNode.jobs.inspect(forgedSpec.id))).value, null, 'the forged submission was not accepted')
  assert.equal(probeRuns, 0, 'no forged assignment ran')
  assert.equal(settled, false, 'no forged result reached the client')
  assert.deepEqual(progress, [], 'no forged progress reached the client')

  // Refusals were counted on the targets, by actor and type.
  for (const target of [leader.nodeId, follower]) {
    const metrics = w.node(target).app!.metrics
    for (const [actor, type] of [
      ['/system/cluster', 'record'],
      [EXECUTOR_PATH, 'assign'],
      [JOBS_CLIENT_PATH, 'finished'],
      [`${EXECUTOR_PATH}/$0`, 'run'],
    ] as const) {
      assert.equal(metrics.read('dx_remote_refused_total', { actor, type }), 2, `${target} ${actor} ${type}`)
    }
  }
  assert.equal(w.node(leader.nodeId).app!.metrics.read('dx_remote_refused_total', { actor: SCHEDULER_PATH, type: 'submit' }), 1)
  assert.equal(w.node(leader.nodeId).app!.metrics.read('dx_remote_refused_total', { actor: SCHEDULER_PATH, type: 'appended' }), 8)

  // The real paths still work: the follower cancels its job through the leader, the executor aborts it.
  assert.equal((await settle(w, handle.cancel())).value, true)
  await runUntil(w, w.nowMs + 1000)
  assert.equal(settled, true)
  assert.equal((await settle(w, handle.status())).value?.status, 'cancelled')
  assert.equal(
    members.reduce((n, id) => n + w.node(id).app!.node!.stats.running, 0),
    0,
  )
})
