// Goal, as a user drives it: `distributex start --placement NAME` runs the named policy (an unknown
// name stops the node with a config error naming the choices); a job may carry durationHintMs (a bad
// one is a 400); the leader's /status shows the analytics (speeds, forecasts, alerts), GET /alerts
// and GET /alerts/events answer, and /metrics exports dx_alerts and, once scored, dx_forecast_mase.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { promisify } from 'node:util'
import { agreedLeader, freePort, Peer, waitFor } from '../helpers/peers.js'
import { BIN } from '../helpers/bin.js'

const run = promisify(execFile)

test('an unknown --placement is refused at start, naming the policies', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dx-place-'))
  try {
    const failed = await run(process.execPath, [
      BIN,
      'start',
      '--placement',
      'fastest',
      '--data-dir',
      dir,
      '--listen',
      `/ip4/127.0.0.1/tcp/${await freePort()}`,
      '--http',
      'off',
    ]).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    )
    assert.ok(failed !== undefined && failed.code !== 0)
    assert.match(failed.stderr, /placement: fastest is not one of wlc, eect/)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test('a peer started with --placement eect places jobs with hints and serves its analytics and alerts', { timeout: 120_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dx-place-'))
  const peer = new Peer({
    name: 'p0',
    dataDir: join(dir, 'p0'),
    secretFile: join(dir, 'cluster.key'),
    p2pPort: await freePort(),
    httpPort: await freePort(),
    extraArgs: ['--placement', 'eect'],
  })
  try {
    await run(process.execPath, [BIN, 'secret', '--out', join(dir, 'cluster.key')])
    peer.start()
    await peer.address()
    await waitFor(
      () => agreedLeader([peer]),
      (l) => l !== undefined,
      30_000,
      'a leader',
    )
    const done = await Promise.all(
      Array.from({ length: 20 }, (_, i) => peer.call<{ ok: boolean }>('POST', '/jobs?wait=1', { type: 'sleep', input: { ms: 20 + i }, options: { durationHintMs: 20 + i } })),
    )
    assert.ok(
      done.every((d) => d.status === 200 && d.json.ok),
      JSON.stringify(done.find((d) => !d.json.ok)),
    )
    const bad = await peer.call<{ error: { code: string; message: string } }>('POST', '/jobs', { type: 'sleep', input: { ms: 1 }, options: { durationHintMs: -5 } })
    assert.equal(bad.status, 400)
    assert.match(bad.json.error.message, /durationHintMs/)
    const status = await waitFor(
      () => peer.call<{ analytics?: { speeds: Record<string, number>; forecasts: Record<string, unknown>; alerts: unknown[] } }>('GET', '/status'),
      (s) => s.json.analytics !== undefined && Object.keys(s.json.analytics.forecasts).length > 0,
      20_000,
      'analytics in /status',
    )
    assert.ok(Array.isArray(status.json.analytics!.alerts))
    const alerts = await peer.call<{ leader: string; alerts: unknown[]; history: unknown[] }>('GET', '/alerts')
    assert.equal(alerts.status, 200)
    assert.ok(Array.isArray(alerts.json.alerts) && Array.isArray(alerts.json.history))
    // The events stream opens with the alerts firing now.
    const controller = new AbortController()
    const res = await fetch(`${peer.httpUrl}/alerts/events`, { signal: controller.signal })
    assert.equal(res.headers.get('content-type'), 'text/event-stream')
    const reader = res.body!.getReader()
    const first = new TextDecoder().decode((await reader.read()).value)
    assert.match(first, /^event: alerts\ndata: \[/)
    controller.abort()
    const metrics = await (await fetch(`${peer.httpUrl}/metrics`)).text()
    assert.match(metrics, /dx_alerts\{name="node-saturation",severity="warning"\} 0/)
  } finally {
    await peer.kill()
    await rm(dir, { recursive: true, force: true })
  }
})
