// Package wire holds what every dialect does the same way at the HTTP
// edge: reading bounded bodies, decoding JSON with errors that name the
// field, and telling who the client is.
package wire

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/latchauth/latch/internal/identity"
)

// MaxBody is the largest request body any dialect reads (docs/wire-contract.md).
const MaxBody = 64 << 10

// Problems a body can have before it reaches field validation. Dialects
// map them to their own codes.
const (
	ProblemMediaType = "media_type" // Content-Type is not one the route takes
	ProblemTooLarge  = "too_large"  // over MaxBody
	ProblemSyntax    = "syntax"     // not JSON, or not a JSON object
	ProblemType      = "type"       // a field has the wrong JSON type; Field names it
)

// BodyError is a problem with the body as a whole or with one field's type.
type BodyError struct {
	Problem string
	Field   string
	Message string
}

func (e *BodyError) Error() string { return e.Message }

// MediaType returns the bare media type of r's Content-Type, lower-cased;
// "" when absent.
func MediaType(r *http.Request) string {
	ct := r.Header.Get("Content-Type")
	if ct == "" || ct == "application/json" { // the usual one, already as ParseMediaType returns it
		return ct
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return "invalid"
	}
	return mt
}

// ReadBody reads at most MaxBody bytes of r's body.
func ReadBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	if err != nil {
		return nil, &BodyError{Problem: ProblemSyntax, Message: "the request body could not be read"}
	}
	if len(b) > MaxBody {
		return nil, &BodyError{Problem: ProblemTooLarge, Message: fmt.Sprintf("the request body is larger than %d bytes", MaxBody)}
	}
	return b, nil
}

// DecodeJSON reads r's body as one JSON object into v. Media types other
// than application/json (or none, or those in also) are refused. Unknown
// fields are ignored, as the reference APIs do.
func DecodeJSON(r *http.Request, v any, also ...string) error {
	if err := CheckMediaType(r, also...); err != nil {
		return err
	}
	b, err := ReadBody(r)
	if err != nil {
		return err
	}
	return Unmarshal(b, v)
}

// CheckMediaType refuses, as DecodeJSON does, a body whose Content-Type is
// neither JSON nor one of also; a request without one passes.
func CheckMediaType(r *http.Request, also ...string) error {
	if mt := MediaType(r); mt != "" && mt != "application/json" && !slices.Contains(also, mt) {
		return &BodyError{Problem: ProblemMediaType, Field: "Content-Type",
			Message: fmt.Sprintf("Content-Type %q is not supported; send application/json", r.Header.Get("Content-Type"))}
	}
	return nil
}

// TextPlain is the media type fetch() gives a string body; the dialects
// whose clients may be browsers read it as JSON, so that a browser app's
// simplest call works (and needs no CORS preflight).
const TextPlain = "text/plain"

// Unmarshal decodes one JSON object from b into v with DecodeJSON's errors.
func Unmarshal(b []byte, v any) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return &BodyError{Problem: ProblemSyntax, Message: "the request body must be a JSON object"}
	}
	if !utf8.Valid(b) {
		return &BodyError{Problem: ProblemSyntax, Message: "the request body is not valid UTF-8"}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			field := te.Field
			if field == "" {
				field = "body"
			}
			return &BodyError{Problem: ProblemType, Field: field, Message: fmt.Sprintf("%s must be a JSON %s", field, jsonType(te))}
		}
		return &BodyError{Problem: ProblemSyntax, Message: "the request body is not valid JSON: " + strings.TrimPrefix(err.Error(), "json: ")}
	}
	if dec.More() {
		return &BodyError{Problem: ProblemSyntax, Message: "the request body must hold exactly one JSON object"}
	}
	if _, err := dec.Token(); err != io.EOF {
		return &BodyError{Problem: ProblemSyntax, Message: "unexpected data after the JSON object"}
	}
	return nil
}

func jsonType(te *json.UnmarshalTypeError) string {
	switch te.Type.Kind().String() {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "slice", "array":
		return "array"
	case "map", "struct":
		return "object"
	case "int", "int64", "uint", "uint64", "float64", "int32":
		return "number"
	}
	return te.Type.String()
}

// ClientResolver tells the client's IP: the socket peer, or, when the peer
// is a trusted proxy, the nearest untrusted address in X-Forwarded-For.
type ClientResolver struct {
	Trusted []netip.Prefix
}

func (c *ClientResolver) trusted(a netip.Addr) bool {
	for _, p := range c.Trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// IP returns the client address of r as a string.
func (c *ClientResolver) IP(r *http.Request) string {
	peer, ok := parseHop(r.RemoteAddr)
	if !ok {
		return r.RemoteAddr
	}
	if c == nil || !c.trusted(peer) {
		return peer.String()
	}
	// Walk X-Forwarded-For from the right: the last hop not ours is the client.
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseHop(hops[i])
		if !ok {
			break
		}
		if !c.trusted(a) {
			return a.String()
		}
		peer = a
	}
	return peer.String()
}

// parseHop reads one address as proxies write it: bare ("203.0.113.7",
// "2001:db8::1"), with a port ("203.0.113.7:5555", "[2001:db8::1]:443"),
// or bracketed without one ("[2001:db8::1]"). A zone is dropped and an
// IPv4-mapped IPv6 address is read as IPv4, so that one client has one key.
func parseHop(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	a, err := netip.ParseAddr(s)
	if err != nil {
		if ap, perr := netip.ParseAddrPort(s); perr == nil {
			a, err = ap.Addr(), nil
		} else if inner, ok := strings.CutPrefix(s, "["); ok && strings.HasSuffix(inner, "]") {
			a, err = netip.ParseAddr(strings.TrimSuffix(inner, "]"))
		}
	}
	if err != nil {
		return netip.Addr{}, false
	}
	return a.WithZone("").Unmap(), true
}

// Client builds the identity.Client of r for dialect. The User-Agent and
// Origin are kept on the session and in the audit log as the client sent
// them, made storable: valid UTF-8 without control characters (old clients
// send Latin-1), and at most MaxHeaderKept bytes. They never fail a request.
func (c *ClientResolver) Client(r *http.Request, dialect string) identity.Client {
	return identity.Client{Dialect: dialect, IP: c.IP(r), UserAgent: identity.Printable(r.UserAgent(), MaxHeaderKept),
		Origin: identity.Printable(r.Header.Get("Origin"), MaxHeaderKept)}
}

// MaxHeaderKept bounds a header value kept for the audit log, in bytes.
const MaxHeaderKept = 512

// RetryAfterSeconds is the Retry-After value for d, at least 1.
func RetryAfterSeconds(err *identity.Error) string {
	s := int(err.RetryAfter.Seconds() + 0.999)
	return fmt.Sprint(max(s, 1))
}

// Outcome is the metrics label of a failed login, refresh or logout; every
// dialect counts with the same labels.
func Outcome(err error) string {
	if errors.Is(err, context.Canceled) {
		return "cancelled" // the client went away
	}
	switch identity.ErrorCode(err) {
	case identity.EUNAUTHENTICATED:
		return "invalid_credentials"
	case identity.ETOKENINVALID:
		return "invalid_token"
	case identity.ETOKENREUSED:
		return "reused"
	case identity.ETWOFACTORREQUIRED, identity.ETWOFACTORINVALID:
		return "two_factor"
	case identity.EEMAILUNVERIFIED:
		return "email_unverified"
	case identity.ERATELIMITED:
		return "rate_limited"
	case identity.EINVALID:
		return "invalid_request"
	case identity.ENOTFOUND:
		return "not_found"
	case identity.EUNAVAILABLE:
		return "unavailable"
	}
	return "error"
}
