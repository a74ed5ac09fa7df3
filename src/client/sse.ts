/**
 * A small reader of server-sent events (the `text/event-stream` format of GET /jobs/:id/events)
 * over a fetch response body, using only ReadableStream and TextDecoder so it runs in browsers.
 * Comments (keepalives) are skipped; `id:` and `retry:` fields are ignored (the client reconnects
 * on its own terms).
 */

/** One dispatched event. */
export interface SseEvent {
  readonly event: string
  readonly data: string
}

/** Yields each event of `body` as it completes; stops reading (and releases the body) when the caller stops. */
export async function* readSse(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  const reader = body.getReader()
  const decoder = new TextDecoder()
  let buffer = ''
  let event = ''
  let data: string[] = []
  try {
    for (;;) {
      const { done, value } = await reader.read()
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true })
      let newline: number
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, buffer[newline - 1] === '\r' ? newline - 1 : newline)
        buffer = buffer.slice(newline + 1)
        if (line === '') {
          if (data.length > 0) yield { event: event === '' ? 'message' : event, data: data.join('\n') }
          event = ''
          data = []
          continue
        }
        if (line.startsWith(':')) continue
        const colon = line.indexOf(':')
        const field = colon < 0 ? line : line.slice(0, colon)
        const text = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '')
        if (field === 'event') event = text
        else if (field === 'data') data.push(text)
      }
      if (done) return
    }
  } finally {
    await reader.cancel().catch(() => undefined)
  }
}
