package identity

import (
	"reflect"
	"strings"
	"unicode/utf8"
)

// ValidText is the rule for every string latch keeps: valid UTF-8 with no
// NUL character. PostgreSQL refuses both in text and jsonb, SQLite would
// keep them; one rule, applied where input enters the core (and again by
// each store as it writes), keeps the stores alike and never lets a byte
// that one store refuses turn into an internal error.
func ValidText(s string) bool { return strings.IndexByte(s, 0) < 0 && utf8.ValidString(s) }

// CheckText returns EINVALID naming field, or the path inside it (like
// "profile.address.city" or "tags"), when v holds a string that breaks
// ValidText: a string, a map key, or one inside slices, arrays, maps,
// pointers and structs (fields by their JSON name).
func CheckText(field string, v any) error {
	if path, bad := badText(field, v); bad {
		return Invalid(path, "must be valid UTF-8 and must not contain NUL characters")
	}
	return nil
}

// badText has fast paths for the shapes the hot paths write (event data,
// session fields), and reflection for the rest.
func badText(path string, v any) (string, bool) {
	switch x := v.(type) {
	case nil, bool, int, int64, uint64, float64, []byte:
		return "", false
	case string:
		return path, !ValidText(x)
	case *string:
		if x == nil {
			return "", false
		}
		return path, !ValidText(*x)
	case []string:
		for _, s := range x {
			if !ValidText(s) {
				return path, true
			}
		}
		return "", false
	case map[string]any:
		for k, e := range x {
			if !ValidText(k) {
				return path, true
			}
			if p, bad := badText(path+"."+k, e); bad {
				return p, true
			}
		}
		return "", false
	case []any:
		for _, e := range x {
			if p, bad := badText(path, e); bad {
				return p, true
			}
		}
		return "", false
	}
	return badValue(path, reflect.ValueOf(v))
}

func badValue(path string, v reflect.Value) (string, bool) {
	switch v.Kind() {
	case reflect.String:
		return path, !ValidText(v.String())
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return "", false
		}
		return badText(path, v.Elem().Interface())
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return "", false // bytes, not text
		}
		for i := range v.Len() {
			if p, bad := badValue(path, v.Index(i)); bad {
				return p, true
			}
		}
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			k := it.Key()
			if k.Kind() == reflect.String && !ValidText(k.String()) {
				return path, true
			}
			if p, bad := badValue(path+"."+k.String(), it.Value()); bad {
				return p, true
			}
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			sub := name
			if path != "" {
				sub = path + "." + name
			}
			if p, bad := badValue(sub, v.Field(i)); bad {
				return p, true
			}
		}
	}
	return "", false
}

// Printable makes a value that came from a header (User-Agent, Origin, a
// client address) safe to keep: valid UTF-8 of at most n bytes, invalid
// bytes and control characters (NUL among them) become U+FFFD, and a cut
// never splits a character. Such values never fail a request; they are
// only recorded.
func Printable(s string, n int) string {
	clean := true
	for _, c := range []byte(s) {
		if c < 0x20 || c == 0x7f || c >= 0x80 {
			clean = false
			break
		}
	}
	if !clean {
		var b strings.Builder
		for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
				r = utf8.RuneError
			}
			b.WriteRune(r)
		}
		s = b.String()
	}
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
