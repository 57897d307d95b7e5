package accountsv3

import (
	"encoding/json"
	"errors"
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

// statuses maps identity codes to this dialect's status and code; this is
// the one place where that mapping lives (docs/errors.md lists it).
var statuses = map[string]struct {
	status int
	code   string
}{
	identity.EINVALID:           {http.StatusBadRequest, "VALIDATION_FAILED"},
	identity.EUNAUTHENTICATED:   {http.StatusUnauthorized, "INVALID_CREDENTIALS"},
	identity.ETOKENINVALID:      {http.StatusUnauthorized, "INVALID_REFRESH_TOKEN"},
	identity.ETWOFACTORREQUIRED: {http.StatusUnauthorized, "TWO_FACTOR_REQUIRED"},
	identity.ETWOFACTORINVALID:  {http.StatusUnauthorized, "INVALID_TWO_FACTOR_CODE"},
	identity.ETOKENREUSED:       {http.StatusConflict, "REFRESH_TOKEN_REUSED"},
	identity.ECONFLICT:          {http.StatusConflict, "CONFLICT"},
	identity.ENOTFOUND:          {http.StatusNotFound, "NOT_FOUND"},
	identity.ERATELIMITED:       {http.StatusTooManyRequests, "RATE_LIMITED"},
	identity.EUNAVAILABLE:       {http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE"},
	identity.EINTERNAL:          {http.StatusInternalServerError, "INTERNAL_ERROR"},
}

var bodyCodes = map[string]string{
	wire.ProblemMediaType: "UNSUPPORTED_MEDIA_TYPE",
	wire.ProblemTooLarge:  "REQUEST_TOO_LARGE",
	wire.ProblemSyntax:    "INVALID_JSON",
}

// fieldNames maps identity's field names to this dialect's.
var fieldNames = map[string]string{"tenant_id": "accountId", "email": "email", "password": "password"}

func writeValidation(w http.ResponseWriter, errs []FieldError) {
	msg := errs[0].Message
	if len(errs) > 1 {
		msg += " (and " + strconv.Itoa(len(errs)-1) + " more)"
	}
	writeJSON(w, http.StatusBadRequest, ErrorResponse{Code: "VALIDATION_FAILED", Message: msg, Errors: errs})
}

func writeError(w http.ResponseWriter, r *http.Request, d Deps, err error) {
	var be *wire.BodyError
	if errors.As(err, &be) {
		if be.Problem == wire.ProblemType {
			writeValidation(w, []FieldError{{Field: be.Field, Code: codeType, Message: be.Message}})
			return
		}
		writeJSON(w, http.StatusBadRequest, ErrorResponse{Code: bodyCodes[be.Problem], Message: be.Message})
		return
	}
	e := identity.AsError(err)
	if e.Code == identity.EINVALID {
		field := fieldNames[e.Field]
		if field == "" {
			field = e.Field
		}
		writeValidation(w, []FieldError{{Field: field, Code: codeFormat, Message: field + " " + e.Message}})
		return
	}
	s, ok := statuses[e.Code]
	if !ok {
		s = statuses[identity.EINTERNAL]
	}
	msg := e.Message
	if s.status >= 500 && e.Code == identity.EINTERNAL {
		d.Logger.ErrorContext(r.Context(), "request failed", "route", r.Pattern, "err", err)
		msg = "an internal error occurred"
	}
	if e.Code == identity.ERATELIMITED || e.Code == identity.EUNAVAILABLE {
		w.Header().Set("Retry-After", wire.RetryAfterSeconds(e))
	}
	if e.Code == identity.ERATELIMITED {
		d.Metrics.RateLimited(e.Field, Dialect)
	}
	writeJSON(w, s.status, ErrorResponse{Code: s.code, Message: msg})
}

// quotaWriter adds the reference API's rate-limit headers to whatever
// answer is written: X-Rate-Limit-Limit is the limit's period (1m, 12h,
// 1d), -Remaining the requests left, -Reset the UTC time (ISO 8601) at
// which the full allowance is back.
type quotaWriter struct {
	http.ResponseWriter
	q *identity.Quota
}

func (w quotaWriter) WriteHeader(status int) {
	if q := w.q; q != nil && !q.Limit.Off() {
		h := w.Header()
		h.Set("X-Rate-Limit-Limit", q.Limit.PeriodString())
		h.Set("X-Rate-Limit-Remaining", strconv.Itoa(q.Remaining))
		h.Set("X-Rate-Limit-Reset", q.Reset.UTC().Format("2006-01-02T15:04:05.0000000Z"))
	}
	w.ResponseWriter.WriteHeader(status)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
