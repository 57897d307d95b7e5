package tokenlogin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/latchauth/latch/internal/httpapi/wire"
)

// Problem is a bad request: the ModelState entry it becomes.
type Problem struct {
	Field, Message string
}

func (p *Problem) Error() string { return p.Field + ": " + p.Message }

// Options are the query options every route takes.
type Options struct {
	Fields   []string // lower-case names; nil (also for an empty fields=) means the full object
	Suppress bool     // suppressResponseCodes
}

// query returns every value of the query parameter name, matched
// case-insensitively as ASP.NET binds them.
func query(q url.Values, name string) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(q)) {
		if strings.EqualFold(k, name) {
			out = append(out, q[k]...)
		}
	}
	return out
}

// ParseOptions reads fields and suppressResponseCodes.
func ParseOptions(r *http.Request) (Options, error) {
	q := r.URL.Query()
	var o Options
	if vs := query(q, "suppressResponseCodes"); len(vs) > 0 {
		b, err := parseBool(vs[0])
		if err != nil {
			return o, &Problem{"suppressResponseCodes", fmt.Sprintf("The value '%s' is not valid for suppressResponseCodes; use true or false.", vs[0])}
		}
		for _, v := range vs[1:] {
			if other, err := parseBool(v); err != nil || other != b {
				return o, &Problem{"suppressResponseCodes", "suppressResponseCodes is given more than once with different values."}
			}
		}
		o.Suppress = b
	}
	if vs := query(q, "fields"); len(vs) > 0 {
		o.Fields = []string{}
		for _, v := range vs {
			for _, f := range strings.Split(v, ",") {
				if f = strings.TrimSpace(f); f != "" {
					o.Fields = append(o.Fields, strings.ToLower(f))
				}
			}
		}
		if len(o.Fields) == 0 {
			o.Fields = nil // no usable name: the full object, as the reference says
		}
	}
	return o, nil
}

func parseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("not a boolean: %q", s)
}

// param reads one value that may come in the query or a header (APIKey,
// APIToken); both places at once with different values is a conflict.
func param(r *http.Request, name string) (string, error) {
	vs := query(r.URL.Query(), name)
	if h := r.Header.Values(name); len(h) > 0 {
		vs = append(vs, h...)
	}
	if len(vs) == 0 {
		return "", nil
	}
	for _, v := range vs[1:] {
		if v != vs[0] {
			return "", &Problem{name, name + " is given more than once with different values."}
		}
	}
	return vs[0], nil
}

// body is a request body's fields, names lower-cased, each a JSON value
// (form values are turned into JSON strings).
type body map[string]json.RawMessage

// readBody decodes application/json, text/json (also when no Content-Type
// is sent) and application/x-www-form-urlencoded bodies. Names match
// case-insensitively; the same name twice is a conflict.
func readBody(r *http.Request) (body, error) {
	mt := wire.MediaType(r)
	switch mt {
	case "", "application/json", "text/json", "application/x-www-form-urlencoded":
	default:
		return nil, &wire.BodyError{Problem: wire.ProblemMediaType, Field: "Content-Type",
			Message: fmt.Sprintf("The request entity's media type '%s' is not supported for this resource; send application/json, text/json or application/x-www-form-urlencoded.", mt)}
	}
	raw, err := wire.ReadBody(r)
	if err != nil {
		return nil, err
	}
	out := body{}
	add := func(k string, v json.RawMessage) error {
		lk := strings.ToLower(k)
		if _, dup := out[lk]; dup {
			return &Problem{k, k + " is given more than once."}
		}
		out[lk] = v
		return nil
	}
	if mt == "application/x-www-form-urlencoded" {
		if !utf8.Valid(raw) {
			return nil, &wire.BodyError{Problem: wire.ProblemSyntax, Message: "The request body is not valid UTF-8."}
		}
		vals, err := url.ParseQuery(string(raw))
		if err != nil {
			return nil, &wire.BodyError{Problem: wire.ProblemSyntax, Message: "The request body is not a valid form."}
		}
		for _, k := range slices.Sorted(maps.Keys(vals)) {
			if len(vals[k]) > 1 {
				return nil, &Problem{k, k + " is given more than once."}
			}
			v, _ := json.Marshal(vals[k][0])
			if err := add(k, v); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return out, nil // ASP.NET binds an empty body as no values
	}
	var m map[string]json.RawMessage
	if err := wire.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	// In a fixed order, so that a conflict is always reported the same way.
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if err := add(k, m[k]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// str reads a string field; JSON null or absence is "".
func (b body) str(name string) (string, error) {
	v, ok := b[strings.ToLower(name)]
	if !ok || string(v) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", &Problem{name, "The value for " + name + " must be a string."}
	}
	if strings.ContainsRune(s, 0) {
		// No store keeps a NUL in text, and no real value holds one.
		return "", &Problem{name, "The value for " + name + " must not contain NUL characters."}
	}
	return s, nil
}

// boolean reads a bool field; Json.NET also accepts the strings "true" and "false".
func (b body) boolean(name string) (bool, error) {
	v, ok := b[strings.ToLower(name)]
	if !ok || string(v) == "null" {
		return false, nil
	}
	var x bool
	if err := json.Unmarshal(v, &x); err == nil {
		return x, nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err == nil {
		if x, err := parseBool(s); err == nil {
			return x, nil
		}
	}
	return false, &Problem{name, "The value for " + name + " must be true or false."}
}
