// Package console is latch's operator console: server-rendered pages under
// /console/ (html/template, files embedded in the binary, no script
// needed to read) from which an operator runs tenants, users, sessions,
// API keys, webhooks and the audit log. It is signed in to with the admin
// token; every action is an admin use case of package identity, called
// with a context marked identity.Via(ctx, "console") so that its audit
// event says so. The package holds only web concerns: sessions in a
// cookie, CSRF tokens, forms and pages.
package console
