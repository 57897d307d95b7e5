package identity_test

import (
	"testing"

	"github.com/latchauth/latch/internal/identity"
)

// Ensure CheckText finds NUL and invalid UTF-8 wherever an input can hold
// a string, names where it was, and lets 4-byte characters through.
func TestCheckText(t *testing.T) {
	pw := "pass\x00word"
	for _, c := range []struct {
		field string
		v     any
		path  string // "" when valid
	}{
		{"name", "Ada 😀 𝄞", ""},
		{"name", "a\x00b", "name"},
		{"name", "caf\xe9", "name"},
		{"password", &pw, "password"},
		{"tags", []string{"ok", "bad\x00"}, "tags"},
		{"profile", map[string]any{"address": map[string]any{"city": "Os\x00lo"}}, "profile.address.city"},
		{"profile", map[string]any{"list": []any{"x", map[string]any{"k": "\xff"}}}, "profile.list.k"},
		{"profile", map[string]any{"bad\x00key": 1}, "profile"},
		{"metadata", []identity.MetadataInput{{Key: "plan", Value: "p\x00ro"}}, "metadata.value"},
		{"metadata", &[]identity.MetadataInput{{Key: "plan", Value: "pro"}}, ""},
		{"settings", identity.TenantSettings{RateLimitIP: "1\x00/m"}, "settings.rate_limit_ip"},
		{"secret", []byte{0, 0xff}, ""},
		{"n", 42, ""},
	} {
		err := identity.CheckText(c.field, c.v)
		switch {
		case c.path == "" && err != nil:
			t.Errorf("%s %#v: %v", c.field, c.v, err)
		case c.path != "" && (identity.ErrorCode(err) != identity.EINVALID || identity.AsError(err).Field != c.path):
			t.Errorf("%s %#v: %v, want EINVALID naming %s", c.field, c.v, err, c.path)
		}
	}
}

// Ensure header values kept for the audit log are valid UTF-8 without
// control characters, and cut on a character boundary.
func TestPrintable(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"shop/2.1", 512, "shop/2.1"},
		{"caf\xe9/1.0", 512, "caf\uFFFD/1.0"},
		{"a\x00b\x7fc\td", 512, "a\uFFFDb\uFFFDc\uFFFDd"},
		{"caf\u00e9", 512, "caf\u00e9"},
		{"\u00e9\u00e9", 3, "\u00e9"},
		{"abc\xe9", 4, "abc"},
		{"\xc2\x85x", 512, "\uFFFDx"},
	} {
		if got := identity.Printable(tc.in, tc.n); got != tc.want {
			t.Errorf("Printable(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}
