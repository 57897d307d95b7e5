package wire

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/metrics"
)

// StatusClientClosed is the status logged and counted for a request whose
// client went away before the answer was ready (nginx's 499): the server
// did nothing wrong, so it must not look like a 5xx to an operator's alert.
const StatusClientClosed = 499

// WriteJSON writes v as a JSON answer with status. Answers on these
// routes carry tokens or personal data, so none may be cached.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	Write(w, status, jsonContentType, v)
}

const jsonContentType = "application/json; charset=utf-8"

// writeHeader writes the headers every answer of Write and WriteEncoded
// carries, and status.
func writeHeader(w http.ResponseWriter, status int, contentType string) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
}

// Write writes v as JSON with status and the given Content-Type (the admin
// API's problem documents are application/problem+json).
func Write(w http.ResponseWriter, status int, contentType string, v any) {
	writeHeader(w, status, contentType)
	// An error here is the client going away mid-answer: nothing to do.
	_ = json.NewEncoder(w).Encode(v)
}

// WriteEncoded writes b, a JSON document the caller encoded itself (on a
// hot path, without reflection), with WriteJSON's headers.
func WriteEncoded(w http.ResponseWriter, status int, b []byte) {
	writeHeader(w, status, jsonContentType)
	_, _ = w.Write(b) // as in Write
}

// ClientGone reports whether r's client has gone away (its context was
// cancelled because the connection closed): whatever failed after that
// failed because of it.
func ClientGone(r *http.Request) bool {
	return errors.Is(r.Context().Err(), context.Canceled)
}

// BodyStatus is the status of each body problem in every dialect: a body
// that is not JSON, too large or of the wrong shape is a 400 (docs/wire-contract.md),
// a media type the route does not take a 415.
var BodyStatus = map[string]int{
	ProblemMediaType: http.StatusUnsupportedMediaType,
	ProblemTooLarge:  http.StatusBadRequest,
	ProblemSyntax:    http.StatusBadRequest,
	ProblemType:      http.StatusBadRequest,
}

// Failure is an error after the shared half of error writing: what a
// dialect needs to render it in its own shape.
type Failure struct {
	Status  int    // from the dialect's table; StatusClientClosed when the client left
	Code    string // identity's code (identity.E…); "" when Body is set
	Body    string // a Problem… constant when the request body was at fault
	Field   string // the bad field, in identity's naming or as the body spelled it
	Message string // safe to show: an internal error's detail only reaches the log
}

// Edge is one dialect's side of the HTTP edge that every dialect shares:
// who the client is, the address limit before the body is read, and the
// shared half of error writing (the status from the dialect's table, the
// log line, Retry-After, the rate-limit metric, client cancellations).
// The dialect supplies its status table and its body shape.
type Edge struct {
	Dialect  string
	Auth     Admitter
	Clients  *ClientResolver
	Metrics  *metrics.Metrics
	Logger   *slog.Logger
	Statuses map[string]int // identity code → status; an unknown code is a 500
	// Messages are what the dialect says instead of identity's message,
	// in its own words: by identity code and field ("token_invalid/
	// session_token"), else by code. Identity speaks of the domain; only
	// the dialect knows its field names and what its clients can send.
	Messages map[string]string
	// Render writes f in the dialect's error shape.
	Render func(w http.ResponseWriter, r *http.Request, f Failure)
	// QuotaHeaders adds the X-Rate-Limit-* headers (accounts-v3's reference
	// API sends them) to every answer.
	QuotaHeaders bool
}

// Deps are what a dialect's routes need: the login use cases and the
// edge's own parts.
type Deps struct {
	Auth    *identity.Auth
	Clients *ClientResolver
	Metrics *metrics.Metrics
	Logger  *slog.Logger
}

// Edge returns a dialect's edge over d, with its status table, its words
// for identity's messages and its body shape.
func (d Deps) Edge(dialect string, statuses map[string]int, messages map[string]string, render func(w http.ResponseWriter, r *http.Request, f Failure)) *Edge {
	return &Edge{Dialect: dialect, Auth: d.Auth, Clients: d.Clients, Metrics: d.Metrics, Logger: d.Logger,
		Statuses: statuses, Messages: messages, Render: render}
}

// Admitter counts a request against its client address's limit before
// the body is read (identity.Auth).
type Admitter interface {
	AdmitIP(ctx context.Context, action string, c identity.Client) error
}

// Refused answers err in the dialect's shape and counts its outcome with
// count (metrics.Metrics.Login, …), and reports whether there was an
// error to answer.
func (e *Edge) Refused(w http.ResponseWriter, r *http.Request, err error, count func(dialect, outcome string)) bool {
	if err == nil {
		return false
	}
	count(e.Dialect, Outcome(err))
	e.Fail(w, r, err)
	return true
}

// RefreshOutcome is the metrics label of a successful refresh.
func RefreshOutcome(res *identity.LoginResult) string {
	if res.Grace {
		return "grace"
	}
	return "rotated"
}

// Fail answers err in the dialect's shape.
func (e *Edge) Fail(w http.ResponseWriter, r *http.Request, err error) {
	e.Render(w, r, e.failure(w, r, err))
}

func (e *Edge) failure(w http.ResponseWriter, r *http.Request, err error) Failure {
	var be *BodyError
	if errors.As(err, &be) {
		return Failure{Status: BodyStatus[be.Problem], Body: be.Problem, Field: be.Field, Message: be.Message}
	}
	ie := identity.AsError(err)
	status, ok := e.Statuses[ie.Code]
	if !ok {
		status = http.StatusInternalServerError
	}
	f := Failure{Status: status, Code: ie.Code, Field: ie.Field, Message: e.message(ie)}
	switch {
	case status >= 500 && ClientGone(r):
		// Logged at info by the request log, with this status.
		f.Status = StatusClientClosed
		return f
	case status == http.StatusInternalServerError:
		e.logger().ErrorContext(r.Context(), "request failed", "dialect", e.Dialect, "route", r.Pattern, "err", err)
		f.Message = "an internal error occurred"
	}
	switch ie.Code {
	case identity.ERATELIMITED:
		if e.Metrics != nil {
			e.Metrics.RateLimited(ie.Field, e.Dialect)
		}
		fallthrough
	case identity.EUNAVAILABLE:
		w.Header().Set("Retry-After", RetryAfterSeconds(ie))
		f.Message += RetryHint
	}
	return f
}

// RetryHint ends the message of every answer that carries Retry-After.
const RetryHint = "; retry after the time in Retry-After"

func (e *Edge) message(ie *identity.Error) string {
	if m, ok := e.Messages[ie.Code+"/"+ie.Field]; ok && ie.Field != "" {
		return m
	}
	if m, ok := e.Messages[ie.Code]; ok {
		return m
	}
	return ie.Message
}

// NoSecondFactor is what the dialects that have no field for a second
// factor say to a user who has one.
const NoSecondFactor = "this account uses two-factor authentication, which this API cannot carry; " +
	"sign in through the accounts-v3 API, or ask the operator to allow password-only logins for this tenant"

func (e *Edge) logger() *slog.Logger {
	if e.Logger != nil {
		return e.Logger
	}
	return slog.Default()
}
