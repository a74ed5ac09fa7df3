/**
 * Every libp2p value the binding uses, from one module. In a checkout this only re-exports the
 * packages. The build (`npm run build`) replaces its compiled output with one bundled file of these
 * packages and everything they import (src/build-bundle.mjs, which also bundles the package itself), because loading
 * them as separate ES modules (about 450 files: resolution, file reads and compilation of each) was
 * over half of a peer's start-up CPU, which bounds how fast many peers start on one host. Types are
 * imported from the packages directly: they are erased and cost nothing at run time.
 */
import './polyfill.js'
export { gossipsub } from '@chainsafe/libp2p-gossipsub'
export { noise } from '@chainsafe/libp2p-noise'
export { defaultCrypto as defaultNoiseCrypto } from '@chainsafe/libp2p-noise/crypto'
export type { ICryptoInterface as NoiseCrypto } from '@chainsafe/libp2p-noise'
export { yamux } from '@chainsafe/libp2p-yamux'
export { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
export { identify } from '@libp2p/identify'
export { StrictSign } from '@libp2p/interface'
export { generateKey } from '@libp2p/pnet'
export { tcp } from '@libp2p/tcp'
export { multiaddr } from '@multiformats/multiaddr'
export { pushable } from 'it-pushable'
export { createLibp2p } from 'libp2p'
export { Uint8ArrayList } from 'uint8arraylist'
