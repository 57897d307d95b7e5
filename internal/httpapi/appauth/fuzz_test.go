package appauth_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/latchauth/latch/internal/httpapi/httpapitest"
)

// FuzzLoginDecode sends arbitrary bodies and app ids to the login route:
// the answer is 200, 400, 401 or 404 in the dialect's shape, never a 500.
func FuzzLoginDecode(f *testing.F) {
	for _, s := range []string{`{"email":"ada@example.com","password":"correct horse battery"}`, `{}`, `[]`, `{"email":null}`,
		`{"email":"a@b.c","password":1}`, "\xff", `{"password":"` + strings.Repeat("é", 200) + `"}`, `{"email":"a@b.c","email":"d@e.f"}`} {
		f.Add(s, "")
	}
	f.Add(`{}`, "not-a-uuid")
	env := httpapitest.New(f, httpapitest.CheapArgon)
	tid := env.MustTenant(f, "fuzz")
	env.MustUser(f, tid, map[string]any{"email": "ada@example.com", "password": "correct horse battery"})
	f.Fuzz(func(t *testing.T, body, appID string) {
		// Only ids that reach the route: the mux itself answers paths
		// with dot segments or escapes before the dialect sees them.
		if appID == "" || strings.Trim(appID, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") != "" {
			appID = tid
		}
		for _, route := range []string{"login", "refresh", "logout"} {
			r := env.Do(t, "POST", "/api/v1/"+appID+"/auth/"+route, body)
			switch r.Status {
			case http.StatusOK, http.StatusNoContent, http.StatusBadRequest, http.StatusUnauthorized, http.StatusNotFound, http.StatusTooManyRequests:
			default:
				t.Fatalf("%s %q: %d %s", route, body, r.Status, r.Body)
			}
			if r.Status >= 400 && !strings.Contains(string(r.Body), `"error":{"code":`) {
				t.Fatalf("%s %q: error not in the dialect's shape: %s", route, body, r.Body)
			}
		}
	})
}
