/**
 * `distributex secret --out <path>` writes a new cluster secret, `distributex token --out <path>` a
 * bearer token for the HTTP API. Apart from start.ts, so that neither loads the whole node.
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { generateHttpToken } from '../adapters/http/token.js'

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
  // libp2p is loaded only here: `token` needs none of it.
  const { generateClusterSecret } = await import('../adapters/libp2p/index.js')
  await writeNewSecretFile(out, generateClusterSecret(), 'a cluster secret')
  process.stdout.write(`wrote a new cluster secret to ${out}; give the same file to every peer\n`)
  return 0
}
