// Goal: a node whose HTTP address is taken fails to start with a ConfigError naming it, and stops
// every part it had started (src/node/parts.ts): the data directory's lock is free again, and so
// is the p2p port, so the same directory and p2p port start at once with a free HTTP port.
// Method: startNode in this process, its HTTP port held by a plain TCP server.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { promisify } from 'node:util'
import { ConfigError, resolveConfig, startNode } from '../../src/index.js'
import { freePort } from '../helpers/peers.js'
import { BIN } from '../helpers/bin.js'

test('a taken HTTP port fails the start with ConfigError and leaves the lock and the p2p port free', { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dx-start-failure-'))
  const blocker: Server = createServer()
  try {
    const secretFile = join(dir, 'cluster.key')
    await promisify(execFile)(process.execPath, [BIN, 'secret', '--out', secretFile])
    const httpPort = await freePort()
    await new Promise<void>((resolve) => blocker.listen(httpPort, '127.0.0.1', resolve))
    const settings = { dataDir: join(dir, 'peer'), secretFile, listen: `/ip4/127.0.0.1/tcp/${await freePort()}`, logLevel: 'error' as const }
    await assert.rejects(
      startNode(resolveConfig({ ...settings, http: `127.0.0.1:${httpPort}` }, {}), []),
      (error: unknown) => error instanceof ConfigError && error.message.includes(`127.0.0.1:${httpPort} (http)`) && error.message.includes('already in use'),
    )
    const node = await startNode(resolveConfig({ ...settings, http: `127.0.0.1:${await freePort()}` }, {}), [])
    await node.stop({ leave: false, timeoutMs: 1000 })
  } finally {
    blocker.close()
    await rm(dir, { recursive: true, force: true })
  }
})
