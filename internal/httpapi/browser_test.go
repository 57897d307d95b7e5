package httpapi_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/latchauth/latch/internal/browsertest"
	"github.com/latchauth/latch/internal/httpapi/httpapitest"
	"github.com/latchauth/latch/internal/ratelimit"
)

// page serves an empty HTML page, the origin a browser app runs on.
func page(t *testing.T) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/favicon.ico" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<!doctype html><title>app</title><p>app</p>")
	}))
	t.Cleanup(s.Close)
	return s
}

// Ensure a real browser lets a page on an allowed origin call latch on
// another origin (with a preflight for JSON, without one for text/plain)
// and read the rate-limit headers, and blocks a page on another origin.
func TestCORSInBrowser(t *testing.T) {
	bctx := browsertest.Start(t, "the CORS browser test needs a real browser", 90*time.Second)
	allowed, other := page(t), page(t)
	env := httpapitest.Start(t, httpapitest.Config{Argon: httpapitest.CheapArgon, CORSOrigins: []string{allowed.URL}})
	env.Service.Auth.Limiter = ratelimit.NewMemory(env.Now)
	env.Service.Auth.Config.IPLimit = ratelimit.Limit{Count: 100, Period: time.Minute}
	tid := env.MustTenant(t, "browser")
	env.MustUser(t, tid, map[string]any{"email": "ada@example.com", "password": "correct horse battery"})

	body := `JSON.stringify({accountId: "` + tid + `", email: "ada@example.com", password: "correct horse battery"})`
	call := func(pageURL, contentType string) map[string]any {
		t.Helper()
		js := `(async () => {
			try {
				const r = await fetch("` + env.URL + `/v3/accounts/login", {method: "POST",
					headers: {"Content-Type": "` + contentType + `"}, body: ` + body + `});
				const j = await r.json();
				return {status: r.status, remaining: r.headers.get("X-Rate-Limit-Remaining"), token: typeof j.accessToken};
			} catch (e) {
				return {error: String(e)};
			}
		})()`
		if err := chromedp.Do(bctx, chromedp.Navigate(pageURL)); err != nil {
			t.Fatalf("browser: %v", err)
		}
		res, err := chromedp.Run(bctx, chromedp.Evaluate[map[string]any](js, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("browser: %v", err)
		}
		return res
	}

	for _, ct := range []string{"application/json", "text/plain;charset=UTF-8"} {
		res := call(allowed.URL, ct)
		if res["status"] != 200.0 || res["token"] != "string" || res["remaining"] == nil {
			t.Errorf("allowed origin, %s: %v", ct, res)
		}
		res = call(other.URL, ct)
		if e, _ := res["error"].(string); !strings.Contains(e, "TypeError") {
			t.Errorf("other origin, %s: not blocked: %v", ct, res)
		}
	}
}
