// Package mfa provides the second factors latch accepts: RFC 6238 TOTP
// codes and single-use recovery codes. It holds no state; the identity core
// stores what it returns and decides what a match means (replay, throttling).
package mfa
