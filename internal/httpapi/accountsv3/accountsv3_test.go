package accountsv3_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/httpapi/httpapitest"
	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/password"
	"github.com/latchauth/latch/internal/password/passwordtest"
)

const pw = "correct horse battery"

type fixture struct {
	*httpapitest.Env
	tenant, alias, user string
}

func setup(t *testing.T) *fixture {
	t.Helper()
	env := httpapitest.New(t, httpapitest.CheapArgon)
	f := &fixture{Env: env, alias: "acme"}
	f.tenant = env.MustTenant(t, f.alias)
	f.user = env.MustUser(t, f.tenant, map[string]any{"email": "Ada@Example.com", "password": pw, "roles": []string{"admin"}})
	return f
}

func (f *fixture) login(t *testing.T, body map[string]any, headers ...string) *httpapitest.Response {
	t.Helper()
	return f.Do(t, "POST", "/v3/accounts/login", body, headers...)
}

func (f *fixture) refresh(t *testing.T, tok string) *httpapitest.Response {
	t.Helper()
	return f.Do(t, "POST", "/v3/accounts/login-refresh-token", map[string]any{"refreshToken": tok})
}

func (f *fixture) mustLogin(t *testing.T) (access, refresh string) {
	t.Helper()
	r := f.login(t, map[string]any{"accountId": f.tenant, "email": "ada@example.com", "password": pw})
	if r.Status != http.StatusOK {
		t.Fatalf("login: %d %s", r.Status, r.Body)
	}
	m := r.JSON(t)
	return m["accessToken"].(string), m["refreshToken"].(string)
}

func wantError(t *testing.T, r *httpapitest.Response, status int, code string) map[string]any {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	m := r.JSON(t)
	if m["code"] != code || m["message"] == "" {
		t.Fatalf("body %s, want code %s", r.Body, code)
	}
	return m
}

func claims(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	return m
}

// Ensure a login answers exactly {accessToken, refreshToken}, the access
// token carries the §4 claims and verifies against the published keys,
// and the session keeps the origin and user agent.
func TestLogin(t *testing.T) {
	f := setup(t)
	r := f.login(t, map[string]any{"accountId": f.tenant, "email": " ADA@example.com ", "password": pw, "unknownField": 1},
		"Origin", "https://app.example", "User-Agent", "shop/2.1")
	if r.Status != http.StatusOK {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	m := r.JSON(t)
	if len(m) != 2 || m["accessToken"] == "" || !strings.HasPrefix(m["refreshToken"].(string), "lrt1.") {
		t.Fatalf("body %s", r.Body)
	}
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q", cc)
	}
	c, err := f.Keys.Verify(m["accessToken"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject != f.user || c.TenantID != f.tenant || c.Audience[0] != f.tenant || c.Email != "Ada@Example.com" ||
		c.SessionID == "" || c.ID == "" || fmt.Sprint(c.AMR) != "[pwd]" || fmt.Sprint(c.Roles) != "[admin]" {
		t.Fatalf("claims %+v", c)
	}
	if exp := c.ExpiresAt.Sub(c.IssuedAt.Time); exp != 15*time.Minute {
		t.Fatalf("lifetime %v", exp)
	}
	s := f.Admin(t, "GET", "/admin/v1/tenants/"+f.tenant+"/users/"+f.user+"/sessions", nil).JSON(t)["sessions"].([]any)[0].(map[string]any)
	if s["origin"] != "https://app.example" || s["user_agent"] != "shop/2.1" || s["dialect"] != "accounts-v3" || s["ip"] != "127.0.0.1" {
		t.Fatalf("session %v", s)
	}
	u := f.Admin(t, "GET", "/admin/v1/tenants/"+f.tenant+"/users/"+f.user, nil).JSON(t)
	if u["last_login_at"] == nil {
		t.Fatal("last_login_at not set")
	}
	ev := f.Admin(t, "GET", "/admin/v1/tenants/"+f.tenant+"/events?type=account.logged-in", nil).JSON(t)["events"].([]any)
	if len(ev) != 1 || ev[0].(map[string]any)["session_id"] != c.SessionID {
		t.Fatalf("events %v", ev)
	}
}

// Ensure the tenant is found by accountAlias when accountId is empty.
func TestLoginByAlias(t *testing.T) {
	f := setup(t)
	r := f.login(t, map[string]any{"accountId": "", "accountAlias": "ACME", "email": "ada@example.com", "password": pw})
	if r.Status != http.StatusOK {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	r = f.login(t, map[string]any{"accountAlias": "acme", "email": "ada@example.com", "password": pw})
	if r.Status != http.StatusOK {
		t.Fatalf("without accountId: %d %s", r.Status, r.Body)
	}
}

// Ensure every constraint of the reference is checked and the field named.
func TestLoginValidation(t *testing.T) {
	f := setup(t)
	long := func(n int) string { return strings.Repeat("a", n) }
	ok := func(mod map[string]any) map[string]any {
		b := map[string]any{"accountId": f.tenant, "email": "ada@example.com", "password": pw}
		for k, v := range mod {
			if v == nil {
				delete(b, k)
			} else {
				b[k] = v
			}
		}
		return b
	}
	cases := []struct {
		name, field, code string
		body              map[string]any
	}{
		{"ErrAccountIdTooLong", "accountId", "TOO_LONG", ok(map[string]any{"accountId": long(37)})},
		{"ErrAccountIdNotUUID", "accountId", "INVALID_FORMAT", ok(map[string]any{"accountId": "not-a-uuid"})},
		{"ErrNoTenant", "accountId", "REQUIRED", ok(map[string]any{"accountId": ""})},
		{"ErrAliasTooLong", "accountAlias", "TOO_LONG", ok(map[string]any{"accountId": "", "accountAlias": long(257)})},
		{"ErrEmailMissing", "email", "REQUIRED", ok(map[string]any{"email": nil})},
		{"ErrEmailEmpty", "email", "REQUIRED", ok(map[string]any{"email": ""})},
		{"ErrEmailFormat", "email", "INVALID_FORMAT", ok(map[string]any{"email": "not an email"})},
		{"ErrEmailDisplayName", "email", "INVALID_FORMAT", ok(map[string]any{"email": "Ada <ada@example.com>"})},
		{"ErrEmailTooLong", "email", "TOO_LONG", ok(map[string]any{"email": long(250) + "@example.com"})},
		{"ErrPasswordMissing", "password", "REQUIRED", ok(map[string]any{"password": nil})},
		{"ErrPasswordShort", "password", "TOO_SHORT", ok(map[string]any{"password": "1234567"})},
		{"ErrPasswordLong", "password", "TOO_LONG", ok(map[string]any{"password": long(257)})},
		{"ErrPasswordBytes", "password", "TOO_LONG", ok(map[string]any{"password": strings.Repeat("ä", 200)})},
		{"ErrTwoFactorShort", "twoFactorCode", "INVALID_FORMAT", ok(map[string]any{"twoFactorCode": "12345"})},
		{"ErrTwoFactorLetters", "twoFactorCode", "INVALID_FORMAT", ok(map[string]any{"twoFactorCode": "12345a"})},
		{"ErrRecoveryEmpty", "twoFactorRecoveryCode", "TOO_SHORT", ok(map[string]any{"twoFactorRecoveryCode": ""})},
		{"ErrRecoveryLong", "twoFactorRecoveryCode", "TOO_LONG", ok(map[string]any{"twoFactorRecoveryCode": long(257)})},
		{"ErrEmailType", "email", "INVALID_TYPE", ok(map[string]any{"email": 42})},
		{"ErrPasswordType", "password", "INVALID_TYPE", ok(map[string]any{"password": []int{1}})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := wantError(t, f.login(t, tc.body), http.StatusBadRequest, "VALIDATION_FAILED")
			errs := m["errors"].([]any)
			found := false
			for _, e := range errs {
				e := e.(map[string]any)
				if e["field"] == tc.field && e["code"] == tc.code && strings.Contains(e["message"].(string), tc.field) {
					found = true
				}
			}
			if !found {
				t.Fatalf("no %s/%s error in %s", tc.field, tc.code, m["errors"])
			}
		})
	}
	t.Run("AllFieldsReported", func(t *testing.T) {
		m := wantError(t, f.login(t, map[string]any{"accountId": "x"}), http.StatusBadRequest, "VALIDATION_FAILED")
		if n := len(m["errors"].([]any)); n != 3 {
			t.Fatalf("%d errors, want 3 (accountId, email, password): %v", n, m["errors"])
		}
	})
}

// Ensure malformed bodies get a 400 (415 for a media type the routes do
// not take) in the dialect's shape, never a 500.
func TestBadBodies(t *testing.T) {
	f := setup(t)
	for _, tc := range []struct {
		name, body, contentType string
		status                  int
		code                    string
	}{
		{"ErrNotJSON", "{nope", "application/json", 400, "INVALID_JSON"},
		{"ErrArray", `[{"email":"a"}]`, "application/json", 400, "INVALID_JSON"},
		{"ErrEmpty", "", "application/json", 400, "INVALID_JSON"},
		{"ErrTrailing", `{"refreshToken":"x"} {}`, "application/json", 400, "INVALID_JSON"},
		{"ErrBadUTF8", "{\"email\":\"\xff\"}", "application/json", 400, "INVALID_JSON"},
		{"ErrTooLarge", `{"email":"` + strings.Repeat("a", 70000) + `"}`, "application/json", 400, "REQUEST_TOO_LARGE"},
		{"ErrMediaType", `{}`, "application/xml", 415, "UNSUPPORTED_MEDIA_TYPE"},
		{"ErrFormBody", `a=b`, "application/x-www-form-urlencoded", 415, "UNSUPPORTED_MEDIA_TYPE"},
		{"ErrBadContentType", `{}`, "application/json; charset", 415, "UNSUPPORTED_MEDIA_TYPE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, path := range []string{"/v3/accounts/login", "/v3/accounts/login-refresh-token"} {
				wantError(t, f.Do(t, "POST", path, tc.body, "Content-Type", tc.contentType), tc.status, tc.code)
			}
		})
	}
}

// Ensure unknown tenant, unknown email, wrong password and a disabled user
// all get the same status and body (identity gives them one answer:
// TestBadCredentialsLookAlike there).
func TestBadCredentialsLookAlike(t *testing.T) {
	f := setup(t)
	disabled := f.MustUser(t, f.tenant, map[string]any{"email": "off@example.com", "password": pw})
	f.Admin(t, "PATCH", "/admin/v1/tenants/"+f.tenant+"/users/"+disabled, map[string]any{"status": "disabled"})
	bodies := map[string]map[string]any{
		"wrong password": {"accountId": f.tenant, "email": "ada@example.com", "password": pw + "!"},
		"unknown email":  {"accountId": f.tenant, "email": "nobody@example.com", "password": pw},
		"unknown id":     {"accountId": identity.NewID(), "email": "ada@example.com", "password": pw},
		"unknown alias":  {"accountAlias": "nope", "email": "ada@example.com", "password": pw},
		"disabled":       {"accountId": f.tenant, "email": "off@example.com", "password": pw},
	}
	var first string
	for name, b := range bodies {
		r := f.login(t, b)
		wantError(t, r, http.StatusUnauthorized, "INVALID_CREDENTIALS")
		if first == "" {
			first = string(r.Body)
		} else if string(r.Body) != first {
			t.Fatalf("%s answers %s, others %s", name, r.Body, first)
		}
	}
}

// Ensure a refresh answers {accessToken, refreshToken} with the next
// token, and the grace window's answer is the same successor (the rules
// of rotation, grace, reuse and expiry are identity's stories).
func TestRefreshRotation(t *testing.T) {
	f := setup(t)
	_, rt0 := f.mustLogin(t)
	r := f.refresh(t, rt0)
	if r.Status != http.StatusOK {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	m := r.JSON(t)
	rt1 := m["refreshToken"].(string)
	if len(m) != 2 || rt1 == rt0 || !strings.HasPrefix(rt1, "lrt1.") {
		t.Fatalf("body %s", r.Body)
	}
	if c := claims(t, m["accessToken"].(string)); c["sub"] != f.user {
		t.Fatalf("claims %v", c)
	}
	if again := f.refresh(t, rt0); again.Status != http.StatusOK || again.JSON(t)["refreshToken"] != rt1 {
		t.Fatalf("within the grace window: %d %s", again.Status, again.Body)
	}
}

// Ensure reuse is a 409 REFRESH_TOKEN_REUSED, and a token of the revoked
// session a 400 INVALID_REFRESH_TOKEN naming refreshToken.
func TestRefreshReuse(t *testing.T) {
	f := setup(t)
	_, rt0 := f.mustLogin(t)
	rt1 := f.refresh(t, rt0).JSON(t)["refreshToken"].(string)
	f.Advance(11 * time.Second)
	wantError(t, f.refresh(t, rt0), http.StatusConflict, "REFRESH_TOKEN_REUSED")
	m := wantError(t, f.refresh(t, rt1), http.StatusBadRequest, "INVALID_REFRESH_TOKEN")
	if errs := m["errors"].([]any); len(errs) != 1 || errs[0].(map[string]any)["field"] != "refreshToken" {
		t.Fatalf("errors %v", m["errors"])
	}
}

// Ensure unusable tokens are a 400 INVALID_REFRESH_TOKEN, and tokens the
// reference's constraints refuse a 400 VALIDATION_FAILED.
func TestRefreshInvalid(t *testing.T) {
	f := setup(t)
	for _, tok := range []string{"garbage", "lrt1.AAAA.BBBB", "lst1.x.y", strings.Repeat("x", 256)} {
		wantError(t, f.refresh(t, tok), http.StatusBadRequest, "INVALID_REFRESH_TOKEN")
	}
	wantError(t, f.refresh(t, strings.Repeat("x", 257)), http.StatusBadRequest, "VALIDATION_FAILED")
	wantError(t, f.Do(t, "POST", "/v3/accounts/login-refresh-token", map[string]any{}), http.StatusBadRequest, "VALIDATION_FAILED")
}

// Ensure logins and refreshes are counted by dialect and outcome.
func TestMetrics(t *testing.T) {
	f := setup(t)
	_, rt := f.mustLogin(t)
	f.refresh(t, rt)
	f.login(t, map[string]any{"accountId": f.tenant, "email": "ada@example.com", "password": "wrong password"})
	body := string(f.Do(t, "GET", "/metrics", nil).Body)
	for _, want := range []string{
		`latch_logins_total{dialect="accounts-v3",outcome="success"} 1`,
		`latch_logins_total{dialect="accounts-v3",outcome="invalid_credentials"} 1`,
		`latch_refreshes_total{dialect="accounts-v3",outcome="rotated"} 1`,
		`latch_http_request_duration_seconds_count{code="2xx",route="POST /v3/accounts/login"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// Ensure an unknown email, a disabled user and an unknown tenant cost what
// a wrong password costs, through the whole HTTP path: the same answer,
// byte for byte, and exactly one password hash computed (the work that
// dominates a login's time: ~50 ms against well under 1 ms for the rest).
// Counting hashes rather than timing requests keeps the test independent
// of the machine's speed and load; the wall-clock low quantiles are logged
// (go test -v) for a person to read, never compared.
func TestBadCredentialsTiming(t *testing.T) {
	env := httpapitest.New(t, password.DefaultParams)
	hashes := &passwordtest.Counting{PasswordHasher: env.Service.Auth.Passwords}
	env.Service.Auth.Passwords = hashes
	tid := env.MustTenant(t, "timing")
	env.MustUser(t, tid, map[string]any{"email": "real@example.com", "password": pw})
	env.MustUser(t, tid, map[string]any{"email": "off@example.com", "password": pw, "status": "disabled"})
	cases := []struct {
		name string
		body map[string]any
	}{
		{"wrong password", map[string]any{"accountId": tid, "email": "real@example.com", "password": "a wrong password"}},
		{"unknown email", map[string]any{"accountId": tid, "email": "ghost@example.com", "password": "a wrong password"}},
		{"disabled user", map[string]any{"accountId": tid, "email": "off@example.com", "password": pw}},
		{"unknown tenant alias", map[string]any{"accountAlias": "no-such-tenant", "email": "real@example.com", "password": pw}},
	}
	const rounds = 5
	times := make([][]time.Duration, len(cases))
	var first *httpapitest.Response
	for round := range rounds {
		for k := range cases {
			i := (k + round) % len(cases)
			c := cases[i]
			before := hashes.Total()
			s := time.Now()
			r := env.Do(t, "POST", "/v3/accounts/login", c.body)
			times[i] = append(times[i], time.Since(s))
			if n := hashes.Total() - before; n != 1 {
				t.Errorf("%s: %d password hashes computed, want 1 as for every bad credential", c.name, n)
			}
			if first == nil {
				first = r
			}
			if r.Status != first.Status || !bytes.Equal(r.Body, first.Body) {
				t.Fatalf("%s: %d %s; first answer: %d %s", c.name, r.Status, r.Body, first.Status, first.Body)
			}
		}
	}
	for i, c := range cases {
		slices.Sort(times[i])
		t.Logf("%s: fastest %v, median %v", c.name, times[i][0], times[i][rounds/2])
	}
}
