#!/usr/bin/env node
// The `distributex` executable. In a checkout it runs the TypeScript sources through tsx, so
// development needs no build step and never runs a stale build; in an installed package (built by
// `npm run build`, sources not shipped) it runs the compiled JavaScript next to it.
import { existsSync } from 'node:fs'
import { setFlagsFromString } from 'node:v8'

// Garbage-collector settings for a long-running peer that shares its host, set before anything
// allocates much. On a big host V8 sizes the heap for throughput: a young generation of 2 x 16 MB
// and an old generation grown up to 4x what is live, so a leader with 50-70 MB live sat at 370-390
// MB resident. This caps the old generation's growth at 2x what is live, at no measurable CPU cost
// (`distributex start` lowers it while the peer is idle and holds the young generation at 2 MB
// until it is busy: src/adapters/process/heap-sizing.ts). Only flags V8 reads while running work here
// (heap limits are fixed once the process runs); DX_V8_FLAGS replaces these (empty: V8's own).
// Measured in test/bench/RESULTS.md (failover-history). V8 also flushes the bytecode of functions
// not run across a few major collections, and an idle peer runs most of its functions only every
// few seconds (a probe, a refresh, a scrape), so it compiled them again and again: keeping it cost
// no resident memory seen and took 7% off an idle worker's CPU ("boot" in RESULTS.md). And V8's
// optimizing compiler waits four times its ticks until a process is busy, as from its start: a
// command or a peer's boot and formation run most code briefly (src/adapters/process/tiering.ts;
// `distributex start` returns to V8's own while a peer is busy with jobs).
const v8Flags = process.env.DX_V8_FLAGS ?? '--heap-growing-percent=100 --no-flush-bytecode --ticks-before-optimization=12'
if (v8Flags.trim() !== '') setFlagsFromString(v8Flags)

// A reader that stops early (`distributex members | head`) closes the pipe: that ends the output,
// quietly, as it would for any Unix tool, rather than with an EPIPE stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code !== 'EPIPE') throw error
    process.exit(process.exitCode ?? 0)
  })
}

const sources = existsSync(new URL('./main.ts', import.meta.url))
if (sources) (await import('tsx/esm/api')).register()
const { main } = await import(sources ? './main.ts' : './main.js')
process.exitCode = await main(process.argv.slice(2))
