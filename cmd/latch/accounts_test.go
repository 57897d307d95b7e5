package main_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/mail/smtptest"
)

// Ensure the password reset and email verification walkthrough works
// through the built binary on both stores, mailing through a real SMTP
// server the test runs (LATCH_SMTP_URL): forgot answers the same for
// known and unknown addresses, the mail and the webhook carry one token,
// the reset ends every session of every dialect, the old password stops
// and the new one works; forged, reused and deleted-user tokens are 400
// with code token_invalid; a tenant that requires a verified email
// refuses the login until the mailed link was followed.
func TestPasswordResetThroughBinary(t *testing.T) {
	bin := buildLatch(t)
	onEachStore(t, func(t *testing.T, db string) { resetWalkthrough(t, bin, db) })
}

var resetTokenRE = regexp.MustCompile(`l(pr|ev)1_[A-Za-z0-9_-]{43}`)

func resetWalkthrough(t *testing.T, bin, db string) {
	srv := smtptest.Start(t)
	hooks := make(chan map[string]any, 20)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		hooks <- body
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rcv.Close()
	const admin = "reset-admin-token-0123456789"
	addr := freePort(t)
	base := "http://" + addr
	p := start(t, bin, t.TempDir(), []string{"LATCH_DB=" + db, "LATCH_SECRET=reset walkthrough secret of 32+ bytes",
		"LATCH_ADMIN_TOKEN=" + admin, "LATCH_LISTEN=" + addr, "LATCH_ISSUER=" + base, "LATCH_WEBHOOK_ALLOW_PRIVATE=true",
		"LATCH_SMTP_URL=" + srv.URL("Acme <no-reply@acme.example>")}, "serve")
	auth := []string{"Authorization", "Bearer " + admin}
	st, tenant := call(t, "POST", base+"/admin/v1/tenants", map[string]any{"name": "Acme", "settings": map[string]any{
		"password_reset_url": "https://app.acme.example/reset?token={token}", "email_verified_url": "https://app.acme.example/verified"}}, auth...)
	if st != http.StatusCreated {
		t.Fatalf("tenant: %d %v", st, tenant)
	}
	tid := tenant["id"].(string)
	for _, email := range []string{"ada@example.com", "bob@example.com"} {
		if st, u := call(t, "POST", base+"/admin/v1/tenants/"+tid+"/users", map[string]any{"email": email, "password": "correct horse battery"}, auth...); st != http.StatusCreated {
			t.Fatalf("user: %d %v", st, u)
		}
	}
	if st, w := call(t, "POST", base+"/admin/v1/tenants/"+tid+"/webhooks", map[string]any{"url": rcv.URL,
		"events": []string{"user.password-reset-requested", "password.reset"}}, auth...); st != http.StatusCreated {
		t.Fatalf("webhook: %d %v", st, w)
	}
	_, kb := call(t, "POST", base+"/admin/v1/tenants/"+tid+"/api-keys", map[string]any{"name": "app"}, auth...)
	key := url.QueryEscape(kb["key"].(string))

	// A session in each dialect.
	creds := map[string]any{"accountId": tid, "email": "ada@example.com", "password": "correct horse battery"}
	st, v3 := call(t, "POST", base+"/v3/accounts/login", creds)
	if st != http.StatusOK {
		t.Fatalf("accounts-v3 login: %d %v", st, v3)
	}
	_, aa := call(t, "POST", base+"/api/v1/"+tid+"/auth/login", creds)
	_, tl := call(t, "POST", base+"/api/v1/Authentication/Login?APIKey="+key, map[string]any{"userName": "ada@example.com",
		"password": "correct horse battery", "generateReAuthenticationToken": true, "deviceName": "phone"})
	if aa["refresh_token"] == nil || tl["ReAuthenticationToken"] == "" {
		t.Fatalf("logins: %v %v", aa, tl)
	}

	// Forgot: the same answer for an unknown address as for a known one.
	forgot := base + "/auth/v1/" + tid + "/password/forgot"
	st1, known := send(t, "POST", forgot, "application/json", `{"email":"ada@example.com"}`)
	st2, unknown := send(t, "POST", forgot, "application/json", `{"email":"nobody@example.com"}`)
	if st1 != http.StatusAccepted || st1 != st2 || known != unknown {
		t.Fatalf("forgot: %d %s vs unknown %d %s", st1, known, st2, unknown)
	}
	if st, b := send(t, "POST", forgot, "application/json", `{"email":"not an address"}`); st != http.StatusBadRequest || !strings.Contains(b, `"field":"email"`) {
		t.Fatalf("forgot with a malformed address: %d %s", st, b)
	}
	m := srv.Next(t, time.Minute)
	tok := resetTokenRE.FindString(m.Text)
	if m.To[0] != "ada@example.com" || m.From != "no-reply@acme.example" || tok == "" ||
		!strings.Contains(m.Text, "https://app.acme.example/reset?token="+tok) || !strings.Contains(m.HTML, tok) {
		t.Fatalf("mail: %+v", m)
	}
	select {
	case h := <-hooks:
		if h["event"] != "user.password-reset-requested" || h["token"] != tok {
			t.Fatalf("webhook: %v, want the mailed token", h)
		}
	case <-time.After(time.Minute):
		t.Fatal("no webhook for the reset request")
	}

	reset := base + "/auth/v1/" + tid + "/password/reset"
	for _, c := range []struct{ body, want string }{
		{`{"token":"lpr1_` + strings.Repeat("A", 43) + `","password":"a new horse battery"}`, `"code":"token_invalid"`},
		{`{"token":"` + tok + `","password":"short"}`, `"field":"password"`},
		{`{"password":"a new horse battery"}`, `"field":"token"`},
		{`{"token":`, `"code":"syntax"`},
	} {
		if st, b := send(t, "POST", reset, "application/json", c.body); st != http.StatusBadRequest || !strings.Contains(b, c.want) {
			t.Errorf("reset %s: %d %s, want 400 with %s", c.body, st, b, c.want)
		}
	}
	if st, b := send(t, "POST", reset, "application/json", `{"token":"`+tok+`","password":"a new horse battery"}`); st != http.StatusNoContent {
		t.Fatalf("reset: %d %s", st, b)
	}
	if st, b := send(t, "POST", reset, "application/json", `{"token":"`+tok+`","password":"another password"}`); st != http.StatusBadRequest || !strings.Contains(b, `"code":"token_invalid"`) {
		t.Fatalf("reused token: %d %s", st, b)
	}

	// Every session ended, each dialect answering in its own shape.
	if st, b := call(t, "POST", base+"/v3/accounts/login-refresh-token", map[string]any{"refreshToken": v3["refreshToken"]}); st != http.StatusBadRequest || b["code"] != "INVALID_REFRESH_TOKEN" {
		t.Errorf("accounts-v3 refresh after the reset: %d %v", st, b)
	}
	if st, b := call(t, "POST", base+"/api/v1/"+tid+"/auth/refresh", map[string]any{"refresh_token": aa["refresh_token"]}); st != http.StatusUnauthorized {
		t.Errorf("app-auth refresh after the reset: %d %v", st, b)
	}
	if st, b := call(t, "POST", base+"/api/v1/Authentication/TokenLogin?APIKey="+key, map[string]any{"reAuthenticationToken": tl["ReAuthenticationToken"]}); st != http.StatusUnauthorized {
		t.Errorf("token-login TokenLogin after the reset: %d %v", st, b)
	}
	if st, _ := call(t, "POST", base+"/v3/accounts/login", creds); st != http.StatusUnauthorized {
		t.Errorf("the old password: %d", st)
	}
	creds["password"] = "a new horse battery"
	if st, b := call(t, "POST", base+"/v3/accounts/login", creds); st != http.StatusOK {
		t.Fatalf("the new password: %d %v", st, b)
	}

	// A user deleted between forgot and reset.
	send(t, "POST", forgot, "application/json", `{"email":"bob@example.com"}`)
	bobTok := resetTokenRE.FindString(srv.Next(t, time.Minute).Text)
	_, bob := call(t, "GET", base+"/admin/v1/tenants/"+tid+"/users?email=bob@example.com", nil, auth...)
	bid := bob["users"].([]any)[0].(map[string]any)["id"].(string)
	if st, _ := call(t, "DELETE", base+"/admin/v1/tenants/"+tid+"/users/"+bid, nil, auth...); st != http.StatusNoContent {
		t.Fatalf("delete bob: %d", st)
	}
	if st, b := send(t, "POST", reset, "application/json", `{"token":"`+bobTok+`","password":"a new horse battery"}`); st != http.StatusBadRequest || !strings.Contains(b, "token_invalid") {
		t.Fatalf("a deleted user's token: %d %s", st, b)
	}

	// Verified email required: refused, mailed a link, followed, allowed.
	if st, b := call(t, "PATCH", base+"/admin/v1/tenants/"+tid, map[string]any{"settings": map[string]any{"require_verified_email": true,
		"email_verified_url": "https://app.acme.example/verified"}}, auth...); st != http.StatusOK {
		t.Fatalf("require verified email: %d %v", st, b)
	}
	if st, b := call(t, "POST", base+"/v3/accounts/login", creds); st != http.StatusUnauthorized || b["code"] != "EMAIL_NOT_VERIFIED" {
		t.Fatalf("login with an unverified email: %d %v", st, b)
	}
	if st, b := call(t, "POST", base+"/api/v1/"+tid+"/auth/login", creds); st != http.StatusUnauthorized || !strings.Contains(b["error"].(map[string]any)["message"].(string), "verif") {
		t.Fatalf("app-auth login with an unverified email: %d %v", st, b)
	}
	if st, _ := send(t, "POST", base+"/auth/v1/"+tid+"/verify/send", "application/json", `{"email":"ada@example.com"}`); st != http.StatusAccepted {
		t.Fatalf("verify/send: %d", st)
	}
	vm := srv.Next(t, time.Minute)
	link := regexp.MustCompile(`http://\S+/verify\?token=\S+`).FindString(vm.Text)
	if !strings.HasPrefix(link, base+"/auth/v1/"+tid+"/verify?token=lev1_") {
		t.Fatalf("verification mail without a link to latch:\n%s", vm.Text)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, want := range []string{"https://app.acme.example/verified?status=verified", "https://app.acme.example/verified?status=invalid"} {
		res, err := noFollow.Get(link)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != want {
			t.Fatalf("following the link: %d %s, want 303 to %s", res.StatusCode, res.Header.Get("Location"), want)
		}
	}
	if st, b := call(t, "POST", base+"/v3/accounts/login", creds); st != http.StatusOK {
		t.Fatalf("login after verification: %d %v", st, b)
	}

	// Admin-issued tokens, and the mail metric.
	st, issued := call(t, "POST", base+"/admin/v1/tenants/"+tid+"/users/"+v3User(t, base, tid, auth)+"/password-reset-token", nil, auth...)
	if st != http.StatusCreated || !strings.HasPrefix(issued["token"].(string), "lpr1_") || issued["expires_at"] == nil {
		t.Fatalf("admin reset token: %d %v", st, issued)
	}
	// Counted once the SMTP server answered QUIT, just after it took the
	// mail: polled, with a generous deadline.
	var metrics string
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, metrics = send(t, "GET", base+"/metrics", "", ""); strings.Contains(metrics, `latch_mails_total{outcome="sent"} 3`) {
			break
		}
	}
	if !strings.Contains(metrics, `latch_mails_total{outcome="sent"} 3`) {
		t.Errorf("metrics lack three sent mails:\n%s", grepLines(metrics, "latch_mails"))
	}
	p.stop(t)
}

func v3User(t *testing.T, base, tid string, auth []string) string {
	t.Helper()
	_, list := call(t, "GET", base+"/admin/v1/tenants/"+tid+"/users?email=ada@example.com", nil, auth...)
	return list["users"].([]any)[0].(map[string]any)["id"].(string)
}
