/**
 * Raw Network-port transport between two libp2p peers in one process (so one core does the work
 * of both ends): one-way throughput of ~100-byte messages, counted at the receiving handler, and the
 * round trip send -> handler -> reply send -> handler, measured one request at a time.
 * Throughput keeps at most WINDOW messages in flight and retries when `send` refuses, so flow
 * control is exercised rather than bypassed; cpu_us_per_msg and cpu_ms_per_mb are the process's CPU
 * over the throughput runs (both ends), which a loaded machine disturbs far less than msgs/s.
 * SECRET=1 gives both peers one cluster secret, as every real cluster runs; PAYLOAD_BYTES sets the
 * message size. Prints one JSON object on the last line.
 */
import { performance } from 'node:perf_hooks'
import { createLibp2pNetwork, generateClusterSecret, type Libp2pNetwork } from '../../src/adapters/libp2p/index.js'
import { realEnvironment } from '../../src/env/real.js'

const MESSAGES = Number(process.env.MESSAGES ?? 1_000_000)
const WARMUP_MESSAGES = Number(process.env.WARMUP_MESSAGES ?? 100_000)
const ROUND_TRIPS = Number(process.env.ROUND_TRIPS ?? 20_000)
const WARMUP_ROUND_TRIPS = Number(process.env.WARMUP_ROUND_TRIPS ?? 2_000)
const RUNS = Number(process.env.RUNS ?? 3)
const PAYLOAD_BYTES = Number(process.env.PAYLOAD_BYTES ?? 100)
const SECRET = process.env.SECRET === '1' ? generateClusterSecret() : undefined
const WINDOW = 20_000
const SEND_BATCH = 2_000

const TELL = '/bench/tell'
const PING = '/bench/ping'
const PONG = '/bench/pong'

async function startPair(): Promise<[Libp2pNetwork, Libp2pNetwork]> {
  const make = () =>
    createLibp2pNetwork({ env: realEnvironment({ logLevel: 'warn' }), listen: ['/ip4/127.0.0.1/tcp/0'], ...(SECRET === undefined ? {} : { clusterSecret: SECRET }) })
  const [a, b] = await Promise.all([make(), make()])
  await Promise.all([a.start(), b.start()])
  await a.dial(b.addresses()[0]!)
  // The dialler's channel may open before the acceptor's side is registered; wait for both.
  while (!b.peers().includes(a.self)) await new Promise((resolve) => setImmediate(resolve))
  return [a, b]
}

/** Sends `total` messages a -> b and resolves with the seconds until b's handler has seen them all. */
function throughput(a: Libp2pNetwork, b: Libp2pNetwork, total: number): Promise<number> {
  const payload = new Uint8Array(PAYLOAD_BYTES).fill(7)
  let sent = 0
  let received = 0
  return new Promise((resolve) => {
    const start = performance.now()
    b.handle(TELL, () => {
      received++
      if (received === total) resolve((performance.now() - start) / 1000)
    })
    const pump = (): void => {
      let batch = 0
      while (sent < total && sent - received < WINDOW && batch < SEND_BATCH) {
        if (!a.send(b.self, TELL, payload)) break
        sent++
        batch++
      }
      if (sent < total) setImmediate(pump)
    }
    pump()
  })
}

/** Measures `count` sequential round trips a -> b -> a; returns their durations in microseconds. */
async function roundTrips(a: Libp2pNetwork, b: Libp2pNetwork, count: number): Promise<number[]> {
  const payload = new Uint8Array(PAYLOAD_BYTES).fill(9)
  b.handle(PING, (from, bytes) => void b.send(from, PONG, bytes))
  const samples: number[] = []
  for (let i = 0; i < count; i++) {
    const start = performance.now()
    await new Promise<void>((resolve) => {
      a.handle(PONG, () => resolve())
      if (!a.send(b.self, PING, payload)) throw new Error('ping refused')
    })
    samples.push((performance.now() - start) * 1000)
  }
  return samples
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!
}

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y)
  return sorted[Math.floor(sorted.length / 2)]!
}

const [a, b] = await startPair()
const rates: number[] = []
const p50s: number[] = []
const p99s: number[] = []
await throughput(a, b, WARMUP_MESSAGES)
await roundTrips(a, b, WARMUP_ROUND_TRIPS)
const cpuPerMsg: number[] = []
for (let run = 0; run < RUNS; run++) {
  const cpu0 = process.cpuUsage()
  const seconds = await throughput(a, b, MESSAGES)
  const cpu = process.cpuUsage(cpu0)
  cpuPerMsg.push((cpu.user + cpu.system) / MESSAGES)
  rates.push(MESSAGES / seconds)
  const samples = (await roundTrips(a, b, ROUND_TRIPS)).sort((x, y) => x - y)
  p50s.push(percentile(samples, 0.5))
  p99s.push(percentile(samples, 0.99))
  console.log(`run ${run + 1}: ${Math.round(MESSAGES / seconds)} msgs/s, rtt p50 ${percentile(samples, 0.5).toFixed(0)} us, p99 ${percentile(samples, 0.99).toFixed(0)} us`)
}
await Promise.all([a.stop(), b.stop()])
console.log(
  JSON.stringify({
    bench: 'remote-transport',
    msgs_per_s: Math.round(median(rates)),
    rtt_p50_us: Math.round(median(p50s)),
    rtt_p99_us: Math.round(median(p99s)),
    cpu_us_per_msg: Number(median(cpuPerMsg).toFixed(2)),
    cpu_ms_per_mb: Number(((median(cpuPerMsg) * 1e6) / PAYLOAD_BYTES / 1000).toFixed(1)),
    payload_bytes: PAYLOAD_BYTES,
    secret: SECRET !== undefined,
    runs: RUNS,
  }),
)
