package httpapitest

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"testing"
)

// ReadJSON decodes the JSON file at path (a reference document's sample).
func ReadJSON(tb testing.TB, path string) any {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	return v
}

// SameShape reports every difference between the shape of got and that of
// want, a reference sample: an object must have exactly want's keys (an
// empty object in want is free-form), each value of the same JSON type;
// every element of an array must have the shape of want's first element,
// and an array want shows filled must not be empty in got (so that the
// fixture exercises it).
func SameShape(want, got any) []string {
	var diffs []string
	var walk func(path string, w, g any)
	walk = func(path string, w, g any) {
		if kind(w) != kind(g) {
			diffs = append(diffs, fmt.Sprintf("%s: %s, want %s", path, kind(g), kind(w)))
			return
		}
		switch w := w.(type) {
		case map[string]any:
			g := g.(map[string]any)
			if len(w) == 0 {
				return
			}
			for k, wv := range w {
				gv, ok := g[k]
				if !ok {
					diffs = append(diffs, path+"."+k+": missing")
					continue
				}
				walk(path+"."+k, wv, gv)
			}
			for k := range g {
				if _, ok := w[k]; !ok {
					diffs = append(diffs, path+"."+k+": not in the reference")
				}
			}
		case []any:
			g := g.([]any)
			if len(w) == 0 {
				return
			}
			if len(g) == 0 {
				diffs = append(diffs, path+": empty, so its elements are not checked; fill it in the fixture")
			}
			for i, gv := range g {
				walk(fmt.Sprintf("%s[%d]", path, i), w[0], gv)
			}
		}
	}
	walk("$", want, got)
	slices.Sort(diffs)
	return diffs
}

func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "boolean"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}
