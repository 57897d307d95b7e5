// Package token issues and verifies latch's tokens: signed JWT access
// tokens (EdDSA by default, ES256 or RS256), the JWKS that publishes their
// public keys, key rotation with keys shared through the store, and the
// opaque codec for refresh, session and re-authentication tokens.
package token
