// Package selfservice serves latch's own public routes, which no hosted
// API has. Under /auth/v1/{tid}, the account routes: a user who forgot a
// password asks for a reset mail and sets a new password, and one who
// got a verification mail confirms the address (AccountRoutes). Under
// /auth/v1/me, a signed-in user, with its own access token
// (Authorization: Bearer), turns its second factor on and off, renews its
// recovery codes, lists its sessions and ends them (Routes). It holds only wire
// concerns: the bearer token, the bodies, the JSON shapes, and errors as
// RFC 9457 problem documents like the admin API's; every rule is
// identity.Accounts' or identity.Self's.
package selfservice
