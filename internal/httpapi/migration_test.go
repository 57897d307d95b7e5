package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/httpapi/httpapitest"
	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/metrics"
	"github.com/latchauth/latch/internal/upstream"
	"github.com/latchauth/latch/internal/upstream/upstreamtest"
)

// migrationEnv is a server whose tenant "moving" migrates from a fake
// upstream of one dialect, and the way to log in to it in that dialect.
type migrationEnv struct {
	*httpapitest.Env
	up    *upstreamtest.Server
	tid   string
	login func(t *testing.T, email, password string) *httpapitest.Response
}

func newMigrationEnv(t *testing.T, dialect string, timeout time.Duration) *migrationEnv {
	t.Helper()
	m := metrics.New()
	client := upstream.New(true, timeout) // the fake upstream listens on loopback
	client.Observe = m.UpstreamCall
	e := &migrationEnv{Env: httpapitest.Start(t, httpapitest.Config{Argon: httpapitest.CheapArgon, Metrics: m, Upstream: client}),
		up: upstreamtest.New(t, dialect)}
	e.tid = e.MustTenant(t, "moving")
	r := e.Admin(t, "PATCH", "/admin/v1/tenants/"+e.tid, map[string]any{"settings": map[string]any{"migration": e.up.Migration()}})
	if r.Status != http.StatusOK {
		t.Fatalf("set migration: %d %s", r.Status, r.Body)
	}
	switch dialect {
	case identity.UpstreamAccountsV3:
		e.login = func(t *testing.T, email, password string) *httpapitest.Response {
			return e.Do(t, "POST", "/v3/accounts/login", map[string]any{"accountId": e.tid, "email": email, "password": password})
		}
	case identity.UpstreamAppAuth:
		e.login = func(t *testing.T, email, password string) *httpapitest.Response {
			return e.Do(t, "POST", "/api/v1/"+e.tid+"/auth/login", map[string]any{"email": email, "password": password})
		}
	case identity.UpstreamTokenLogin:
		key := e.Admin(t, "POST", "/admin/v1/tenants/"+e.tid+"/api-keys", map[string]any{"name": "app"}).JSON(t)["key"].(string)
		e.login = func(t *testing.T, email, password string) *httpapitest.Response {
			return e.Do(t, "POST", "/api/v1/Authentication/Login?APIKey="+key, map[string]any{"userName": email, "password": password})
		}
	}
	return e
}

// wantUnavailable checks a 503 with Retry-After in the dialect's error shape.
func wantUnavailable(t *testing.T, dialect string, r *httpapitest.Response) {
	t.Helper()
	if r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" {
		t.Fatalf("status %d, Retry-After %q: %s", r.Status, r.Header.Get("Retry-After"), r.Body)
	}
	m := r.JSON(t)
	var ok bool
	switch dialect {
	case identity.UpstreamAccountsV3:
		ok = m["code"] == "SERVICE_UNAVAILABLE" && m["message"] != ""
	case identity.UpstreamAppAuth:
		inner, _ := m["error"].(map[string]any)
		ok = inner["code"] == "service_unavailable"
	case identity.UpstreamTokenLogin:
		ok = m["Message"] != "" && m["StatusCode"] == 503.0
	}
	if !ok {
		t.Fatalf("not %s's error shape: %s", dialect, r.Body)
	}
}

// Ensure, for each dialect, through the real server: a first login known
// upstream answers latch's own tokens and creates the user with the
// answer's profile; the second login does not go upstream; an upstream
// refusal is the dialect's 401; an upstream that is down, answers 5xx or
// times out is a 503 with Retry-After in the dialect's error shape; and
// the calls are counted by outcome in /metrics.
func TestLazyMigrationPerDialect(t *testing.T) {
	for _, d := range []string{identity.UpstreamAccountsV3, identity.UpstreamAppAuth, identity.UpstreamTokenLogin} {
		t.Run(d, func(t *testing.T) {
			e := newMigrationEnv(t, d, 300*time.Millisecond)
			r := e.login(t, upstreamtest.Email, upstreamtest.Password)
			if r.Status != http.StatusOK {
				t.Fatalf("first login: %d %s", r.Status, r.Body)
			}
			body := string(r.Body)
			if strings.Contains(body, "upstream.access.token") || strings.Contains(body, "upstream-session") {
				t.Fatalf("latch passed the upstream's tokens on: %s", body)
			}
			u, err := e.Store.GetUserByEmail(t.Context(), e.tid, upstreamtest.Email)
			if err != nil || u.MigratedFrom != d {
				t.Fatalf("migrated user: %+v %v", u, err)
			}
			if au := e.Admin(t, "GET", "/admin/v1/tenants/"+e.tid+"/users/"+u.ID, nil).JSON(t); au["migrated_from"] != d || au["has_password"] != true {
				t.Fatalf("the admin API shows %v", au)
			}
			switch d {
			case identity.UpstreamAppAuth:
				user := r.JSON(t)["user"].(map[string]any)
				if user["first_name"] != "Grace" || user["language"] != "en" || user["market"] != "us" || user["email_verified"] != true {
					t.Fatalf("app-auth user: %v", user)
				}
			case identity.UpstreamTokenLogin:
				me := r.JSON(t)["Me"].(map[string]any)
				if me["ID"] != u.ID || me["FirstName"] != "Grace" || me["ImageURL"] != "https://img.example/grace.png" {
					t.Fatalf("token-login Me: %v", me)
				}
			}
			if r := e.login(t, upstreamtest.Email, upstreamtest.Password); r.Status != http.StatusOK || e.up.Hits() != 1 {
				t.Fatalf("second login: %d, %d upstream hits", r.Status, e.up.Hits())
			}
			if r := e.login(t, "nobody@example.com", upstreamtest.Password); r.Status != http.StatusUnauthorized || e.up.Hits() != 2 {
				t.Fatalf("refused upstream: %d %s, %d hits", r.Status, r.Body, e.up.Hits())
			}
			e.up.Fail(http.StatusInternalServerError)
			wantUnavailable(t, d, e.login(t, "new@example.com", upstreamtest.Password))
			e.up.Fail(0)
			e.up.Block() // answers only after the client's timeout
			wantUnavailable(t, d, e.login(t, "new@example.com", upstreamtest.Password))
			e.up.Release()
			down := e.up.Migration()
			down.BaseURL = upstreamtest.ClosedURL(t)
			if r := e.Admin(t, "PATCH", "/admin/v1/tenants/"+e.tid, map[string]any{"settings": map[string]any{"migration": down}}); r.Status != http.StatusOK {
				t.Fatalf("point at a closed port: %d %s", r.Status, r.Body)
			}
			wantUnavailable(t, d, e.login(t, "new@example.com", upstreamtest.Password))
			metricsText := string(e.Do(t, "GET", "/metrics", nil).Body)
			for outcome, n := range map[string]int{"ok": 1, "rejected": 1, "timeout": 1, "unavailable": 2} {
				want := fmt.Sprintf(`latch_migration_upstream_seconds_count{dialect=%q,outcome=%q} %d`, d, outcome, n)
				if !strings.Contains(metricsText, want) {
					t.Errorf("metrics lack %s", want)
				}
			}
		})
	}
}

// Ensure the admin API checks the migration setting naming the field,
// never shows the upstream API key back (only that one is set), keeps it
// through an update that leaves it out, and switches migration off when
// the setting is removed.
func TestLazyMigrationSettingOverAdminAPI(t *testing.T) {
	e := newMigrationEnv(t, identity.UpstreamTokenLogin, upstream.Timeout)
	path := "/admin/v1/tenants/" + e.tid
	r := e.Admin(t, "GET", path, nil)
	if strings.Contains(string(r.Body), upstreamtest.APIKey) || strings.Contains(string(r.Body), "api_key_sealed") ||
		!strings.Contains(string(r.Body), `"api_key_set":true`) {
		t.Fatalf("tenant shows: %s", r.Body)
	}
	wantProblem(t, e.Admin(t, "PATCH", path, map[string]any{"settings": map[string]any{"migration": map[string]any{"dialect": "x", "base_url": e.up.URL}}}),
		http.StatusBadRequest, "settings.migration.dialect")
	wantProblem(t, e.Admin(t, "PATCH", path, map[string]any{"settings": map[string]any{"migration": map[string]any{"dialect": "app-auth", "base_url": "not a url"}}}),
		http.StatusBadRequest, "settings.migration.base_url")
	kept := map[string]any{"dialect": "token-login", "base_url": e.up.URL}
	if r := e.Admin(t, "PATCH", path, map[string]any{"settings": map[string]any{"migration": kept}}); r.Status != http.StatusOK {
		t.Fatalf("update without the key: %d %s", r.Status, r.Body)
	}
	if r := e.login(t, upstreamtest.Email, upstreamtest.Password); r.Status != http.StatusOK {
		t.Fatalf("login with the kept key: %d %s", r.Status, r.Body)
	}
	if r := e.Admin(t, "PATCH", path, map[string]any{"settings": map[string]any{"migration": nil}}); r.Status != http.StatusOK ||
		strings.Contains(string(r.Body), "migration") {
		t.Fatalf("switch off: %d %s", r.Status, r.Body)
	}
	if r := e.login(t, "other@example.com", upstreamtest.Password); r.Status != http.StatusUnauthorized || e.up.Hits() != 1 {
		t.Fatalf("after switching off: %d, %d hits", r.Status, e.up.Hits())
	}
}

// Ensure user.migrated is an event webhooks subscribe to, delivered with
// the new user in the accounts-v3 shape.
func TestLazyMigrationWebhook(t *testing.T) {
	e := newMigrationEnv(t, identity.UpstreamAccountsV3, upstream.Timeout)
	rcv := newReceiver(t)
	e.Deliver(t, 5*time.Second)
	if r := e.Admin(t, "POST", "/admin/v1/tenants/"+e.tid+"/webhooks", map[string]any{"url": rcv.URL, "events": []string{identity.EventMigrated}}); r.Status != http.StatusCreated {
		t.Fatalf("endpoint: %d %s", r.Status, r.Body)
	}
	if r := e.login(t, upstreamtest.Email, upstreamtest.Password); r.Status != http.StatusOK {
		t.Fatalf("first login: %d %s", r.Status, r.Body)
	}
	got := rcv.wait(t, 1)
	var body struct {
		Event string         `json:"event"`
		Data  map[string]any `json:"data"`
	}
	if err := json.Unmarshal(got[0].body, &body); err != nil || body.Event != identity.EventMigrated || body.Data["email"] != "grace@example.com" {
		t.Fatalf("delivery %s (%v)", got[0].body, err)
	}
}
