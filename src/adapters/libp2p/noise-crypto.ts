/**
 * Noise's crypto with X25519 keys imported once instead of at every Diffie-Hellman.
 *
 * The package's node crypto hands each DH raw 32-byte keys, which it wraps in DER and imports
 * (createPrivateKey, createPublicKey) every time; under OpenSSL 3 an import costs more than the
 * DH itself. An XX handshake does three DHs a side from one ephemeral key, one static key and two
 * remote keys: six imports a side where two do (the remote ones). Without them a connection costs
 * both sides 10-23% less CPU (`npm run bench -- handshakes`; test/bench/RESULTS.md "handshakes").
 * Every connection pays it, and on one host the leader's 49 inbound handshakes are what a forming
 * 50-peer cluster waits for.
 *
 * The ephemeral and static keys it generates keep their key objects, found by the identity of the
 * raw array handed to noise (a WeakMap: they go with the handshake or the node); remote public
 * keys are found by their bytes, so a buffer reused for other bytes can never yield a stale key,
 * in a small map cleared when full (public keys, nothing secret). Everything else is the package's.
 */
import { createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, type KeyObject } from 'node:crypto'
import { assert } from '../../assert.js'
import { defaultNoiseCrypto, type NoiseCrypto, type Uint8ArrayList } from './vendor.js'

/** DER prefixes of a raw X25519 private key (PKCS#8) and public key (SPKI), RFC 8410. */
const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex')
const SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex')
const KEY_BYTES = 32
/** Remote public keys kept: a handshake uses each twice at most, within a few round trips. */
const REMOTE_KEYS_MAX = 256

type Bytes = Uint8Array | Uint8ArrayList

export function fastNoiseCrypto(): NoiseCrypto {
  const own = new WeakMap<Uint8Array, KeyObject>()
  const remote = new Map<string, KeyObject>()

  const rawPrivate = (key: KeyObject): Uint8Array => key.export({ type: 'pkcs8', format: 'der' }).subarray(PKCS8_PREFIX.length)
  const rawPublic = (key: KeyObject): Uint8Array => key.export({ type: 'spki', format: 'der' }).subarray(SPKI_PREFIX.length)

  const privateKeyOf = (raw: Bytes): KeyObject => {
    const known = raw instanceof Uint8Array ? own.get(raw) : undefined
    if (known !== undefined) return known
    const bytes = raw.subarray()
    assert(bytes.byteLength === KEY_BYTES, `an X25519 private key of ${bytes.byteLength} bytes`)
    return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, bytes]), format: 'der', type: 'pkcs8' })
  }

  const publicKeyOf = (raw: Bytes): KeyObject => {
    const bytes = raw.subarray()
    const id = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')
    let key = remote.get(id)
    if (key === undefined) {
      // A malformed key is the package's error too: createPublicKey throws, and the handshake fails.
      key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, bytes]), format: 'der', type: 'spki' })
      if (remote.size >= REMOTE_KEYS_MAX) remote.clear()
      remote.set(id, key)
    }
    return key
  }

  return {
    ...defaultNoiseCrypto,
    generateX25519KeyPair() {
      const { publicKey, privateKey } = generateKeyPairSync('x25519')
      const raw = rawPrivate(privateKey)
      own.set(raw, privateKey)
      return { publicKey: rawPublic(publicKey), privateKey: raw }
    },
    generateX25519KeyPairFromSeed(seed) {
      const privateKey = privateKeyOf(seed)
      own.set(seed, privateKey)
      return { publicKey: rawPublic(createPublicKey(privateKey)), privateKey: seed }
    },
    generateX25519SharedKey(privateKey, publicKey) {
      return diffieHellman({ privateKey: privateKeyOf(privateKey), publicKey: publicKeyOf(publicKey) })
    },
  }
}
