// Goal: the job commands work end to end against a real peer that loaded job types with
// `--actors <module>`: `submit --wait` prints the result, a refused input and an unknown type exit
// non-zero with typed errors, and `jobs list | inspect | result | cancel` show and change real jobs.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { promisify } from 'node:util'
import { freePort, Peer, waitFor } from '../helpers/peers.js'
import { BIN, fixture } from '../helpers/bin.js'
import { sourceDir } from '../helpers/paths.js'

let dir: string
let peer: Peer

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dx-cli-'))
  peer = new Peer({
    name: 'p0',
    dataDir: join(dir, 'p0'),
    secretFile: join(dir, 'p0', 'cluster.key'),
    p2pPort: await freePort(),
    httpPort: await freePort(),
    jobLog: `file:${join(dir, 'joblog')}`,
    actors: fixture(join(sourceDir(import.meta.dirname), '..', 'fixtures', 'jobs-module.ts')),
  })
  peer.start()
  await waitFor(
    () => peer.status(),
    (s) => s?.leading === true,
    30_000,
    'the peer to lead',
  )
})

after(async () => {
  await peer.kill()
  await rm(dir, { recursive: true, force: true })
})

/** Runs the CLI against the peer; resolves with its exit code and output, whatever the code. */
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, ...args, '--http', `127.0.0.1:${peer.spec.httpPort}`])
    return { code: 0, stdout, stderr }
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

test('submit --wait runs a job type loaded with --actors and prints its result', { timeout: 60_000 }, async () => {
  const { code, stdout } = await cli('submit', 'double', '{"n":21}', '--wait')
  assert.equal(code, 0)
  const reply = JSON.parse(stdout) as { id: string; ok: boolean; value: unknown }
  assert.deepEqual([reply.ok, reply.value], [true, { doubled: 42 }])
  const result = await cli('jobs', 'result', reply.id)
  assert.deepEqual(JSON.parse(result.stdout), { id: reply.id, ok: true, value: { doubled: 42 } })
  const inspect = JSON.parse((await cli('jobs', 'inspect', reply.id)).stdout) as { type: string; status: string; attempts: number }
  assert.deepEqual([inspect.type, inspect.status, inspect.attempts], ['double', 'completed', 1])
})

test('refused input and unknown types exit non-zero with typed errors', { timeout: 60_000 }, async () => {
  const refused = await cli('submit', 'double', '{"n":"x"}')
  assert.notEqual(refused.code, 0)
  assert.match(refused.stderr, /InvalidJobError|n must be a number/)
  const unknown = await cli('submit', 'no-such-type', '{}')
  assert.notEqual(unknown.code, 0)
  assert.match(unknown.stderr, /UnknownJobTypeError|no-such-type/)
  const notJson = await cli('submit', 'double', '{oops')
  assert.equal(notJson.code, 2)
  assert.match(notJson.stderr, /not JSON/)
})

test('jobs list shows a running job with its progress, and jobs cancel ends it', { timeout: 60_000 }, async () => {
  const submitted = await cli('submit', 'hold', 'null')
  assert.equal(submitted.code, 0)
  const { id } = JSON.parse(submitted.stdout) as { id: string }
  const listed = await waitFor(
    async () => (await cli('jobs', 'list', '--status', 'running')).stdout,
    (out) => out.includes(id) && out.includes('25%'),
    20_000,
    'the job running with progress',
  )
  assert.match(listed, /^ID\s+TYPE\s+STATUS\s+ATTEMPTS\s+NODE\s+PROGRESS$/m)
  const cancel = await cli('jobs', 'cancel', id)
  assert.deepEqual([cancel.code, cancel.stdout], [0, 'cancel requested\n'])
  const result = await waitFor(
    async () => JSON.parse((await cli('jobs', 'result', id)).stdout) as { ok: boolean; error?: { name: string } },
    (r) => r.ok === false,
    20_000,
    'the cancelled outcome',
  )
  assert.equal(result.error?.name, 'JobCancelledError')
  assert.equal((await cli('jobs', 'cancel', 'f'.repeat(32))).code, 1)
})
