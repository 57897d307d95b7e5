package httpapi

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/latchauth/latch/internal/httpapi/accountsv3"
	"github.com/latchauth/latch/internal/httpapi/appauth"
	"github.com/latchauth/latch/internal/httpapi/tokenlogin"
	"github.com/latchauth/latch/internal/httpapi/wire"
	"github.com/latchauth/latch/internal/metrics"
)

// Saturation admits password logins to the password-hashing pool at the
// edge (password.Hasher): Enter is false when the pool would refuse the
// login's hash; each true is followed by one Leave when the handler has
// returned.
type Saturation interface {
	Enter() bool
	Leave()
}

// shedMessage is what a dialect says of a refusal by the hashing pool, as
// wire.Edge writes identity's.
const shedMessage = "the server is busy" + wire.RetryHint

// shedPause is how long a refusal waits before it is written. A client
// that ignores Retry-After and resends at once (a flood, a naive retry
// loop) then resends at most 25 times a second instead of as fast as the
// machine lets it, so that refusals cannot take the CPU the hashing
// workers need. The answer must still come within 100 ms: what the client
// sees beyond the pause is the wait for a CPU, which the server's
// GOMAXPROCS headroom over the hashing workers (cli's hashingHeadroom)
// keeps short; without it 30 ms gave p50 53 ms and p99 109 ms on a quiet
// machine. A variable for tests.
var shedPause = 40 * time.Millisecond

// shedAnswer is one dialect's 503 for a full hashing pool, rendered once.
type shedAnswer struct {
	pattern, dialect string
	body             []byte
}

func renderShed(pattern, dialect string, v any) *shedAnswer {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return &shedAnswer{pattern: pattern, dialect: dialect, body: append(b, '\n')}
}

var (
	shedAccountsV3 = renderShed("POST /v3/accounts/login", accountsv3.Dialect,
		accountsv3.ErrorResponse{Code: "SERVICE_UNAVAILABLE", Message: shedMessage})
	shedAppAuth = renderShed("POST /api/v1/{app_id}/auth/login", appauth.Dialect,
		appauth.ErrorResponse{Error: appauth.ErrorBody{Code: "service_unavailable", Message: shedMessage}})
	shedTokenLogin = renderShed("POST /api/v1/Authentication/Login", tokenlogin.Dialect,
		tokenlogin.ErrorResponse{Message: shedMessage, StatusCode: http.StatusServiceUnavailable})

	// Shared header values: every shed answer is the same, and nothing
	// downstream changes a header slice in place.
	shedContentType  = []string{"application/json; charset=utf-8"}
	shedRetryAfter   = []string{"1"}
	shedCacheControl = []string{"no-store"}
)

// shedAnswerFor returns the refusal for r when r is a password login, the
// only requests that need a hashing worker, or nil. It reads nothing but
// the method and path: the point is to refuse before the body is read,
// decoded and looked up. A token-login request that asks for
// suppressResponseCodes wants its refusal in a 200, which its handler
// writes; it goes through.
func shedAnswerFor(r *http.Request) *shedAnswer {
	if r.Method != http.MethodPost {
		return nil
	}
	p := r.URL.Path
	switch {
	case p == "/v3/accounts/login":
		return shedAccountsV3
	case strings.EqualFold(strings.TrimSuffix(p, "/"), "/api/v1/Authentication/Login"): // case-insensitive, as the dialect's routes
		if r.URL.RawQuery != "" && containsFold(r.URL.RawQuery, "suppressresponsecodes") {
			return nil
		}
		return shedTokenLogin
	case strings.HasPrefix(p, "/api/v1/") && strings.HasSuffix(p, "/auth/login"):
		id := p[len("/api/v1/") : len(p)-len("/auth/login")]
		if id != "" && id != "." && id != ".." && !strings.ContainsAny(id, "/%") {
			return shedAppAuth
		}
	}
	return nil
}

// shedder answers password logins with their dialect's 503 and
// Retry-After when the hashing pool would refuse them, before the handler
// runs: the logins it let through and that have not finished count as
// queued for a hash already, so that under a flood the refusals happen
// here, fast, and not in the pool after the database was asked (on
// PostgreSQL the connection pool then queued them for a second). Under a flood of clients that ignore Retry-After, refusals are
// most of the traffic: each one that went the whole way (body decoded,
// tenant and user looked up, then the pool's refusal) took the CPU the
// hashing workers needed, and each came back at once to ask again. This
// path takes a few atomic loads, no allocation, and one write after
// shedPause. A request that passes can still be refused by the pool (the
// check races with other requests), by the same rules and in the same
// shape.
//
// It sits outside the request log: a refusal is counted in the metrics
// (latch_logins_total{outcome="unavailable"} and the route's latency),
// and the log gets one warning a second while refusals go on, not one
// line per refused request.
type shedder struct {
	pool    Saturation
	metrics *metrics.Metrics
	log     *slog.Logger
	next    http.Handler
	refused atomic.Int64 // since the last warning
	warned  atomic.Int64 // unix ns of the last warning
}

func shed(pool Saturation, m *metrics.Metrics, log *slog.Logger, next http.Handler) http.Handler {
	if pool == nil {
		return next
	}
	return &shedder{pool: pool, metrics: m, log: log, next: next}
}

func (s *shedder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a := shedAnswerFor(r)
	if a == nil {
		s.next.ServeHTTP(w, r)
		return
	}
	if s.pool.Enter() {
		defer s.pool.Leave()
		s.next.ServeHTTP(w, r)
		return
	}
	start := time.Now()
	if shedPause > 0 {
		time.Sleep(shedPause)
	}
	h := w.Header()
	h["Content-Type"] = shedContentType
	h["Retry-After"] = shedRetryAfter
	h["Cache-Control"] = shedCacheControl
	w.WriteHeader(http.StatusServiceUnavailable)
	w.Write(a.body)
	if s.metrics != nil {
		s.metrics.Login(a.dialect, "unavailable")
		s.metrics.Observe(a.pattern, http.StatusServiceUnavailable, time.Since(start))
	}
	s.refused.Add(1)
	now := start.UnixNano()
	if last := s.warned.Load(); now-last >= int64(time.Second) && s.warned.CompareAndSwap(last, now) && s.log != nil {
		s.log.WarnContext(r.Context(), "password-hashing pool saturated: refusing password logins with 503 before reading them",
			"refused", s.refused.Swap(0), "retry_after_s", 1)
	}
}

// containsFold reports whether s contains the lower-case ASCII word sub,
// ignoring case, without allocating.
func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		j := 0
		for j < len(sub) && s[i+j]|0x20 == sub[j] {
			j++
		}
		if j == len(sub) {
			return true
		}
	}
	return false
}
