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
// libp2p's peer store sorts addresses, protocols and keys with localeCompare, whose first call
// loads ICU's collator: 2.4 MB of the node binary's pages (collation data and code) in each peer's
// RSS. The order only has to be the same at every call (the lists are deduplicated and compared),
// which comparing UTF-16 code units gives. A file that changed so that a call is left is an error.
const codeUnitOrder = {
  name: 'code-unit-order',
  setup(bundle) {
    bundle.onLoad({ filter: /(peer-store\/dist\/src\/utils\/(dedupe-addresses|to-peer-pb)|utils\/dist\/src\/array-equals)\.js$/ }, ({ path }) => {
      const source = readFileSync(path, 'utf8')
      const contents = source.replace(/([\w.]+(?:\(\))?)\.localeCompare\(([\w.]+(?:\(\))?)\)/g, 'compareCodeUnits($1, $2)')
      if (contents === source || contents.includes('localeCompare')) throw new Error(`${path}: a localeCompare call the build does not rewrite`)
      return { contents: `${contents}\nfunction compareCodeUnits(a, b) { return a < b ? -1 : a > b ? 1 : 0 }\n`, loader: 'js' }
    })
  },
}
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
    plugins: [codeUnitOrder],
  })
  // esbuild escapes non-ASCII characters in strings and identifiers but not in comments, and a
  // few in @noble/curves' comments (mathematical italic letters) made V8 hold the whole source as
  // a two-byte string: 2.3 MB of every peer's heap instead of 1.1. An escape is what esbuild would
  // write anywhere else, and in a comment it changes nothing.
  const ascii = outputFiles[0].text.replace(/[^\x00-\x7f]/gu, (c) => `\\u{${c.codePointAt(0).toString(16)}}`)
  writeFileSync(file, ascii)
}
