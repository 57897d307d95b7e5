package httpapi

import (
	"strings"
	"testing"
)

// Ensure a hand-written rule cannot describe a field the Go type does not
// have, nor require one: building the document panics, so TestOpenAPI and
// every server fail, instead of the document drifting from the type.
func TestOpenAPIRulesNameTheTypesFields(t *testing.T) {
	for name, build := range map[string]func(){
		"rule":     func() { input[apiKeyInput](props(m{"nmae": str("maxLength", 256)})) },
		"required": func() { input[apiKeyInput](nil, "nmae") },
		"output":   func() { output[sessionJSON](props(m{"userAgent": m{"description": "x"}})) },
	} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(r.(string), "which") {
					t.Errorf("%s: no panic naming the field: %v", name, r)
				}
			}()
			build()
		}()
	}
	// And the type's own fields are described exactly, no more.
	s := output[sessionJSON](nil)
	if _, ok := s["properties"].(m)["user_agent"]; !ok || s["additionalProperties"] != false {
		t.Errorf("session schema: %v", s)
	}
}
