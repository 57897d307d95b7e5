package identity

import (
	"errors"
	"fmt"
	"time"
)

// Error codes. Each names a class of failure that callers react to
// differently; wire dialects map them to their own status codes and strings
// in exactly one place each.
const (
	EINVALID           = "invalid"             // input fails validation; Field names it
	ENOTFOUND          = "not_found"           // a named resource does not exist
	ECONFLICT          = "conflict"            // unique constraint or concurrent change
	EUNAUTHENTICATED   = "unauthenticated"     // wrong credentials, never saying which part
	ETOKENINVALID      = "token_invalid"       // opaque token malformed, expired or revoked
	ETOKENREUSED       = "token_reused"        // a rotated refresh token came back: session revoked
	ETWOFACTORREQUIRED = "two_factor_required" // password fine, a second factor is needed
	ETWOFACTORINVALID  = "two_factor_invalid"  // the second factor was wrong or replayed
	EEMAILUNVERIFIED   = "email_unverified"    // password fine, but the tenant requires a verified email first
	ERATELIMITED       = "rate_limited"        // too many attempts; RetryAfter says when to retry
	EUNAVAILABLE       = "unavailable"         // a dependency is down or the server is shedding load
	EINTERNAL          = "internal"            // anything else; never shown to a caller in detail
)

// Error is the one error type latch's layers exchange. Message is safe to
// show to a caller; Err, if set, carries the underlying cause for logs.
type Error struct {
	Code       string
	Message    string
	Field      string        // for EINVALID: the offending field, in the core's naming
	RetryAfter time.Duration // for ERATELIMITED and EUNAVAILABLE
	Err        error
}

func (e *Error) Error() string {
	msg := e.Message
	if e.Field != "" {
		msg = e.Field + ": " + msg
	}
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, msg, e.Err)
	}
	return e.Code + ": " + msg
}

func (e *Error) Unwrap() error { return e.Err }

// Invalid returns an EINVALID error naming field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Internal wraps err as EINTERNAL with a generic message, so that the detail
// reaches the log and never the caller.
func Internal(err error) *Error {
	return &Error{Code: EINTERNAL, Message: "internal error", Err: err}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// AsError returns the *Error in err's chain, or an EINTERNAL wrapper.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return Internal(err)
}
