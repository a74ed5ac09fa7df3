/** Bearer tokens of the HTTP API: 32 random bytes from the operating system, base64url. */
import { randomBytes } from 'node:crypto'

export function generateHttpToken(): string {
  return randomBytes(32).toString('base64url')
}
