package httpapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

type full struct{}

func (full) Enter() bool { return false }
func (full) Leave()      {}

// discardWriter is a ResponseWriter that keeps nothing and allocates
// nothing, so that the test counts the shed path's allocations only.
type discardWriter struct{ h http.Header }

func (w discardWriter) Header() http.Header       { return w.h }
func (discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (discardWriter) WriteHeader(int)             {}

// Ensure the refusal itself allocates nothing: under a flood it is most of
// the traffic.
func TestShedPathAllocatesNothing(t *testing.T) {
	defer func(p time.Duration) { shedPause = p }(shedPause)
	shedPause = 0
	h := shed(full{}, nil, nil, http.NotFoundHandler())
	reqs := []*http.Request{
		httptest.NewRequest("POST", "/v3/accounts/login", strings.NewReader("{}")),
		httptest.NewRequest("POST", "/api/v1/0199aaaa-0000-7000-8000-000000000000/auth/login", strings.NewReader("{}")),
		httptest.NewRequest("POST", "/api/v1/Authentication/Login?APIKey=k", strings.NewReader("{}")),
	}
	w := discardWriter{h: http.Header{}}
	for _, r := range reqs {
		if n := testing.AllocsPerRun(100, func() { h.ServeHTTP(w, r) }); n != 0 {
			t.Errorf("%s: %.0f allocations per refusal", r.URL.Path, n)
		}
	}
}
