package appauth

import (
	"encoding/json"
	"errors"
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

// statuses maps identity codes to this dialect's status and code: the one
// place where that mapping lives (docs/errors.md lists it).
var statuses = map[string]struct {
	status int
	code   string
}{
	identity.EINVALID:           {http.StatusBadRequest, "validation_failed"},
	identity.EUNAUTHENTICATED:   {http.StatusUnauthorized, "invalid_credentials"},
	identity.ETOKENINVALID:      {http.StatusUnauthorized, "invalid_refresh_token"},
	identity.ETWOFACTORREQUIRED: {http.StatusUnauthorized, "two_factor_required"},
	identity.ETWOFACTORINVALID:  {http.StatusUnauthorized, "invalid_two_factor_code"},
	identity.ETOKENREUSED:       {http.StatusConflict, "refresh_token_reused"},
	identity.ECONFLICT:          {http.StatusConflict, "conflict"},
	identity.ENOTFOUND:          {http.StatusNotFound, "app_not_found"},
	identity.ERATELIMITED:       {http.StatusTooManyRequests, "rate_limited"},
	identity.EUNAVAILABLE:       {http.StatusServiceUnavailable, "service_unavailable"},
	identity.EINTERNAL:          {http.StatusInternalServerError, "internal_error"},
}

var bodyCodes = map[string]string{
	wire.ProblemMediaType: "unsupported_media_type",
	wire.ProblemTooLarge:  "request_too_large",
	wire.ProblemSyntax:    "invalid_json",
	wire.ProblemType:      "validation_failed",
}

// fieldNames maps identity's field names to this dialect's.
var fieldNames = map[string]string{"tenant_id": "app_id"}

func writeError(w http.ResponseWriter, r *http.Request, d Deps, err error) {
	var be *wire.BodyError
	if errors.As(err, &be) {
		writeJSON(w, http.StatusBadRequest, ErrorResponse{ErrorBody{Code: bodyCodes[be.Problem], Message: be.Message, Field: be.Field}})
		return
	}
	e := identity.AsError(err)
	s, ok := statuses[e.Code]
	if !ok {
		s = statuses[identity.EINTERNAL]
	}
	body := ErrorBody{Code: s.code, Message: e.Message}
	switch e.Code {
	case identity.EINVALID:
		body.Field = e.Field
		if f, ok := fieldNames[e.Field]; ok {
			body.Field = f
		}
		body.Message = body.Field + " " + e.Message
	case identity.ERATELIMITED:
		d.Metrics.RateLimited(e.Field, Dialect)
		w.Header().Set("Retry-After", wire.RetryAfterSeconds(e))
	case identity.EUNAVAILABLE:
		w.Header().Set("Retry-After", wire.RetryAfterSeconds(e))
	case identity.EINTERNAL:
		d.Logger.ErrorContext(r.Context(), "request failed", "route", r.Pattern, "err", err)
		body.Message = "an internal error occurred"
	}
	writeJSON(w, s.status, ErrorResponse{body})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
