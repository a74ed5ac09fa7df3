// Goal: the directory store keeps each key's last written value across reopen, maps any key to a
// safe file name, and cleans up after a crashed write. Method: real files in a temp directory.
import assert from 'node:assert/strict'
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { test } from 'node:test'
import { FileDurableStore } from '../../../src/adapters/file-log/file-store.js'

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text)
const text = (value: Uint8Array | undefined): string | undefined => (value === undefined ? undefined : new TextDecoder().decode(value))

async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'dx-store-'))
  try {
    await body(dir)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

test('values survive a reopen; the last of concurrent writes to a key wins', () =>
  withDir(async (dir) => {
    const store = await FileDurableStore.open({ dir })
    assert.equal(await store.read('cluster/state'), undefined)
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.write('cluster/state', bytes(`v${i}`))))
    await store.write('identity', Uint8Array.from([0, 255, 0]))
    const reopened = await FileDurableStore.open({ dir })
    assert.equal(text(await reopened.read('cluster/state')), 'v19')
    assert.deepEqual([...(await reopened.read('identity'))!], [0, 255, 0])
  }))

test('keys cannot escape the directory and map to distinct files', () =>
  withDir(async (dir) => {
    const store = await FileDurableStore.open({ dir })
    const keys = ['../escape', '.', '..', 'a/b', 'a%2Fb', 'épée', 'UPPER', 'upper']
    for (const key of keys) await store.write(key, bytes(key))
    for (const key of keys) assert.equal(text(await store.read(key)), key)
    const names = await readdir(dir)
    assert.equal(names.length, keys.length)
    assert.ok(names.every((n) => !n.includes('/') && !n.startsWith('.')))
    await assert.rejects(store.write('', bytes('x')), { name: 'InvalidArgumentError' })
    await assert.rejects(store.write('k'.repeat(300), bytes('x')), { name: 'InvalidArgumentError' })
  }))

test('temporary files of a crashed write are removed at open; the old value stays', () =>
  withDir(async (dir) => {
    const store = await FileDurableStore.open({ dir })
    await store.write('epoch', bytes('3'))
    await writeFile(join(dir, 'epoch.tmp-999-0'), '4 (never renamed)')
    const reopened = await FileDurableStore.open({ dir })
    assert.equal(text(await reopened.read('epoch')), '3')
    assert.deepEqual(await readdir(dir), ['epoch'])
  }))

test('an aborted write does not happen', () =>
  withDir(async (dir) => {
    const store = await FileDurableStore.open({ dir })
    const controller = new AbortController()
    controller.abort()
    await assert.rejects(store.write('k', bytes('v'), { signal: controller.signal }), { name: 'AbortedError' })
    assert.equal(await store.read('k'), undefined)
  }))

test('values are readable by their owner only: files 0600 in a 0700 directory', async (t) => {
  const dir = join(await mkdtemp(join(tmpdir(), 'dx-store-')), 'state')
  t.after(() => rm(dirname(dir), { recursive: true, force: true }))
  const store = await FileDurableStore.open({ dir })
  await store.write('cluster/state', new Uint8Array([1, 2, 3]))
  assert.equal((await stat(dir)).mode & 0o777, 0o700)
  const files = await readdir(dir)
  assert.ok(files.length > 0)
  for (const f of files) assert.equal((await stat(join(dir, f))).mode & 0o777, 0o600, f)
})
