package console_test

import (
	"context"
	"crypto/sha256"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/console"
	"github.com/latchauth/latch/internal/identity"
)

const wantCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

func wantSecurityHeaders(t *testing.T, what string, r *response) {
	t.Helper()
	if got := r.Header.Get("Content-Security-Policy"); got != wantCSP {
		t.Errorf("%s: Content-Security-Policy %q", what, got)
	}
	if r.Header.Get("X-Frame-Options") != "DENY" || r.Header.Get("Referrer-Policy") != "no-referrer" || r.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("%s: headers %v", what, r.Header)
	}
}

// Ensure every console answer (the sign-in form, a page, an asset, a 404,
// a 403) carries a policy that allows no inline script or style, denies
// framing and sends no referrer; and that no page holds an inline script,
// style element or style attribute, which the policy would block.
func TestSecurityHeaders(t *testing.T) {
	e := start(t, options{adminToken: adminToken})
	tn := e.mustTenant(t, "acme")
	u := e.mustUser(t, tn.ID, "ada@example.com")
	stranger := e.browser(t)
	r := stranger.get("/console/")
	if r.Status != http.StatusOK || !strings.Contains(r.Body, `name="token"`) {
		t.Fatalf("a stranger gets %d %s", r.Status, r.Body)
	}
	wantSecurityHeaders(t, "sign-in form", r)
	wantSecurityHeaders(t, "stylesheet", stranger.get("/console/static/console.css"))
	wantSecurityHeaders(t, "403", stranger.do("POST", "/console/tenants", url.Values{"name": {"x"}}))

	op := e.browser(t).mustSignIn()
	for _, path := range []string{"/console/", "/console/tenants", "/console/tenants/" + tn.ID, "/console/tenants/" + tn.ID + "/users",
		"/console/tenants/" + tn.ID + "/users/" + u.ID, "/console/tenants/" + tn.ID + "/api-keys", "/console/tenants/" + tn.ID + "/webhooks",
		"/console/tenants/" + tn.ID + "/events", "/console/nowhere"} {
		r := op.get(path)
		wantSecurityHeaders(t, path, r)
		if path != "/console/nowhere" && r.Status != http.StatusOK {
			t.Errorf("%s: %d %s", path, r.Status, r.Body)
		}
		if r.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: Cache-Control %q", path, r.Header.Get("Cache-Control"))
		}
		for _, inline := range []string{"<script>", "<style", " style=", "javascript:", " onclick=", " onsubmit="} {
			if strings.Contains(r.Body, inline) {
				t.Errorf("%s holds %q", path, inline)
			}
		}
	}
}

// Ensure the console does not exist without an admin token: every path
// under it is 404, the sign-in route included.
func TestNoConsoleWithoutAdminToken(t *testing.T) {
	e := start(t, options{})
	b := e.browser(t)
	for _, r := range []*response{b.get("/console/"), b.get("/console/static/console.css"), b.get("/console/tenants"),
		b.signIn(""), b.signIn("anything")} {
		if r.Status != http.StatusNotFound || len(r.Header.Values("Set-Cookie")) != 0 {
			t.Errorf("without an admin token: %d %v %s", r.Status, r.Header, r.Body)
		}
	}
}

// Ensure signing in sets a random session id (never the admin token) in
// a cookie that is HttpOnly, SameSite=Strict, Path=/console and lives 12
// hours; Secure only over TLS, which a trusted proxy may say with
// X-Forwarded-Proto and an untrusted peer may not; and that the store
// keeps only the id's hash. A wrong token sets no cookie.
func TestSignInCookie(t *testing.T) {
	e := start(t, options{adminToken: adminToken})
	r := e.browser(t).signIn("wrong")
	if r.Status != http.StatusUnauthorized || len(r.Header.Values("Set-Cookie")) != 0 || !strings.Contains(r.Body, "admin token is incorrect") {
		t.Fatalf("wrong token: %d %v", r.Status, r.Header)
	}
	r = e.browser(t).signIn(adminToken)
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/console/" {
		t.Fatalf("sign in: %d %v", r.Status, r.Header)
	}
	c := cookie(t, r)
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/console" || c.MaxAge != 12*3600 || c.Secure {
		t.Errorf("cookie %+v", c)
	}
	if c.Value == adminToken || strings.Contains(c.Value, adminToken) || len(c.Value) < 40 {
		t.Errorf("cookie value %q", c.Value)
	}
	h := sha256.Sum256([]byte(c.Value))
	stored, err := e.Store.GetConsoleSession(context.Background(), h[:])
	if err != nil || !stored.ExpiresAt.Equal(stored.CreatedAt.Add(12*time.Hour)) || stored.IP != "127.0.0.1" {
		t.Fatalf("stored session %+v, %v", stored, err)
	}
	if _, err := e.Store.GetConsoleSession(context.Background(), []byte(c.Value)); identity.ErrorCode(err) != identity.ENOTFOUND {
		t.Errorf("the session id itself is a key: %v", err)
	}
	// A proxy's word on the scheme counts only from a trusted proxy.
	if c := cookie(t, e.browser(t).signIn(adminToken, "X-Forwarded-Proto", "https")); c.Secure {
		t.Errorf("an untrusted peer's X-Forwarded-Proto made the cookie Secure")
	}
	if c := cookie(t, start(t, options{adminToken: adminToken, tls: true}).browser(t).signIn(adminToken)); !c.Secure {
		t.Errorf("over TLS the cookie is not Secure: %+v", c)
	}
	proxied := start(t, options{adminToken: adminToken, trusted: loopback})
	if c := cookie(t, proxied.browser(t).signIn(adminToken, "X-Forwarded-Proto", "https")); !c.Secure {
		t.Errorf("behind a trusted proxy saying https the cookie is not Secure: %+v", c)
	}
	if c := cookie(t, proxied.browser(t).signIn(adminToken, "X-Forwarded-Proto", "http")); c.Secure {
		t.Errorf("behind a trusted proxy saying http the cookie is Secure")
	}
}

// Ensure every state change needs the session's CSRF token: a POST
// without it, with a wrong one, or with another session's is 403 and
// changes nothing; without a session it is 403 too.
func TestCSRF(t *testing.T) {
	e := start(t, options{adminToken: adminToken})
	tn := e.mustTenant(t, "acme")
	a, other := e.browser(t).mustSignIn(), e.browser(t).mustSignIn()
	create := func(b *browser, csrf *string, name string) *response {
		form := url.Values{"name": {name}}
		if csrf != nil {
			form.Set("csrf", *csrf)
		}
		return b.do("POST", "/console/tenants", form)
	}
	wrong, theirs := "AAAA", other.csrf()
	for name, r := range map[string]*response{
		"no token":           create(a, nil, "no token"),
		"wrong token":        create(a, &wrong, "wrong token"),
		"another session":    create(a, &theirs, "another session"),
		"no session":         create(e.browser(t), &theirs, "no session"),
		"revoke, no token":   a.do("POST", "/console/tenants/"+tn.ID+"/users/"+identity.NewID()+"/sessions/revoke", url.Values{"session": {"all"}}),
		"sign out, no token": a.do("POST", "/console/logout", url.Values{}),
	} {
		if r.Status != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", name, r.Status)
		}
	}
	ts, _, _ := e.Service.Admin.ListTenants(context.Background(), identity.Page{})
	if len(ts) != 1 {
		t.Fatalf("a refused POST created a tenant: %d tenants", len(ts))
	}
	if r := a.get("/console/"); r.Status != http.StatusOK || !strings.Contains(r.Body, "Sign out") {
		t.Fatalf("the refused sign-out signed out: %d", r.Status)
	}
	mine := a.csrf()
	if r := create(a, &mine, "with token"); r.Status != http.StatusSeeOther {
		t.Fatalf("with the token: %d %s", r.Status, r.Body)
	}
}

// Ensure sign-in attempts are limited like password logins: after five
// wrong tokens from an address each further attempt from it waits (429
// with Retry-After), the right token included, while other addresses
// sign in; the wait passes on the clock.
func TestSignInRateLimit(t *testing.T) {
	e := start(t, options{adminToken: adminToken, trusted: loopback})
	from := func(ip, token string) *response { return e.browser(t).signIn(token, "X-Forwarded-For", ip) }
	for i := range identity.FreeFailures {
		if r := from("203.0.113.9", "guess"); r.Status != http.StatusUnauthorized {
			t.Fatalf("wrong token %d: %d", i+1, r.Status)
		}
	}
	for _, token := range []string{"guess", adminToken} {
		r := from("203.0.113.9", token)
		if r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" || len(r.Header.Values("Set-Cookie")) != 0 {
			t.Fatalf("attempt after the free ones with %q: %d %v", token, r.Status, r.Header)
		}
	}
	if r := from("198.51.100.4", adminToken); r.Status != http.StatusSeeOther {
		t.Fatalf("another address: %d", r.Status)
	}
	e.Advance(2 * time.Second)
	if r := from("203.0.113.9", adminToken); r.Status != http.StatusSeeOther {
		t.Fatalf("after the wait: %d %s", r.Status, r.Body)
	}
}

// Ensure a console session ends 12 hours after sign-in: pages send the
// operator to the sign-in form (which brings them back), actions are
// 403.
func TestSessionExpiry(t *testing.T) {
	e := start(t, options{adminToken: adminToken})
	b := e.browser(t).mustSignIn()
	csrf := b.csrf()
	e.Advance(12*time.Hour - time.Minute)
	if r := b.get("/console/tenants"); r.Status != http.StatusOK {
		t.Fatalf("before expiry: %d", r.Status)
	}
	e.Advance(time.Minute)
	r := b.get("/console/tenants?cursor=x")
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/console/?next="+url.QueryEscape("/console/tenants?cursor=x") {
		t.Fatalf("after expiry: %d %v", r.Status, r.Header)
	}
	if r := b.do("POST", "/console/tenants", url.Values{"name": {"late"}, "csrf": {csrf}}); r.Status != http.StatusForbidden {
		t.Fatalf("action after expiry: %d", r.Status)
	}
	if r := b.get("/console/"); !strings.Contains(r.Body, `name="token"`) {
		t.Fatalf("the overview after expiry is not the sign-in form")
	}
}

// Ensure sign-out ends the session on the server, so that a copy of the
// cookie no longer works, and clears the cookie.
func TestSignOut(t *testing.T) {
	e := start(t, options{adminToken: adminToken})
	b := e.browser(t)
	id := cookie(t, b.signIn(adminToken)).Value
	r := b.post("/console/logout", nil)
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/console/?done=signed-out" {
		t.Fatalf("sign out: %d %v", r.Status, r.Header)
	}
	if c := cookie(t, r); c.MaxAge >= 0 || c.Value != "" || c.Path != "/console" {
		t.Errorf("the cookie is not cleared: %+v", c)
	}
	copy := e.browser(t)
	u, _ := url.Parse(e.URL + "/console/")
	copy.jar.SetCookies(u, []*http.Cookie{{Name: console.CookieName, Value: id, Path: "/console"}})
	if r := copy.get("/console/tenants"); r.Status != http.StatusSeeOther {
		t.Fatalf("a copy of the signed-out cookie still works: %d", r.Status)
	}
}

// Ensure console sessions live in the store, so that another instance
// honours them, and end when the admin token changes.
func TestSessionsSharedAndBoundToToken(t *testing.T) {
	a := start(t, options{adminToken: adminToken})
	b := start(t, options{adminToken: adminToken, store: a.Store, offset: a.offset})
	c := start(t, options{adminToken: "a-new-admin-token-after-rotation", store: a.Store, offset: a.offset})
	id := cookie(t, a.browser(t).signIn(adminToken)).Value
	for _, tc := range []struct {
		e    *env
		want int
	}{{b, http.StatusOK}, {c, http.StatusSeeOther}} {
		br := tc.e.browser(t)
		u, _ := url.Parse(tc.e.URL + "/console/")
		br.jar.SetCookies(u, []*http.Cookie{{Name: console.CookieName, Value: id, Path: "/console"}})
		if r := br.get("/console/tenants"); r.Status != tc.want {
			t.Errorf("on %s: %d, want %d", tc.e.URL, r.Status, tc.want)
		}
	}
}

// Ensure the sign-in form brings the operator back to the page they
// asked for, and only to a console page.
func TestSignInNext(t *testing.T) {
	e := start(t, options{adminToken: adminToken})
	for next, want := range map[string]string{
		"/console/tenants?cursor=abc": "/console/tenants?cursor=abc",
		"//evil.example/console/":     "/console/",
		"https://evil.example/":       "/console/",
		"/admin/v1/tenants":           "/console/",
		"/console/../admin":           "/console/",
		`/console/\evil`:              "/console/",
	} {
		r := e.browser(t).do("POST", "/console/login", url.Values{"token": {adminToken}, "next": {next}})
		if r.Status != http.StatusSeeOther || r.Header.Get("Location") != want {
			t.Errorf("next %q: %d %q, want %q", next, r.Status, r.Header.Get("Location"), want)
		}
	}
	r := e.browser(t).get("/console/?next=" + url.QueryEscape("/console/tenants"))
	if !strings.Contains(r.Body, `name="next" value="/console/tenants"`) {
		t.Errorf("the sign-in form does not carry next")
	}
}

// Ensure malformed and unknown ids are 404 pages, and POSTs with a bad
// form are refused without a 500.
func TestNotFound(t *testing.T) {
	e := start(t, options{adminToken: adminToken})
	tn := e.mustTenant(t, "acme")
	b := e.browser(t).mustSignIn()
	for _, path := range []string{"/console/tenants/not-an-id", "/console/tenants/" + identity.NewID(), "/console/tenants/" + identity.NewID() + "/users",
		"/console/tenants/" + tn.ID + "/users/" + identity.NewID(), "/console/tenants/" + tn.ID + "/users/%00", "/console/tenants/" + tn.ID + "/webhooks/" + identity.NewID(),
		"/console/missing"} {
		// (A NUL never reaches the console: the server refuses such paths first.)
		if r := b.get(path); r.Status != http.StatusNotFound || (!strings.Contains(path, "%00") && !strings.Contains(r.Body, "<h1>404")) {
			t.Errorf("%s: %d", path, r.Status)
		}
	}
	r := b.post("/console/tenants/"+tn.ID+"/webhooks/"+identity.NewID()+"/deliveries/"+identity.NewID()+"/redeliver", nil)
	if r.Status != http.StatusNotFound {
		t.Errorf("redeliver to an unknown endpoint: %d", r.Status)
	}
	r = b.do("POST", "/console/tenants", nil, "Content-Type", "application/x-www-form-urlencoded")
	if r.Status != http.StatusForbidden {
		t.Errorf("empty form: %d", r.Status)
	}
}
