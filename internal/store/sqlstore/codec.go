package sqlstore

import (
	"encoding/base64"
	"encoding/json"
	"errors"

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
	if s == "" {
		return nil
	}
	return json.Unmarshal([]byte(s), v)
}

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
