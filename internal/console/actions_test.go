package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/mfa"
)

func wantStatus(t *testing.T, what string, r *response, status int, body ...string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("%s: %d, want %d: %s", what, r.Status, status, r.Body)
	}
	for _, b := range body {
		if !strings.Contains(r.Body, b) {
			t.Fatalf("%s: the page does not say %q:\n%s", what, b, r.Body)
		}
	}
}

var alertRE = regexp.MustCompile(`<p class="error" role="alert">([^<]*)</p>`)

// alert is the error message a page shows, "" when none.
func alert(r *response) string {
	if m := alertRE.FindStringSubmatch(r.Body); m != nil {
		return m[1]
	}
	return ""
}

func wantRedirect(t *testing.T, what string, r *response, to string) {
	t.Helper()
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != to {
		t.Fatalf("%s: %d to %q, want 303 to %q: %s", what, r.Status, r.Header.Get("Location"), to, r.Body)
	}
}

// adminEvents returns the tenant's admin events, newest first.
func adminEvents(t *testing.T, e *env, tid string) []*identity.Event {
	t.Helper()
	evs, _, err := e.Service.Admin.ListEvents(context.Background(), tid, identity.EventFilter{}, identity.Page{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	return slices.DeleteFunc(evs, func(ev *identity.Event) bool { return !strings.HasPrefix(ev.Type, identity.AdminEventPrefix) })
}

// Ensure tenants are created and their settings saved from the console,
// with the field named on a mistake and what was typed kept; and that
// each action is audited as the console's.
func TestTenantActions(t *testing.T) {
	e := start(t, options{adminToken: adminToken})
	b := e.browser(t).mustSignIn()
	ctx := context.Background()

	r := b.post("/console/tenants", url.Values{"name": {"Acme"}, "alias": {"acme"}})
	loc := r.Header.Get("Location")
	m := regexp.MustCompile(`^/console/tenants/([0-9a-f-]{36})\?done=tenant-created$`).FindStringSubmatch(loc)
	if r.Status != http.StatusSeeOther || m == nil {
		t.Fatalf("create: %d %q", r.Status, loc)
	}
	tid := m[1]
	wantStatus(t, "the new tenant", b.get(loc), http.StatusOK, "Tenant created.", "Acme")
	wantStatus(t, "a taken alias", b.post("/console/tenants", url.Values{"name": {"Other"}, "alias": {"acme"}}), http.StatusConflict,
		"alias: another tenant has this alias", `value="Other"`)

	settings := "/console/tenants/" + tid + "/settings"
	form := url.Values{"name": {"Acme Inc"}, "alias": {"acme"}, "session_lifetime_seconds": {"3600"}, "refresh_grace_seconds": {""},
		"rate_limit_ip": {"20/m"}, "cors_origins": {"HTTPS://App.Example/\r\nhttps://b.example, https://c.example"}, "rotate_reauthentication_tokens": {"on"},
		"require_verified_email": {"on"}, "mail_from": {"Acme <no-reply@acme.example>"}, "password_reset_url": {"https://app.example/reset?t={token}"},
		"email_verified_url": {"https://app.example/verified"}}
	wantRedirect(t, "save settings", b.post(settings, form), "/console/tenants/"+tid+"?done=settings-saved")
	tn, _ := e.Service.Admin.GetTenant(ctx, tid)
	st := tn.Settings
	if tn.Name != "Acme Inc" || st.SessionLifetimeSeconds != 3600 || st.RateLimitIP != "20/m" || !st.RotateReauthTokens || st.AllowSingleFactorDialects ||
		!slices.Equal(st.CORSOrigins, []string{"https://app.example", "https://b.example", "https://c.example"}) ||
		!st.RequireVerifiedEmail || st.MailFrom != `"Acme" <no-reply@acme.example>` || st.PasswordResetURL != "https://app.example/reset?t={token}" ||
		st.EmailVerifiedURL != "https://app.example/verified" {
		t.Fatalf("saved settings: %+v %+v", tn, st)
	}
	page := b.get("/console/tenants/" + tid)
	wantStatus(t, "the settings form", page, http.StatusOK, "https://app.example\nhttps://b.example\nhttps://c.example", `value="3600"`, `value="20/m"`)
	for field, bad := range map[string]string{"session_lifetime_seconds": "an hour", "cors_origins": "*", "rate_limit_ip": "fast", "refresh_grace_seconds": "301",
		"mail_from": "nobody", "password_reset_url": "https://app.example/reset"} {
		f := url.Values{"name": {"Acme Inc"}}
		f.Set(field, bad)
		r := b.post(settings, f)
		wantStatus(t, "bad "+field, r, http.StatusBadRequest)
		if msg := alert(r); !strings.Contains(msg, field) {
			t.Errorf("bad %s: the error %q does not name the field", field, msg)
		}
		if !strings.Contains(r.Body, url.QueryEscape(bad)) && !strings.Contains(r.Body, bad) {
			t.Errorf("bad %s: what was typed is not kept", field)
		}
	}
	if tn2, _ := e.Service.Admin.GetTenant(ctx, tid); tn2.Settings.SessionLifetimeSeconds != 3600 {
		t.Fatal("a refused form changed the settings")
	}
	evs := adminEvents(t, e, tid)
	if len(evs) != 2 || evs[0].Type != "admin.tenant.updated" || evs[1].Type != "admin.tenant.created" {
		t.Fatalf("audit: %v", evs)
	}
	for _, ev := range evs {
		if ev.Data["via"] != "console" || ev.Data["actor"] != "admin" {
			t.Errorf("%s: data %v", ev.Type, ev.Data)
		}
	}
}

// Ensure users are created, found by the start of their email a page at
// a time, disabled and enabled, their two-factor reset, their throttle
// lifted and their sessions revoked one at a time or all at once.
func TestUserActions(t *testing.T) {
	e := start(t, options{adminToken: adminToken})
	tn := e.mustTenant(t, "acme")
	b := e.browser(t).mustSignIn()
	ctx := context.Background()
	users := "/console/tenants/" + tn.ID + "/users"

	r := b.post(users, url.Values{"email": {"not an email"}, "password": {"secret password"}, "first_name": {"Ada"}})
	wantStatus(t, "a bad email", r, http.StatusBadRequest, "email: must be an email address", `value="not an email"`, `value="Ada"`)
	if strings.Contains(r.Body, "secret password") {
		t.Fatal("the password is sent back")
	}
	r = b.post(users, url.Values{"email": {"ada@example.com"}, "password": {"correct horse battery"}, "username": {""}})
	if r.Status != http.StatusSeeOther || !strings.HasSuffix(r.Header.Get("Location"), "?done=user-created") {
		t.Fatalf("create user: %d %v", r.Status, r.Header)
	}
	u, err := e.Store.GetUserByEmail(ctx, tn.ID, "ada@example.com")
	if err != nil || u.Username != "" || u.PasswordHash == "" {
		t.Fatalf("created %+v, %v", u, err)
	}
	for i := range 55 {
		e.mustUser(t, tn.ID, fmt.Sprintf("bob%02d@example.com", i))
	}
	r = b.get(users + "?q=" + url.QueryEscape(" BOB"))
	wantStatus(t, "search", r, http.StatusOK, "bob00@example.com", "bob49@example.com", "Next page")
	if strings.Contains(r.Body, "ada@example.com") || strings.Contains(r.Body, "bob50@example.com") {
		t.Fatal("the first page of bob holds ada or more than 50")
	}
	next := regexp.MustCompile(`href="\?q=BOB&amp;cursor=([^"]+)"`).FindStringSubmatch(r.Body)
	if next == nil {
		t.Fatalf("no next-page link keeping the search: %s", r.Body)
	}
	r = b.get(users + "?q=BOB&cursor=" + next[1])
	wantStatus(t, "page 2", r, http.StatusOK, "bob50@example.com", "bob54@example.com", "First page")
	wantStatus(t, "no match", b.get(users+"?q=zed"), http.StatusOK, "No user's email starts with “zed”.")

	// Two sessions; one revoked, then all.
	e.login(t, tn.ID, "bob01@example.com")
	bob, _ := e.Store.GetUserByEmail(ctx, tn.ID, "bob01@example.com")
	bobPath := users + "/" + bob.ID
	e.login(t, tn.ID, "bob01@example.com")
	sessions, _, _ := e.Service.Admin.ListUserSessions(ctx, tn.ID, bob.ID, identity.Page{})
	wantStatus(t, "bob's page", b.get(bobPath), http.StatusOK, "(2 live)", "account.logged-in")
	wantRedirect(t, "revoke one", b.post(bobPath+"/sessions/revoke", url.Values{"session": {sessions[0].ID}}), bobPath+"?done=session-revoked")
	after, _, _ := e.Service.Admin.ListUserSessions(ctx, tn.ID, bob.ID, identity.Page{})
	if !after[0].Revoked() || after[1].Revoked() {
		t.Fatalf("revoked one: %v %v", after[0].Revoked(), after[1].Revoked())
	}
	adaSession := e.login(t, tn.ID, "ada@example.com")
	_ = adaSession
	adaSessions, _, _ := e.Service.Admin.ListUserSessions(ctx, tn.ID, u.ID, identity.Page{})
	wantStatus(t, "another user's session", b.post(bobPath+"/sessions/revoke", url.Values{"session": {adaSessions[0].ID}}), http.StatusNotFound)
	wantStatus(t, "no session named", b.post(bobPath+"/sessions/revoke", url.Values{}), http.StatusBadRequest, "session: name the session")
	wantRedirect(t, "revoke all", b.post(bobPath+"/sessions/revoke", url.Values{"session": {"all"}}), bobPath+"?done=sessions-revoked")
	after, _, _ = e.Service.Admin.ListUserSessions(ctx, tn.ID, bob.ID, identity.Page{})
	if !after[1].Revoked() {
		t.Fatal("revoke all left a session")
	}
	wantStatus(t, "bob's page after", b.get(bobPath+"?done=sessions-revoked"), http.StatusOK, "(0 live)", "All sessions revoked.")

	// Disable and enable.
	wantRedirect(t, "disable", b.post(bobPath+"/status", url.Values{"status": {"disabled"}}), bobPath+"?done=user-disabled")
	if got, _ := e.Service.Admin.GetUser(ctx, tn.ID, bob.ID); got.Status != identity.StatusDisabled {
		t.Fatalf("status %s", got.Status)
	}
	wantStatus(t, "a disabled user's page", b.get(bobPath), http.StatusOK, "Enable user")
	wantStatus(t, "a bad status", b.post(bobPath+"/status", url.Values{"status": {"gone"}}), http.StatusBadRequest, "status: must be")
	wantRedirect(t, "enable", b.post(bobPath+"/status", url.Values{"status": {"active"}}), bobPath+"?done=user-enabled")

	// Two-factor on, then reset.
	en, err := e.Service.SecondFactor.BeginTOTP(ctx, tn.ID, bob.ID)
	if err != nil {
		t.Fatal(err)
	}
	code, _ := mfa.CodeAt(en.Secret, mfa.Step(e.Now()), mfa.Digits)
	if _, err := e.Service.SecondFactor.ConfirmTOTP(ctx, tn.ID, bob.ID, code); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "two-factor on", b.get(bobPath), http.StatusOK, "10 recovery codes left", "Reset two-factor")
	wantRedirect(t, "reset two-factor", b.post(bobPath+"/totp/reset", nil), bobPath+"?done=totp-reset")
	if got, _ := e.Service.Admin.GetUser(ctx, tn.ID, bob.ID); got.TwoFactorEnabled {
		t.Fatal("two-factor still on")
	}
	wantRedirect(t, "lift throttle", b.post(bobPath+"/throttle/lift", nil), bobPath+"?done=throttle-lifted")
	wantStatus(t, "an unknown user", b.post(users+"/"+identity.NewID()+"/throttle/lift", nil), http.StatusNotFound)

	var types []string
	for _, ev := range adminEvents(t, e, tn.ID) {
		if ev.Data["via"] == "console" {
			types = append(types, ev.Type)
		}
	}
	for _, want := range []string{"admin.user.created", "admin.session.revoked", "admin.sessions.revoked", "admin.user.updated",
		"admin.totp.disabled", "admin.throttle.lifted"} {
		if !slices.Contains(types, want) {
			t.Errorf("no %s via the console among %v", want, types)
		}
	}
	if slices.Contains(types, "admin.totp.started") {
		t.Error("an enrolment through identity is marked as the console's")
	}
}

// Ensure API keys are made with the key shown on that answer only, and
// revoked.
func TestAPIKeyActions(t *testing.T) {
	e := start(t, options{adminToken: adminToken})
	tn := e.mustTenant(t, "acme")
	b := e.browser(t).mustSignIn()
	keys := "/console/tenants/" + tn.ID + "/api-keys"
	wantStatus(t, "no name", b.post(keys, url.Values{"name": {" "}}), http.StatusBadRequest, "name: is required")
	r := b.post(keys, url.Values{"name": {"mobile"}})
	wantStatus(t, "create", r, http.StatusCreated, "Copy it now")
	key := regexp.MustCompile(`lak1_[A-Za-z0-9_-]{40,}`).FindString(r.Body)
	if key == "" {
		t.Fatalf("no key shown: %s", r.Body)
	}
	if got, err := e.Service.Auth.TenantForAPIKey(context.Background(), key); err != nil || got.ID != tn.ID {
		t.Fatalf("the shown key does not work: %v", err)
	}
	list := b.get(keys)
	if strings.Contains(list.Body, key) || !strings.Contains(list.Body, key[:11]) {
		t.Fatal("the key is shown again, or its start is not")
	}
	ks, _ := e.Service.Admin.ListAPIKeys(context.Background(), tn.ID)
	wantRedirect(t, "revoke", b.post(keys+"/"+ks[0].ID+"/revoke", nil), keys+"?done=key-revoked")
	if _, err := e.Service.Auth.TenantForAPIKey(context.Background(), key); err == nil {
		t.Fatal("a revoked key works")
	}
	wantStatus(t, "revoke unknown", b.post(keys+"/"+identity.NewID()+"/revoke", nil), http.StatusNotFound)
}

// Ensure webhook endpoints are made with the secret shown once, re-enabled,
// pinged (or told that delivery does not run here).
func TestWebhookActions(t *testing.T) {
	for _, hooks := range []bool{false, true} {
		t.Run(fmt.Sprint("hooks=", hooks), func(t *testing.T) {
			e := start(t, options{adminToken: adminToken, hooks: hooks})
			tn := e.mustTenant(t, "acme")
			recv := newHookReceiver(t)
			b := e.browser(t).mustSignIn()
			hooksPath := "/console/tenants/" + tn.ID + "/webhooks"
			wantStatus(t, "bad url", b.post(hooksPath, url.Values{"url": {"ftp://x"}, "events": {identity.EventLoggedIn}}), http.StatusBadRequest, "url: must be")
			wantStatus(t, "no events", b.post(hooksPath, url.Values{"url": {recv.URL}}), http.StatusBadRequest, "events: name at least one")
			r := b.post(hooksPath, url.Values{"url": {recv.URL}, "events": {identity.EventLoggedIn, identity.EventLoginFailed}, "signing": {"accounts-v3"}})
			wantStatus(t, "create", r, http.StatusCreated, "whsec_", "shown this once")
			eps, _ := e.Service.Webhooks.List(context.Background(), tn.ID)
			if len(eps) != 1 || eps[0].Signing != "accounts-v3" || len(eps[0].Events) != 2 {
				t.Fatalf("created %+v", eps)
			}
			ep := eps[0]
			page := hooksPath + "/" + ep.ID
			if strings.Contains(b.get(hooksPath).Body, "whsec_") || strings.Contains(b.get(page).Body, "whsec_") {
				t.Fatal("the secret is shown again")
			}
			// Unhealthy, then re-enabled.
			ep.Status, ep.ConsecutiveFailures, ep.FailingSince = identity.WebhookSuspended, 9, e.Now().Add(-time.Hour)
			if err := e.Store.UpdateWebhook(context.Background(), ep); err != nil {
				t.Fatal(err)
			}
			wantStatus(t, "suspended", b.get(page), http.StatusOK, "suspended", "9 failures in a row", "Re-enable")
			wantRedirect(t, "re-enable", b.post(page+"/enable", nil), page+"?done=webhook-enabled")
			if got, _ := e.Service.Webhooks.Get(context.Background(), tn.ID, ep.ID); got.Status != identity.WebhookHealthy {
				t.Fatalf("status %s", got.Status)
			}
			r = b.post(page+"/test", nil)
			if hooks {
				wantStatus(t, "ping", r, http.StatusOK, "Test ping:", "HTTP 204")
			} else {
				wantStatus(t, "ping without delivery", r, http.StatusServiceUnavailable, "Webhook delivery is not running in this process")
			}
		})
	}
}

// Ensure the audit log is filtered by type, user (id or email) and time,
// pages keep the filters, and bad filters name the field.
func TestAuditLog(t *testing.T) {
	e := start(t, options{adminToken: adminToken})
	tn := e.mustTenant(t, "acme")
	ada := e.mustUser(t, tn.ID, "ada@example.com")
	e.mustUser(t, tn.ID, "bob@example.com")
	b := e.browser(t).mustSignIn()
	events := "/console/tenants/" + tn.ID + "/events"
	t0 := e.Now()
	e.Advance(time.Hour)
	for range 3 {
		e.login(t, tn.ID, "ada@example.com")
		e.login(t, tn.ID, "bob@example.com")
	}
	r := b.get(events + "?type=account.logged-in&user=ADA@example.com")
	wantStatus(t, "by type and email", r, http.StatusOK, "account.logged-in")
	if n := strings.Count(r.Body, `<span class="ev">account.logged-in</span>`); n != 3 || strings.Contains(r.Body, "bob@example.com") {
		t.Fatalf("ada's logins: %d rows", n)
	}
	if !strings.Contains(r.Body, `href="/console/tenants/`+tn.ID+`/users/`+ada.ID+`">ada@example.com</a>`) {
		t.Fatal("a login does not link to its user")
	}
	r = b.get(events + "?user=" + ada.ID + "&until=" + url.QueryEscape(t0.Add(time.Minute).UTC().Format("2006-01-02T15:04:05")))
	// Creating her is audited (admin.user.created) and a lifecycle event (user.created).
	if n := strings.Count(r.Body, `<span class="ev">`); n != 2 || !strings.Contains(r.Body, "admin.user.created") ||
		!strings.Contains(r.Body, `<span class="ev">user.created</span>`) {
		t.Fatalf("ada's events before the hour: %d: %s", n, r.Body)
	}
	r = b.get(events + "?since=" + url.QueryEscape(t0.Add(30*time.Minute).UTC().Format(time.RFC3339)))
	if n := strings.Count(r.Body, `<span class="ev">`); n != 6 {
		t.Fatalf("events since: %d", n)
	}
	wantStatus(t, "bad since", b.get(events+"?since=yesterday"), http.StatusBadRequest, "since: must be a time")
	wantStatus(t, "unknown email", b.get(events+"?user=nobody@example.com"), http.StatusBadRequest, "no user of this tenant has the email")
	wantStatus(t, "bad user", b.get(events+"?user=x"), http.StatusBadRequest, "user: must be a user id or an email")
	for i := range 60 {
		e.login(t, tn.ID, []string{"ada@example.com", "bob@example.com"}[i%2])
	}
	r = b.get(events + "?type=account.logged-in")
	more := regexp.MustCompile(`href="(\?[^"]+)" rel="next"`).FindStringSubmatch(r.Body)
	if more == nil || !strings.Contains(more[1], "type=account.logged-in") || !strings.Contains(more[1], "cursor=") {
		t.Fatalf("no next page keeping the filter: %v", more)
	}
	r = b.get(events + strings.ReplaceAll(more[1], "&amp;", "&"))
	if n := strings.Count(r.Body, `<span class="ev">account.logged-in</span>`); n != 16 {
		t.Fatalf("page 2: %d logins", n)
	}
}

// Ensure a delivery is redelivered from the console: the receiver gets
// the event again with the same webhook-id, the attempt is logged, and the
// action is audited.
func TestRedeliver(t *testing.T) {
	e := start(t, options{adminToken: adminToken, hooks: true})
	tn := e.mustTenant(t, "acme")
	e.mustUser(t, tn.ID, "ada@example.com")
	recv := newHookReceiver(t)
	hookURL := recv.URL
	ep, _, err := e.Service.Webhooks.Create(context.Background(), tn.ID, identity.WebhookInput{URL: &hookURL, Events: &[]string{identity.EventLoggedIn}},
		func() string { return "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" })
	if err != nil {
		t.Fatal(err)
	}
	e.login(t, tn.ID, "ada@example.com")
	waitFor(t, "the login's delivery", func() bool { return len(recv.got()) == 1 })
	b := e.browser(t).mustSignIn()
	page := "/console/tenants/" + tn.ID + "/webhooks/" + ep.ID
	var eventID string
	waitFor(t, "the delivery in the log", func() bool {
		m := regexp.MustCompile(`/deliveries/([0-9a-f-]{36})/redeliver`).FindStringSubmatch(b.get(page).Body)
		if m != nil {
			eventID = m[1]
		}
		return m != nil
	})
	wantRedirect(t, "redeliver", b.post(page+"/deliveries/"+eventID+"/redeliver", nil), page+"?done=redelivered")
	waitFor(t, "the redelivery", func() bool { return len(recv.got()) == 2 })
	if ids := recv.got(); ids[0] != ids[1] {
		t.Fatalf("webhook-ids %v", ids)
	}
	waitFor(t, "the logged attempt", func() bool { return strings.Count(b.get(page).Body, "HTTP 204") == 2 })
	evs := adminEvents(t, e, tn.ID)
	if evs[0].Type != "admin.delivery.redelivered" || evs[0].Data["via"] != "console" || evs[0].Data["event_id"] != eventID || evs[0].UserID != "" {
		t.Fatalf("audit %+v", evs[0])
	}
	wantStatus(t, "an unknown event", b.post(page+"/deliveries/"+identity.NewID()+"/redeliver", nil), http.StatusNotFound)
}

// Ensure a user with many sessions gets a page of the newest 50, says
// how many are not listed, and still counts every live one.
func TestManySessions(t *testing.T) {
	e := start(t, options{adminToken: adminToken})
	tn := e.mustTenant(t, "acme")
	u := e.mustUser(t, tn.ID, "ada@example.com")
	for range 52 {
		e.login(t, tn.ID, "ada@example.com")
	}
	r := e.browser(t).mustSignIn().get("/console/tenants/" + tn.ID + "/users/" + u.ID)
	wantStatus(t, "user", r, http.StatusOK, "(52 live)", "2 older sessions are not listed.")
	if n := strings.Count(r.Body, `name="session" value="`) - strings.Count(r.Body, `name="session" value="all"`); n != 50 {
		t.Fatalf("%d sessions listed", n)
	}
}

// Ensure the tenant page shows a lazy-migration setting without its API
// key, and saving the settings form keeps the setting, sealed key and all.
func TestTenantMigrationShownAndKept(t *testing.T) {
	e := start(t, options{adminToken: adminToken})
	b := e.browser(t).mustSignIn()
	ctx := context.Background()
	name, alias := "Moving", "moving"
	tn, err := e.Service.Admin.CreateTenant(ctx, identity.TenantInput{Name: &name, Alias: &alias, Settings: &identity.TenantSettings{
		Migration: &identity.TenantMigration{Dialect: identity.UpstreamTokenLogin, BaseURL: "https://old.example.com", APIKey: "upstream-key-1"}}})
	if err != nil {
		t.Fatal(err)
	}
	page := b.get("/console/tenants/" + tn.ID)
	wantStatus(t, "the tenant page", page, http.StatusOK, "Lazy migration", "https://old.example.com", "token-login", "an API key is set")
	if strings.Contains(page.Body, "upstream-key-1") {
		t.Fatal("the page shows the upstream API key")
	}
	wantRedirect(t, "save settings", b.post("/console/tenants/"+tn.ID+"/settings", url.Values{"name": {"Moving"}, "alias": {"moving"}}),
		"/console/tenants/"+tn.ID+"?done=settings-saved")
	got, _ := e.Service.Admin.GetTenant(ctx, tn.ID)
	if m := got.Settings.Migration; m == nil || m.BaseURL != "https://old.example.com" || !slices.Equal(m.APIKeySealed, tn.Settings.Migration.APIKeySealed) {
		t.Fatalf("after saving the form: %+v", got.Settings.Migration)
	}
}
