package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/latchauth/latch/internal/httpapi/httpapitest"
	"github.com/latchauth/latch/internal/identity"
)

func wantProblem(t *testing.T, r *httpapitest.Response, status int, field string) map[string]any {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q", ct)
	}
	m := r.JSON(t)
	if int(m["status"].(float64)) != status || m["type"] == "" || m["title"] == "" {
		t.Fatalf("problem %s", r.Body)
	}
	if field != "" && !strings.Contains(fmt.Sprint(m["errors"]), "field:"+field) {
		t.Fatalf("problem does not name %s: %s", field, r.Body)
	}
	return m
}

// Ensure the admin API needs the bearer token, compared exactly.
func TestAdminAuth(t *testing.T) {
	env := httpapitest.New(t, httpapitest.CheapArgon)
	for _, h := range []string{"", "Bearer", "Bearer wrong", "Basic " + httpapitest.AdminToken, "Bearer " + httpapitest.AdminToken + "x"} {
		r := env.Do(t, "GET", "/admin/v1/tenants", nil, "Authorization", h)
		wantProblem(t, r, http.StatusUnauthorized, "")
		if r.Header.Get("WWW-Authenticate") == "" {
			t.Fatal("no WWW-Authenticate")
		}
	}
	if r := env.Admin(t, "GET", "/admin/v1/tenants", nil); r.Status != http.StatusOK {
		t.Fatalf("%d", r.Status)
	}
}

// Ensure tenants are created, read, patched, listed and deleted, with
// alias conflicts and bad input named.
func TestAdminTenants(t *testing.T) {
	env := httpapitest.New(t, httpapitest.CheapArgon)
	r := env.Admin(t, "POST", "/admin/v1/tenants", map[string]any{"name": "Acme", "alias": "Acme-Corp"})
	if r.Status != http.StatusCreated {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	tn := r.JSON(t)
	if tn["alias"] != "acme-corp" || tn["name"] != "Acme" || tn["settings"] == nil || tn["created_at"] == "" {
		t.Fatalf("tenant %v", tn)
	}
	id := tn["id"].(string)
	wantProblem(t, env.Admin(t, "POST", "/admin/v1/tenants", map[string]any{"name": "B", "alias": "acme-corp"}), http.StatusConflict, "alias")
	wantProblem(t, env.Admin(t, "POST", "/admin/v1/tenants", map[string]any{"alias": "x"}), http.StatusBadRequest, "name")
	wantProblem(t, env.Admin(t, "POST", "/admin/v1/tenants", map[string]any{"name": "x", "alias": "has space"}), http.StatusBadRequest, "alias")
	wantProblem(t, env.Admin(t, "POST", "/admin/v1/tenants", map[string]any{"name": 5}), http.StatusBadRequest, "name")
	wantProblem(t, env.Admin(t, "POST", "/admin/v1/tenants", "{"), http.StatusBadRequest, "")
	r = env.Admin(t, "PATCH", "/admin/v1/tenants/"+id, map[string]any{"settings": map[string]any{"refresh_grace_seconds": 30}})
	if r.Status != http.StatusOK || r.JSON(t)["name"] != "Acme" || r.JSON(t)["settings"].(map[string]any)["refresh_grace_seconds"] != 30.0 {
		t.Fatalf("patch %d %s", r.Status, r.Body)
	}
	wantProblem(t, env.Admin(t, "GET", "/admin/v1/tenants/"+identity.NewID(), nil), http.StatusNotFound, "")
	env.MustTenant(t, "second")
	r = env.Admin(t, "GET", "/admin/v1/tenants?limit=1", nil)
	if m := r.JSON(t); len(m["tenants"].([]any)) != 1 || m["next_cursor"] == "" {
		t.Fatalf("list %s", r.Body)
	}
	wantProblem(t, env.Admin(t, "GET", "/admin/v1/tenants?limit=0", nil), http.StatusBadRequest, "limit")
	wantProblem(t, env.Admin(t, "GET", "/admin/v1/tenants?cursor=%25%25", nil), http.StatusBadRequest, "cursor")
	if r := env.Admin(t, "DELETE", "/admin/v1/tenants/"+id, nil); r.Status != http.StatusNoContent {
		t.Fatalf("delete %d", r.Status)
	}
	wantProblem(t, env.Admin(t, "DELETE", "/admin/v1/tenants/"+id, nil), http.StatusNotFound, "")
}

// Ensure users are created with a password or an imported hash, never
// expose the hash, and are listed, filtered, patched and deleted.
func TestAdminUsers(t *testing.T) {
	env := httpapitest.New(t, httpapitest.CheapArgon)
	tid := env.MustTenant(t, "acme")
	base := "/admin/v1/tenants/" + tid + "/users"
	r := env.Admin(t, "POST", base, map[string]any{"email": " Grace@Example.com ", "password": "a long password",
		"first_name": "Grace", "roles": []string{"dev"}, "metadata": []map[string]any{{"key": "plan", "value": "pro"}},
		"profile": map[string]any{"company": "Navy"}, "tags": []string{"vip"}})
	if r.Status != http.StatusCreated {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	u := r.JSON(t)
	if u["email"] != "Grace@Example.com" || u["has_password"] != true || u["status"] != "active" || u["last_login_at"] != nil ||
		u["metadata"].([]any)[0].(map[string]any)["id"] == "" || u["profile"].(map[string]any)["company"] != "Navy" {
		t.Fatalf("user %s", r.Body)
	}
	if strings.Contains(string(r.Body), "argon2") || strings.Contains(string(r.Body), "a long password") {
		t.Fatal("the answer carries the password or its hash")
	}
	uid := u["id"].(string)
	wantProblem(t, env.Admin(t, "POST", base, map[string]any{"email": "grace@example.com"}), http.StatusConflict, "email")
	wantProblem(t, env.Admin(t, "POST", base, map[string]any{"email": "nope"}), http.StatusBadRequest, "email")
	wantProblem(t, env.Admin(t, "POST", base, map[string]any{"email": "a@example.com", "password": "short"}), http.StatusBadRequest, "password")
	wantProblem(t, env.Admin(t, "POST", base, map[string]any{"email": "a@example.com", "password_hash": "$md5$x"}), http.StatusBadRequest, "password_hash")
	wantProblem(t, env.Admin(t, "POST", base, map[string]any{"email": "a@example.com", "password": "long enough", "password_hash": "$2b$x"}), http.StatusBadRequest, "password")
	wantProblem(t, env.Admin(t, "POST", base, map[string]any{"email": "a@example.com", "status": "gone"}), http.StatusBadRequest, "status")
	wantProblem(t, env.Admin(t, "POST", base, map[string]any{"email": "a@example.com", "organisation_ids": []string{identity.NewID()}}), http.StatusNotFound, "organisation_ids")
	wantProblem(t, env.Admin(t, "POST", "/admin/v1/tenants/"+identity.NewID()+"/users", map[string]any{"email": "a@example.com"}), http.StatusNotFound, "")

	env.MustUser(t, tid, map[string]any{"email": "hash@example.com", "password_hash": "$argon2id$v=19$m=1024,t=2,p=1$c29tZXNhbHQ$7FfsnA6vUe7qLpL/3Kqc3uR48ZJyFbUVt7jWZlf0Htk"})
	list := env.Admin(t, "GET", base+"?email=GRACE@example.com", nil).JSON(t)["users"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["id"] != uid {
		t.Fatalf("email filter %v", list)
	}
	page := env.Admin(t, "GET", base+"?limit=1", nil).JSON(t)
	next := page["next_cursor"].(string)
	page2 := env.Admin(t, "GET", base+"?limit=1&cursor="+next, nil).JSON(t)
	if len(page2["users"].([]any)) != 1 || page2["next_cursor"] != "" {
		t.Fatalf("page 2 %v", page2)
	}
	r = env.Admin(t, "PATCH", base+"/"+uid, map[string]any{"last_name": "Hopper", "metadata": []map[string]any{{"key": "plan", "value": "pro"}}})
	if p := r.JSON(t); p["last_name"] != "Hopper" || p["first_name"] != "Grace" ||
		p["metadata"].([]any)[0].(map[string]any)["id"] != u["metadata"].([]any)[0].(map[string]any)["id"] {
		t.Fatalf("patch %s", r.Body)
	}
	if r := env.Admin(t, "DELETE", base+"/"+uid, nil); r.Status != http.StatusNoContent {
		t.Fatalf("delete %d", r.Status)
	}
	wantProblem(t, env.Admin(t, "GET", base+"/"+uid, nil), http.StatusNotFound, "")
}

// Ensure organisations nest, refuse unknown parents, and carry members.
func TestAdminOrganisations(t *testing.T) {
	env := httpapitest.New(t, httpapitest.CheapArgon)
	tid := env.MustTenant(t, "acme")
	base := "/admin/v1/tenants/" + tid + "/organisations"
	parent := env.Admin(t, "POST", base, map[string]any{"name": "Reseller"}).JSON(t)["id"].(string)
	r := env.Admin(t, "POST", base, map[string]any{"name": "Shop", "parent_id": parent, "email": "shop@example.com",
		"profile": map[string]any{"address": map[string]any{"city": "Oslo"}}})
	if r.Status != http.StatusCreated || r.JSON(t)["parent_id"] != parent {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	child := r.JSON(t)["id"].(string)
	wantProblem(t, env.Admin(t, "POST", base, map[string]any{"name": "x", "parent_id": identity.NewID()}), http.StatusNotFound, "parent_id")
	wantProblem(t, env.Admin(t, "PATCH", base+"/"+parent, map[string]any{"parent_id": child}), http.StatusBadRequest, "parent_id")
	uid := env.MustUser(t, tid, map[string]any{"email": "m@example.com", "organisation_ids": []string{child}})
	if got := env.Admin(t, "GET", "/admin/v1/tenants/"+tid+"/users/"+uid, nil).JSON(t)["organisation_ids"].([]any); len(got) != 1 {
		t.Fatalf("membership %v", got)
	}
	if n := len(env.Admin(t, "GET", base, nil).JSON(t)["organisations"].([]any)); n != 2 {
		t.Fatalf("%d organisations", n)
	}
	if r := env.Admin(t, "DELETE", base+"/"+child, nil); r.Status != http.StatusNoContent {
		t.Fatalf("delete %d", r.Status)
	}
}

// Ensure sessions are listed and revoked all at once, killing refresh.
func TestAdminSessions(t *testing.T) {
	env := httpapitest.New(t, httpapitest.CheapArgon)
	tid := env.MustTenant(t, "acme")
	uid := env.MustUser(t, tid, map[string]any{"email": "s@example.com", "password": "a long password"})
	var rts []string
	for range 2 {
		r := env.Do(t, "POST", "/v3/accounts/login", map[string]any{"accountId": tid, "email": "s@example.com", "password": "a long password"})
		rts = append(rts, r.JSON(t)["refreshToken"].(string))
	}
	base := "/admin/v1/tenants/" + tid + "/users/" + uid + "/sessions"
	if n := len(env.Admin(t, "GET", base, nil).JSON(t)["sessions"].([]any)); n != 2 {
		t.Fatalf("%d sessions", n)
	}
	if r := env.Admin(t, "DELETE", base, nil); r.JSON(t)["revoked"] != 2.0 {
		t.Fatalf("revoke %s", r.Body)
	}
	for _, rt := range rts {
		if r := env.Do(t, "POST", "/v3/accounts/login-refresh-token", map[string]any{"refreshToken": rt}); r.Status != http.StatusBadRequest {
			t.Fatalf("refresh after revoke: %d", r.Status)
		}
	}
	// A password change revokes too.
	r := env.Do(t, "POST", "/v3/accounts/login", map[string]any{"accountId": tid, "email": "s@example.com", "password": "a long password"})
	rt := r.JSON(t)["refreshToken"].(string)
	env.Admin(t, "PATCH", "/admin/v1/tenants/"+tid+"/users/"+uid, map[string]any{"password": "another long password"})
	if r := env.Do(t, "POST", "/v3/accounts/login-refresh-token", map[string]any{"refreshToken": rt}); r.Status != http.StatusBadRequest {
		t.Fatalf("refresh after password change: %d", r.Status)
	}
	wantProblem(t, env.Admin(t, "GET", "/admin/v1/tenants/"+tid+"/users/"+identity.NewID()+"/sessions", nil), http.StatusNotFound, "")
}

// Ensure API keys show their secret once and can be revoked.
func TestAdminAPIKeys(t *testing.T) {
	env := httpapitest.New(t, httpapitest.CheapArgon)
	tid := env.MustTenant(t, "acme")
	base := "/admin/v1/tenants/" + tid + "/api-keys"
	r := env.Admin(t, "POST", base, map[string]any{"name": "mobile app"})
	k := r.JSON(t)
	key, _ := k["key"].(string)
	if r.Status != http.StatusCreated || !strings.HasPrefix(key, identity.APIKeyPrefix) || len(key) < 40 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	list := env.Admin(t, "GET", base, nil)
	if strings.Contains(string(list.Body), key) || !strings.Contains(string(list.Body), k["prefix"].(string)) {
		t.Fatalf("list shows the key or not its prefix: %s", list.Body)
	}
	wantProblem(t, env.Admin(t, "POST", base, map[string]any{}), http.StatusBadRequest, "name")
	if r := env.Admin(t, "DELETE", base+"/"+k["id"].(string), nil); r.Status != http.StatusNoContent {
		t.Fatalf("revoke %d", r.Status)
	}
	if got := env.Admin(t, "GET", base, nil).JSON(t)["api_keys"].([]any)[0].(map[string]any); got["revoked_at"] == nil {
		t.Fatal("not revoked")
	}
}

// Ensure health, readiness and JWKS answer with the right headers.
func TestOperations(t *testing.T) {
	env := httpapitest.New(t, httpapitest.CheapArgon)
	if r := env.Do(t, "GET", "/healthz", nil); r.Status != 200 {
		t.Fatal(r.Status)
	}
	if r := env.Do(t, "GET", "/readyz", nil); r.Status != 200 {
		t.Fatal(r.Status)
	}
	r := env.Do(t, "GET", "/.well-known/jwks.json", nil)
	if r.Status != 200 || !strings.Contains(r.Header.Get("Cache-Control"), "max-age=") || r.Header.Get("ETag") == "" ||
		len(r.JSON(t)["keys"].([]any)) != 1 {
		t.Fatalf("jwks %d %v %s", r.Status, r.Header, r.Body)
	}
	if r2 := env.Do(t, "GET", "/.well-known/jwks.json", nil, "If-None-Match", r.Header.Get("ETag")); r2.Status != http.StatusNotModified {
		t.Fatalf("conditional GET %d", r2.Status)
	}
	env.Store.Close()
	if r := env.Do(t, "GET", "/readyz", nil); r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" {
		t.Fatalf("readyz with closed store: %d", r.Status)
	}
}
