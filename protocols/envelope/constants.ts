/** The envelope protocol's version and limits. */

/** Current envelope format version; a decoder rejects any other. */
export const ENVELOPE_VERSION = 1

/** Default maximum size of one encoded envelope. */
export const ENVELOPE_MAX_BYTES = 1024 * 1024

/** Deepest nesting of arrays and maps accepted in a message body. */
export const BODY_MAX_DEPTH = 64
