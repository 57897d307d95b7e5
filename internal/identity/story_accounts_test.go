package identity_test

import (
	"context"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/mail"
	"github.com/latchauth/latch/internal/mail/smtptest"
	"github.com/latchauth/latch/internal/ratelimit"
)

// mailStory is a story whose service mails through the real sender to a
// real SMTP server the test started.
func mailStory(tb testing.TB) (*story, *smtptest.Server) {
	tb.Helper()
	srv := smtptest.Start(tb)
	server, err := mail.ParseURL(srv.URL("no-reply@example.com"))
	if err != nil {
		tb.Fatal(err)
	}
	sender := mail.NewSender(server, slog.New(slog.DiscardHandler), nil)
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	go sender.Run(ctx)
	s := MustStory(tb, ratelimit.Limit{}, func(d *identity.Deps) { d.Mailer, d.PublicURL = sender, "https://auth.example.com" })
	return s, srv
}

var tokenRE = regexp.MustCompile(`l(pr|ev)1_[A-Za-z0-9_-]{43}`)

// tokenIn returns the token a mail carries.
func tokenIn(tb testing.TB, m smtptest.Message) string {
	tb.Helper()
	tok := tokenRE.FindString(m.Text)
	if tok == "" || !strings.Contains(m.HTML, tok) {
		tb.Fatalf("no token in both parts of the mail:\n%s\n%s", m.Text, m.HTML)
	}
	return tok
}

func (s *story) forgot(tb testing.TB, email string) {
	tb.Helper()
	if err := s.Accounts.ForgotPassword(context.Background(), s.tenant.ID, email, identity.Client{IP: "192.0.2.9"}); err != nil {
		tb.Fatalf("ForgotPassword(%s): %v", email, err)
	}
}

func (s *story) reset(tok, password string) string {
	return identity.ErrorCode(s.Accounts.ResetPassword(context.Background(), s.tenant.ID, tok, password, identity.Client{IP: "192.0.2.9"}))
}

// Ensure a forgotten password is mailed as a one-time token: the reset
// sets the password, ends every session, records password.reset, and the
// token then no longer works; the old password neither.
func TestPasswordResetByMail(t *testing.T) {
	s, srv := mailStory(t)
	session := s.mustLogin(t, "192.0.2.1")
	s.forgot(t, " ADA@example.com ")
	m := srv.Next(t, 30*time.Second)
	if m.To[0] != "ada@example.com" || !strings.Contains(m.Subject, "Acme") {
		t.Fatalf("mail to %v, subject %q", m.To, m.Subject)
	}
	tok := tokenIn(t, m)
	if !strings.HasPrefix(tok, identity.PrefixPasswordReset+"_") {
		t.Fatalf("token %q lacks its prefix", tok)
	}
	if got := len(s.events(t, identity.EventPasswordResetRequested)); got != 1 {
		t.Fatalf("%d reset-requested events, want 1", got)
	}
	if code := s.reset(tok, "short"); code != identity.EINVALID {
		t.Fatalf("a too short password: %q", code)
	}
	if code := s.reset(tok, "a new horse battery"); code != "" {
		t.Fatalf("reset: %q", code)
	}
	if _, code := s.refresh(session.RefreshToken); code != identity.ETOKENINVALID {
		t.Fatalf("a session from before the reset refreshed: %q", code)
	}
	if code := s.reset(tok, "yet another password"); code != identity.ETOKENINVALID {
		t.Fatalf("the token worked twice: %q", code)
	}
	if code := s.login(t, "192.0.2.1", pw); code != identity.EUNAUTHENTICATED {
		t.Fatalf("the old password: %q", code)
	}
	if code := s.login(t, "192.0.2.1", "a new horse battery"); code != "" {
		t.Fatalf("the new password: %q", code)
	}
	evs := s.events(t, identity.EventPasswordReset)
	if len(evs) != 1 || evs[0].UserID != s.user.ID {
		t.Fatalf("password.reset events: %+v", evs)
	}
}

// Ensure a reset token expires after an hour, by the service's clock.
func TestPasswordResetExpires(t *testing.T) {
	s := MustStory(t, ratelimit.Limit{})
	tok, exp, err := s.Accounts.IssuePasswordReset(context.Background(), s.tenant.ID, s.user.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := s.clock.Now().Add(time.Hour); !exp.Equal(want) {
		t.Fatalf("expires at %v, want %v", exp, want)
	}
	s.clock.Advance(time.Hour)
	if code := s.reset(tok, "a new horse battery"); code != identity.ETOKENINVALID {
		t.Fatalf("an expired token: %q", code)
	}
}

// Ensure a newer token retires an older one, and a password change (by
// an admin) retires every outstanding token, while a rehash on login
// does not.
func TestPasswordResetRetired(t *testing.T) {
	s := MustStory(t, ratelimit.Limit{})
	ctx := context.Background()
	older, _, _ := s.Accounts.IssuePasswordReset(ctx, s.tenant.ID, s.user.ID)
	newer, _, _ := s.Accounts.IssuePasswordReset(ctx, s.tenant.ID, s.user.ID)
	if code := s.reset(older, "a new horse battery"); code != identity.ETOKENINVALID {
		t.Fatalf("the older token: %q", code)
	}
	// A login (which may rehash) leaves the token usable.
	s.mustLogin(t, "192.0.2.1")
	name := "Augusta"
	if _, err := s.Admin.UpdateUser(ctx, s.tenant.ID, s.user.ID, identity.UserInput{FirstName: &name}); err != nil {
		t.Fatal(err)
	}
	if code := s.reset(newer, "a new horse battery"); code != "" {
		t.Fatalf("the newer token after a login and an update that kept the password: %q", code)
	}
	third, _, _ := s.Accounts.IssuePasswordReset(ctx, s.tenant.ID, s.user.ID)
	p := "set by the admin"
	if _, err := s.Admin.UpdateUser(ctx, s.tenant.ID, s.user.ID, identity.UserInput{Password: &p}); err != nil {
		t.Fatal(err)
	}
	if code := s.reset(third, "a new horse battery"); code != identity.ETOKENINVALID {
		t.Fatalf("a token from before a password change: %q", code)
	}
}

// Ensure a token is refused when forged, of another kind, of another
// tenant, or its user was deleted.
func TestPasswordResetRefusals(t *testing.T) {
	s := MustStory(t, ratelimit.Limit{})
	ctx := context.Background()
	for _, tok := range []string{"lpr1_" + strings.Repeat("A", 43), "nonsense", "lrt1.x.y", strings.Repeat("x", 300)} {
		if code := s.reset(tok, "a new horse battery"); code != identity.ETOKENINVALID {
			t.Fatalf("forged token %q: %q", tok, code)
		}
	}
	verify, _, _ := s.Accounts.IssueVerification(ctx, s.tenant.ID, s.user.ID)
	if code := s.reset(verify, "a new horse battery"); code != identity.ETOKENINVALID {
		t.Fatalf("a verification token reset a password: %q", code)
	}
	tok, _, _ := s.Accounts.IssuePasswordReset(ctx, s.tenant.ID, s.user.ID)
	name := "Other"
	other, _ := s.Admin.CreateTenant(ctx, identity.TenantInput{Name: &name})
	if err := s.Accounts.ResetPassword(ctx, other.ID, tok, "a new horse battery", identity.Client{}); identity.ErrorCode(err) != identity.ETOKENINVALID {
		t.Fatalf("a token used at another tenant: %v", err)
	}
	if err := s.Admin.DeleteUser(ctx, s.tenant.ID, s.user.ID); err != nil {
		t.Fatal(err)
	}
	if code := s.reset(tok, "a new horse battery"); code != identity.ETOKENINVALID {
		t.Fatalf("a token of a deleted user: %q", code)
	}
}

// Ensure a forgotten password for an unknown address answers exactly like
// one for a known address, sends nothing and records nothing, and that
// both are limited per address the same way.
func TestForgotPasswordNoEnumeration(t *testing.T) {
	s, srv := mailStory(t)
	ctx := context.Background()
	for range identity.DefaultMailLimit.Count {
		s.forgot(t, "nobody@example.com")
	}
	err := s.Accounts.ForgotPassword(ctx, s.tenant.ID, "nobody@example.com", identity.Client{IP: "192.0.2.9"})
	if identity.ErrorCode(err) != identity.ERATELIMITED {
		t.Fatalf("past the mail limit for an unknown address: %v", err)
	}
	for range identity.DefaultMailLimit.Count {
		s.forgot(t, "ada@example.com")
	}
	err = s.Accounts.ForgotPassword(ctx, s.tenant.ID, "ada@example.com", identity.Client{IP: "192.0.2.9"})
	if identity.ErrorCode(err) != identity.ERATELIMITED {
		t.Fatalf("past the mail limit for a known address: %v", err)
	}
	if evs := s.events(t, identity.EventPasswordResetRequested); len(evs) != identity.DefaultMailLimit.Count {
		t.Fatalf("%d events, want one per mail to the known address", len(evs))
	}
	for range identity.DefaultMailLimit.Count {
		if m := srv.Next(t, 30*time.Second); m.To[0] != "ada@example.com" {
			t.Fatalf("mail to %v", m.To)
		}
	}
	// The next mail is the one after the limit's period: none was sent
	// for the unknown address, nor past the limit.
	s.clock.Advance(time.Hour)
	s.forgot(t, "ada@example.com")
	if m := srv.Next(t, 30*time.Second); m.To[0] != "ada@example.com" || len(s.events(t, identity.EventPasswordResetRequested)) != identity.DefaultMailLimit.Count+1 {
		t.Fatalf("mail to %v", m.To)
	}
	if err := s.Accounts.ForgotPassword(ctx, s.tenant.ID, "not an address", identity.Client{}); identity.AsError(err).Field != "email" {
		t.Fatalf("a malformed address: %v", err)
	}
}

// Ensure concurrent resets with one token: exactly one wins.
func TestPasswordResetConcurrent(t *testing.T) {
	s := MustStory(t, ratelimit.Limit{})
	tok, _, _ := s.Accounts.IssuePasswordReset(context.Background(), s.tenant.ID, s.user.ID)
	codes := make(chan string, 6)
	for range 6 {
		go func() { codes <- s.reset(tok, "a new horse battery") }()
	}
	won := 0
	for range 6 {
		switch code := <-codes; code {
		case "":
			won++
		case identity.ETOKENINVALID:
		default:
			t.Fatalf("concurrent reset: %q", code)
		}
	}
	if won != 1 {
		t.Fatalf("%d concurrent resets won, want 1", won)
	}
}

// Ensure a verification link marks the email verified once, and a tenant
// that requires a verified email refuses the password login before,
// saying why, and not after.
func TestEmailVerification(t *testing.T) {
	s, srv := mailStory(t)
	ctx := context.Background()
	yes := true
	if _, err := s.Admin.UpdateTenant(ctx, s.tenant.ID, identity.TenantInput{Settings: &identity.TenantSettings{RequireVerifiedEmail: yes}}); err != nil {
		t.Fatal(err)
	}
	if code := s.login(t, "192.0.2.1", pw); code != identity.EEMAILUNVERIFIED {
		t.Fatalf("login with an unverified email: %q", code)
	}
	if code := s.login(t, "192.0.2.1", "wrong password"); code != identity.EUNAUTHENTICATED {
		t.Fatalf("a wrong password must not learn the email is unverified: %q", code)
	}
	if err := s.Accounts.SendVerification(ctx, s.tenant.ID, "ada@example.com", identity.Client{}); err != nil {
		t.Fatal(err)
	}
	m := srv.Next(t, 30*time.Second)
	tok := tokenIn(t, m)
	if !strings.Contains(m.Text, "https://auth.example.com/auth/v1/"+s.tenant.ID+"/verify?token="+tok) {
		t.Fatalf("the mail does not link to the verify route:\n%s", m.Text)
	}
	if _, err := s.Accounts.VerifyEmail(ctx, s.tenant.ID, tok, identity.Client{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Accounts.VerifyEmail(ctx, s.tenant.ID, tok, identity.Client{}); identity.ErrorCode(err) != identity.ETOKENINVALID {
		t.Fatalf("a verification link worked twice: %v", err)
	}
	if code := s.login(t, "192.0.2.1", pw); code != "" {
		t.Fatalf("login with a verified email: %q", code)
	}
	// Verified: asking again sends nothing (and answers the same); the
	// next mail is the one to another, unverified user.
	email := "bob@example.com"
	if _, err := s.Admin.CreateUser(ctx, s.tenant.ID, identity.UserInput{Email: &email}); err != nil {
		t.Fatal(err)
	}
	for _, to := range []string{"ada@example.com", email} {
		if err := s.Accounts.SendVerification(ctx, s.tenant.ID, to, identity.Client{}); err != nil {
			t.Fatal(err)
		}
	}
	if m := srv.Next(t, 30*time.Second); m.To[0] != email {
		t.Fatalf("a verified address got another mail: %v", m.To)
	}
}

// Ensure a tenant's mail settings are checked when saved.
func TestMailSettingsChecked(t *testing.T) {
	s := MustStory(t, ratelimit.Limit{})
	for field, st := range map[string]identity.TenantSettings{
		"settings.mail_from":           {MailFrom: "not an address"},
		"settings.password_reset_url":  {PasswordResetURL: "https://app.example.com/reset"},
		"settings.email_verified_url":  {EmailVerifiedURL: "javascript:alert(1)"},
		"settings.password_reset_mail": {PasswordResetMail: &identity.MailTemplate{Text: "{{.Nope}}"}},
		"settings.verification_mail":   {VerificationMail: &identity.MailTemplate{HTML: "{{"}},
	} {
		_, err := s.Admin.UpdateTenant(context.Background(), s.tenant.ID, identity.TenantInput{Settings: &st})
		if e := identity.AsError(err); e.Code != identity.EINVALID || e.Field != field {
			t.Errorf("%s: %v", field, err)
		}
	}
}

// Ensure the rehash of an imported hash at login is not a password
// change: a reset token issued before it still works.
func TestRehashKeepsResetToken(t *testing.T) {
	s := MustStory(t, ratelimit.Limit{})
	ctx := context.Background()
	email, hash := "old@example.com", "$2b$04$abcdefghijklmnopqrstuu7EJV7kdjBBQxyb0HjTh9KS7.Lah/6CG"
	u, err := s.Admin.CreateUser(ctx, s.tenant.ID, identity.UserInput{Email: &email, PasswordHash: &hash})
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := s.Accounts.IssuePasswordReset(ctx, s.tenant.ID, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	r := s.req("192.0.2.1", "correct horse battery staple")
	r.Email = email
	if _, err := s.Auth.Login(ctx, r); err != nil {
		t.Fatal(err)
	}
	if u, _ = s.db.GetUser(ctx, s.tenant.ID, u.ID); !strings.HasPrefix(u.PasswordHash, "$argon2id$") {
		t.Fatalf("no rehash at login: %q", u.PasswordHash)
	}
	if code := s.reset(tok, "a new horse battery"); code != "" {
		t.Fatalf("the token after a rehash: %q", code)
	}
}

// Ensure a webhook delivery of a reset request carries the token while
// it is usable, and not once it is spent.
func TestResetRequestWebhookToken(t *testing.T) {
	s := MustStory(t, ratelimit.Limit{})
	ctx := context.Background()
	s.forgot(t, "ada@example.com")
	ev := s.events(t, identity.EventPasswordResetRequested)[0]
	tok, err := s.Webhooks.EventToken(ctx, ev.Type, ev.ID)
	if err != nil || !strings.HasPrefix(tok, "lpr1_") {
		t.Fatalf("EventToken = %q, %v", tok, err)
	}
	if other, _ := s.Webhooks.EventToken(ctx, identity.EventLoggedIn, ev.ID); other != "" {
		t.Fatal("another event type carried the token")
	}
	if code := s.reset(tok, "a new horse battery"); code != "" {
		t.Fatalf("reset with the webhook's token: %q", code)
	}
	if tok, err := s.Webhooks.EventToken(ctx, ev.Type, ev.ID); tok != "" || err != nil {
		t.Fatalf("a spent token still delivered: %q, %v", tok, err)
	}
}

// Ensure a tenant's own sender, reset page and templates shape the mail,
// the parts it leaves empty keep the default, and the HTML escapes what
// it shows.
func TestResetMailTemplates(t *testing.T) {
	s, srv := mailStory(t)
	ctx := context.Background()
	name := "Acme <b>&</b>"
	st := identity.TenantSettings{MailFrom: "Acme Support <help@acme.example>", PasswordResetURL: "https://app.acme.example/reset/{token}",
		PasswordResetMail: &identity.MailTemplate{Subject: "{{.TenantName}}: new password for {{.Email}}", Text: "Go to {{.Link}} ({{.ValidFor}})\n"}}
	if _, err := s.Admin.UpdateTenant(ctx, s.tenant.ID, identity.TenantInput{Name: &name, Settings: &st}); err != nil {
		t.Fatal(err)
	}
	s.forgot(t, "ada@example.com")
	m := srv.Next(t, 30*time.Second)
	tok := tokenIn(t, m)
	if m.From != "help@acme.example" || m.Subject != "Acme <b>&</b>: new password for ada@example.com" ||
		m.Text != "Go to https://app.acme.example/reset/"+tok+" (1 hour)\n" {
		t.Fatalf("mail from %q, subject %q, text %q", m.From, m.Subject, m.Text)
	}
	if !strings.Contains(m.HTML, `href="https://app.acme.example/reset/`+tok+`"`) || !strings.Contains(m.HTML, "Acme &lt;b&gt;&amp;&lt;/b&gt;") {
		t.Fatalf("the default HTML part, escaped, with the tenant's link:\n%s", m.HTML)
	}
}

// counting is the real store, counting the calls a forgotten password
// makes, to show that an unknown address costs the same store work.
type counting struct {
	identity.Store
	mu    sync.Mutex
	calls []string
}

func (c *counting) note(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, name)
}

func (c *counting) GetUserByEmail(ctx context.Context, tenantID, email string) (*identity.User, error) {
	c.note("GetUserByEmail")
	return c.Store.GetUserByEmail(ctx, tenantID, email)
}

func (c *counting) CreateAccountToken(ctx context.Context, t *identity.AccountToken, events []identity.Event) error {
	c.note("CreateAccountToken")
	return c.Store.CreateAccountToken(ctx, t, events)
}

func (c *counting) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.calls
	c.calls = nil
	return out
}

// Ensure a forgotten password for an unknown, a disabled and a known
// address make the same store calls (the token write is attempted for
// nobody, and writes nothing).
func TestForgotPasswordSameStoreWork(t *testing.T) {
	var c *counting
	s := MustStory(t, ratelimit.Limit{}, func(d *identity.Deps) { c = &counting{Store: d.Store}; d.Store = c })
	ctx := context.Background()
	email, disabled := "off@example.com", identity.StatusDisabled
	if _, err := s.Admin.CreateUser(ctx, s.tenant.ID, identity.UserInput{Email: &email, Status: &disabled}); err != nil {
		t.Fatal(err)
	}
	var work [][]string
	for _, addr := range []string{"ada@example.com", "nobody@example.com", email} {
		c.take()
		s.forgot(t, addr)
		work = append(work, c.take())
	}
	for i, w := range work {
		if !slices.Equal(w, []string{"GetUserByEmail", "CreateAccountToken"}) {
			t.Fatalf("address %d: store calls %v, want the same for every address", i, w)
		}
	}
	if n := len(s.events(t, identity.EventPasswordResetRequested)); n != 1 {
		t.Fatalf("%d events, want one (the known, active address)", n)
	}
}
