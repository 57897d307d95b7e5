package wire

import "time"

// Object reads typed values out of a free JSON object (a user's or an
// organisation's profile), so that a dialect renders each field with its
// documented JSON type: a missing value, or one of another type, reads as
// the type's zero value.
type Object map[string]any

// Str is the string under k, or "".
func (o Object) Str(k string) string {
	s, _ := o[k].(string)
	return s
}

// Bool is the boolean under k, or false.
func (o Object) Bool(k string) bool {
	b, _ := o[k].(bool)
	return b
}

// Obj is the object under k, or an empty one (never nil, so that it
// renders as {}).
func (o Object) Obj(k string) map[string]any {
	if m, ok := o[k].(map[string]any); ok {
		return m
	}
	return map[string]any{}
}

// Sub is the object under k, to read from in turn.
func (o Object) Sub(k string) Object { return Object(o.Obj(k)) }

// Time renders t in RFC 3339 UTC, or "" for the zero time (never).
func Time(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
