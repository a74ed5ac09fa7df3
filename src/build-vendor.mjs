// The last step of `npm run build` (and of test/run.mjs's test build): replaces the compiled libp2p
// vendor module (<build>/src/adapters/libp2p/vendor.js, re-exports of the packages) by one bundled
// file holding those packages and what they import, so a peer loads one module where it loaded
// about 450 (see vendor.ts). The packages stay dependencies: the type declarations refer to them.
// Usage: node src/build-vendor.mjs [build directory, default dist]. A file already bundled (an
// incremental build that did not emit vendor.js again) is left as it is.
import { readFileSync, writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { build } from 'esbuild'

const BANNER = "import { createRequire as vendorRequire } from 'node:module'; const require = vendorRequire(import.meta.url);"
const file = resolve(process.argv[2] ?? new URL('../dist', import.meta.url).pathname, 'src', 'adapters', 'libp2p', 'vendor.js')
if (!readFileSync(file, 'utf8').startsWith(BANNER)) {
  const { outputFiles } = await build({
    entryPoints: [file],
    outfile: file,
    allowOverwrite: true,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20.15',
    // A bundled CommonJS module may require() a Node built-in; an ES module has no require of its own.
    banner: { js: BANNER },
    legalComments: 'inline',
    logLevel: 'warning',
    write: false,
  })
  // esbuild escapes non-ASCII characters in strings and identifiers but not in comments, and a
  // few in @noble/curves' comments (mathematical italic letters) made V8 hold the whole source as
  // a two-byte string: 2.3 MB of every peer's heap instead of 1.1. An escape is what esbuild would
  // write anywhere else, and in a comment it changes nothing.
  const ascii = outputFiles[0].text.replace(/[^\x00-\x7f]/gu, (c) => `\\u{${c.codePointAt(0).toString(16)}}`)
  writeFileSync(file, ascii)
}
