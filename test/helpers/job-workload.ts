/**
 * The promise-keeping workload of the real-process job tests: submit many fib jobs through a peer,
 * kill the leader with -9 halfway, then check that every acknowledged job has its one right result,
 * through the API and in the job log itself.
 */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { FileReplicaLog } from '../../src/adapters/replica-log/file-replica-log.js'
import type { JobLog, LogRecord } from '../../src/storage/types.js'
import { appendIndexOf, appendOffset } from '../../protocols/replication/offsets.js'
import { replayJobLog } from '../../src/jobs/replay.js'
import { SchedulerCore } from '../../src/jobs/scheduler-core.js'
import { LeastLoadedPlacement } from '../../src/jobs/placement.js'
import { SeededRandom } from '../../src/env/prng.js'
import { decodeJobRecord } from '../../protocols/jobs/codec.js'
import { Peer, agreedLeader, quorumBeyondLeader, waitFor } from './peers.js'

export const WORKLOAD_JOBS = 10_000
const BATCH = 500

/**
 * Submits `jobs` fib jobs through a peer that is not the leader; kills the leader halfway unless
 * `kill` is false, and calls `midway` there. Returns the acknowledged ids with their n.
 */
export async function submitAndKillLeader(peers: Peer[], options: { jobs?: number; kill?: boolean; midway?: () => Promise<void> } = {}): Promise<Map<string, number>> {
  const total = options.jobs ?? WORKLOAD_JOBS
  // Killing the leader before the others are voters that know each other would test nothing but
  // the loss of a quorum: wait, as an operator reads `distributex members`, until it can be lost.
  const leader =
    options.kill === false
      ? (await agreedLeader(peers))!
      : (await waitFor(
          () => quorumBeyondLeader(peers, 3),
          (l) => l !== undefined,
          30_000,
          'three voters that know each other',
        ))!
  const ids = await Promise.all(peers.map(async (p) => (await p.status())!.nodeId))
  const victim = peers[ids.indexOf(leader.nodeId)]!
  const submitter = peers.find((p) => p !== victim)!
  const acked = new Map<string, number>()
  let halfway = false
  for (let start = 0; start < total; start += BATCH) {
    if (!halfway && start >= total / 2) {
      halfway = true
      await options.midway?.()
      if (options.kill !== false) await victim.kill()
    }
    const jobs = Array.from({ length: BATCH }, (_, i) => ({ type: 'fib', input: { n: (start + i) % 90 }, options: { retries: 5 } }))
    const reply = await submitter.call<{ results: Array<{ id?: string; error?: { name: string } }> }>('POST', '/jobs/batch', { jobs })
    assert.equal(reply.status, 200)
    reply.json.results.forEach((r, i) => {
      if (r.id !== undefined) acked.set(r.id, (start + i) % 90)
    })
  }
  assert.ok(halfway)
  return acked
}

/** Waits until every acknowledged job has its result, through the API of a live peer; checks the values. */
export async function checkResults(peers: Peer[], acked: Map<string, number>): Promise<Map<string, unknown>> {
  const peer = peers.find((p) => p.running)!
  const results = new Map<string, unknown>()
  const ids = [...acked.keys()]
  for (let i = 0; i < ids.length; i += 200) {
    await Promise.all(
      ids.slice(i, i + 200).map(async (id) => {
        const reply = await waitFor(
          () => peer.call<{ ok: boolean; value?: { n: number } }>('GET', `/jobs/${id}/result?timeoutMs=60000`),
          (r) => r.status === 200,
          120_000,
          `job ${id}`,
        )
        assert.equal(reply.json.ok, true, `job ${id}: ${JSON.stringify(reply.json)}`)
        assert.equal(reply.json.value!.n, acked.get(id))
        results.set(id, reply.json.value)
      }),
    )
  }
  return results
}

/**
 * Replays the log as a new leader would (from its latest snapshot: the leader compacts as it goes)
 * and checks: every acknowledged job is known and completed with the result the API gave, and no
 * job has two different final records after that snapshot. Byte-identical copies are the leader's
 * retry of an append that failed but had landed (src/jobs/append-pipeline.ts: at-least-once
 * appends, the first record wins on replay); a second outcome, attempt or time would be a job
 * finished twice.
 */
export async function checkLog(log: JobLog, acked: Map<string, number>, results: Map<string, unknown>): Promise<void> {
  const replay = await replayJobLog(log, () => new SchedulerCore(0, new LeastLoadedPlacement(), new SeededRandom(1), { retention: { maxFinished: 1_000_000, maxAgeMs: Infinity } }))
  const finished = new Map<string, Set<string>>()
  const end = await log.endOffset()
  for (let offset = replay.from; offset < end;) {
    const chunk = await log.read(offset, 5000)
    if (chunk.length === 0) break
    for (const entry of chunk) {
      const record = decodeJobRecord(entry.payload)
      if (record.kind === 'finished') finished.set(record.id, (finished.get(record.id) ?? new Set()).add(Buffer.from(entry.payload).toString('base64')))
      offset = entry.offset + 1
    }
  }
  for (const id of acked.keys()) {
    const info = replay.core.inspect(id)
    assert.ok(info !== undefined, `acknowledged job ${id} is in the log`)
    assert.ok((finished.get(id)?.size ?? 0) <= 1, `job ${id} has ${finished.get(id)?.size} different final records after the snapshot`)
    assert.equal(info.status, 'completed')
    assert.deepEqual(info.outcome?.ok === true ? info.outcome.value : info.outcome, results.get(id))
  }
}

/**
 * A stopped peer's own copy of the replicated log (<dataDir>/replica), read as a JobLog: the
 * entries' records at their offsets (protocols/replication/offsets.ts), without the leaders' empty
 * no-op records. Only the reading half works.
 */
export async function openReplicaCopy(dataDir: string): Promise<{ log: JobLog; close(): Promise<void> }> {
  const replica = await FileReplicaLog.open({ dir: join(dataDir, 'replica') })
  const refuse = (): never => {
    throw new Error('a replica copy is read-only here')
  }
  const log: JobLog = {
    fence: async () => refuse(),
    append: async () => refuse(),
    compact: async () => refuse(),
    startOffset: async () => appendOffset(replica.state().start),
    endOffset: async () => appendOffset(replica.state().end),
    async read(offset: number, max: number): Promise<LogRecord[]> {
      const { start, end } = replica.state()
      const from = Math.max(appendIndexOf(offset), start)
      if (from >= end) return []
      const entries = await replica.read(from, max, 4 * 1024 * 1024)
      return entries
        .flatMap((e) => e.payloads.map((payload, i) => ({ offset: e.offset + i, epoch: e.epoch, payload })))
        .filter((r) => r.payload.length > 0 && r.offset >= offset)
        .slice(0, max)
    },
  }
  return { log, close: () => replica.close() }
}
