/**
 * Local actor throughput, side by side with two baselines in the same process: tells over a 2-hop
 * chain (driver -> relay -> sink, so every message is handled twice) and asks with 1,000 in
 * flight. Runs are interleaved (ours, bare mailbox, nact) and repeated, after one warm-up run of
 * each; medians are reported. A baseline that fails a run (nact once answered an ask with another
 * ask's reply under load) is reported, in `baseline_failures` and on stderr, and that run is left
 * out; a failure of ours ends the bench. Prints one JSON object on the last line.
 */
import { performance } from 'node:perf_hooks'
import nact from 'nact'
import { createActorSystem, defineActor, realEnvironment, type Ask } from '../../src/index.js'
import { BareActor } from './baselines/bare-mailbox.js'

const TELLS = Number(process.env.TELLS ?? 5_000_000)
const ASKS = Number(process.env.ASKS ?? 2_000_000)
const NACT_TELLS = Number(process.env.NACT_TELLS ?? 500_000)
const NACT_ASKS = Number(process.env.NACT_ASKS ?? 200_000)
const RUNS = Number(process.env.RUNS ?? 3)
const IN_FLIGHT = 1000
const BATCH = 1000
const WINDOW_BATCHES = 4

type Ping = { type: 'ping' }
type Echo = Ask<{ type: 'echo'; n: number }, number>

/** Drives `total` messages into `send` in windows of BATCH so no mailbox grows past WINDOW_BATCHES * BATCH. */
function windowedDriver(total: number, send: () => void): { onReceived: () => void; done: Promise<number> } {
  let received = 0
  let sent = 0
  let finish!: (seconds: number) => void
  const done = new Promise<number>((resolve) => (finish = resolve))
  const start = performance.now()
  const sendBatch = (): void => {
    const n = Math.min(BATCH, total - sent)
    for (let i = 0; i < n; i++) send()
    sent += n
  }
  queueMicrotask(() => {
    for (let b = 0; b < WINDOW_BATCHES; b++) sendBatch()
  })
  return {
    onReceived() {
      received++
      if (received === total) finish((performance.now() - start) / 1000)
      else if (received % BATCH === 0) sendBatch()
    },
    done,
  }
}

async function oursTell(): Promise<number> {
  const system = createActorSystem({ env: realEnvironment({ logLevel: 'warn' }) })
  const ping: Ping = { type: 'ping' }
  const driver = windowedDriver(TELLS, () => relay.tell(ping))
  const sink = system.spawn(defineActor<Ping>({ setup: () => ({ ping: () => driver.onReceived() }) }))
  const relay = system.spawn(defineActor<Ping>({ setup: () => ({ ping: (msg) => sink.tell(msg) }) }))
  const seconds = await driver.done
  if (system.deadLetters.count !== 0) throw new Error(`dead letters: ${system.deadLetters.count}`)
  await system.shutdown()
  return TELLS / seconds
}

async function oursAsk(): Promise<number> {
  const system = createActorSystem({ env: realEnvironment({ logLevel: 'warn' }) })
  const echo = system.spawn(defineActor<Echo>({ setup: () => ({ echo: (msg) => msg.n }) }))
  const seconds = await askLoop(ASKS, (n) => echo.ask({ type: 'echo', n }, { timeoutMs: 30_000 }))
  await system.shutdown()
  return ASKS / seconds
}

async function bareTell(): Promise<number> {
  const ping: Ping = { type: 'ping' }
  const driver = windowedDriver(TELLS, () => relay.tell(ping))
  const sink = new BareActor<Ping>(() => driver.onReceived())
  const relay = new BareActor<Ping>((msg) => sink.tell(msg))
  return TELLS / (await driver.done)
}

async function bareAsk(): Promise<number> {
  const echo = new BareActor<{ n: number; reply: (n: number) => void }>((msg) => msg.reply(msg.n))
  return ASKS / (await askLoop(ASKS, (n) => echo.ask<number>((reply) => ({ n, reply }))))
}

async function nactTell(): Promise<number> {
  const system = nact.start()
  const ping: Ping = { type: 'ping' }
  const driver = windowedDriver(NACT_TELLS, () => nact.dispatch(relay, ping))
  const sink = nact.spawnStateless(system, () => driver.onReceived(), 'sink')
  const relay = nact.spawnStateless(system, (msg: Ping) => nact.dispatch(sink, msg), 'relay')
  try {
    return NACT_TELLS / (await driver.done)
  } finally {
    nact.stop(system)
  }
}

async function nactAsk(): Promise<number> {
  const system = nact.start()
  const echo = nact.spawnStateless(system, (msg: { n: number; sender: nact.Ref<number> }) => nact.dispatch(msg.sender, msg.n), 'echo')
  try {
    return NACT_ASKS / (await askLoop(NACT_ASKS, (n) => nact.query(echo, (sender: nact.Ref<number>) => ({ n, sender }), 30_000) as Promise<number>))
  } finally {
    nact.stop(system)
  }
}

/** Runs `total` asks with IN_FLIGHT outstanding at any time; checks every reply; returns seconds. */
async function askLoop(total: number, ask: (n: number) => Promise<number>): Promise<number> {
  let issued = 0
  const worker = async (): Promise<void> => {
    while (issued < total) {
      const n = issued++
      const reply = await ask(n)
      if (reply !== n) throw new Error(`wrong reply ${reply} for ${n}`)
    }
  }
  const start = performance.now()
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker))
  return (performance.now() - start) / 1000
}

const cases = { oursTell, oursAsk, bareTell, bareAsk, nactTell, nactAsk }
type Case = keyof typeof cases
const OURS: ReadonlySet<Case> = new Set(['oursTell', 'oursAsk'])
const results: Record<Case, number[]> = { oursTell: [], oursAsk: [], bareTell: [], bareAsk: [], nactTell: [], nactAsk: [] }
const failures: Partial<Record<Case, number>> = {}
/** One run of `name`; a baseline's failure is counted and reported, ours ends the bench. */
async function measure(name: Case): Promise<number | undefined> {
  try {
    return await cases[name]()
  } catch (error) {
    if (OURS.has(name)) throw error
    failures[name] = (failures[name] ?? 0) + 1
    console.error(`${name} failed a run (left out): ${(error as Error).message}`)
    return undefined
  }
}
const names = Object.keys(cases) as Case[]
for (const name of names) await measure(name)
for (let run = 0; run < RUNS; run++) {
  for (const name of names) {
    const perS = await measure(name)
    if (perS !== undefined) results[name].push(perS)
  }
}
const median = (xs: number[]): number | null => (xs.length === 0 ? null : Math.round([...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!))
for (const [name, xs] of Object.entries(results))
  console.error(`${name.padEnd(9)} median ${median(xs)?.toLocaleString('en') ?? '-'}/s  runs ${xs.map((x) => Math.round(x).toLocaleString('en')).join(', ')}`)
console.log(
  JSON.stringify({
    bench: 'actor-local',
    tell_msgs_per_s: median(results.oursTell),
    ask_per_s: median(results.oursAsk),
    baseline_bare_tell_msgs_per_s: median(results.bareTell),
    baseline_bare_ask_per_s: median(results.bareAsk),
    baseline_nact_tell_msgs_per_s: median(results.nactTell),
    baseline_nact_ask_per_s: median(results.nactAsk),
    baseline_failures: failures,
  }),
)
