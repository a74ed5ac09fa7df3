/** The message envelope protocol: codec, limits and version. */
export { EnvelopeCodec, type Envelope, type EnvelopeCodecInit, type WatchEndReason, type WireFailure } from './codec.js'
export { BODY_MAX_DEPTH, ENVELOPE_MAX_BYTES, ENVELOPE_VERSION } from './constants.js'
export { checkBody } from './body.js'
