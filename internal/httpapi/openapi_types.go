package httpapi

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"
)

// output describes a type the server answers with, from its Go
// declaration: every json field is a property, required unless
// omitempty (the server always writes the others), and no other
// property is allowed. more adds keywords (descriptions, enums), merged
// as with); it may name only the type's properties.
func output[T any](more m) m {
	return with(schemaFor(reflect.TypeFor[T](), true), more)
}

// input describes a request body from the Go type the handler decodes
// into: every json field is a property, which may be null (none
// required: absence, or null, which Go's decoder takes for absence, is
// how a PATCH leaves a field alone; unknown ones are ignored, as the
// decoder does). constraints add the validation rules of the identity
// core (lengths, patterns, enums) and must name only the type's
// properties; required lists the properties every request must have.
func input[T any](constraints m, required ...string) m {
	s := with(schemaFor(reflect.TypeFor[T](), false), constraints)
	for _, p := range s["properties"].(m) {
		p := p.(m)
		if e, ok := p["enum"].([]string); ok && len(asStrings(p["type"])) > 1 {
			p["enum"] = append(asStrings(e), nil) // null is allowed, as for absence
		}
	}
	for _, r := range required {
		p, ok := s["properties"].(m)[r].(m)
		if !ok {
			panic(fmt.Sprintf("openapi: %s requires %q, which it has no field for", reflect.TypeFor[T](), r))
		}
		if ts, ok := p["type"].([]string); ok {
			p["type"] = ts[0] // not null either
		}
	}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

// with merges more into s: nested objects merge key by key, and a
// property named under "properties" must be one s has, so that a
// hand-written rule cannot describe a field the type does not have.
func with(s, more m) m {
	for k, v := range more {
		sub, isMap := v.(m)
		have, hasMap := s[k].(m)
		switch {
		case k == "properties":
			for name, p := range sub {
				cur, ok := have[name].(m)
				if !ok {
					panic(fmt.Sprintf("openapi: a rule names property %q, which the type does not have (it has %v)",
						name, slices.Sorted(maps.Keys(have))))
				}
				have[name] = with(cur, p.(m))
			}
		case isMap && hasMap:
			s[k] = with(have, sub)
		case k == "type" && slices.Contains(asStrings(s[k]), v):
			// A rule written with str() keeps an input's null.
		default:
			s[k] = v
		}
	}
	return s
}

// asStrings returns v, a []string, as []any; nil otherwise.
func asStrings(v any) []any {
	ss, _ := v.([]string)
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// props is the "properties" of a with rule.
func props(p m) m { return m{"properties": p} }

// schemaFor describes t; out says it is an answer (see output) rather
// than a request (see input).
func schemaFor(t reflect.Type, out bool) m {
	switch t {
	case reflect.TypeFor[time.Time]():
		return str("format", "date-time")
	case reflect.TypeFor[*time.Time]():
		return m{"type": []string{"string", "null"}, "format": "date-time"}
	case reflect.TypeFor[[]byte]():
		return str("contentEncoding", "base64") // as encoding/json writes it
	}
	switch t.Kind() {
	case reflect.Pointer:
		return schemaFor(t.Elem(), out)
	case reflect.String:
		return str()
	case reflect.Bool:
		return m{"type": "boolean"}
	case reflect.Int, reflect.Int64, reflect.Int32:
		return m{"type": "integer"}
	case reflect.Float64:
		return m{"type": "number"}
	case reflect.Slice:
		return arr(schemaFor(t.Elem(), out))
	case reflect.Map:
		if t.Elem().Kind() == reflect.Interface {
			return m{"type": "object", "additionalProperties": true}
		}
		return m{"type": "object", "additionalProperties": schemaFor(t.Elem(), out)}
	case reflect.Interface:
		return m{}
	case reflect.Struct:
		properties, required := m{}, []string{}
		for i := range t.NumField() {
			f := t.Field(i)
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" || !f.IsExported() {
				continue
			}
			properties[name] = schemaFor(f.Type, out)
			if t, ok := properties[name].(m)["type"].(string); ok && !out {
				properties[name].(m)["type"] = []string{t, "null"}
			}
			if out && !strings.Contains(opts, "omitempty") {
				required = append(required, name)
			}
		}
		s := object(required, properties)
		if out {
			s["additionalProperties"] = false
		}
		return s
	}
	panic(fmt.Sprintf("openapi: no schema for %s", t))
}
