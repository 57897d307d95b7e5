package identity_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// Ensure identity's messages speak of the domain: no string in its code
// names a field or a header of a wire dialect. The dialects put these in
// their own words (wire.Edge.Messages and their field-name tables).
func TestMessagesSpeakOfTheDomain(t *testing.T) {
	wireWords := []string{"twoFactorCode", "twoFactorRecoveryCode", "accountId", "accountAlias", "userName", "deviceName",
		"APIToken", "APIKey", "app_id", "refreshToken", "reAuthenticationToken", "Retry-After", "accounts-v3 API"}
	files, _ := filepath.Glob("*.go")
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		// Struct tags and settings paths are not messages: they name the
		// admin API's own fields (settings.migration.app_id), which may
		// match a dialect's.
		tags := map[*ast.BasicLit]bool{}
		ast.Inspect(f, func(n ast.Node) bool {
			if fl, ok := n.(*ast.Field); ok && fl.Tag != nil {
				tags[fl.Tag] = true
			}
			return true
		})
		ast.Inspect(f, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING && !tags[lit] && !strings.HasPrefix(lit.Value, `"settings.`) {
				for _, w := range wireWords {
					if strings.Contains(lit.Value, w) {
						t.Errorf("%s: %s names %q", fset.Position(lit.Pos()), lit.Value, w)
					}
				}
			}
			return true
		})
	}
}
