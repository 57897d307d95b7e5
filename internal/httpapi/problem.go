package httpapi

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/latchauth/latch/internal/httpapi/wire"
	"github.com/latchauth/latch/internal/identity"
)

var bodyProblemStatus = map[string]int{
	wire.ProblemMediaType: http.StatusUnsupportedMediaType,
	wire.ProblemTooLarge:  http.StatusRequestEntityTooLarge,
	wire.ProblemSyntax:    http.StatusBadRequest,
	wire.ProblemType:      http.StatusBadRequest,
}

func writeProblem(w http.ResponseWriter, status int, code, detail string, fields []wire.ProblemField) {
	wire.WriteProblem(w, status, "admin", code, detail, fields)
}

// writeAdminError maps any error to a problem document: the one place the
// admin API turns errors into statuses.
func writeAdminError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	var be *wire.BodyError
	if errors.As(err, &be) {
		var fields []wire.ProblemField
		if be.Field != "" {
			fields = []wire.ProblemField{{Field: be.Field, Message: be.Message}}
		}
		writeProblem(w, bodyProblemStatus[be.Problem], be.Problem, be.Message, fields)
		return
	}
	e := identity.AsError(err)
	status, ok := wire.ProblemStatuses[e.Code]
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
	var fields []wire.ProblemField
	if e.Field != "" {
		fields = []wire.ProblemField{{Field: e.Field, Message: e.Message}}
		detail = e.Field + ": " + e.Message
	}
	writeProblem(w, status, e.Code, detail, fields)
}
