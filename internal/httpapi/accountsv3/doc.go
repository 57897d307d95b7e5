// Package accountsv3 speaks the accounts-v3 login dialect (docs/wire-contract.md, accounts-v3):
// POST /v3/accounts/login and POST /v3/accounts/login-refresh-token, with
// the reference API's field constraints and its {"code","message"} errors.
// It decodes, validates shapes and encodes; every decision is identity's.
package accountsv3
