// The last step of `npm run build`: replaces the compiled libp2p vendor module
// (dist/src/adapters/libp2p/vendor.js, re-exports of the packages) by one bundled file holding those
// packages and what they import, so a peer loads one module where it loaded about 450 (see vendor.ts).
// The packages stay dependencies: the type declarations refer to them.
import { build } from 'esbuild'

const file = new URL('./dist/src/adapters/libp2p/vendor.js', import.meta.url).pathname
await build({
  entryPoints: [file],
  outfile: file,
  allowOverwrite: true,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20.15',
  // A bundled CommonJS module may require() a Node built-in; an ES module has no require of its own.
  banner: { js: "import { createRequire as vendorRequire } from 'node:module'; const require = vendorRequire(import.meta.url);" },
  legalComments: 'inline',
  logLevel: 'warning',
})
