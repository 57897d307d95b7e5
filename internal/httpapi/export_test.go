package httpapi

import (
	"strings"

	"github.com/latchauth/latch/internal/metrics"
)

// What the package's external tests read of its internals.

// Routes returns every route pattern the server serves.
func Routes() []string {
	var out []string
	d := Deps{Metrics: metrics.New()}
	for p := range adminRoutes(d) {
		out = append(out, p)
	}
	for p := range publicRoutes(d) {
		out = append(out, p)
	}
	for _, rt := range dialectRoutes(d) {
		out = append(out, rt.Pattern, "OPTIONS "+rt.Path())
	}
	return out
}

// PatternPath splits a ServeMux pattern into method and OpenAPI path.
func PatternPath(pattern string) (method, path string) {
	method, path, _ = strings.Cut(pattern, " ")
	return strings.ToLower(method), path
}
