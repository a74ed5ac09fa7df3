/**
 * Node identities and cluster secrets as plain bytes, so the rest of the runtime can store them
 * without knowing libp2p. An identity is a serialized libp2p private key (Ed25519); the node id is
 * its peer id string, so the same identity always yields the same id. A cluster secret is a
 * 256-bit key in the swarm.key v1 text format (the file format of libp2p private networks, kept so
 * existing key files stay valid); only nodes holding the same secret can connect to each other,
 * because the secret is bound into the noise handshake (see clusterPrologue).
 */
import { createHash } from 'node:crypto'
import type { PrivateKey } from '@libp2p/interface'
import { generateKey, generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from './vendor.js'
import { InvalidArgumentError } from '../../errors.js'
import type { NodeId } from '../../net/types.js'

/** Size of a swarm.key v1 file: two header lines and 64 hex digits. */
export const CLUSTER_SECRET_BYTES = 95

const SWARM_KEY_HEADER = '/key/swarm/psk/1.0.0/\n/base16/\n'
const SWARM_KEY_PATTERN = /^\/key\/swarm\/psk\/1\.0\.0\/\r?\n\/base16\/\r?\n[0-9a-fA-F]{64}\s*$/

/** A new random cluster secret (swarm.key v1 text, as bytes). */
export function generateClusterSecret(): Uint8Array {
  const secret = new Uint8Array(CLUSTER_SECRET_BYTES)
  generateKey(secret)
  return secret
}

/** Throws InvalidArgumentError unless `secret` is a swarm.key v1 pre-shared key. */
export function checkClusterSecret(secret: Uint8Array): void {
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(secret)
  } catch {
    throw new InvalidArgumentError('cluster secret is not UTF-8 text')
  }
  if (!SWARM_KEY_PATTERN.test(text)) throw new InvalidArgumentError(`cluster secret is not a swarm.key v1 key (expected ${JSON.stringify(SWARM_KEY_HEADER)} and 64 hex digits)`)
}

/** Domain label hashed with the key, so the handshake value is used for nothing else. */
const PROLOGUE_LABEL = 'dx/cluster-prologue/1\0'

/**
 * The noise prologue of a cluster: a hash of the secret's key. Noise mixes the prologue into the
 * handshake transcript that authenticates the second and third handshake messages, so two peers
 * whose prologues differ fail the handshake before any application byte is exchanged, and the
 * prologue itself never goes on the wire. Only the 64 hex digits count (case and line endings do
 * not), so every spelling of one key file gives one cluster. Expects a checked secret.
 */
export function clusterPrologue(secret: Uint8Array): Uint8Array {
  const hex = new TextDecoder().decode(secret).split(/\r?\n/)[2]!.trim().toLowerCase()
  return new Uint8Array(createHash('sha256').update(PROLOGUE_LABEL).update(Buffer.from(hex, 'hex')).digest())
}

/** A new random node identity (a serialized Ed25519 private key). */
export async function generateIdentity(): Promise<Uint8Array> {
  return privateKeyToProtobuf(await generateKeyPair('Ed25519'))
}

/** The libp2p private key in `identity`; throws InvalidArgumentError for bytes that are not one. */
export function identityKey(identity: Uint8Array): PrivateKey {
  try {
    return privateKeyFromProtobuf(identity)
  } catch (error) {
    throw new InvalidArgumentError('identity is not a serialized libp2p private key', { cause: error })
  }
}

/** The node id (peer id string) that `identity` gives a node. */
export function nodeIdOf(identity: Uint8Array): NodeId {
  // A public key's string form is its peer id, in the same base58btc encoding libp2p prints.
  return identityKey(identity).publicKey.toString()
}
