// Goal: one peer per data directory, and only in a private one. A second `distributex start` on a
// data directory a running peer uses exits with a FileLockedError naming the directory and the
// holder; once the holder dies by kill -9 the directory is free at once (the lock is the kernel's,
// not a pid). A data directory other users can write is refused with UnsafeDirectoryError; a new
// one is created 0700 with its identity 0600. Method: real CLI peers on loopback.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { chmod, mkdir, mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { promisify } from 'node:util'
import { Peer, freePort, waitFor } from '../helpers/peers.js'
import { BIN } from '../helpers/bin.js'

const run = promisify(execFile)
const peers: Peer[] = []
let dir: string | undefined
after(async () => {
  await Promise.all(peers.map((p) => p.kill()))
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
})

async function peerOn(dataDir: string, secretFile: string): Promise<Peer> {
  const peer = new Peer({ name: `p${peers.length}`, dataDir, secretFile, p2pPort: await freePort(), httpPort: await freePort() })
  peers.push(peer)
  return peer
}

async function exitCode(peer: Peer): Promise<number | null> {
  await waitFor(
    async () => peer.running,
    (running) => !running,
    60_000,
    `${peer.spec.name} to exit`,
  )
  return peer.stop()
}

test('a second peer on a data directory in use is refused; kill -9 of the holder frees it; the directory is private', { timeout: 180_000 }, async () => {
  dir = await mkdtemp(join(tmpdir(), 'dx-datadir-'))
  const secretFile = join(dir, 'cluster.key')
  await run(process.execPath, [BIN, 'secret', '--out', secretFile])
  const dataDir = join(dir, 'data', 'peer')
  const first = await peerOn(dataDir, secretFile)
  first.start()
  await first.address()
  assert.equal((await stat(dataDir)).mode & 0o777, 0o700, 'a new data directory is 0700')
  assert.equal((await stat(join(dataDir, 'identity'))).mode & 0o777, 0o600, 'the identity is 0600')

  const second = await peerOn(dataDir, secretFile)
  second.start()
  assert.notEqual(await exitCode(second), 0)
  const said = second.output.join('\n')
  assert.match(said, /FileLockedError/)
  assert.match(said, new RegExp(`the data directory ${dataDir} is in use by another peer \\(process ${first.pid}\\)`))
  assert.equal(first.running, true, 'the holder is unharmed')

  await first.kill()
  const third = await peerOn(dataDir, secretFile)
  third.start()
  await third.address()
  await third.stop()

  const open = join(dir, 'open')
  await mkdir(open)
  await chmod(open, 0o777)
  const fourth = await peerOn(open, secretFile)
  fourth.start()
  assert.notEqual(await exitCode(fourth), 0)
  assert.match(fourth.output.join('\n'), /UnsafeDirectoryError.*writable by other users \(mode 777\)/)
})
