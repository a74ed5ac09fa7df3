/**
 * The web dashboard's routes: the page at `GET /` with its script, styles and the vendored uPlot
 * (read once from the installed packages: nothing is fetched from elsewhere), and
 * `GET /dashboard/events`, the server-sent events stream of the DashboardHub's summaries.
 *
 * Access: the page and its assets are public (they hold no data, like /healthz); the events stream
 * and the job details the page reads go through the same token check as the rest of the API. The
 * page takes the token from its URL fragment (`/#token=...`, never sent to the server or logged) and
 * sends it as a bearer header. Everything here is read-only.
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import type { Route } from '../adapters/http/server.js'
import { dashboardPage } from '../dashboard/page.js'
import type { DashboardHub, HubEvent } from '../dashboard/hub.js'

interface Assets {
  readonly html: string
  readonly app: string
  readonly uplotJs: string
  readonly uplotCss: string
}

let cached: Assets | undefined

/** The page and its assets, from this package and its uplot dependency. */
function assets(): Assets {
  if (cached !== undefined) return cached
  const require = createRequire(import.meta.url)
  cached = {
    html: dashboardPage(),
    app: readFileSync(new URL('../dashboard/assets/app.js', import.meta.url), 'utf8'),
    uplotJs: readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'),
    uplotCss: readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
  }
  return cached
}

const JS = 'text/javascript; charset=utf-8'

export function dashboardRoutes(hub: DashboardHub): Route[] {
  return [
    { method: 'GET', pattern: '/', public: true, handle: () => ({ status: 200, text: assets().html, contentType: 'text/html; charset=utf-8' }) },
    { method: 'GET', pattern: '/dashboard/app.js', public: true, handle: () => ({ status: 200, text: assets().app, contentType: JS }) },
    { method: 'GET', pattern: '/dashboard/uplot.js', public: true, handle: () => ({ status: 200, text: assets().uplotJs, contentType: JS }) },
    { method: 'GET', pattern: '/dashboard/uplot.css', public: true, handle: () => ({ status: 200, text: assets().uplotCss, contentType: 'text/css; charset=utf-8' }) },
    { method: 'GET', pattern: '/dashboard/events', handle: ({ signal }) => ({ status: 200, contentType: 'text/event-stream', stream: events(hub, signal) }) },
  ]
}

/** Most events buffered for a page that reads too slowly; beyond it the page is dropped (it reconnects). */
const MAX_PENDING = 120

/** `snapshot` (history and epochs) first, then `summary` every second and `epoch` on each leader change. */
async function* events(hub: DashboardHub, gone: AbortSignal): AsyncGenerator<string> {
  const pending: string[] = []
  let wake: (() => void) | undefined
  let overflow = false
  const { snapshot, unwatch } = hub.watch((event: HubEvent) => {
    if (pending.length >= MAX_PENDING) overflow = true
    else pending.push(event.kind === 'summary' ? sse('summary', event.summary) : sse('epoch', event.change))
    wake?.()
  })
  const onGone = (): void => wake?.()
  gone.addEventListener('abort', onGone)
  try {
    yield sse('snapshot', snapshot)
    for (;;) {
      while (pending.length > 0) yield pending.shift()!
      if (gone.aborted || overflow) return
      await new Promise<void>((resolve) => (wake = resolve))
      wake = undefined
    }
  } finally {
    gone.removeEventListener('abort', onGone)
    unwatch()
  }
}

function sse(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`
}
