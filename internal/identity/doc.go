// Package identity is latch's core: tenants, users, organisations, sessions
// and events, the error type every layer speaks, the narrow store interfaces
// each aggregate needs, and the use cases (Login, Refresh, Logout) that make
// every security decision once, for all wire dialects.
//
// identity imports no database driver and no net/http: dialect packages
// decode requests into the types here and encode the results, and store
// packages implement the interfaces.
package identity
