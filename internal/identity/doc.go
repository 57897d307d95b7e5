// Package identity is latch's core: tenants, users, organisations, sessions
// and events, the error type every layer speaks, the store interfaces, and
// the use cases that make every security decision once, for all wire
// dialects. The use cases come in four services, each over the narrow
// store interfaces it calls: Auth (logins, refresh, logout, throttling),
// Admin (tenants, users, organisations, API keys, sessions; audited),
// SecondFactor (TOTP enrolment) and Webhooks (endpoints, and what the
// dispatcher asks). New wires them all over one store.
//
// identity imports no database driver and no net/http: dialect packages
// decode requests into the types here and encode the results, and store
// packages implement the interfaces.
package identity
