// Goal: the README's `npm start` stays true: the demo starts three peers, runs its workload through a
// leader kill and the old leader's rejoin, prints the summary and exits 0; Ctrl-C (SIGINT to the
// whole process group, as a terminal sends it) stops the workload and every peer promptly.
import assert from 'node:assert/strict'
import { execFileSync, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { waitFor } from '../helpers/peers.js'
import { BIN } from '../helpers/bin.js'

/**
 * Runs the demo in its own process group; resolves with its exit code and output. Past `limitMs` the
 * group is killed and the output so far comes back (code null), so a hang shows where it stopped
 * instead of ending as a bare test timeout.
 */
function demo(args: string[], onOutput?: (text: string, group: number) => void, limitMs = 170_000): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, [BIN, 'demo', ...args], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  const collect = (chunk: Buffer): void => {
    out += chunk.toString()
    onOutput?.(out, child.pid!)
  }
  child.stdout.on('data', collect)
  child.stderr.on('data', collect)
  const limit = setTimeout(() => {
    out += `\n[test] no exit after ${limitMs} ms: killing the demo's process group\n`
    try {
      process.kill(-child.pid!, 'SIGKILL')
    } catch {
      // Already gone.
    }
  }, limitMs)
  return new Promise((resolve) =>
    child.once('exit', (code) => {
      clearTimeout(limit)
      resolve({ code, out })
    }),
  )
}

/** Processes whose command line mentions `dir`, other than this test's own. */
function processesUsing(dir: string): string[] {
  try {
    return execFileSync('pgrep', ['-f', dir])
      .toString()
      .trim()
      .split('\n')
      .filter((pid) => pid !== '' && Number(pid) !== process.pid)
  } catch {
    return []
  }
}

test('the demo finishes its workload through a leader kill and exits 0', { timeout: 180_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dx-demo-'))
  try {
    const { code, out } = await demo(['--jobs', '600', '--dir', dir])
    assert.equal(code, 0, out)
    const summary = /jobs: (\d+) completed, (\d+) failed/.exec(out)
    assert.ok(summary !== null, out)
    assert.equal(Number(summary[1]) + Number(summary[2]), 600)
    assert.match(out, /^done\.$/m)
    assert.match(out, /took over \(epoch 1 -> \d+\) after \d+ ms; the old leader restarted and rejoined as a follower/)
    assert.deepEqual(processesUsing(dir), [], 'no peer outlives the demo')
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test('Ctrl-C stops the workload and every peer within seconds', { timeout: 180_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'dx-demo-'))
  try {
    let interruptedAt = 0
    const { code, out } = await demo(['--jobs', '200000', '--dir', dir, '--keep-leader'], (text, group) => {
      if (interruptedAt === 0 && /\d+\/200000 jobs finished/.test(text)) {
        interruptedAt = performance.now()
        process.kill(-group, 'SIGINT')
      }
    })
    assert.ok(interruptedAt > 0, out)
    const tookMs = performance.now() - interruptedAt
    t.diagnostic(`exited ${Math.round(tookMs)} ms after Ctrl-C`)
    assert.equal(code, 0, out)
    assert.match(out, /^interrupted\.$/m)
    assert.ok(tookMs < 15_000, `exited ${Math.round(tookMs)} ms after Ctrl-C`)
    await waitFor(
      async () => processesUsing(dir),
      (left) => left.length === 0,
      5_000,
      'every peer to exit',
    )
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
