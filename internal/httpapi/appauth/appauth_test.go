package appauth_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/httpapi/httpapitest"
	"github.com/latchauth/latch/internal/identity"
)

const pw = "correct horse battery"

type fixture struct {
	*httpapitest.Env
	tenant, user string
}

// setup creates a tenant and a user whose profile fills every field of the
// reference shape, in an organisation that does too.
func setup(t *testing.T) *fixture {
	t.Helper()
	env := httpapitest.New(t, httpapitest.CheapArgon)
	f := &fixture{Env: env}
	f.tenant = env.MustTenant(t, "shop")
	attr := map[string]any{"id": "a1", "key": "size", "name": "Size", "description": "Shoe size", "template_key": "t",
		"translations": map[string]any{"name": map[string]any{"sv": "Storlek"}, "description": map[string]any{}}, "values": map[string]any{"eu": 42}}
	file := map[string]any{"id": "f1", "app_id": f.tenant, "content_type": "image/png", "filename": "a.png", "url": "https://cdn.example/a.png",
		"created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z", "custom_fields": map[string]any{}}
	addr := map[string]any{"id": "ad1", "city": "Lund", "country": "Sweden", "street_address": "Storgatan 1", "postal_code": "22100", "is_default": true}
	r := env.Admin(t, "POST", "/admin/v1/tenants/"+f.tenant+"/organisations", map[string]any{
		"name": "Acme Retail", "email": "orders@acme.example", "tags": []string{"wholesale"},
		"profile": map[string]any{"attributes": []any{attr}, "billing_address": []any{addr}, "shipping_address": []any{addr},
			"store_groups": []any{map[string]any{"id": "sg1", "name": "Nordics", "slug": "nordics", "store_type": "b2b"}},
			"files":        []any{file}, "organisation_number": "556000-0000", "credit_check": true, "status": "active"},
	})
	if r.Status != http.StatusCreated {
		t.Fatalf("organisation: %d %s", r.Status, r.Body)
	}
	org := r.JSON(t)["id"].(string)
	f.user = env.MustUser(t, f.tenant, map[string]any{
		"email": "Ada@Example.com", "password": pw, "first_name": "Ada", "last_name": "Lovelace", "tags": []string{"vip"},
		"organisation_ids": []string{org}, "email_verified": true,
		"profile": map[string]any{"language": "sv", "market": "SE", "market_currency": "SEK", "market_id": "m1",
			"phone_number": "+46 70 000 00 00", "store_group": "Nordics", "store_group_id": "sg1", "is_super_admin": false,
			"address":                   map[string]any{"city": "Lund", "country": "Sweden", "country_code": "SE", "street": "Storgatan 1", "zip_code": "22100"},
			"communication_preferences": map[string]any{"allow_email": true, "allow_sms": false},
			"additions":                 map[string]any{"newsletter": "weekly"}, "attributes": []any{attr}, "files": []any{file}},
	})
	return f
}

func (f *fixture) path(route string) string { return "/api/v1/" + f.tenant + "/auth/" + route }

func (f *fixture) login(t *testing.T, body any) *httpapitest.Response {
	t.Helper()
	return f.Do(t, "POST", f.path("login"), body)
}

func (f *fixture) mustLogin(t *testing.T) map[string]any {
	t.Helper()
	r := f.login(t, map[string]any{"email": "ada@example.com", "password": pw})
	if r.Status != http.StatusOK {
		t.Fatalf("login: %d %s", r.Status, r.Body)
	}
	return r.JSON(t)
}

func wantError(t *testing.T, r *httpapitest.Response, status int, code string) map[string]any {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	e, _ := r.JSON(t)["error"].(map[string]any)
	if e == nil || e["code"] != code || e["message"] == "" {
		t.Fatalf("error body %s, want code %s", r.Body, code)
	}
	return e
}

// Ensure a login's answer has every key of the reference response with its
// JSON type, down to the user's organisations, and carries the model's values.
func TestLoginShapeMatchesReference(t *testing.T) {
	f := setup(t)
	r := f.login(t, map[string]any{"email": "ada@example.com", "password": pw})
	if r.Status != http.StatusOK {
		t.Fatalf("login: %d %s", r.Status, r.Body)
	}
	var got any
	json.Unmarshal(r.Body, &got)
	if diffs := httpapitest.SameShape(httpapitest.ReadJSON(t, "testdata/reference-login-response.json"), got); len(diffs) > 0 {
		t.Fatalf("shape differs from the reference:\n%s", strings.Join(diffs, "\n"))
	}
	m := r.JSON(t)
	u := m["user"].(map[string]any)
	if m["token_type"] != "Bearer" || m["expires_in"] != 900.0 || !strings.HasPrefix(m["refresh_token"].(string), "lrt1.") {
		t.Fatalf("token fields: %v %v", m["token_type"], m["expires_in"])
	}
	if u["id"] != f.user || u["app_id"] != f.tenant || u["email"] != "Ada@Example.com" || u["market"] != "SE" ||
		u["address"].(map[string]any)["city"] != "Lund" || u["organisations"].([]any)[0].(map[string]any)["name"] != "Acme Retail" {
		t.Fatalf("user values: %v", u)
	}
	if _, err := time.Parse(time.RFC3339, u["last_login_at"].(string)); err != nil || !strings.HasSuffix(u["created_at"].(string), "Z") {
		t.Fatalf("timestamps not RFC 3339 UTC: %v %v", u["last_login_at"], u["created_at"])
	}
}

// Ensure a user with an empty profile still gets every key, with zero
// values of the right types.
func TestEmptyProfileKeepsEveryKey(t *testing.T) {
	env := httpapitest.New(t, httpapitest.CheapArgon)
	tid := env.MustTenant(t, "bare")
	env.MustUser(t, tid, map[string]any{"email": "bare@example.com", "password": pw})
	r := env.Do(t, "POST", "/api/v1/"+tid+"/auth/login", map[string]any{"email": "bare@example.com", "password": pw})
	u := r.JSON(t)["user"].(map[string]any)
	ref := httpapitest.ReadJSON(t, "testdata/reference-login-response.json").(map[string]any)["user"].(map[string]any)
	for k := range ref {
		if _, ok := u[k]; !ok {
			t.Errorf("key %s missing", k)
		}
	}
	for _, k := range []string{"attributes", "files", "organisations", "tags"} {
		if a, ok := u[k].([]any); !ok || len(a) != 0 {
			t.Errorf("%s = %v, want []", k, u[k])
		}
	}
	if u["address"].(map[string]any)["city"] != "" || u["communication_preferences"].(map[string]any)["allow_email"] != false {
		t.Errorf("zero values: %v", u)
	}
}

// Ensure refresh rotates, the grace window returns the same successor,
// reuse is 409, and logout answers 204 and revokes the session.
func TestRefreshAndLogout(t *testing.T) {
	f := setup(t)
	first := f.mustLogin(t)["refresh_token"].(string)
	r := f.Do(t, "POST", f.path("refresh"), map[string]any{"refresh_token": first})
	if r.Status != http.StatusOK {
		t.Fatalf("refresh: %d %s", r.Status, r.Body)
	}
	second := r.JSON(t)["refresh_token"].(string)
	if r.JSON(t)["user"].(map[string]any)["id"] != f.user {
		t.Fatal("refresh answer lacks the user")
	}
	if again := f.Do(t, "POST", f.path("refresh"), map[string]any{"refresh_token": first}); again.JSON(t)["refresh_token"] != second {
		t.Fatalf("grace: %s", again.Body)
	}
	f.Advance(11 * time.Second)
	wantError(t, f.Do(t, "POST", f.path("refresh"), map[string]any{"refresh_token": first}), http.StatusConflict, "refresh_token_reused")

	third := f.mustLogin(t)["refresh_token"].(string)
	if r := f.Do(t, "POST", f.path("logout"), map[string]any{"refresh_token": third}); r.Status != http.StatusNoContent || len(r.Body) != 0 {
		t.Fatalf("logout: %d %s", r.Status, r.Body)
	}
	wantError(t, f.Do(t, "POST", f.path("refresh"), map[string]any{"refresh_token": third}), http.StatusUnauthorized, "invalid_refresh_token")
	evs := f.Admin(t, "GET", "/admin/v1/tenants/"+f.tenant+"/events?type=account.logged-out", nil).JSON(t)["events"].([]any)
	if len(evs) != 1 || evs[0].(map[string]any)["data"].(map[string]any)["dialect"] != "app-auth" {
		t.Fatalf("logged-out events: %v", evs)
	}
}

// Ensure a refresh token of another app is refused without rotating it.
func TestRefreshTokenOfAnotherApp(t *testing.T) {
	f := setup(t)
	tok := f.mustLogin(t)["refresh_token"].(string)
	other := f.MustTenant(t, "other")
	wantError(t, f.Do(t, "POST", "/api/v1/"+other+"/auth/refresh", map[string]any{"refresh_token": tok}), http.StatusUnauthorized, "invalid_refresh_token")
	wantError(t, f.Do(t, "POST", "/api/v1/"+other+"/auth/logout", map[string]any{"refresh_token": tok}), http.StatusUnauthorized, "invalid_refresh_token")
	if r := f.Do(t, "POST", f.path("refresh"), map[string]any{"refresh_token": tok}); r.Status != http.StatusOK {
		t.Fatalf("the token was spent by the other app's refusal: %d %s", r.Status, r.Body)
	}
}

// Ensure every bad input is a 4xx in the dialect's shape naming the problem.
func TestBadInput(t *testing.T) {
	f := setup(t)
	for _, c := range []struct {
		name, path string
		body       any
		headers    []string
		status     int
		code       string
		field      string
	}{
		{"malformed app_id", "/api/v1/not-a-uuid/auth/login", map[string]any{"email": "ada@example.com", "password": pw}, nil, 400, "validation_failed", "app_id"},
		{"unknown app_id", "/api/v1/" + identity.NewID() + "/auth/login", map[string]any{"email": "ada@example.com", "password": pw}, nil, 404, "app_not_found", ""},
		{"short password", f.path("login"), map[string]any{"email": "ada@example.com", "password": "123456789"}, nil, 400, "validation_failed", "password"},
		{"missing email", f.path("login"), map[string]any{"password": pw}, nil, 400, "validation_failed", "email"},
		{"bad email", f.path("login"), map[string]any{"email": "nope", "password": pw}, nil, 400, "validation_failed", "email"},
		{"wrong type", f.path("login"), `{"email": 7, "password": "x"}`, nil, 400, "validation_failed", "email"},
		{"not json", f.path("login"), `{"email":`, nil, 400, "invalid_json", ""},
		{"form body", f.path("login"), "email=a%40b.c&password=1234567890", []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, "unsupported_media_type", "Content-Type"},
		{"xml body", f.path("login"), "<login/>", []string{"Content-Type", "application/xml"}, 415, "unsupported_media_type", "Content-Type"},
		{"too large", f.path("login"), `{"email": "` + strings.Repeat("a", 70<<10) + `"}`, nil, 400, "request_too_large", ""},
		{"missing refresh_token", f.path("refresh"), map[string]any{}, nil, 400, "validation_failed", "refresh_token"},
		{"garbage refresh_token", f.path("refresh"), map[string]any{"refresh_token": "garbage"}, nil, 401, "invalid_refresh_token", ""},
		{"wrong password", f.path("login"), map[string]any{"email": "ada@example.com", "password": "wrong password"}, nil, 401, "invalid_credentials", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := f.Do(t, "POST", c.path, c.body, c.headers...)
			e := wantError(t, r, c.status, c.code)
			if c.field != "" && e["field"] != c.field {
				t.Fatalf("field %v, want %s: %s", e["field"], c.field, r.Body)
			}
		})
	}
}

// Ensure a user with two-factor on is refused here (no field for a code)
// unless the tenant allows single-factor dialects.
func TestTwoFactorUserRefused(t *testing.T) {
	f := setup(t)
	ctx := t.Context()
	if _, err := f.Service.SecondFactor.BeginTOTP(ctx, f.tenant, f.user); err != nil {
		t.Fatal(err)
	}
	if err := f.Store.ConfirmTOTP(ctx, f.tenant, f.user, 1, nil, f.Now()); err != nil { // two-factor on, without an app
		t.Fatal(err)
	}
	e := wantError(t, f.login(t, map[string]any{"email": "ada@example.com", "password": pw}), http.StatusUnauthorized, "two_factor_required")
	if !strings.Contains(e["message"].(string), "cannot carry") {
		t.Fatalf("message %v", e["message"])
	}
	f.Admin(t, "PATCH", "/admin/v1/tenants/"+f.tenant, map[string]any{"settings": map[string]any{"allow_single_factor_dialects": true}})
	f.mustLogin(t)
}

// Ensure what browsers and odd clients send works or is refused in the
// dialect's shape: JSON as text/plain is read, an app_id in capitals is
// the same app, and NUL in a field is a 400 naming it.
func TestEdgeInputs(t *testing.T) {
	f := setup(t)
	body := `{"email":"ada@example.com","password":"` + pw + `"}`
	if r := f.Do(t, "POST", f.path("login"), body, "Content-Type", "text/plain;charset=UTF-8"); r.Status != http.StatusOK {
		t.Fatalf("text/plain: %d %s", r.Status, r.Body)
	}
	if r := f.Do(t, "POST", "/api/v1/"+strings.ToUpper(f.tenant)+"/auth/login", body); r.Status != http.StatusOK {
		t.Fatalf("upper-case app_id: %d %s", r.Status, r.Body)
	}
	for _, c := range []struct {
		route, field string
		body         map[string]any
	}{
		{"login", "email", map[string]any{"email": "ada@example.com\u0000", "password": pw}},
		{"login", "password", map[string]any{"email": "ada@example.com", "password": pw + "\u0000"}},
		{"refresh", "refresh_token", map[string]any{"refresh_token": "lrt1.\u0000"}},
		{"logout", "refresh_token", map[string]any{"refresh_token": "\u0000"}},
	} {
		e := wantError(t, f.Do(t, "POST", f.path(c.route), c.body), http.StatusBadRequest, "validation_failed")
		if e["field"] != c.field {
			t.Errorf("%s: field %v, want %s", c.route, e["field"], c.field)
		}
	}
}
