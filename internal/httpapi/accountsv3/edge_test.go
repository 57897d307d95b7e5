package accountsv3_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/latchauth/latch/internal/httpapi/httpapitest"
	"github.com/latchauth/latch/internal/store/postgres/postgrestest"
)

// edgeInputs checks what real clients send beyond the happy path, on
// whichever store f runs on.
func edgeInputs(t *testing.T, f *fixture) {
	t.Run("Latin1Headers", func(t *testing.T) {
		// Ensure a User-Agent or Origin with a Latin-1 byte (old clients)
		// never fails a login, and is kept as valid UTF-8.
		r := f.login(t, map[string]any{"accountId": f.tenant, "email": "ada@example.com", "password": pw},
			"User-Agent", "caf\xe9/1.0", "Origin", "https://caf\xe9.example")
		if r.Status != http.StatusOK {
			t.Fatalf("login: %d %s", r.Status, r.Body)
		}
		var found bool
		for _, s := range f.Admin(t, "GET", "/admin/v1/tenants/"+f.tenant+"/users/"+f.user+"/sessions", nil).JSON(t)["sessions"].([]any) {
			s := s.(map[string]any)
			if s["user_agent"] == "caf\uFFFD/1.0" && s["origin"] == "https://caf\uFFFD.example" {
				found = true
			}
		}
		if !found {
			t.Fatal("no session with the cleaned User-Agent and Origin")
		}
		long := strings.Repeat("\xe9", 4000)
		if r := f.login(t, map[string]any{"accountId": f.tenant, "email": "ada@example.com", "password": pw}, "User-Agent", long); r.Status != http.StatusOK {
			t.Fatalf("long Latin-1 User-Agent: %d %s", r.Status, r.Body)
		}
	})
	t.Run("ErrNUL", func(t *testing.T) {
		// Ensure NUL in any string field is a 400 naming that field.
		good := map[string]any{"accountId": f.tenant, "email": "ada@example.com", "password": pw}
		for _, field := range []string{"accountId", "accountAlias", "email", "password", "twoFactorCode", "twoFactorRecoveryCode"} {
			body := map[string]any{}
			for k, v := range good {
				body[k] = v
			}
			body[field] = "a\u0000b"
			if field == "password" {
				body[field] = pw + "\u0000"
			}
			m := wantError(t, f.login(t, body), http.StatusBadRequest, "VALIDATION_FAILED")
			errs := m["errors"].([]any)
			if len(errs) != 1 || errs[0].(map[string]any)["field"] != field {
				t.Errorf("%s: errors %v", field, errs)
			}
		}
		m := wantError(t, f.Do(t, "POST", "/v3/accounts/login-refresh-token", `{"refreshToken":"lrt1.\u0000"}`), http.StatusBadRequest, "VALIDATION_FAILED")
		if m["errors"].([]any)[0].(map[string]any)["field"] != "refreshToken" {
			t.Errorf("refresh: %v", m)
		}
	})
	t.Run("UpperCaseAccountID", func(t *testing.T) {
		// Ensure accountId compares case-insensitively.
		for _, id := range []string{strings.ToUpper(f.tenant), strings.ReplaceAll(f.tenant, "-", "")} {
			if r := f.login(t, map[string]any{"accountId": id, "email": "ada@example.com", "password": pw}); r.Status != http.StatusOK {
				t.Errorf("accountId %s: %d %s", id, r.Status, r.Body)
			}
		}
	})
	t.Run("TextPlain", func(t *testing.T) {
		// Ensure JSON sent as text/plain (fetch() with a string body) is read.
		body := `{"accountId":"` + f.tenant + `","email":"ada@example.com","password":"` + pw + `"}`
		for _, ct := range []string{"text/plain", "text/plain;charset=UTF-8", "Text/Plain; charset=iso-8859-1"} {
			r := f.Do(t, "POST", "/v3/accounts/login", body, "Content-Type", ct)
			if r.Status != http.StatusOK {
				t.Fatalf("%s: %d %s", ct, r.Status, r.Body)
			}
			rt := r.JSON(t)["refreshToken"].(string)
			if r := f.Do(t, "POST", "/v3/accounts/login-refresh-token", `{"refreshToken":"`+rt+`"}`, "Content-Type", ct); r.Status != http.StatusOK {
				t.Fatalf("refresh as %s: %d %s", ct, r.Status, r.Body)
			}
		}
	})
	t.Run("ErrUnusableRefreshToken", func(t *testing.T) {
		// Ensure an unusable refresh token is 400 INVALID_REFRESH_TOKEN
		// naming the field (never 401, which loops "on 401, refresh"
		// interceptors).
		for _, tok := range []string{"garbage", "lrt1.AAAA.BBBB"} {
			m := wantError(t, f.refresh(t, tok), http.StatusBadRequest, "INVALID_REFRESH_TOKEN")
			if e := m["errors"].([]any)[0].(map[string]any); e["field"] != "refreshToken" {
				t.Errorf("errors %v", m["errors"])
			}
		}
	})
}

func TestEdgeInputs(t *testing.T) {
	edgeInputs(t, setup(t))
}

func TestPostgresEdgeInputs(t *testing.T) {
	env := pgEnv(t, httpapitest.CheapArgon, postgrestest.URL(t))
	f := &fixture{Env: env, alias: "pg-edge"}
	f.tenant = env.MustTenant(t, f.alias)
	f.user = env.MustUser(t, f.tenant, map[string]any{"email": "ada@example.com", "password": pw})
	edgeInputs(t, f)
}
