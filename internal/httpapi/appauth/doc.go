// Package appauth is the app-scoped login API (/api/v1/{app_id}/auth/…),
// wire-compatible with the hosted shopper API it imitates
// (../shared/reference/app-auth-login.txt, DESIGN §3.2): request decoding
// and validation, error mapping and the user shape. Every decision about
// credentials and tokens is made in package identity.
package appauth
