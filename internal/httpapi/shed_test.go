package httpapi_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/latchauth/latch/internal/httpapi"
	"github.com/latchauth/latch/internal/httpapi/httpapitest"
	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/metrics"
	"github.com/latchauth/latch/internal/password"
)

// saturation is a hashing pool that is, or is not, full.
type saturation bool

func (s saturation) Enter() bool { return !bool(s) }
func (saturation) Leave()        {}

// overloaded is a hashing pool that refuses every hash, as a full one does.
type overloaded struct{ identity.PasswordHasher }

func (overloaded) Hash(context.Context, string) (string, error) { return "", password.ErrOverloaded }
func (overloaded) Verify(context.Context, string, string) (bool, bool, error) {
	return false, false, password.ErrOverloaded
}
func (overloaded) VerifyDummy(context.Context, string) error { return password.ErrOverloaded }

type shedFixture struct {
	env            *httpapitest.Env
	appID, apiKey  string
	shed, refusing *httptest.Server
}

// newShedFixture starts two servers on one store: shed, whose hashing
// pool reports itself saturated (so the edge refuses), and refusing, with
// no edge check and a pool that refuses every hash (so each dialect's
// handler answers the refusal itself).
func newShedFixture(t *testing.T, saturated bool) *shedFixture {
	env := httpapitest.New(t, httpapitest.CheapArgon)
	f := &shedFixture{env: env, appID: env.MustTenant(t, "shed")}
	env.MustUser(t, f.appID, map[string]any{"email": "ada@example.com", "password": "correct horse battery"})
	r := env.Admin(t, "POST", "/admin/v1/tenants/"+f.appID+"/api-keys", map[string]any{"name": "app"})
	f.apiKey = r.JSON(t)["key"].(string)
	deps := httpapi.Deps{Service: env.Service, Store: env.Store, Keys: env.Keys, Metrics: metrics.New(), AdminToken: httpapitest.AdminToken,
		Hashing: saturation(saturated)}
	f.shed = httptest.NewServer(httpapi.NewServer(deps))
	t.Cleanup(f.shed.Close)
	svc, auth := *env.Service, *env.Service.Auth
	auth.Passwords = overloaded{env.Hasher}
	svc.Auth = &auth
	deps.Service, deps.Hashing = &svc, nil
	f.refusing = httptest.NewServer(httpapi.NewServer(deps))
	t.Cleanup(f.refusing.Close)
	return f
}

type answer struct {
	status int
	header http.Header
	body   string
}

func post(t *testing.T, srv *httptest.Server, path, body string) answer {
	t.Helper()
	res, err := srv.Client().Post(srv.URL+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return answer{res.StatusCode, res.Header, string(b)}
}

// logins are the password-login routes of the three dialects.
func (f *shedFixture) logins() map[string][2]string {
	return map[string][2]string{
		"accounts-v3": {"/v3/accounts/login", `{"accountAlias":"shed","email":"ada@example.com","password":"correct horse battery"}`},
		"app-auth":    {"/api/v1/" + f.appID + "/auth/login", `{"email":"ada@example.com","password":"correct horse battery"}`},
		"token-login": {"/api/v1/Authentication/Login?APIKey=" + url.QueryEscape(f.apiKey), `{"userName":"ada@example.com","password":"correct horse battery"}`},
	}
}

// Ensure the edge's refusal is, byte for byte, the 503 each dialect
// writes when the hashing pool refuses: status, body, Retry-After,
// Content-Type and Cache-Control.
func TestShedAnswersInEachDialectsShape(t *testing.T) {
	f := newShedFixture(t, true)
	for dialect, l := range f.logins() {
		t.Run(dialect, func(t *testing.T) {
			got, want := post(t, f.shed, l[0], l[1]), post(t, f.refusing, l[0], l[1])
			if want.status != http.StatusServiceUnavailable {
				t.Fatalf("the dialect's own refusal: %d %s", want.status, want.body)
			}
			if got.status != want.status || got.body != want.body {
				t.Fatalf("shed %d %q, dialect %d %q", got.status, got.body, want.status, want.body)
			}
			for _, h := range []string{"Retry-After", "Content-Type", "Cache-Control"} {
				if got.header.Get(h) == "" || got.header.Get(h) != want.header.Get(h) {
					t.Errorf("%s: shed %q, dialect %q", h, got.header.Get(h), want.header.Get(h))
				}
			}
		})
	}
}

// Ensure a saturated pool refuses password logins before their body is
// read: a body that is not even JSON gets the 503, not the 400 its
// decoding would give (before the edge check, every refusal went through
// decoding and the tenant and user lookups first).
func TestShedBeforeDecoding(t *testing.T) {
	f := newShedFixture(t, true)
	for dialect, l := range f.logins() {
		if got := post(t, f.shed, l[0], "not json"); got.status != http.StatusServiceUnavailable {
			t.Errorf("%s: %d %s, want 503", dialect, got.status, got.body)
		}
	}
	// token-login's routes match case-insensitively, and so does the check.
	if got := post(t, f.shed, "/API/v1/authentication/login/?APIKey="+url.QueryEscape(f.apiKey), "not json"); got.status != http.StatusServiceUnavailable {
		t.Errorf("token-login in lower case: %d %s, want 503", got.status, got.body)
	}
}

// Ensure only password logins are shed: refreshes, logouts, the admin API,
// and a token-login that asks for suppressResponseCodes (whose refusal is
// a 200 its handler writes) go through; with a pool that is not full,
// logins go through too.
func TestShedOnlyPasswordLogins(t *testing.T) {
	f := newShedFixture(t, true)
	for _, c := range []struct{ path, body string }{
		{"/v3/accounts/login-refresh-token", `{"refreshToken":"x"}`},
		{"/api/v1/" + f.appID + "/auth/refresh", `{"refresh_token":"x"}`},
		{"/api/v1/" + f.appID + "/auth/logout", `{}`},
		{"/api/v1/Authentication/TokenLogin?APIKey=" + url.QueryEscape(f.apiKey), `{}`},
		{"/api/v1/Authentication/Login?APIKey=" + url.QueryEscape(f.apiKey) + "&SuppressResponseCodes=true", `{"userName":"ada@example.com","password":"wrong password"}`},
		{"/api/v1/x/y/auth/login", `{}`},
	} {
		if got := post(t, f.shed, c.path, c.body); got.status == http.StatusServiceUnavailable {
			t.Errorf("%s was shed: %s", c.path, got.body)
		}
	}
	req, _ := http.NewRequest("GET", f.shed.URL+"/admin/v1/tenants", nil)
	req.Header.Set("Authorization", "Bearer "+httpapitest.AdminToken)
	if res, err := f.shed.Client().Do(req); err != nil || res.StatusCode != http.StatusOK {
		t.Errorf("admin API while saturated: %v %v", res, err)
	}
	open := newShedFixture(t, false)
	for dialect, l := range open.logins() {
		if got := post(t, open.shed, l[0], l[1]); got.status != http.StatusOK {
			t.Errorf("%s with room in the pool: %d %s", dialect, got.status, got.body)
		}
	}
}

// Ensure refusals are counted in the metrics but do not each write a log
// line: a flood of them gets one warning a second (before, every refusal
// was a WARN line of the request log, ~2,700 a second under the flood).
func TestShedLogsOnceNotPerRefusal(t *testing.T) {
	f := newShedFixture(t, true)
	var logs httpapitest.Buffer
	m := metrics.New()
	srv := httptest.NewServer(httpapi.NewServer(httpapi.Deps{Service: f.env.Service, Store: f.env.Store, Keys: f.env.Keys, Metrics: m,
		Hashing: saturation(true), Logger: slog.New(slog.NewTextHandler(&logs, nil))}))
	t.Cleanup(srv.Close)
	l := f.logins()["accounts-v3"]
	for range 20 {
		if got := post(t, srv, l[0], l[1]); got.status != http.StatusServiceUnavailable {
			t.Fatalf("%d %s", got.status, got.body)
		}
	}
	if n := strings.Count(logs.String(), "\n"); n != 1 || !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "refused=1") {
		t.Fatalf("%d log lines, want the one warning:\n%s", n, logs.String())
	}
	res, err := srv.Client().Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	for _, want := range []string{`latch_logins_total{dialect="accounts-v3",outcome="unavailable"} 20`, `latch_http_request_duration_seconds_count{code="5xx",route="POST /v3/accounts/login"} 20`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
