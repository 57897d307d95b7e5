package httpapi_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/latchauth/latch/internal/httpapi/httpapitest"
	"github.com/latchauth/latch/internal/identity"
)

// selfLogin logs ada in through accounts-v3 and returns its tokens.
func selfLogin(t *testing.T, env *httpapitest.Env, tid string, extra ...string) (access, refresh string) {
	t.Helper()
	body := map[string]any{"accountId": tid, "email": "ada@example.com", "password": "correct horse battery"}
	for i := 0; i+1 < len(extra); i += 2 {
		body[extra[i]] = extra[i+1]
	}
	r := env.Do(t, "POST", "/v3/accounts/login", body)
	if r.Status != http.StatusOK {
		t.Fatalf("login: %d %s", r.Status, r.Body)
	}
	m := r.JSON(t)
	return m["accessToken"].(string), m["refreshToken"].(string)
}

func bearer(tok string) []string { return []string{"Authorization", "Bearer " + tok} }

// Ensure every self-service route refuses what is not a live session's
// access token with one 401 problem (and the RFC 6750 challenge), whatever
// was wrong, and never a 500.
func TestSelfServiceAccessToken(t *testing.T) {
	env := httpapitest.New(t, httpapitest.CheapArgon)
	tid := env.MustTenant(t, "acme")
	env.MustUser(t, tid, map[string]any{"email": "ada@example.com", "password": "correct horse battery"})
	access, refresh := selfLogin(t, env, tid)
	routes := [][2]string{{"POST", "/auth/v1/me/totp"}, {"POST", "/auth/v1/me/totp/confirm"}, {"DELETE", "/auth/v1/me/totp"},
		{"POST", "/auth/v1/me/recovery-codes"}, {"GET", "/auth/v1/me/sessions"}, {"DELETE", "/auth/v1/me/sessions/" + identity.NewID()}}
	refused := func(what string, headers ...string) {
		t.Helper()
		for _, rt := range routes {
			r := env.Do(t, rt[0], rt[1], nil, headers...)
			m := wantProblem(t, r, http.StatusUnauthorized, "authorization")
			if m["code"] != identity.ETOKENINVALID || !strings.Contains(r.Header.Get("WWW-Authenticate"), `error="invalid_token"`) ||
				!strings.Contains(m["type"].(string), "errors.md#self-service-token_invalid") {
				t.Fatalf("%s, %s %s: %s %v", what, rt[0], rt[1], r.Body, r.Header)
			}
		}
	}
	refused("no token")
	refused("another scheme", "Authorization", "Basic "+access)
	refused("garbled", bearer("eyJhbGciOiJFZERTQSJ9.garbage.sig")...)
	refused("refresh token", bearer(refresh)...)
	refused("admin token", bearer(httpapitest.AdminToken)...)
	if r := env.Do(t, "GET", "/auth/v1/me/sessions", nil, "Authorization", "bearer "+access); r.Status != http.StatusOK {
		t.Fatalf("scheme in lower case: %d %s", r.Status, r.Body)
	}
	env.Advance(16 * time.Minute) // past the access token's 15 minutes
	refused("expired", bearer(access)...)
	access, _ = selfLogin(t, env, tid)
	uid := env.Admin(t, "GET", "/admin/v1/tenants/"+tid+"/users?email=ada@example.com", nil).JSON(t)["users"].([]any)[0].(map[string]any)["id"].(string)
	env.Admin(t, "DELETE", "/admin/v1/tenants/"+tid+"/users/"+uid+"/sessions", nil)
	refused("revoked session", bearer(access)...)
}

// Ensure a user turns its second factor on and off over HTTP: the
// enrolment carries a QR code, a wrong code is a 401 two_factor_invalid,
// a malformed one a 400 naming code, the confirming code cannot be used
// again, a body that is not JSON is a 400, and another user's session is
// 404 like an unknown one.
func TestSelfServiceTOTPAndSessions(t *testing.T) {
	env := httpapitest.New(t, httpapitest.CheapArgon)
	tid := env.MustTenant(t, "acme")
	env.MustUser(t, tid, map[string]any{"email": "ada@example.com", "password": "correct horse battery"})
	env.MustUser(t, tid, map[string]any{"email": "bob@example.com", "password": "correct horse battery"})
	access, _ := selfLogin(t, env, tid)
	me := bearer(access)

	r := env.Do(t, "POST", "/auth/v1/me/totp", nil, me...)
	if r.Status != http.StatusOK {
		t.Fatalf("begin: %d %s", r.Status, r.Body)
	}
	e := r.JSON(t)
	secret := e["secret"].(string)
	if !strings.HasPrefix(e["otpauth_url"].(string), "otpauth://totp/") || len(e["qr_png"].(string)) < 100 {
		t.Fatalf("enrolment %s", r.Body)
	}
	wantProblem(t, env.Do(t, "POST", "/auth/v1/me/totp/confirm", map[string]any{"code": "12ab56"}, me...), http.StatusBadRequest, "code")
	wantProblem(t, env.Do(t, "POST", "/auth/v1/me/totp/confirm", "{not json", me...), http.StatusBadRequest, "")
	wantProblem(t, env.Do(t, "POST", "/auth/v1/me/totp/confirm", map[string]any{"code": 123456}, me...), http.StatusBadRequest, "code")
	if m := wantProblem(t, env.Do(t, "POST", "/auth/v1/me/totp/confirm", `{"code":"`+strings.Repeat("1", 70<<10)+`"}`, me...),
		http.StatusRequestEntityTooLarge, ""); m["code"] != "too_large" {
		t.Fatalf("large body: %v", m)
	}
	wrong := "000000"
	now, _ := totp.GenerateCode(secret, env.Now())
	if wrong == now {
		wrong = "111111"
	}
	if m := wantProblem(t, env.Do(t, "POST", "/auth/v1/me/totp/confirm", map[string]any{"code": wrong}, me...), http.StatusUnauthorized, ""); m["code"] != identity.ETWOFACTORINVALID {
		t.Fatalf("wrong code: %v", m)
	}
	r = env.Do(t, "POST", "/auth/v1/me/totp/confirm", map[string]any{"code": now}, me...)
	if r.Status != http.StatusOK || len(r.JSON(t)["recovery_codes"].([]any)) != 10 {
		t.Fatalf("confirm: %d %s", r.Status, r.Body)
	}
	wantProblem(t, env.Do(t, "POST", "/auth/v1/me/totp", nil, me...), http.StatusConflict, "")
	wantProblem(t, env.Do(t, "DELETE", "/auth/v1/me/totp", nil, me...), http.StatusBadRequest, "code")
	if m := wantProblem(t, env.Do(t, "DELETE", "/auth/v1/me/totp", map[string]any{"code": now}, me...), http.StatusUnauthorized, ""); m["code"] != identity.ETWOFACTORINVALID {
		t.Fatalf("replayed code: %v", m)
	}

	// Sessions: ada's two, the current one marked; bob's is not hers.
	env.Advance(30 * time.Second)
	next, _ := totp.GenerateCode(secret, env.Now())
	selfLogin(t, env, tid, "twoFactorCode", next)
	r = env.Do(t, "POST", "/v3/accounts/login", map[string]any{"accountId": tid, "email": "bob@example.com", "password": "correct horse battery"})
	bobAccess := r.JSON(t)["accessToken"].(string)
	bobs := env.Do(t, "GET", "/auth/v1/me/sessions", nil, bearer(bobAccess)...).JSON(t)["sessions"].([]any)
	bobSession := bobs[0].(map[string]any)["id"].(string)
	r = env.Do(t, "GET", "/auth/v1/me/sessions", nil, me...)
	list := r.JSON(t)["sessions"].([]any)
	var current []bool
	for _, x := range list {
		s := x.(map[string]any)
		for _, k := range []string{"id", "device", "ip", "created_at", "last_seen_at", "current"} {
			if _, ok := s[k]; !ok {
				t.Fatalf("session without %s: %s", k, r.Body)
			}
		}
		current = append(current, s["current"].(bool))
	}
	if !slices.Equal(current, []bool{false, true}) {
		t.Fatalf("sessions: %s", r.Body)
	}
	wantProblem(t, env.Do(t, "DELETE", "/auth/v1/me/sessions/"+bobSession, nil, me...), http.StatusNotFound, "")
	wantProblem(t, env.Do(t, "DELETE", "/auth/v1/me/sessions/"+identity.NewID(), nil, me...), http.StatusNotFound, "")
	wantProblem(t, env.Do(t, "DELETE", "/auth/v1/me/sessions/not-an-id", nil, me...), http.StatusNotFound, "")
	if r := env.Do(t, "GET", "/auth/v1/me/sessions", nil, bearer(bobAccess)...); r.Status != http.StatusOK {
		t.Fatalf("bob's session after ada's attempt: %d", r.Status)
	}
	newest := list[0].(map[string]any)["id"].(string)
	if r := env.Do(t, "DELETE", "/auth/v1/me/sessions/"+newest, nil, me...); r.Status != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}

	env.Advance(30 * time.Second)
	next, _ = totp.GenerateCode(secret, env.Now())
	if r := env.Do(t, "DELETE", "/auth/v1/me/totp", map[string]any{"code": next}, me...); r.Status != http.StatusNoContent {
		t.Fatalf("disable: %d %s", r.Status, r.Body)
	}
	selfLogin(t, env, tid) // no code needed any more

	// The routes' neighbours answer in the same shape.
	wantProblem(t, env.Do(t, "GET", "/auth/v1/me/nothing", nil, me...), http.StatusNotFound, "")
	r = env.Do(t, "PUT", "/auth/v1/me/totp", nil, me...)
	wantProblem(t, r, http.StatusMethodNotAllowed, "")
	if allow := r.Header.Get("Allow"); !strings.Contains(allow, "POST") || !strings.Contains(allow, "DELETE") {
		t.Fatalf("Allow %q", allow)
	}
	// One CORS preflight per path, naming every method it serves.
	r = env.Do(t, "OPTIONS", "/auth/v1/me/totp", nil)
	if r.Status != http.StatusNoContent || r.Header.Get("Allow") != "OPTIONS, POST, DELETE" {
		t.Fatalf("preflight: %d %v", r.Status, r.Header)
	}
}
