package sqlstore

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/latchauth/latch/internal/identity"
)

// JSON encodes a JSON column; nil slices and maps become [] and {}, never
// null, so that readers always see the column's type.
func JSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only plain data reaches here
	}
	if string(b) == "null" {
		if _, ok := v.(map[string]any); ok {
			return "{}"
		}
		return "[]"
	}
	return string(b)
}

// FromJSON decodes what JSON wrote; "" leaves v alone.
func FromJSON(s string, v any) error {
	switch s {
	case "":
		return nil
	case "[]", "{}":
		// What JSON writes for every empty list and map: most users'
		// columns, read on every refresh.
		if emptyJSON(s, v) {
			return nil
		}
	}
	return json.Unmarshal([]byte(s), v)
}

// emptyJSON sets v to what json.Unmarshal makes of "[]" or "{}" for the
// column types the stores read, and reports whether it knew v's type.
func emptyJSON(s string, v any) bool {
	switch p := v.(type) {
	case *[]string:
		if s == "[]" {
			*p = []string{}
			return true
		}
	case *[]identity.MetadataItem:
		if s == "[]" {
			*p = []identity.MetadataItem{}
			return true
		}
	case *map[string]any:
		if s == "{}" {
			if *p == nil { // Unmarshal keeps a map's entries
				*p = map[string]any{}
			}
			return true
		}
	}
	return false
}

// decodedJSON keeps what a JSON column decoded to, by the column's text,
// for columns that every refresh reads and that rarely change (a tenant's
// settings, a session's methods). Keyed by the text the row holds, an
// entry is never stale, whichever instance wrote the row. Callers get
// copies (clone), never the kept value.
type decodedJSON[T any] struct {
	m     sync.Map // string → T
	n     atomic.Int64
	clone func(T) T
}

// decodedJSONMax bounds a cache's entries: past it, the cache starts
// over (deployments hold few distinct settings; a flood of distinct ones
// costs a decode each, as without the cache).
const decodedJSONMax = 1024

// decode decodes s into v as FromJSON does.
func (c *decodedJSON[T]) decode(s string, v *T) error {
	if s == "" {
		return nil
	}
	if x, ok := c.m.Load(s); ok {
		*v = c.clone(x.(T))
		return nil
	}
	var x T
	if err := json.Unmarshal([]byte(s), &x); err != nil {
		return err
	}
	if c.n.Add(1) > decodedJSONMax {
		c.m.Clear()
		c.n.Store(0)
	}
	c.m.Store(s, x)
	*v = c.clone(x)
	return nil
}

var (
	settingsJSON = decodedJSON[identity.TenantSettings]{clone: identity.TenantSettings.Clone}
	amrJSON      = decodedJSON[[]string]{clone: slices.Clone[[]string]}
)

// NullString is s, or NULL for "".
func NullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// A cursor is the sort key (the id, or the email key) of the last row of
// the previous page, base64url.
func encodeCursor(id string) string { return base64.RawURLEncoding.EncodeToString([]byte(id)) }

// AfterCursor decodes a cursor a list returned; "" is the start.
func AfterCursor(c string) (string, error) {
	if c == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) > 4*256 || !identity.ValidText(string(b)) { // an id, or an email key (256 characters)
		return "", identity.Invalid("cursor", "is not a cursor this server returned")
	}
	return string(b), nil
}

// Limit is a page's size: 50 by default, at most 500.
func Limit(p identity.Page) int {
	switch {
	case p.Limit <= 0:
		return 50
	case p.Limit > 500:
		return 500
	}
	return p.Limit
}

// Page trims the look-ahead row (lists read Limit+1 rows) and returns the
// next cursor, "" on the last page.
func Page[T any](rows []T, n int, id func(T) string) ([]T, string, error) {
	if len(rows) > n {
		rows = rows[:n]
		return rows, encodeCursor(id(rows[n-1])), nil
	}
	return rows, "", nil
}

// NotFound is the ENOTFOUND error for a missing what.
func NotFound(what string) error {
	return &identity.Error{Code: identity.ENOTFOUND, Message: what + " not found"}
}

// Driver errors as identity codes, the same in both stores: a store's
// formatError says which of its errors each is.

// Coded reports whether err already carries an identity code (a store
// formats errors that went through a transaction twice).
func Coded(err error) bool {
	var ie *identity.Error
	return errors.As(err, &ie)
}

// AlreadyExists is a unique violation.
func AlreadyExists(err error) error {
	return &identity.Error{Code: identity.ECONFLICT, Message: "already exists", Err: err}
}

// ReferenceMissing is a foreign-key violation.
func ReferenceMissing(err error) error {
	return &identity.Error{Code: identity.ENOTFOUND, Message: "a referenced record does not exist", Err: err}
}
