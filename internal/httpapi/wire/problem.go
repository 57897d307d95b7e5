package wire

import (
	"net/http"

	"github.com/latchauth/latch/internal/identity"
)

// ProblemMediaTypeJSON is the media type of RFC 9457 problem documents.
const ProblemMediaTypeJSON = "application/problem+json"

// Problem is an RFC 9457 problem document, with latch's code and, for
// validation errors, the fields at fault: latch's own error shape, on
// the admin API and the self-service routes alike.
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

// ProblemStatuses maps identity codes to the statuses of latch's own
// routes (the admin API, self-service): one table, so they answer alike.
var ProblemStatuses = map[string]int{
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

// WriteProblem writes a problem document whose type points at the code's
// entry in docs/errors.md, under the section whose anchors start with
// section ("admin", "self-service").
func WriteProblem(w http.ResponseWriter, status int, section, code, detail string, fields []ProblemField) {
	Write(w, status, ProblemMediaTypeJSON, Problem{
		Type: "https://github.com/latchauth/latch/blob/main/docs/errors.md#" + section + "-" + code, Title: http.StatusText(status),
		Status: status, Detail: detail, Code: code, Errors: fields,
	})
}
