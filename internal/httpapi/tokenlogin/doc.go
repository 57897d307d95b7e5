// Package tokenlogin is the ASP.NET-style token-login API
// (api/v1/Authentication/Login, TokenLogin, Logout), wire-compatible with
// the hosted API it imitates (docs/wire-contract.md, token-login):
// case-insensitive routes and names, JSON, text/json and form
// bodies, the fields and suppressResponseCodes query options, and errors as
// ASP.NET Web API writes them. Decisions about credentials and tokens are
// made in package identity.
package tokenlogin
