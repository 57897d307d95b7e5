// Package selfservice serves latch's own self-service routes under
// /auth/v1/me: a signed-in user, with its own access token
// (Authorization: Bearer), turns its second factor on and off, renews its
// recovery codes, lists its sessions and ends them. It holds only wire
// concerns: the bearer token, the bodies, the JSON shapes, and errors as
// RFC 9457 problem documents like the admin API's; every rule is
// identity.Self's.
package selfservice
