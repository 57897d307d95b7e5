// Package appauth is the app-scoped login API (/api/v1/{app_id}/auth/…),
// wire-compatible with the hosted shopper API it imitates
// (docs/wire-contract.md, app-auth): request decoding
// and validation, error mapping and the user shape. Every decision about
// credentials and tokens is made in package identity.
package appauth
