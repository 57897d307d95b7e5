package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/httpapi/httpapitest"
	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/store/postgres"
	"github.com/latchauth/latch/internal/store/postgres/postgrestest"
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
	// Paged like every admin list: newest first, next_cursor to the end.
	var paged []string
	for cursor := ""; ; {
		page := env.Admin(t, "GET", base+"?limit=1&cursor="+cursor, nil).JSON(t)
		for _, x := range page["sessions"].([]any) {
			paged = append(paged, x.(map[string]any)["id"].(string))
		}
		if cursor = page["next_cursor"].(string); cursor == "" {
			break
		}
	}
	if len(paged) != 2 || paged[0] <= paged[1] {
		t.Fatalf("paged: %v", paged)
	}
	wantProblem(t, env.Admin(t, "GET", base+"?limit=0", nil), http.StatusBadRequest, "limit")
	wantProblem(t, env.Admin(t, "GET", base+"?cursor=%25%25", nil), http.StatusBadRequest, "cursor")
	// One session: the newest; another user's session id is 404.
	other := env.MustUser(t, tid, map[string]any{"email": "o@example.com"})
	wantProblem(t, env.Admin(t, "DELETE", "/admin/v1/tenants/"+tid+"/users/"+other+"/sessions/"+paged[0], nil), http.StatusNotFound, "")
	wantProblem(t, env.Admin(t, "DELETE", base+"/"+identity.NewID(), nil), http.StatusNotFound, "")
	wantProblem(t, env.Admin(t, "DELETE", base+"/not-an-id", nil), http.StatusNotFound, "")
	if r := env.Admin(t, "DELETE", base+"/"+paged[0], nil); r.Status != http.StatusNoContent {
		t.Fatalf("revoke one: %d %s", r.Status, r.Body)
	}
	if r := env.Do(t, "POST", "/v3/accounts/login-refresh-token", map[string]any{"refreshToken": rts[1]}); r.Status != http.StatusBadRequest {
		t.Fatalf("refresh of the revoked session: %d", r.Status)
	}
	if r := env.Admin(t, "DELETE", base, nil); r.JSON(t)["revoked"] != 1.0 {
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

// envs returns a server on SQLite, and one on PostgreSQL when
// LATCH_TEST_POSTGRES_URL is set: the admin API must answer the same on
// both.
func envs(t *testing.T) map[string]*httpapitest.Env {
	out := map[string]*httpapitest.Env{"sqlite": httpapitest.New(t, httpapitest.CheapArgon)}
	if os.Getenv("LATCH_TEST_POSTGRES_URL") != "" {
		db, err := postgres.Open(context.Background(), postgrestest.URL(t))
		if err != nil {
			t.Fatal(err)
		}
		out["postgres"] = httpapitest.NewOn(t, httpapitest.CheapArgon, db)
	}
	return out
}

// Ensure a path id that cannot be an id is a 404 problem on every admin
// route that takes one, on both stores (PostgreSQL answered 500 for a NUL
// or a byte that is not UTF-8), and that an upper-case UUID names the
// same record as its lower-case form.
func TestAdminMalformedPathIDs(t *testing.T) {
	for name, env := range envs(t) {
		t.Run(name, func(t *testing.T) {
			tid := env.MustTenant(t, "ids-"+name)
			uid := env.MustUser(t, tid, map[string]any{"email": "ids@example.com"})
			for _, bad := range []string{"%00", "%ff", "not-a-uuid", "0", tid + "%00", strings.Repeat("a", 36)} {
				for _, route := range []string{
					"GET /admin/v1/tenants/" + bad, "PATCH /admin/v1/tenants/" + bad, "DELETE /admin/v1/tenants/" + bad,
					"GET /admin/v1/tenants/" + bad + "/users", "POST /admin/v1/tenants/" + bad + "/users",
					"GET /admin/v1/tenants/" + tid + "/users/" + bad, "PATCH /admin/v1/tenants/" + tid + "/users/" + bad,
					"DELETE /admin/v1/tenants/" + tid + "/users/" + bad, "DELETE /admin/v1/tenants/" + tid + "/users/" + bad + "/sessions",
					"GET /admin/v1/tenants/" + tid + "/users/" + bad + "/totp", "DELETE /admin/v1/tenants/" + tid + "/users/" + bad + "/throttle",
					"GET /admin/v1/tenants/" + tid + "/organisations/" + bad, "DELETE /admin/v1/tenants/" + tid + "/organisations/" + bad,
					"DELETE /admin/v1/tenants/" + tid + "/api-keys/" + bad, "GET /admin/v1/tenants/" + tid + "/webhooks/" + bad,
					"PATCH /admin/v1/tenants/" + tid + "/webhooks/" + bad, "DELETE /admin/v1/tenants/" + tid + "/webhooks/" + bad,
					"GET /admin/v1/tenants/" + bad + "/events", "GET /admin/v1/tenants/" + bad + "/api-keys",
				} {
					method, path, _ := strings.Cut(route, " ")
					var body any
					if method == "PATCH" || method == "POST" {
						body = map[string]any{"name": "x", "email": "x@example.com"}
					}
					if r := env.Admin(t, method, path, body); r.Status != http.StatusNotFound {
						t.Fatalf("%s: %d %s", route, r.Status, r.Body)
					}
				}
			}
			if r := env.Admin(t, "GET", "/admin/v1/tenants/"+strings.ToUpper(tid)+"/users/"+strings.ToUpper(uid), nil); r.Status != http.StatusOK {
				t.Fatalf("upper-case ids: %d %s", r.Status, r.Body)
			}
		})
	}
}

// Ensure a NUL anywhere in an admin body is a 400 naming the field, on
// both stores (PostgreSQL answered 500), and 4-byte characters are kept.
func TestAdminTextInput(t *testing.T) {
	for name, env := range envs(t) {
		t.Run(name, func(t *testing.T) {
			tid := env.MustTenant(t, "text-"+name)
			users := "/admin/v1/tenants/" + tid + "/users"
			for field, body := range map[string]map[string]any{
				"first_name":           {"email": "a@example.com", "first_name": "Ada\u0000"},
				"profile.address.city": {"email": "a@example.com", "profile": map[string]any{"address": map[string]any{"city": "Os\u0000lo"}}},
				"metadata.value":       {"email": "a@example.com", "metadata": []map[string]any{{"key": "k", "value": "\u0000"}}},
				"tags":                 {"email": "a@example.com", "tags": []string{"ok", "b\u0000d"}},
				"password":             {"email": "a@example.com", "password": "long enough\u0000"},
				"username":             {"email": "a@example.com", "username": "ada\u0000"},
			} {
				wantProblem(t, env.Admin(t, "POST", users, body), http.StatusBadRequest, field)
			}
			wantProblem(t, env.Admin(t, "POST", "/admin/v1/tenants", map[string]any{"name": "\u0000"}), http.StatusBadRequest, "name")
			wantProblem(t, env.Admin(t, "POST", "/admin/v1/tenants/"+tid+"/organisations", map[string]any{"name": "o", "description": "\u0000"}), http.StatusBadRequest, "description")
			wantProblem(t, env.Admin(t, "POST", "/admin/v1/tenants/"+tid+"/api-keys", map[string]any{"name": "k\u0000"}), http.StatusBadRequest, "name")
			wantProblem(t, env.Admin(t, "GET", users+"?email=a%00b", nil), http.StatusBadRequest, "email")
			wantProblem(t, env.Admin(t, "GET", "/admin/v1/tenants/"+tid+"/events?type=%00", nil), http.StatusBadRequest, "type")
			wantProblem(t, env.Admin(t, "GET", users+"?cursor=AA", nil), http.StatusBadRequest, "cursor") // a cursor of one NUL byte
			r := env.Admin(t, "POST", users, map[string]any{"email": "emoji@example.com", "first_name": "𝄞 😀", "profile": map[string]any{"𠜎": "𝄞"}})
			if r.Status != http.StatusCreated || r.JSON(t)["first_name"] != "𝄞 😀" || r.JSON(t)["profile"].(map[string]any)["𠜎"] != "𝄞" {
				t.Fatalf("4-byte characters: %d %s", r.Status, r.Body)
			}
		})
	}
}

// Ensure user names are set, found, filtered, unique per tenant in any
// case, refused when they could be taken for an email, and cleared.
func TestAdminUsernames(t *testing.T) {
	env := httpapitest.New(t, httpapitest.CheapArgon)
	tid := env.MustTenant(t, "names")
	users := "/admin/v1/tenants/" + tid + "/users"
	r := env.Admin(t, "POST", users, map[string]any{"email": "ada@example.com", "username": " Ada.Lovelace "})
	if r.Status != http.StatusCreated || r.JSON(t)["username"] != "Ada.Lovelace" {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	uid := r.JSON(t)["id"].(string)
	wantProblem(t, env.Admin(t, "POST", users, map[string]any{"email": "b@example.com", "username": "ada.lovelace"}), http.StatusConflict, "username")
	for _, bad := range []string{"ada@home", "two words", "tab\there", strings.Repeat("x", 257)} {
		wantProblem(t, env.Admin(t, "POST", users, map[string]any{"email": "c@example.com", "username": bad}), http.StatusBadRequest, "username")
	}
	list := env.Admin(t, "GET", users+"?username=ADA.LOVELACE", nil).JSON(t)["users"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["id"] != uid {
		t.Fatalf("username filter: %v", list)
	}
	if r := env.Admin(t, "PATCH", users+"/"+uid, map[string]any{"username": ""}); r.Status != http.StatusOK || r.JSON(t)["username"] != "" {
		t.Fatalf("clear: %d %s", r.Status, r.Body)
	}
	if r := env.Admin(t, "POST", users, map[string]any{"email": "b@example.com", "username": "ada.lovelace"}); r.Status != http.StatusCreated {
		t.Fatalf("a cleared name is not free: %d %s", r.Status, r.Body)
	}
}

// adminEvents lists the tenant's admin events, oldest first.
func adminEvents(t *testing.T, env *httpapitest.Env, tid string) []map[string]any {
	t.Helper()
	r := env.Admin(t, "GET", "/admin/v1/tenants/"+tid+"/events?limit=500", nil)
	var out []map[string]any
	for _, e := range r.JSON(t)["events"].([]any) {
		if m := e.(map[string]any); strings.HasPrefix(m["type"].(string), identity.AdminEventPrefix) {
			out = append([]map[string]any{m}, out...)
		}
	}
	return out
}

// Ensure every admin write is decided in identity and recorded in the
// audit log as admin.<resource>.<action> with the names of the fields it
// changed, and that no secret (password, hash, API key, webhook secret,
// TOTP secret, recovery code) ever appears in an event.
func TestAdminWritesAreAudited(t *testing.T) {
	env := httpapitest.New(t, httpapitest.CheapArgon)
	r := env.Admin(t, "POST", "/admin/v1/tenants", map[string]any{"name": "Audit", "alias": "audit"})
	tid := r.JSON(t)["id"].(string)
	base := "/admin/v1/tenants/" + tid
	var secrets []string
	do := func(method, path string, body any) map[string]any {
		t.Helper()
		r := env.Admin(t, method, base+path, body)
		if r.Status >= 300 {
			t.Fatalf("%s %s: %d %s", method, path, r.Status, r.Body)
		}
		if len(r.Body) == 0 {
			return nil
		}
		return r.JSON(t)
	}
	do("PATCH", "", map[string]any{"name": "Audited", "settings": map[string]any{"rate_limit_account": "5/m"}})
	uid := do("POST", "/users", map[string]any{"email": "ada@example.com", "password": "first password", "first_name": "Ada"})["id"].(string)
	secrets = append(secrets, "first password", "second password", "argon2id")
	do("PATCH", "/users/"+uid, map[string]any{"password": "second password", "last_name": "Lovelace", "first_name": "Ada"})
	enrol := do("POST", "/users/"+uid+"/totp", nil)
	secrets = append(secrets, enrol["secret"].(string))
	do("DELETE", "/users/"+uid+"/totp", nil)
	do("DELETE", "/users/"+uid+"/throttle", nil)
	do("DELETE", "/users/"+uid+"/sessions", nil)
	key := do("POST", "/api-keys", map[string]any{"name": "app"})
	secrets = append(secrets, key["key"].(string))
	do("DELETE", "/api-keys/"+key["id"].(string), nil)
	oid := do("POST", "/organisations", map[string]any{"name": "Org"})["id"].(string)
	do("PATCH", "/organisations/"+oid, map[string]any{"description": "d"})
	do("DELETE", "/organisations/"+oid, nil)
	wh := do("POST", "/webhooks", map[string]any{"url": "https://hooks.example.com/x", "events": []string{"account.locked"}})
	secrets = append(secrets, wh["secret"].(string))
	do("PATCH", "/webhooks/"+wh["id"].(string), map[string]any{"events": []string{"account.logged-in"}})
	do("DELETE", "/webhooks/"+wh["id"].(string), nil)
	do("DELETE", "/users/"+uid, nil)

	want := []struct {
		typ    string
		fields string
	}{
		{"admin.tenant.created", "[name alias]"},
		{"admin.tenant.updated", "[name settings.rate_limit_account]"},
		{"admin.user.created", "[email password first_name]"},
		{"admin.user.updated", "[password last_name]"},
		{"admin.totp.started", "[]"},
		{"admin.totp.disabled", "[]"},
		{"admin.throttle.lifted", "[]"},
		{"admin.sessions.revoked", "[]"},
		{"admin.api_key.created", "[name]"},
		{"admin.api_key.revoked", "[]"},
		{"admin.organisation.created", "[name]"},
		{"admin.organisation.updated", "[description]"},
		{"admin.organisation.deleted", "[]"},
		{"admin.webhook.created", "[url events signing]"},
		{"admin.webhook.updated", "[events]"},
		{"admin.webhook.deleted", "[]"},
		{"admin.user.deleted", "[]"},
	}
	evs := adminEvents(t, env, tid)
	if len(evs) != len(want) {
		var got []string
		for _, e := range evs {
			got = append(got, e["type"].(string))
		}
		t.Fatalf("admin events %v, want %d", got, len(want))
	}
	for i, w := range want {
		data := evs[i]["data"].(map[string]any)
		if evs[i]["type"] != w.typ || fmt.Sprint(data["fields"]) != w.fields || data["actor"] != "admin" || data["id"] == "" {
			t.Errorf("event %d: %v %v, want %s %s", i, evs[i]["type"], data, w.typ, w.fields)
		}
	}
	all := env.Admin(t, "GET", base+"/events?limit=500", nil).Body
	for _, s := range secrets {
		if strings.Contains(string(all), s) {
			t.Fatalf("a secret (%.12s…) is in the audit log", s)
		}
	}
	// Admin events are audit entries, not webhook events: no endpoint can
	// subscribe to them.
	wantProblem(t, env.Admin(t, "POST", base+"/webhooks", map[string]any{"url": "https://hooks.example.com/y", "events": []string{"admin.user.updated"}}),
		http.StatusBadRequest, "events")
}

// Ensure admin revocations take the service's clock (not the wall clock):
// with the clock a month ahead, revoked_at is a month ahead.
func TestAdminUsesServiceClock(t *testing.T) {
	env := httpapitest.New(t, httpapitest.CheapArgon)
	tid := env.MustTenant(t, "clock")
	uid := env.MustUser(t, tid, map[string]any{"email": "c@example.com", "password": "a long password"})
	env.Do(t, "POST", "/v3/accounts/login", map[string]any{"accountId": tid, "email": "c@example.com", "password": "a long password"})
	key := env.Admin(t, "POST", "/admin/v1/tenants/"+tid+"/api-keys", map[string]any{"name": "k"}).JSON(t)["id"].(string)
	env.Advance(30 * 24 * time.Hour)
	env.Admin(t, "DELETE", "/admin/v1/tenants/"+tid+"/users/"+uid+"/sessions", nil)
	env.Admin(t, "DELETE", "/admin/v1/tenants/"+tid+"/api-keys/"+key, nil)
	sess := env.Admin(t, "GET", "/admin/v1/tenants/"+tid+"/users/"+uid+"/sessions", nil).JSON(t)["sessions"].([]any)[0].(map[string]any)
	k := env.Admin(t, "GET", "/admin/v1/tenants/"+tid+"/api-keys", nil).JSON(t)["api_keys"].([]any)[0].(map[string]any)
	for what, v := range map[string]any{"session revoked_at": sess["revoked_at"], "API key revoked_at": k["revoked_at"]} {
		at, err := time.Parse(time.RFC3339Nano, fmt.Sprint(v))
		if err != nil || at.Before(time.Now().Add(29*24*time.Hour)) {
			t.Errorf("%s = %v: the wall clock, not the service's", what, v)
		}
	}
}
