/**
 * `distributex start`: runs one peer until SIGTERM or SIGINT, on which it leaves the cluster
 * gracefully and exits 0 (a second SIGINT exits at once with 130). `distributex secret --out <path>` writes a new cluster secret, `distributex token --out <path>` a
 * bearer token for the HTTP API.
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { generateHttpToken } from '../adapters/http/token.js'
import { generateClusterSecret } from '../adapters/libp2p/index.js'
import { resolveConfig, type RawSettings } from '../node/config.js'
import { startNode } from '../node/start.js'
import { BUILTIN_JOBS } from './demo-jobs.js'
import { loadActorModule } from './load-jobs.js'
import type { AnyEntityDef } from '../entities/types.js'
import type { JobDef } from '../jobs/types.js'

/** The options of `distributex start`: each setting under its own name (flags win over DX_* variables and the --config file), and the config file. */
export interface StartOptions extends RawSettings {
  readonly config?: string | undefined
}

export async function runStart(options: StartOptions): Promise<number> {
  const { config: configFile, ...flags } = options
  const config = resolveConfig(flags, process.env, configFile ?? process.env.DX_CONFIG)
  const jobs: JobDef[] = [...BUILTIN_JOBS]
  const entities: AnyEntityDef[] = []
  for (const module of config.actors) {
    const defs = await loadActorModule(module)
    jobs.push(...defs.jobs)
    entities.push(...defs.entities)
  }
  const node = await startNode(config, jobs, entities)
  process.stdout.write(`distributex node ${node.nodeId}\n${node.addresses.map((a) => `  listening ${a}`).join('\n')}\n${node.http === undefined ? '' : `  http ${node.http}\n`}`)
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGTERM', stop)
      process.off('SIGINT', stop)
      // A second Ctrl-C means the operator will not wait for the graceful leave.
      process.once('SIGINT', () => process.exit(130))
      process.on('SIGTERM', () => {})
      resolve()
    }
    process.once('SIGTERM', stop)
    process.once('SIGINT', stop)
  })
  process.stdout.write('leaving the cluster ...\n')
  await node.stop({ leave: true })
  return 0
}

/** `distributex token --out <path>`: a new bearer token for the HTTP API (32 random bytes, base64url, mode 0600). */
export async function runToken(out: string): Promise<number> {
  await writeNewSecretFile(out, `${generateHttpToken()}\n`, 'an HTTP token')
  process.stdout.write(`wrote a new HTTP API token to ${out}; start peers with --http-token-file ${out} and give it to the CLI the same way\n`)
  return 0
}

/** Writes a secret to a new file, mode 0600; refuses to overwrite one. */
async function writeNewSecretFile(path: string, bytes: Uint8Array | string, what: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true })
  await writeFile(path, bytes, { mode: 0o600, flag: 'wx' }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'EEXIST') throw new Error(`${path} exists; refusing to overwrite ${what}`)
    throw error
  })
  await chmod(path, 0o600)
}

/** `distributex secret --out <path>`: a new cluster secret (mode 0600); refuses to overwrite a file. */
export async function runSecret(out: string): Promise<number> {
  await writeNewSecretFile(out, generateClusterSecret(), 'a cluster secret')
  process.stdout.write(`wrote a new cluster secret to ${out}; give the same file to every peer\n`)
  return 0
}
