// Goal: a job-log record no decoder can read is skipped on replay, counted in
// dx_jobs_replay_skipped_records_total and logged, and the node leads and runs jobs as before.
// Method: a real peer on a file log; while it is stopped, a garbage record is appended to its log
// in its own epoch; after the restart its /metrics shows one skipped record and a job completes.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { promisify } from 'node:util'
import { FileJobLog } from '../../src/adapters/file-log/file-job-log.js'
import { Peer, agreedLeader, freePort, waitFor } from '../helpers/peers.js'
import { BIN } from '../helpers/bin.js'

test('a record that cannot be decoded is skipped on replay and counted; the node carries on', { timeout: 180_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dx-replay-skip-'))
  try {
    await promisify(execFile)(process.execPath, [BIN, 'secret', '--out', join(dir, 'cluster.key')])
    const logDir = join(dir, 'log')
    const peer = new Peer({
      name: 'p0',
      dataDir: join(dir, 'data'),
      secretFile: join(dir, 'cluster.key'),
      p2pPort: await freePort(),
      httpPort: await freePort(),
      jobLog: `file:${logDir}`,
    })
    const runOne = async (n: number): Promise<void> => {
      const reply = await waitFor(
        () =>
          peer
            .call<{ ok?: boolean; value?: unknown }>('POST', '/jobs?wait&timeoutMs=20000', { type: 'fib', input: { n } })
            .catch(() => ({ status: 0, json: {} as { ok?: boolean } })),
        (r) => r.status === 200,
        60_000,
        'a job',
      )
      assert.equal(reply.json.ok, true)
    }
    peer.start()
    await waitFor(
      () => agreedLeader([peer]),
      (l) => l !== undefined,
      60_000,
      'a leader',
    )
    await runOne(10)
    assert.equal(await peer.stop(), 0)

    const log = await FileJobLog.open({ dir: logDir })
    const records = await log.read(0, 10_000)
    const epoch = Math.max(...records.map((r) => r.epoch))
    // 0xc1 is the one byte MessagePack never uses.
    await log.append(epoch, [Uint8Array.of(0xc1, 0xc1, 0xc1)])
    await log.close()

    peer.start()
    await waitFor(
      () => agreedLeader([peer]),
      (l) => l !== undefined,
      60_000,
      'a leader after the restart',
    )
    await runOne(11)
    const metrics = await (await fetch(`${peer.httpUrl}/metrics`)).text()
    assert.match(metrics, /^dx_jobs_replay_skipped_records_total 1$/m)
    assert.ok(
      peer.output.some((line) => line.includes('replay skipped job-log records')),
      peer.output.slice(-20).join('\n'),
    )
    await peer.stop()
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
