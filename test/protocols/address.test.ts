// Goal: isValidName (a loop over character codes, on the path of every entity reference) accepts
// exactly the names of its grammar, /^[A-Za-z0-9_][A-Za-z0-9_.:@-]{0,127}$/.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { isValidName } from '../../protocols/address.js'

const GRAMMAR = /^[A-Za-z0-9_][A-Za-z0-9_.:@-]{0,127}$/

test('isValidName agrees with the name grammar on the edges', () => {
  const cases = ['a', 'Z', '0', '_', 'k1234', 'a.b:c@d-e', 'x'.repeat(128), 'x'.repeat(129), '', '.a', ':a', '@a', '-a', '$a', 'a/b', 'a b', 'a\n', 'é', 'a$', 'a\u0000']
  for (const name of cases) assert.equal(isValidName(name), GRAMMAR.test(name), JSON.stringify(name))
})

test('isValidName agrees with the name grammar on arbitrary strings', () => {
  const chars = fc.constantFrom(...'aZ09_.:@-$/ \n\u00e9'.split(''))
  fc.assert(
    fc.property(
      fc.oneof(
        fc.string({ maxLength: 140 }),
        fc.array(chars, { maxLength: 140 }).map((cs) => cs.join('')),
      ),
      (name) => {
        assert.equal(isValidName(name), GRAMMAR.test(name))
      },
    ),
    { numRuns: 2000 },
  )
})
