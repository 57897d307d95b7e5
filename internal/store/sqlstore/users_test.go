package sqlstore

import (
	"strings"
	"testing"
	"unicode"
)

// Ensure PrefixEnd bounds exactly the strings that start with the prefix,
// in code point order, at the edges of Unicode too.
func TestPrefixEnd(t *testing.T) {
	max := string(unicode.MaxRune)
	for _, tc := range []struct{ prefix, want string }{
		{"ada", "adb"}, {"a@", "aA"}, {"é", "ê"}, {"a\uD7FF", "a\uE000"}, {"a" + max, "b"}, {max + max, ""},
	} {
		end := PrefixEnd(tc.prefix)
		if end != tc.want {
			t.Errorf("PrefixEnd(%q) = %q, want %q", tc.prefix, end, tc.want)
		}
		for _, s := range []string{tc.prefix, tc.prefix + "x", tc.prefix + max} {
			if strings.HasPrefix(s, tc.prefix) && !(s >= tc.prefix && (s < end || end == "")) {
				t.Errorf("%q starts with %q but is outside [%q, %q)", s, tc.prefix, tc.prefix, end)
			}
		}
		if end <= tc.prefix && end != "" {
			t.Errorf("PrefixEnd(%q) = %q is not above the prefix", tc.prefix, end)
		}
	}
}
