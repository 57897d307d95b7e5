package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/latchauth/latch/internal/httpapi/wire"
	"github.com/latchauth/latch/internal/metrics"
)

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(s int) {
	if w.status == 0 {
		w.status = s
	}
	w.ResponseWriter.WriteHeader(s)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// observe records latency by route pattern (never the raw path, which
// would let callers mint label values) and logs failures.
func observe(m *metrics.Metrics, log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		route := r.Pattern
		if route == "" || route == "/" {
			route = "unmatched"
		}
		status := sw.status
		if status >= 500 && wire.ClientGone(r) {
			// Whatever failed, failed because the client left.
			status = wire.StatusClientClosed
		}
		d := time.Since(start)
		if m != nil {
			m.Observe(route, status, d)
		}
		switch {
		case status >= 500:
			log.WarnContext(r.Context(), "request", "route", route, "status", status, "duration", d)
		case status == wire.StatusClientClosed:
			log.InfoContext(r.Context(), "request cancelled by the client", "route", route, "status", status, "duration", d)
		default:
			log.DebugContext(r.Context(), "request", "route", route, "status", status, "duration", d)
		}
	})
}

// recoverer turns a panic into a 500 and a log line instead of a dropped
// connection.
func recoverer(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.ErrorContext(r.Context(), "panic", "route", r.Pattern, "panic", v)
				writeProblem(w, http.StatusInternalServerError, "internal", "an internal error occurred", nil)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// requireAdmin checks the bearer token in constant time. Hashing both
// sides first keeps the comparison's time independent of the length too.
func requireAdmin(token string) func(http.Handler) http.Handler {
	want := sha256.Sum256([]byte(token))
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if token == "" {
				writeProblem(w, http.StatusForbidden, "admin_disabled", "the admin API is disabled: set LATCH_ADMIN_TOKEN", nil)
				return
			}
			auth := r.Header.Get("Authorization")
			got, ok := strings.CutPrefix(auth, "Bearer ")
			sum := sha256.Sum256([]byte(got))
			if !ok || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="latch-admin"`)
				writeProblem(w, http.StatusUnauthorized, "unauthorized", "a valid admin bearer token is required", nil)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
