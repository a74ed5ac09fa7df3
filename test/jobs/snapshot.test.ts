// Goal: a snapshot replaces the log before it. Replaying from a snapshot gives the same jobs, the
// same outcomes and the same idempotency keys as replaying the whole log: on the core, and through
// the file log after compaction and a reopen. On whole simulated nodes with a small snapshot
// interval the log is compacted, and a new leader after a crash still sees every job.
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { SeededRandom } from '../../src/env/prng.js'
import { defineJob } from '../../src/jobs/define.js'
import { resolveJobOptions } from '../../src/jobs/options.js'
import { LeastLoadedPlacement } from '../../src/jobs/placement.js'
import { findLatestSnapshot, Replayer, replayJobLog } from '../../src/jobs/replay.js'
import type { JobLog } from '../../src/storage/types.js'
import { SchedulerCore, type Candidate } from '../../src/jobs/scheduler-core.js'
import type { JobOptions, JobSpec } from '../../src/jobs/types.js'
import { assembleNode, type AssembledNode } from '../../src/node/assemble.js'
import { FileJobLog } from '../../src/adapters/file-log/file-job-log.js'
import {
  decodeJobRecord,
  decodeSnapshotState,
  encodeJobRecord,
  encodeSnapshotState,
  maybeSnapshotRecord,
  snapshotRecords,
  SNAPSHOT_PART_BYTES,
  type JobRecord,
} from '../../protocols/jobs/codec.js'
import { World } from '../../sim/world.js'
import { runUntil } from '../sim/helpers.js'

const types = new Set(['t'])
const peers: Candidate[] = [{ node: 'p', capacity: 1000, types, eventLoopLagMs: 0 }]
const spec = (id: string, options: JobOptions = {}, input: unknown = null): JobSpec => ({ id, type: 't', input, options: resolveJobOptions(options), submittedAt: 0 })
const RETENTION = { maxFinished: 30, maxAgeMs: Infinity }
const makeCore = (): SchedulerCore => new SchedulerCore(1, new LeastLoadedPlacement(), new SeededRandom(1), { retention: RETENTION, wallMs: () => 1000 })

/**
 * Drives a core through a varied history and returns its log: keyed jobs, completions, failures,
 * cancellations, dependencies (met, failed and still waiting), jobs left running, and enough
 * finished jobs that some expire. `snapshotAt` is called between the two halves.
 */
function history(snapshotAt: (core: SchedulerCore, log: JobRecord[]) => void): JobRecord[] {
  const core = makeCore()
  const log: JobRecord[] = []
  const durable = (): void => {
    for (let e = core.takeEffects(); e.append.length > 0; e = core.takeEffects()) {
      for (const r of e.append) {
        log.push(r)
        core.apply(r)
      }
    }
  }
  const half = (h: number): void => {
    const ids = Array.from({ length: 40 }, (_, i) => `h${h}-${i}`)
    core.submit(
      ids.map((id, i) => spec(id, i % 3 === 0 ? { idempotencyKey: `key-${id}` } : {}, { n: i })),
      types,
    )
    durable()
    core.submit([spec(`h${h}-child`, { dependsOn: [`h${h}-1`] }), spec(`h${h}-orphan`, { dependsOn: [`h${h}-2`] }), spec(`h${h}-waiting`, { dependsOn: [`h${h}-39`] })], types)
    durable()
    core.dispatch(0, 1000, peers)
    const assigned = core.takeEffects().assign
    for (const a of assigned) {
      const i = Number(a.spec.id.split('-')[1])
      if (a.spec.id.endsWith('-39') || a.spec.id.endsWith('-38')) continue
      if (i === 2) core.attemptFinished(a.spec.id, a.attemptKey, { ok: false, error: { name: 'E', code: 'E', message: 'no' }, permanent: true }, 0)
      else core.attemptFinished(a.spec.id, a.attemptKey, { ok: true, value: { id: a.spec.id } }, 0)
    }
    durable()
    core.cancel(`h${h}-38`)
    durable()
  }
  half(0)
  snapshotAt(core, log)
  half(1)
  return log
}

/** Everything a client can observe of a core, for comparing two of them. */
function observe(core: SchedulerCore, ids: string[]): unknown {
  return {
    jobs: ids.map((id) => ({ id, info: core.inspect(id) ?? null, expired: core.isExpired(id) })),
    listed: core.list(undefined, 10_000).jobs.map((j) => j.id),
    backlog: core.backlog,
    footprint: { ...core.footprint(), slots: undefined, finishedQueue: undefined },
    // Whether each key is still owned, and by which job: a duplicate names the owner.
    keys: ids.map((id) => core.submit([spec(`probe-${id}`, { idempotencyKey: `key-${id}` })], types)[0]),
  }
}

const allIds = (log: JobRecord[]): string[] => log.flatMap((r) => (r.kind === 'submitted' ? [r.spec.id] : []))

test('on the core: replay from a snapshot equals replay from the whole log', () => {
  let parts: JobRecord[] = []
  let cut = 0
  const log = history((core, soFar) => {
    const state = core.snapshot()
    parts = snapshotRecords('1.1', soFar.length - 1, encodeSnapshotState(state))
    cut = soFar.length
    assert.deepEqual(decodeSnapshotState(encodeSnapshotState(state)).records.length, state.records.length)
  })
  const full = new Replayer(makeCore)
  log.forEach((r, i) => full.feed(encodeJobRecord(r), i))
  // As the log reads after compaction at the snapshot: its parts first, then the records after it.
  const fromSnapshot = new Replayer(makeCore, cut)
  ;[...parts, ...log.slice(cut)].forEach((r, i) => fromSnapshot.feed(encodeJobRecord(r), cut + i))
  assert.equal(fromSnapshot.snapshots, 1)
  const a = full.finish()
  const b = fromSnapshot.finish()
  assert.ok(a.footprint().retained === 30 && a.isExpired('h0-0'), 'the history expired some jobs')
  assert.deepEqual(observe(b, allIds(log)), observe(a, allIds(log)))
  // The queue holds exactly the queued jobs: none of the many a replay saw queued and then finished.
  for (const core of [a, b]) assert.equal(core.footprint().queue, core.list('queued', 10_000).jobs.length)
})

test('the snapshot search tells records from snapshot parts by their first bytes, without decoding them', () => {
  const outcome = { ok: false as const, error: { name: 'E', code: 'C', message: 'm' }, permanent: true }
  const others: JobRecord[] = [
    { kind: 'submitted', spec: spec('a', { idempotencyKey: 'k', dependsOn: ['b'] }, { x: [1, 2] }) },
    { kind: 'finished', id: 'a', attempt: 3, outcome: { ok: true, value: 'v' }, at: 5 },
    { kind: 'finished', id: 'a', attempt: 1, outcome },
    { kind: 'cancelled', id: 'a', at: 7 },
    { kind: 'cancelled', id: 'a' },
  ]
  for (const record of others) assert.equal(maybeSnapshotRecord(encodeJobRecord(record)), false, record.kind)
  for (const part of snapshotRecords(
    '1.1',
    4,
    encodeSnapshotState({
      records: others.slice(0, 2),
      expired: [
        { bits: new Uint8Array(0), count: 0 },
        { bits: new Uint8Array(0), count: 0 },
      ],
      recentlyExpired: [],
    }),
  ))
    assert.equal(maybeSnapshotRecord(encodeJobRecord(part)), true)
  // Bytes not as this encoder writes them are left to the decoder.
  for (const bytes of [new Uint8Array([]), new Uint8Array([0x93, 0x02, 0x00]), new Uint8Array([0xdc, 0x00, 0x07, 0x01, 0x03]), new Uint8Array([0x97, 0x01, 0xcc])])
    assert.equal(maybeSnapshotRecord(bytes), true)
})

test('a snapshot larger than one part spans several records, all restored together', () => {
  const core = makeCore()
  const big = 'x'.repeat(200_000)
  core.submit(
    Array.from({ length: 8 }, (_, i) => spec(`big${i}`, {}, { big })),
    types,
  )
  for (const r of core.takeEffects().append) core.apply(r)
  const parts = snapshotRecords('1.1', -1, encodeSnapshotState(core.snapshot()))
  assert.ok(parts.length >= 3, `${parts.length} parts`)
  assert.ok(parts.every((p) => p.kind === 'snapshot' && p.data.length <= SNAPSHOT_PART_BYTES))
  const partial = new Replayer(makeCore)
  parts.slice(0, -1).forEach((p, i) => partial.feed(encodeJobRecord(p), i))
  assert.equal(partial.finish().backlog, 0, 'an incomplete snapshot restores nothing')
  const whole = new Replayer(makeCore)
  parts.forEach((p, i) => whole.feed(encodeJobRecord(p), i))
  assert.equal(whole.finish().backlog, 8)
})

/** A JobLog over an array, for the snapshot search. */
function arrayLog(payloads: Uint8Array[]): JobLog {
  return {
    fence: async () => {},
    append: async () => assert.fail('not used'),
    read: async (offset, max) => payloads.slice(offset, offset + max).map((payload, i) => ({ offset: offset + i, epoch: 1, payload })),
    endOffset: async () => payloads.length,
    startOffset: async () => 0,
    compact: async () => {},
  }
}

test('a snapshot that landed after records it does not reflect is passed over, by the search and by the replay', async () => {
  const core = makeCore()
  const log: Uint8Array[] = []
  core.submit([spec('a'), spec('b')], types)
  for (const r of core.takeEffects().append) {
    log.push(encodeJobRecord(r))
    core.apply(r)
  }
  const good = log.length
  log.push(...snapshotRecords('1.1', good - 1, encodeSnapshotState(core.snapshot())).map(encodeJobRecord))
  const stale = core.snapshot()
  // 'a' finishes; then a snapshot taken before that (its append was reported failed) lands late.
  log.push(encodeJobRecord({ kind: 'finished', id: 'a', attempt: 1, outcome: { ok: true, value: 'done' }, at: 1 }))
  log.push(...snapshotRecords('1.2', good, encodeSnapshotState(stale)).map(encodeJobRecord))
  for (let i = 0; i < 3000; i++) log.push(encodeJobRecord({ kind: 'cancelled', id: `unknown-${i}` }))
  const found = await findLatestSnapshot(arrayLog(log), 0, log.length)
  assert.equal(found, good, 'the search skips the late snapshot, across windows')
  const replay = await replayJobLog(arrayLog(log), makeCore)
  assert.deepEqual(replay.core.inspect('a')?.outcome, { ok: true, value: 'done' })
  assert.equal(replay.core.inspect('b')?.status, 'queued')
})

test('through the file log: compacted at the snapshot, reopened, the replay equals the whole log’s', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dx-snapshot-'))
  try {
    const log = await FileJobLog.open({ dir })
    let snapshotOffset = -1
    const pendingWrites: Array<() => Promise<void>> = []
    const records = history((core, soFar) => {
      const firstHalf = soFar.map(encodeJobRecord)
      const parts = snapshotRecords('1.1', soFar.length - 1, encodeSnapshotState(core.snapshot())).map(encodeJobRecord)
      pendingWrites.push(async () => {
        await log.append(1, firstHalf)
        snapshotOffset = await log.append(1, parts)
      })
    })
    await pendingWrites[0]!()
    const cut = snapshotOffset
    await log.compact(snapshotOffset)
    const secondHalf = records.slice(cut).map(encodeJobRecord)
    await log.append(1, secondHalf)
    await log.close()
    const reopened = await FileJobLog.open({ dir })
    try {
      assert.equal(await reopened.startOffset(), snapshotOffset)
      const replay = await replayJobLog(reopened, makeCore)
      assert.equal(replay.from, snapshotOffset)
      const full = new Replayer(makeCore)
      records.forEach((r, i) => full.feed(encodeJobRecord(r), i))
      assert.deepEqual(observe(replay.core, allIds(records)), observe(full.finish(), allIds(records)))
    } finally {
      await reopened.close()
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test('whole nodes with a small snapshot interval: the log is compacted, and a new leader after a crash sees every job and key', async () => {
  let runs = 0
  const add = defineJob('add-s', (input: { a: number; b: number }) => {
    runs++
    return input.a + input.b
  })
  const world = new World<AssembledNode>(3, 3, (ctx) =>
    assembleNode(
      { env: ctx.env, network: ctx.network, store: ctx.store, jobLog: ctx.jobLog, cache: ctx.cache },
      { founder: ctx.id === 'n0', jobs: [add], snapshot: { everyRecords: 15 } },
    ),
  )
  for (const node of world.nodes) world.start(node)
  await runUntil(world, 3000)
  const client = world.node('n2').app!.jobs
  const handles: Array<{ id: string; result(): Promise<unknown> }> = []
  for (let i = 0; i < 40; i++) {
    let handle: { id: string; result(): Promise<unknown> } | undefined
    client.submit(add, { a: i, b: 1 }, i % 4 === 0 ? { idempotencyKey: `sum-${i}` } : {}).then((h) => (handle = h), assert.fail)
    while (handle === undefined) await runUntil(world, world.nowMs + 10)
    handles.push(handle)
  }
  for (const h of handles) {
    let done = false
    void h.result().then(() => (done = true))
    while (!done) await runUntil(world, world.nowMs + 20)
  }
  await runUntil(world, world.nowMs + 500)
  assert.equal(runs, 40)
  assert.ok(world.jobLog.startOffset > 0, 'the log was compacted')
  assert.ok(world.jobLog.history.length > world.jobLog.records.length)
  const leader = world.nodes.find((n) => n.app?.cluster.view()?.leading === true)!
  world.crash(leader)
  const survivor = world.nodes.find((n) => n !== leader && n.id !== 'n2') ?? world.node('n2')
  const after = survivor.app!.jobs
  for (const [i, h] of handles.entries()) {
    let info: Awaited<ReturnType<typeof after.inspect>> | undefined
    let failed: Error | undefined
    for (let tries = 0; info === undefined && tries < 100; tries++) {
      const asked = after.inspect(h.id)
      let settled = false
      asked.then(
        (v) => ((info = v), (settled = true)),
        (e: Error) => ((failed = e), (settled = true)),
      )
      while (!settled) await runUntil(world, world.nowMs + 20)
      if (info === undefined) await runUntil(world, world.nowMs + 200)
    }
    assert.equal(info?.status, 'completed', `job ${i} after the new leader: ${failed?.message ?? JSON.stringify(info)}`)
    assert.deepEqual(info?.outcome, { ok: true, value: i + 1 })
  }
  assert.equal(runs, 40, 'the new leader ran none of the finished jobs again')
  let again: { id: string } | undefined
  after.submit(add, { a: 100, b: 100 }, { idempotencyKey: 'sum-8' }).then((h) => (again = h), assert.fail)
  while (again === undefined) await runUntil(world, world.nowMs + 20)
  assert.equal(again.id, handles[8]!.id, 'the key survived the snapshot and the leader change')
})

// Issue 9's stall: a snapshot's parts go out in one append, but the replicated log sends an append
// to the followers in batches of batchMaxBytes, so a leader that stops mid-way can leave only the
// first parts committed. The search took that prefix for the latest snapshot, the replay restored
// nothing from it, and the new leader forgot every job before it while their submitters waited.
test('a snapshot of which only the first parts reached the log is passed over: the replay keeps the jobs before it', async () => {
  const core = makeCore()
  const big = 'x'.repeat(200_000)
  const log: Uint8Array[] = []
  core.submit(
    Array.from({ length: 8 }, (_, i) => spec(`big${i}`, {}, { big })),
    types,
  )
  for (const r of core.takeEffects().append) {
    log.push(encodeJobRecord(r))
    core.apply(r)
  }
  const complete = log.length
  log.push(...snapshotRecords('1.1', complete - 1, encodeSnapshotState(core.snapshot())).map(encodeJobRecord))
  core.submit([spec('late')], types)
  for (const r of core.takeEffects().append) {
    log.push(encodeJobRecord(r))
    core.apply(r)
  }
  const parts = snapshotRecords('1.2', log.length - 1, encodeSnapshotState(core.snapshot()))
  assert.ok(parts.length >= 3, `${parts.length} parts`)
  log.push(...parts.slice(0, 2).map(encodeJobRecord))
  assert.equal(await findLatestSnapshot(arrayLog(log), 0, log.length), complete, 'the search falls back to the last complete snapshot')
  const replay = await replayJobLog(arrayLog(log), makeCore)
  assert.equal(replay.core.backlog, 9)
  assert.equal(replay.core.inspect('late')?.status, 'queued')
  // With no complete snapshot at all, the replay starts from the log's start.
  const noComplete = [...log.slice(0, complete), ...parts.slice(0, 2).map(encodeJobRecord)]
  assert.equal(await findLatestSnapshot(arrayLog(noComplete), 0, noComplete.length), 0)
  assert.equal((await replayJobLog(arrayLog(noComplete), makeCore)).core.backlog, 8)
})

test('snapshot parts of a chosen size: more records for a small size, never more parts than a reader takes, whole again on replay', () => {
  const core = makeCore()
  core.submit(
    Array.from({ length: 50 }, (_, i) => spec(`j${i}`, {}, { n: i })),
    types,
  )
  for (const r of core.takeEffects().append) core.apply(r)
  const blob = encodeSnapshotState(core.snapshot())
  const small = snapshotRecords('1.1', -1, blob, 256)
  assert.equal(small.length, Math.ceil(blob.length / 256))
  assert.ok(small.every((p) => p.kind === 'snapshot' && p.data.length <= 256))
  const replay = new Replayer(makeCore)
  small.forEach((p, i) => replay.feed(encodeJobRecord(p), i))
  assert.equal(replay.finish().backlog, 50)
  // One byte per part would be thousands of parts: the size grows so that a reader still takes them.
  const tiny = snapshotRecords('1.2', -1, blob, 1)
  assert.ok(tiny.length <= 96 && tiny.length > 1, `${tiny.length} parts`)
  tiny.forEach((p) => assert.doesNotThrow(() => decodeJobRecord(encodeJobRecord(p))))
  assert.throws(() => snapshotRecords('1.3', -1, blob, 0), RangeError)
  assert.throws(() => snapshotRecords('1.3', -1, blob, SNAPSHOT_PART_BYTES + 1), RangeError)
})
