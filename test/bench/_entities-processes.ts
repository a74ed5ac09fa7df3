/**
 * The entities bench with peers in separate processes, A B A B against another revision (see the
 * doc of test/bench/entities.ts). Each side's peers run test/bench/_entities-peer.ts from this
 * checkout against that side's sources, so both sides are driven and measured the same way.
 */
import { execSync, fork, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { symlinkSync, realpathSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { generateClusterSecret } from '../../src/adapters/libp2p/index.js'
import { freePort, waitFor } from '../helpers/peers.js'
import type { PeerCommand, PeerEvent } from './_entities-peer.js'

const KEYS = Number(process.env.KEYS ?? 10_000)
const ASKS = Number(process.env.ASKS ?? 60_000)
const WINDOW = Number(process.env.WINDOW ?? 1000)
const ROUNDS = Number(process.env.ROUNDS ?? 2)
const BASE = process.env.BASE ?? 'HEAD~1'
const PEERS = 3
const ROOT = join(import.meta.dirname, '..', '..')

class PeerProcess {
  private waiters: Array<{ ev: PeerEvent['ev']; resolve: (e: PeerEvent) => void }> = []
  exited = false

  constructor(readonly child: ChildProcess) {
    child.on('message', (e: PeerEvent) => {
      const i = this.waiters.findIndex((w) => w.ev === e.ev)
      if (i >= 0) this.waiters.splice(i, 1)[0]!.resolve(e)
    })
    child.on('exit', () => {
      this.exited = true
    })
  }

  next<E extends PeerEvent['ev']>(ev: E, timeoutMs: number): Promise<Extract<PeerEvent, { ev: E }>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`peer ${this.child.pid}: no ${ev} in ${timeoutMs} ms`)), timeoutMs)
      this.waiters.push({
        ev,
        resolve: (e) => {
          clearTimeout(timer)
          resolve(e as Extract<PeerEvent, { ev: E }>)
        },
      })
    })
  }

  command(c: PeerCommand): void {
    if (!this.exited) this.child.send(c)
  }
}

interface Round {
  side: 'A' | 'B'
  asksPerS: number
  cpuUsPerAsk: number
  warmAsksPerS: number
  retried: number
  /** Mesh frames (envelopes) and socket writes sent by all peers per measured ask. */
  framesPerAsk: number
  writesPerAsk: number
  load: number
}

async function round(side: 'A' | 'B', root: string): Promise<Round> {
  const dir = await mkdtemp(join(tmpdir(), 'dx-bench-entities-'))
  const secretFile = join(dir, 'cluster.key')
  await writeFile(secretFile, generateClusterSecret())
  const peers: PeerProcess[] = []
  try {
    let bootstrap: string | undefined
    for (let i = 0; i < PEERS; i++) {
      const init = {
        listen: `/ip4/127.0.0.1/tcp/${await freePort()}`,
        http: `127.0.0.1:${await freePort()}`,
        dataDir: join(dir, `p${i}`),
        secretFile,
        ...(bootstrap === undefined ? {} : { bootstrap }),
      }
      const child = fork(join(import.meta.dirname, '_entities-peer.ts'), [], {
        execArgv: ['--import', 'tsx'],
        env: { ...process.env, DX_ROOT: root, DX_PEER: JSON.stringify(init) },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      })
      const peer = new PeerProcess(child)
      peers.push(peer)
      const ready = await peer.next('ready', 120_000)
      bootstrap ??= ready.address
    }
    await waitFor(
      () => Promise.all(peers.map((p) => (p.command({ cmd: 'view' }), p.next('view', 5000)))),
      (views) => views.every((v) => v.leader && v.up === PEERS),
      120_000,
      'a formed cluster',
    )
    const pass = async (count: number, profile: boolean): Promise<{ perS: number; cpuUs: number; retried: number; frames: number; writes: number }> => {
      const t0 = performance.now()
      const done = peers.map((p) => p.next('loaded', 600_000))
      peers.forEach((p, n) => p.command({ cmd: 'load', count: Math.ceil(count / PEERS), window: Math.ceil(WINDOW / PEERS), keys: KEYS, offset: n, profile }))
      const loaded = await Promise.all(done)
      const ms = performance.now() - t0
      const asks = loaded.reduce((a, l) => a + l.asks, 0)
      const sum = (f: (l: (typeof loaded)[number]) => number): number => loaded.reduce((a, l) => a + f(l), 0)
      return {
        perS: asks / (ms / 1000),
        cpuUs: sum((l) => l.cpuUs) / asks,
        retried: sum((l) => l.retried),
        frames: sum((l) => l.frames) / asks,
        writes: sum((l) => l.writes) / asks,
      }
    }
    const warm = await pass(KEYS * 2, false)
    const load = loadavg()[0]!
    const measured = await pass(ASKS, side === 'B')
    return {
      side,
      asksPerS: Math.round(measured.perS),
      cpuUsPerAsk: Math.round(measured.cpuUs * 10) / 10,
      warmAsksPerS: Math.round(warm.perS),
      retried: warm.retried + measured.retried,
      framesPerAsk: Math.round(measured.frames * 1000) / 1000,
      writesPerAsk: Math.round(measured.writes * 1000) / 1000,
      load: Math.round(load * 10) / 10,
    }
  } finally {
    for (const p of peers) p.command({ cmd: 'stop' })
    await Promise.all(peers.filter((p) => !p.exited).map((p) => new Promise((r) => p.child.once('exit', r))))
    await rm(dir, { recursive: true, force: true })
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  if (s.length === 0) return 0
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid]! : Math.round(((s[mid - 1]! + s[mid]!) / 2) * 10) / 10
}

/** The rounds' summary: B's median asks/s and CPU per ask, A's when there is a base. */
export type ProcessesResult = Awaited<ReturnType<typeof processes>>

/** Runs the rounds (each round's line on stderr) and returns their summary. */
export async function processes() {
  const loadBefore = loadavg()[0]!
  let baseRoot: string | undefined
  let baseRev: string | undefined
  if (BASE !== 'none') {
    baseRev = execSync(`git -C ${ROOT} rev-parse --short ${BASE}`).toString().trim()
    baseRoot = await mkdtemp(join(tmpdir(), 'dx-bench-entities-base-'))
    execSync(`git -C ${ROOT} archive ${baseRev} | tar -x -C ${baseRoot}`)
    symlinkSync(realpathSync(join(ROOT, 'node_modules')), join(baseRoot, 'node_modules'))
  }
  const rounds: Round[] = []
  try {
    for (let i = 0; i < ROUNDS; i++) {
      for (const side of baseRoot === undefined ? (['B'] as const) : (['A', 'B'] as const)) {
        const r = await round(side, side === 'A' ? baseRoot! : ROOT)
        console.error(JSON.stringify(r))
        rounds.push(r)
      }
    }
  } finally {
    if (baseRoot !== undefined) await rm(baseRoot, { recursive: true, force: true })
  }
  const of = (side: 'A' | 'B'): Round[] => rounds.filter((r) => r.side === side)
  const a = median(of('A').map((r) => r.asksPerS))
  const b = median(of('B').map((r) => r.asksPerS))
  return {
    bench: 'entities',
    mode: 'processes',
    peers: PEERS,
    keys: KEYS,
    asks: ASKS,
    window: WINDOW,
    base: baseRev ?? null,
    asks_per_s: b,
    cpu_us_per_ask: median(of('B').map((r) => r.cpuUsPerAsk)),
    base_asks_per_s: baseRev === undefined ? null : a,
    base_cpu_us_per_ask: baseRev === undefined ? null : median(of('A').map((r) => r.cpuUsPerAsk)),
    ratio: baseRev === undefined || a === 0 ? null : Math.round((b / a) * 100) / 100,
    rounds,
    load_before: Math.round(loadBefore * 10) / 10,
    load_after: Math.round(loadavg()[0]! * 10) / 10,
  }
}
