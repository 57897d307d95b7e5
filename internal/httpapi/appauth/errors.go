package appauth

import (
	"net/http"

	"github.com/latchauth/latch/internal/httpapi/wire"
	"github.com/latchauth/latch/internal/identity"
)

// ErrorResponse is the dialect's error body.
type ErrorResponse struct {
	Error ErrorBody `json:"error"`
}

// ErrorBody says what went wrong; Field names the bad input of a 400.
type ErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// statuses and codes map identity codes to this dialect's status and
// code: the one place where that mapping lives (docs/errors.md lists it).
var statuses = map[string]int{
	identity.EINVALID:           http.StatusBadRequest,
	identity.EUNAUTHENTICATED:   http.StatusUnauthorized,
	identity.ETOKENINVALID:      http.StatusUnauthorized,
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
	identity.EINVALID:           "validation_failed",
	identity.EUNAUTHENTICATED:   "invalid_credentials",
	identity.ETOKENINVALID:      "invalid_refresh_token",
	identity.ETWOFACTORREQUIRED: "two_factor_required",
	identity.EEMAILUNVERIFIED:   "email_not_verified",
	identity.ETWOFACTORINVALID:  "invalid_two_factor_code",
	identity.ETOKENREUSED:       "refresh_token_reused",
	identity.ECONFLICT:          "conflict",
	identity.ENOTFOUND:          "app_not_found",
	identity.ERATELIMITED:       "rate_limited",
	identity.EUNAVAILABLE:       "service_unavailable",
	identity.EINTERNAL:          "internal_error",
}

var bodyCodes = map[string]string{
	wire.ProblemMediaType: "unsupported_media_type",
	wire.ProblemTooLarge:  "request_too_large",
	wire.ProblemSyntax:    "invalid_json",
	wire.ProblemType:      "validation_failed",
}

// fieldNames maps identity's field names to this dialect's.
var fieldNames = map[string]string{"tenant_id": "app_id"}

// messages are this dialect's words for identity's (wire.Edge.Messages).
var messages = map[string]string{identity.ETWOFACTORREQUIRED: wire.NoSecondFactor}

// render writes a failure in the dialect's shape (wire.Edge.Render).
func render(w http.ResponseWriter, r *http.Request, f wire.Failure) {
	if f.Body != "" {
		wire.WriteJSON(w, f.Status, ErrorResponse{ErrorBody{Code: bodyCodes[f.Body], Message: f.Message, Field: f.Field}})
		return
	}
	code, ok := codes[f.Code]
	if !ok {
		code = codes[identity.EINTERNAL]
	}
	body := ErrorBody{Code: code, Message: f.Message}
	if f.Code == identity.EINVALID {
		body.Field = f.Field
		if n, ok := fieldNames[f.Field]; ok {
			body.Field = n
		}
		body.Message = body.Field + " " + f.Message
	}
	wire.WriteJSON(w, f.Status, ErrorResponse{body})
}
