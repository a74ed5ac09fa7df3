// Goal: the web dashboard works for a person in a real browser against a real cluster. Method: three
// `distributex start` peers with an API token run a workload; headless Chromium (Debian's, driven by
// playwright-core) opens `/#token=...` on a follower. Checked by content, not pixels: the members
// table lists the three peers and marks the leader, the throughput chart has points and paint, the
// load chart carries the leader's forecast for every peer (dashed lines painted to the right of
// "now", the bottleneck table filled), it follows a load step (jobs that hold their slots), a job
// whose deadline the leader predicts it will miss shows as a predicted alert, a job's detail
// opens; after kill -9 of the leader the page
// shows the new leader and an alert for the lost peer without a reload, and the new leader's
// forecast replaces the old one's. A page fed a summary without a forecast shows the empty state. Screenshots land in test/artifacts/ (gitignored).
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { promisify } from 'node:util'
import { chromium, type Browser, type Page } from 'playwright-core'
import { Peer, agreedLeader, freePort, waitFor } from '../helpers/peers.js'
import { BIN, fixture } from '../helpers/bin.js'
import { sourceDir } from '../helpers/paths.js'

const run = promisify(execFile)
const ROOT = join(sourceDir(import.meta.dirname), '..', '..')
const ARTIFACTS = join(ROOT, 'test', 'artifacts')
let dir: string
let browser: Browser | undefined
const peers: Peer[] = []

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dx-dashboard-'))
  mkdirSync(ARTIFACTS, { recursive: true })
  await run(process.execPath, [BIN, 'secret', '--out', join(dir, 'cluster.key')])
  await run(process.execPath, [BIN, 'token', '--out', join(dir, 'api.token')])
  const actors = fixture(join(ROOT, 'test', 'fixtures', 'jobs-module.ts'))
  const make = async (name: string, bootstrap: string[]): Promise<Peer> => {
    const p = new Peer({
      name,
      dataDir: join(dir, name),
      secretFile: join(dir, 'cluster.key'),
      httpTokenFile: join(dir, 'api.token'),
      p2pPort: await freePort(),
      httpPort: await freePort(),
      bootstrap,
      actors,
    })
    peers.push(p)
    p.start()
    return p
  }
  const founder = await make('p0', [])
  // A loaded machine (CI shares its cores) can take a while to start the first peer.
  await waitFor(
    () => founder.status(),
    (s) => s !== undefined && s.addresses.length > 0,
    90_000,
    'p0 to serve /status',
  )
  const seed = await founder.address()
  await make('p1', [seed])
  await make('p2', [seed])
  await waitFor(
    () => agreedLeader(peers),
    (l) => l !== undefined,
    90_000,
    'three peers with an agreed leader',
  )
})

after(async () => {
  await browser?.close()
  await Promise.all(peers.map((p) => p.kill()))
  await rm(dir, { recursive: true, force: true })
})

/** Submits batches of jobs through `peer` until `stop` aborts. */
async function workload(peer: Peer, stop: AbortSignal): Promise<number> {
  let submitted = 0
  while (!stop.aborted) {
    const jobs = Array.from({ length: 100 }, (_, i) => ({ type: 'double', input: { n: i } }))
    const reply = await peer.call<{ results: unknown[] }>('POST', '/jobs/batch', { jobs }).catch(() => undefined)
    if (reply?.status === 200) submitted += jobs.length
    await new Promise((r) => setTimeout(r, 250))
  }
  return submitted
}

/**
 * Strongly coloured pixels (lines and bands, not the grey grid and axes) in the right `fraction` of
 * the chart's canvas: on the load chart, the time after "now", where only the forecast is drawn.
 */
function colouredPixelsRight(page: Page, chart: string, fraction: number): Promise<number> {
  return page.$eval(
    `#chart-${chart} canvas`,
    (canvas, f) => {
      const c = canvas as unknown as {
        width: number
        height: number
        getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } }
      }
      const from = Math.floor(c.width * (1 - f))
      const data = c.getContext('2d').getImageData(from, 0, c.width - from, c.height).data
      let n = 0
      for (let i = 0; i < data.length; i += 4) if (data[i + 3]! > 100 && Math.max(data[i]!, data[i + 1]!, data[i + 2]!) - Math.min(data[i]!, data[i + 1]!, data[i + 2]!) > 60) n++
      return n
    },
    fraction,
  )
}

/** Bytes of the first `summary` event of the page's stream that carries a forecast (what each open page receives a second), and of its forecast. */
async function summaryBytes(url: string, token: string): Promise<{ summary: number; forecast: number }> {
  const stop = new AbortController()
  const res = await fetch(`${url}/dashboard/events`, { headers: { authorization: `Bearer ${token}` }, signal: stop.signal })
  const reader = res.body!.getReader()
  const decoder = new TextDecoder()
  let buffer = ''
  try {
    for (;;) {
      const chunk = await reader.read()
      if (chunk.done) throw new Error('the event stream ended')
      buffer += decoder.decode(chunk.value, { stream: true })
      for (let cut = buffer.indexOf('\n\n'); cut >= 0; cut = buffer.indexOf('\n\n')) {
        const block = buffer.slice(0, cut)
        buffer = buffer.slice(cut + 2)
        if (!block.startsWith('event: summary\n')) continue
        const { forecast } = JSON.parse(block.slice(block.indexOf('data: ') + 6)) as { forecast: unknown }
        if (forecast !== null) return { summary: Buffer.byteLength(block), forecast: Buffer.byteLength(JSON.stringify(forecast)) }
      }
    }
  } finally {
    stop.abort()
  }
}

/** Coloured (non-transparent) pixels of the chart's canvas: uPlot has drawn something. */
function paintedPixels(page: Page, chart: string): Promise<number> {
  return page.$eval(`#chart-${chart} canvas`, (canvas) => {
    const c = canvas as unknown as {
      width: number
      height: number
      getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } }
    }
    const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data
    let n = 0
    for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) n++
    return n
  })
}

test('the dashboard shows the cluster, its throughput and a failover, live, in Chromium', { timeout: 180_000 }, async () => {
  const token = (await readFile(join(dir, 'api.token'), 'utf8')).trim()
  const ids = await Promise.all(peers.map(async (p) => (await p.status())!.nodeId))
  // The page is opened on a follower, which also submits the workload; the test kills the leader,
  // never the page's peer (should the lead move to it meanwhile, the test waits for it to move on).
  const first = (await waitFor(
    () => agreedLeader(peers),
    (l) => l !== undefined,
    30_000,
    'an agreed leader',
  ))!
  const viewer = peers[ids.findIndex((id) => id !== first.nodeId)]!
  const viewerId = ids[peers.indexOf(viewer)]!
  // The data stream is behind the token like the rest of the API; the page shell holds no data.
  assert.equal((await fetch(`${viewer.httpUrl}/dashboard/events`)).status, 401)
  assert.equal((await fetch(`${viewer.httpUrl}/`)).status, 200)

  const stop = new AbortController()
  const submitting = workload(viewer, stop.signal)
  try {
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] })
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } })
    const pageErrors: string[] = []
    page.on('pageerror', (e) => pageErrors.push(e.message))
    await page.goto(`${viewer.httpUrl}/#token=${encodeURIComponent(token)}`)
    assert.equal(new URL(page.url()).hash, '', 'the token leaves the address bar')

    await page.waitForFunction(`document.querySelectorAll('#members tbody tr').length === 3`, undefined, { timeout: 30_000 })
    // The leader the page shows is the one the peers agree on (the lead may move while the cluster
    // settles on a loaded machine, so the two are compared until they match).
    const shown = (): Promise<{ rows: Array<string | null>; header: string | null }> =>
      page.evaluate(
        `({ rows: [...document.querySelectorAll('#members tbody tr[data-leader="true"]')].map((r) => r.getAttribute('data-node')), header: document.querySelector('#leader').title })`,
      )
    const agreed = await waitFor(
      async () => ({ page: await shown(), peers: await agreedLeader(peers) }),
      (x) => x.peers !== undefined && x.page.header === x.peers.nodeId && x.page.rows.length === 1 && x.page.rows[0] === x.peers.nodeId,
      30_000,
      'the page to show the leader the peers agree on',
    )
    assert.ok(ids.includes(agreed.page.header!))
    assert.equal(await page.$eval('#conn', (e) => e.getAttribute('data-state')), 'live')

    // Throughput: points with jobs finished, and pixels on the canvas.
    await page.waitForFunction(
      `Number(document.querySelector('#chart-throughput')?.dataset.points ?? 0) >= 4 && document.querySelector('#chart-throughput .empty')?.hidden === true`,
      undefined,
      { timeout: 30_000 },
    )
    await page.waitForFunction(`document.querySelector('#chart-latency .empty')?.hidden === true`, undefined, { timeout: 30_000 })
    for (const chart of ['throughput', 'latency', 'load', 'queue']) assert.ok((await paintedPixels(page, chart)) > 500, `the ${chart} chart is painted`)
    const units = await page.$$eval('.chart', (charts) => charts.map((c) => [c.id, c.getAttribute('data-unit')]))
    assert.deepEqual(Object.fromEntries(units), { 'chart-load': 'jobs/slot', 'chart-throughput': 'jobs/s', 'chart-latency': 'ms', 'chart-queue': 'jobs' })

    // The leader's forecast continues every peer's load: a dashed series per peer, points into the
    // future, paint right of "now" (the newest sample sits left of the last tenth while the history
    // is shorter than nine minutes), and a row per peer in the bottleneck table.
    await page.waitForFunction(`Number(document.querySelector('#chart-load')?.dataset.forecastPeers ?? 0) === 3`, undefined, { timeout: 30_000 })
    assert.equal(await page.$eval('#forecast-empty', (e) => (e as unknown as { hidden: boolean }).hidden), true)
    assert.ok(Number(await page.$eval('#chart-load', (e) => e.getAttribute('data-forecast-points'))) >= 3 * 6)
    const legend = await page.$$eval('#chart-load .u-legend .u-series', (rows) => rows.map((r) => r.textContent ?? ''))
    assert.equal(legend.filter((l) => l.includes('forecast')).length, 3, `legend: ${legend.join(' | ')}`)
    assert.ok((await colouredPixelsRight(page, 'load', 0.1)) > 100, 'the forecast is painted right of now')
    assert.match((await page.textContent('#forecast-legend'))!, /forecast for the next 60 s/)
    assert.deepEqual((await page.$$eval('#bottlenecks tbody tr', (rows) => rows.map((r) => r.getAttribute('data-node')))).sort(), [...ids].sort())
    // A load step: jobs that hold their slot until the peers stop. The leader's forecast follows it.
    const holds = await viewer.call<{ results: unknown[] }>('POST', '/jobs/batch', { jobs: Array.from({ length: 240 }, () => ({ type: 'hold', input: null })) })
    assert.equal(holds.status, 200)
    await page.waitForFunction(`[...document.querySelectorAll('#bottlenecks tbody tr td:nth-child(2)')].filter((td) => Number(td.textContent) > 0).length >= 2`, undefined, {
      timeout: 30_000,
    })
    // The leader predicts a miss for a job hinted at 10 minutes with a deadline in 2: an alert of the
    // leader's, with its predicted time, next to those of the page's peer.
    const risky = await viewer.call<{ id: string }>('POST', '/jobs', { type: 'double', input: { n: 1 }, options: { durationHintMs: 600_000, deadline: Date.now() + 120_000 } })
    assert.equal(risky.status, 202)
    await page.waitForSelector('#alerts li[data-alert="deadline-risk"][data-predicted="true"]', { timeout: 30_000 })
    assert.match((await page.textContent('#alerts li[data-alert="deadline-risk"]'))!, /predicted in \d+ s/)
    const bytes = await summaryBytes(viewer.httpUrl, token)

    // A job's detail view.
    await page.waitForSelector('#jobs tbody tr[data-job]', { timeout: 20_000 })
    await page.click('#jobs tbody tr[data-job]')
    await page.waitForFunction(`document.querySelector('#detail dl') !== null`, undefined, { timeout: 10_000 })
    const detail = (await page.textContent('#detail'))!
    for (const field of ['Attempts', 'Submitted', 'Status', 'Node']) assert.ok(detail.includes(field), `detail shows ${field}: ${detail}`)
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-cluster.png'), fullPage: true })

    // Kill -9 of the leader: the same page, not reloaded, shows the successor and the lost peer.
    const leader = (await waitFor(
      () => agreedLeader(peers),
      (l) => l !== undefined && l.nodeId !== viewerId,
      30_000,
      'a leader other than the peer of the page',
    ))!
    const victim = peers[ids.indexOf(leader.nodeId)]!
    const killedAt = Date.now()
    await victim.kill()
    await page.waitForFunction(`(() => { const t = document.querySelector('#leader')?.title; return Boolean(t) && t !== ${JSON.stringify(leader.nodeId)} })()`, undefined, {
      timeout: 30_000,
    })
    const shownAfterMs = Date.now() - killedAt
    const next = await page.$eval('#leader', (e) => e.getAttribute('title'))
    assert.ok(next !== null && ids.includes(next) && next !== leader.nodeId, `new leader ${next}`)
    assert.ok(shownAfterMs < 10_000, `the new leader shows ${shownAfterMs} ms after the kill`)
    await page.waitForFunction(`[...document.querySelectorAll('#epochs li')].some((li) => Number(li.dataset.epoch) > ${leader.epoch})`, undefined, { timeout: 10_000 })
    await page.waitForFunction(`[...document.querySelectorAll('#alerts li[data-alert]')].some((li) => li.textContent.includes(${JSON.stringify(leader.nodeId)}))`, undefined, {
      timeout: 30_000,
    })
    const alerts = await page.$$eval('#alerts li[data-alert]', (items) => items.map((li) => li.getAttribute('data-alert')))
    assert.ok(
      alerts.some((a) => a === 'MemberDown' || a === 'MemberSuspect'),
      `alerts: ${alerts.join(', ')}`,
    )
    // Jobs still finish through the new leader.
    const before = await page.$eval('#chart-throughput', (e) => Number(e.getAttribute('data-points')))
    await page.waitForFunction(`Number(document.querySelector('#chart-throughput').dataset.points) > ${before + 2}`, undefined, { timeout: 30_000 })
    // The new leader forecasts the two peers left (the lost one once it is no longer up in its view).
    await page.waitForFunction(
      `(() => { const rows = [...document.querySelectorAll('#bottlenecks tbody tr')].map((r) => r.dataset.node); return rows.length === 2 && !rows.includes(${JSON.stringify(leader.nodeId)}) })()`,
      undefined,
      { timeout: 30_000 },
    )
    assert.equal(await page.$eval('#chart-load', (e) => e.getAttribute('data-forecast-peers')), '2')
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-failover.png'), fullPage: true })
    assert.deepEqual(pageErrors, [])

    // Before the leader has forecast anything (a summary with forecast null), the chart says so.
    const fresh = await browser.newPage({ viewport: { width: 1400, height: 1000 } })
    const freshErrors: string[] = []
    fresh.on('pageerror', (e) => freshErrors.push(e.message))
    const member = { nodeId: viewerId, role: 'voter', state: 'up', voter: true, leader: true, running: 0, queued: 0, capacity: 4, cpu: 0, lagMs: 1, memoryMb: 100 }
    const summary = {
      t: Date.now(),
      nodeId: viewerId,
      clusterId: 'c',
      leader: { nodeId: viewerId, epoch: 1 },
      leading: true,
      members: [member],
      throughput: null,
      latency: null,
      queue: { queued: 0, running: 0, capacity: 4 },
      recent: [],
      alerts: [],
      forecast: null,
    }
    await fresh.route('**/dashboard/events', (route) =>
      route.fulfill({ status: 200, contentType: 'text/event-stream', body: `event: snapshot\ndata: ${JSON.stringify({ history: [summary], epochs: [] })}\n\n` }),
    )
    await fresh.goto(`${viewer.httpUrl}/`)
    await fresh.waitForSelector('#members tbody tr[data-node]', { timeout: 10_000 })
    assert.equal(await fresh.$eval('#forecast-empty', (e) => (e as unknown as { hidden: boolean }).hidden), false)
    assert.match((await fresh.textContent('#forecast-empty'))!, /No forecast yet/)
    assert.equal(await fresh.$eval('#chart-load', (e) => e.getAttribute('data-forecast-peers')), '0')
    assert.equal(await fresh.$eval('#bottlenecks', (e) => (e as unknown as { hidden: boolean }).hidden), true)
    await fresh.close()
    assert.deepEqual(freshErrors, [])
    console.log(JSON.stringify({ newLeaderShownAfterMs: shownAfterMs, summaryBytes: bytes.summary, forecastBytes: bytes.forecast }))
  } finally {
    stop.abort()
    assert.ok((await submitting) > 0)
  }
})
