// Goal: `distributex/client` works in a browser, as the README promises, not only in Node: it
// bundles for the browser platform (esbuild refuses Node built-ins there), and the bundle, loaded
// into headless Chromium on a page of a real peer's origin, submits jobs with the bearer token,
// follows a job's progress over server-sent events, gets results, submits a batch, cancels a job,
// rebuilds the in-process error classes from refusals, and skips an unreachable peer listed first.
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { build } from 'esbuild'
import { chromium, type Browser } from 'playwright-core'
import { freePort, Peer, waitFor } from '../helpers/peers.js'
import { fixture } from '../helpers/bin.js'
import { sourceDir } from '../helpers/paths.js'

const ENTRY = join(sourceDir(import.meta.dirname), '..', '..', 'src', 'client', 'index.ts')
const TOKEN = 'browser-client-test-token-0123456789'
let dir: string
let peer: Peer
let browser: Browser | undefined

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dx-client-browser-'))
  const tokenFile = join(dir, 'http.token')
  await writeFile(tokenFile, TOKEN, { mode: 0o600 })
  peer = new Peer({
    name: 'p0',
    dataDir: join(dir, 'p0'),
    secretFile: join(dir, 'p0', 'cluster.key'),
    p2pPort: await freePort(),
    httpPort: await freePort(),
    httpTokenFile: tokenFile,
    actors: fixture(join(sourceDir(import.meta.dirname), '..', 'fixtures', 'jobs-module.ts')),
  })
  peer.start()
  await waitFor(
    () => peer.status(),
    (s) => s?.leading === true,
    90_000,
    'the peer to lead',
  )
})

after(async () => {
  await browser?.close()
  await peer.kill()
  await rm(dir, { recursive: true, force: true })
})

/** What the page reports back: plain data, since class instances do not cross into the test. */
interface PageReport {
  progress: Array<{ fraction: number; message: string | null }>
  value: unknown
  batch: unknown[]
  refused: { name: string; isClass: boolean; code: string }
  cancelled: { name: string; isClass: boolean }
  listed: number
}

test('the client bundles for the browser and runs jobs from a page of the peer', { timeout: 120_000 }, async () => {
  const bundle = await build({ entryPoints: [ENTRY], bundle: true, platform: 'browser', format: 'iife', globalName: 'DX', target: 'es2022', write: false, logLevel: 'silent' })
  const code = bundle.outputFiles[0]!.text
  assert.ok(code.length > 1000)
  assert.doesNotMatch(code, /require\(["']node:/, 'no Node built-in reaches the bundle')

  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] })
  const page = await browser.newPage()
  const pageErrors: string[] = []
  page.on('pageerror', (e) => pageErrors.push(e.message))
  // Any page of the peer's origin will do: the API answers same-origin requests only.
  await page.goto(`${peer.httpUrl}/healthz`)
  await page.addScriptTag({ content: code })
  const report = (await page.evaluate(
    `(async () => {
      // An unreachable peer first: the client must move on to the next one.
      const client = DX.connect({ peers: ['http://127.0.0.1:9', location.origin], token: ${JSON.stringify(TOKEN)}, requestTimeoutMs: 20000 })
      const job = await client.submit('steps', { steps: 4, ms: 150 })
      const progress = []
      for await (const p of job.progress()) progress.push({ fraction: p.fraction, message: p.message })
      const value = await job.result({ timeoutMs: 30000 })
      const batch = await Promise.all(client.submitBatch([1, 2, 3].map((n) => ({ job: 'double', input: { n } }))).map(async (j) => (await j).result({ timeoutMs: 30000 })))
      let refused
      try { await client.submit('double', { n: 'x' }) } catch (e) { refused = { name: e.name, isClass: e instanceof DX.InvalidJobError, code: e.code } }
      const held = await client.submit('hold', null)
      await waitUntilRunning(held)
      await held.cancel()
      let cancelled
      try { await held.result({ timeoutMs: 30000 }) } catch (e) { cancelled = { name: e.name, isClass: e instanceof DX.JobCancelledError } }
      const listed = (await client.list({ limit: 50 })).jobs.length
      return { progress, value, batch, refused, cancelled, listed }

      async function waitUntilRunning(job) {
        for (let i = 0; i < 300; i++) {
          if ((await job.get())?.status === 'running') return
          await new Promise((r) => setTimeout(r, 50))
        }
        throw new Error('the hold job never ran')
      }
    })()`,
  )) as PageReport

  assert.deepEqual(pageErrors, [])
  assert.deepEqual(report.value, { steps: 4 })
  assert.ok(report.progress.length >= 1, 'progress arrives over server-sent events')
  assert.ok(
    report.progress.every((p, i) => p.fraction > 0 && p.fraction <= 1 && (i === 0 || p.fraction >= report.progress[i - 1]!.fraction)),
    JSON.stringify(report.progress),
  )
  assert.match(report.progress.at(-1)!.message ?? '', /^step [1-4] of 4$/)
  assert.deepEqual(report.batch, [{ doubled: 2 }, { doubled: 4 }, { doubled: 6 }])
  assert.deepEqual(report.refused, { name: 'InvalidJobError', isClass: true, code: report.refused.code })
  assert.match(report.refused.code, /^ERR_/)
  assert.deepEqual(report.cancelled, { name: 'JobCancelledError', isClass: true })
  assert.equal(report.listed, 5, 'the page lists the five jobs it ran (the refused one is not a job)')
})
