package accountsv3

import (
	"net/http"
	"strconv"

	"github.com/latchauth/latch/internal/httpapi/wire"
	"github.com/latchauth/latch/internal/identity"
)

// ErrorResponse is the dialect's error body.
type ErrorResponse struct {
	Code    string       `json:"code"`
	Message string       `json:"message"`
	Errors  []FieldError `json:"errors,omitempty"`
}

// statuses and codes map identity codes to this dialect's status and code:
// the one place where that mapping lives (docs/errors.md lists it). An
// unusable refresh token is a 400, as the reference lists 400/409 for the
// refresh route and RFC 6749 §5.2 answers invalid_grant with 400; a 401
// there would loop the "on 401, refresh" interceptors of HTTP clients.
var statuses = map[string]int{
	identity.EINVALID:           http.StatusBadRequest,
	identity.EUNAUTHENTICATED:   http.StatusUnauthorized,
	identity.ETOKENINVALID:      http.StatusBadRequest,
	identity.ETWOFACTORREQUIRED: http.StatusUnauthorized,
	identity.EEMAILUNVERIFIED:   http.StatusUnauthorized,
	identity.ETWOFACTORINVALID:  http.StatusUnauthorized,
	identity.ETOKENREUSED:       http.StatusConflict,
	identity.ECONFLICT:          http.StatusConflict,
	identity.ENOTFOUND:          http.StatusNotFound,
	identity.ERATELIMITED:       http.StatusTooManyRequests,
	identity.EUNAVAILABLE:       http.StatusServiceUnavailable,
	identity.EINTERNAL:          http.StatusInternalServerError,
}

var codes = map[string]string{
	identity.EINVALID:           "VALIDATION_FAILED",
	identity.EUNAUTHENTICATED:   "INVALID_CREDENTIALS",
	identity.ETOKENINVALID:      "INVALID_REFRESH_TOKEN",
	identity.ETWOFACTORREQUIRED: "TWO_FACTOR_REQUIRED",
	identity.EEMAILUNVERIFIED:   "EMAIL_NOT_VERIFIED",
	identity.ETWOFACTORINVALID:  "INVALID_TWO_FACTOR_CODE",
	identity.ETOKENREUSED:       "REFRESH_TOKEN_REUSED",
	identity.ECONFLICT:          "CONFLICT",
	identity.ENOTFOUND:          "NOT_FOUND",
	identity.ERATELIMITED:       "RATE_LIMITED",
	identity.EUNAVAILABLE:       "SERVICE_UNAVAILABLE",
	identity.EINTERNAL:          "INTERNAL_ERROR",
}

var bodyCodes = map[string]string{
	wire.ProblemMediaType: "UNSUPPORTED_MEDIA_TYPE",
	wire.ProblemTooLarge:  "REQUEST_TOO_LARGE",
	wire.ProblemSyntax:    "INVALID_JSON",
}

// fieldNames maps identity's field names to this dialect's.
var fieldNames = map[string]string{"tenant_id": "accountId", "tenant_alias": "accountAlias", "email": "email", "password": "password",
	"two_factor_code": "twoFactorCode", "two_factor_recovery_code": "twoFactorRecoveryCode"}

// messages are this dialect's words for identity's (wire.Edge.Messages).
var messages = map[string]string{
	identity.ETWOFACTORREQUIRED: "this account uses two-factor authentication: send twoFactorCode (or twoFactorRecoveryCode)",
}

func writeValidation(w http.ResponseWriter, errs []FieldError) {
	msg := errs[0].Message
	if len(errs) > 1 {
		msg += " (and " + strconv.Itoa(len(errs)-1) + " more)"
	}
	wire.WriteJSON(w, http.StatusBadRequest, ErrorResponse{Code: "VALIDATION_FAILED", Message: msg, Errors: errs})
}

// render writes a failure in the dialect's shape (wire.Edge.Render).
func render(w http.ResponseWriter, r *http.Request, f wire.Failure) {
	switch {
	case f.Body == wire.ProblemType:
		writeValidation(w, []FieldError{{Field: f.Field, Code: codeType, Message: f.Message}})
	case f.Body != "":
		wire.WriteJSON(w, f.Status, ErrorResponse{Code: bodyCodes[f.Body], Message: f.Message})
	case f.Code == identity.EINVALID:
		field := fieldNames[f.Field]
		if field == "" {
			field = f.Field
		}
		writeValidation(w, []FieldError{{Field: field, Code: codeFormat, Message: field + " " + f.Message}})
	case f.Code == identity.ETOKENINVALID:
		// A 400, so it names the field like every other 400.
		wire.WriteJSON(w, f.Status, ErrorResponse{Code: codes[f.Code], Message: f.Message,
			Errors: []FieldError{{Field: "refreshToken", Code: codes[f.Code], Message: f.Message}}})
	default:
		code, ok := codes[f.Code]
		if !ok {
			code = codes[identity.EINTERNAL]
		}
		wire.WriteJSON(w, f.Status, ErrorResponse{Code: code, Message: f.Message})
	}
}
