// Goal: the progress of long CLI operations shows where a person watches and stays out of the way
// of scripts. Method: the bar and the waiting line against fake terminals and pipes (a manual
// clock), and the simulator's commands as a user runs them: in a real pseudo-terminal (script(1)),
// piped, and piped with --progress. Checked: on a terminal the line redraws in place (carriage
// return, erase to the end of the line) and ends with one newline; piped, nothing extra is printed
// unless --progress asks, and then whole lines only; the simulator's progress hook leaves the trace
// unchanged; a peer's graceful leave shows its time on a terminal.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { promisify } from 'node:util'
import { ProgressBar, showProgress, Waiting } from '../../src/cli/progress.js'
import { ManualEnvironment } from '../../src/env/manual.js'
import { runSimulation, type SimOptions } from '../../sim/run.js'
import { meshScenario } from '../../sim/scenarios/mesh/index.js'
import { inTerminal, quote } from './terminal.js'
import { freePort } from '../helpers/peers.js'
import { BIN } from '../helpers/bin.js'

/** A sink that records what is written, as a terminal or as a pipe. */
function sink(isTTY: boolean): { isTTY: boolean; text: string; write(s: string): void } {
  return {
    isTTY,
    text: '',
    write(s: string) {
      this.text += s
    },
  }
}

test('on a terminal the bar redraws one line in place; piped it prints a line per tenth', () => {
  let now = 0
  const tty = sink(true)
  const bar = new ProgressBar(tty, 100, 'jobs', () => now)
  for (let done = 1; done <= 100; done++) {
    now += 50
    bar.update(done)
  }
  bar.finish('done')
  assert.equal(tty.text.split('\n').length, 2, 'one line, ended once')
  assert.ok(tty.text.endsWith('\n'))
  const frames = tty.text.split('\r').filter((f) => f !== '')
  assert.ok(frames.length >= 40 && frames.length <= 52, `redrawn at most ten times a second (${frames.length} frames for 5 s)`)
  assert.ok(
    frames.every((f) => f.includes('\x1b[K')),
    'each frame erases what is left of the previous one',
  )
  assert.match(frames.at(-1)!, /^jobs \[#{30}\] 100\/100 100%  done\x1b\[K\n$/)

  const pipe = sink(false)
  const piped = new ProgressBar(pipe, 100, 'jobs', () => now)
  for (let done = 1; done <= 100; done++) piped.update(done)
  piped.finish()
  assert.doesNotMatch(pipe.text, /\r|\x1b/)
  assert.equal(pipe.text.trim().split('\n').length, 11, 'a line at the start and at each tenth')

  assert.equal(showProgress(sink(true), undefined), true)
  assert.equal(showProgress(sink(false), undefined), false)
  assert.equal(showProgress(sink(false), true), true)
  assert.equal(showProgress(sink(true), undefined, true), false, '--json: nothing extra')
})

test('an operation of unknown length shows the time it takes: in place on a terminal, a line a second piped', async () => {
  const env = new ManualEnvironment()
  const tty = sink(true)
  const waiting = new Waiting(tty, 'removing n1', env.clock, env.timers)
  await env.advance(1000)
  waiting.stop('done')
  waiting.stop('failed')
  assert.match(tty.text, /^\rremoving n1 \| 0\.0 s\x1b\[K\rremoving n1 \/ 0\.2 s\x1b\[K/)
  assert.match(tty.text, /\rremoving n1 done \(1\.0 s\)\x1b\[K\n$/)
  assert.equal(tty.text.split('\n').length, 2, 'one line; a second stop prints nothing')
  await env.advance(5000)
  assert.equal(tty.text.split('\n').length, 2, 'no redraw after stop')

  const pipe = sink(false)
  const piped = new Waiting(pipe, 'leaving the cluster', env.clock, env.timers)
  await env.advance(2500)
  piped.stop('done')
  assert.equal(pipe.text, 'leaving the cluster ... 1.0 s\nleaving the cluster ... 2.0 s\nleaving the cluster done (2.5 s)\n')
})

test("the simulator's progress hook sees the simulated time and leaves the trace as it was", async () => {
  const options: SimOptions = { seed: 3, nodes: 3, durationMs: 20_000, faults: ['crash', 'partition'], mode: 'safety', swarm: false }
  const plain = await runSimulation(meshScenario(), options)
  const seen: number[] = []
  const watched = await runSimulation(meshScenario(), options, (simMs) => seen.push(simMs))
  assert.equal(watched.traceHash, plain.traceHash)
  assert.ok(seen.length >= 10 && seen.length <= 101, `at most one call per 1% (${seen.length})`)
  assert.ok(seen.at(-1)! >= 16_000, `calls until near the end (last at ${seen.at(-1)} ms)`)
  assert.ok(
    seen.every((t, i) => i === 0 || t >= seen[i - 1]! + 200),
    'at least 1% of the duration apart',
  )
})

const run = promisify(execFile)
const SIM_RUN = ['sim', 'run', '--seed', '2', '--nodes', '3', '--duration', '30s', '--faults', 'crash']

test('sim run: a bar on a terminal, nothing extra piped, whole lines with --progress', { timeout: 120_000 }, async () => {
  const terminal = await inTerminal([process.execPath, BIN, ...SIM_RUN])
  assert.equal(terminal.code, 0, terminal.output)
  assert.match(terminal.output, /\rsimulated s \[#*\.+\] +\d+\/30 +\d+%\x1b\[K/, 'redrawn in place while it runs')
  assert.match(terminal.output, /\rsimulated s \[#{30}\] 30\/30 100%\x1b\[K\r?\n/, 'ends full, then a newline')
  assert.match(terminal.output, /invariants: all held/)

  const piped = await run(process.execPath, [BIN, ...SIM_RUN])
  assert.equal(piped.stderr, '', 'piped: nothing on stderr')
  assert.match(piped.stdout, /invariants: all held/)

  const forced = await run(process.execPath, [BIN, ...SIM_RUN, '--progress'])
  assert.doesNotMatch(forced.stderr, /\r|\x1b/, 'no terminal codes into a pipe')
  assert.match(forced.stderr, /^simulated s \[#{30}\] 30\/30 100%$/m)
  const hash = (out: string): string | undefined => /^trace-hash: (\S+)$/m.exec(out)?.[1]
  assert.equal(hash(forced.stdout), hash(piped.stdout), 'the same run with the bar')
  assert.equal(hash(terminal.output.replace(/\r/g, '')), hash(piped.stdout))
})

test('sim compare --progress counts the runs of every policy on every seed', { timeout: 120_000 }, async () => {
  const args = ['sim', 'compare', '--scenario', 'S2', '--policies', 'wlc,random', '--seeds', '1,2', '--tasks', '200']
  const forced = await run(process.execPath, [BIN, ...args, '--progress'])
  assert.match(forced.stderr, /^runs \[#{30}\] 4\/4 100%$/m)
  assert.equal((await run(process.execPath, [BIN, ...args])).stderr, '')
})

test("start's graceful leave shows the time it takes on a terminal, in place", { timeout: 120_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'dx-cli-leave-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const [p2p, http] = [await freePort(), await freePort()]
  const node = [process.execPath, BIN].map(quote).join(' ')
  // The peer in the background of a shell in the terminal; SIGTERM once its API answers.
  const script = [
    `${node} start --listen /ip4/127.0.0.1/tcp/${p2p} --http 127.0.0.1:${http} --data-dir ${quote(join(dir, 'p0'))} --log-level error &`,
    'p=$!',
    `until ${node} status --http 127.0.0.1:${http} >/dev/null 2>&1; do sleep 0.5; done`,
    'kill -TERM $p',
    'wait $p',
  ].join('\n')
  const terminal = await inTerminal(['sh', '-c', script])
  assert.equal(terminal.code, 0, terminal.output)
  assert.match(terminal.output, /\rleaving the cluster \| 0\.0 s\x1b\[K/, 'drawn in place at once')
  assert.match(terminal.output, /\rleaving the cluster done \(\d+\.\d s\)\x1b\[K\r?\n/)
  assert.doesNotMatch(terminal.output, /leaving the cluster \.\.\./)
})
