// Goal: a joiner that hears nobody says so on /status, in its log and as a gauge, instead of
// sitting in `joining` silently. Method: a `distributex start` child process whose only bootstrap
// address names a peer id nobody has, at a port nobody listens on.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { promisify } from 'node:util'
import { Peer, freePort, waitFor } from '../helpers/peers.js'
import { BIN } from '../helpers/bin.js'

/** A well-formed peer id that no process here has. */
const NOBODY = '12D3KooWQRHJUE7BUGcd3Xed4evWDoMryFsB6iX8YzcDBzzJhUx9'

test('a joiner that hears no member warns on /status and in its log', { timeout: 60_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'dx-quiet-'))
  await promisify(execFile)(process.execPath, [BIN, 'secret', '--out', join(dir, 'cluster.key')])
  const lost = new Peer({
    name: 'lost',
    dataDir: join(dir, 'lost'),
    secretFile: join(dir, 'cluster.key'),
    p2pPort: await freePort(),
    httpPort: await freePort(),
    bootstrap: [`/ip4/127.0.0.1/tcp/${await freePort()}/p2p/${NOBODY}`],
  })
  t.after(async () => {
    await lost.kill()
    await rm(dir, { recursive: true, force: true })
  })
  lost.start()
  const status = await waitFor(
    () => lost.status(),
    (s) => s?.warning !== undefined,
    40_000,
    'a warning on /status',
  )
  assert.match(status!.warning!, /joining, but no gossip from any member/)
  assert.equal(status!.members.find((m) => m.nodeId === status!.nodeId)?.state, 'joining')
  await waitFor(
    async () => lost.output.some((l) => l.includes('no gossip from any member')),
    (found) => found,
    10_000,
    'the warning in the log',
  )
  const metrics = await (await fetch(`${lost.httpUrl}/metrics`, { signal: AbortSignal.timeout(10_000) })).text()
  assert.match(metrics, /^dx_cluster_quiet 1$/m)
})
