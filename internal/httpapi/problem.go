package httpapi

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/latchauth/latch/internal/httpapi/wire"
	"github.com/latchauth/latch/internal/identity"
)

// Problem is an RFC 9457 problem document, with latch's code and, for
// validation errors, the fields at fault.
type Problem struct {
	Type   string         `json:"type"`
	Title  string         `json:"title"`
	Status int            `json:"status"`
	Detail string         `json:"detail"`
	Code   string         `json:"code"`
	Errors []ProblemField `json:"errors,omitempty"`
}

// ProblemField names one bad field.
type ProblemField struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// adminStatuses maps identity codes to admin API statuses.
var adminStatuses = map[string]int{
	identity.EINVALID:           http.StatusBadRequest,
	identity.ENOTFOUND:          http.StatusNotFound,
	identity.ECONFLICT:          http.StatusConflict,
	identity.EUNAUTHENTICATED:   http.StatusUnauthorized,
	identity.ETOKENINVALID:      http.StatusUnauthorized,
	identity.ETWOFACTORREQUIRED: http.StatusUnauthorized,
	identity.ETWOFACTORINVALID:  http.StatusUnauthorized,
	identity.EEMAILUNVERIFIED:   http.StatusUnauthorized,
	identity.ETOKENREUSED:       http.StatusConflict,
	identity.ERATELIMITED:       http.StatusTooManyRequests,
	identity.EUNAVAILABLE:       http.StatusServiceUnavailable,
	identity.EINTERNAL:          http.StatusInternalServerError,
}

var bodyProblemStatus = map[string]int{
	wire.ProblemMediaType: http.StatusUnsupportedMediaType,
	wire.ProblemTooLarge:  http.StatusRequestEntityTooLarge,
	wire.ProblemSyntax:    http.StatusBadRequest,
	wire.ProblemType:      http.StatusBadRequest,
}

func writeProblem(w http.ResponseWriter, status int, code, detail string, fields []ProblemField) {
	wire.Write(w, status, "application/problem+json", Problem{
		Type: "https://github.com/latchauth/latch/blob/main/docs/errors.md#admin-" + code, Title: http.StatusText(status),
		Status: status, Detail: detail, Code: code, Errors: fields,
	})
}

// writeAdminError maps any error to a problem document: the one place the
// admin API turns errors into statuses.
func writeAdminError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	var be *wire.BodyError
	if errors.As(err, &be) {
		var fields []ProblemField
		if be.Field != "" {
			fields = []ProblemField{{Field: be.Field, Message: be.Message}}
		}
		writeProblem(w, bodyProblemStatus[be.Problem], be.Problem, be.Message, fields)
		return
	}
	e := identity.AsError(err)
	status, ok := adminStatuses[e.Code]
	if !ok {
		status = http.StatusInternalServerError
	}
	detail := e.Message
	if status >= 500 && wire.ClientGone(r) {
		status = wire.StatusClientClosed // logged at info by the request log
	} else if status >= 500 {
		log.ErrorContext(r.Context(), "admin request failed", "route", r.Pattern, "err", err)
		if e.Code == identity.EINTERNAL {
			detail = "an internal error occurred"
		}
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", wire.RetryAfterSeconds(e))
	}
	var fields []ProblemField
	if e.Field != "" {
		fields = []ProblemField{{Field: e.Field, Message: e.Message}}
		detail = e.Field + ": " + e.Message
	}
	writeProblem(w, status, e.Code, detail, fields)
}
