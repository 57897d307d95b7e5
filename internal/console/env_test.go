package console_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/console"
	"github.com/latchauth/latch/internal/httpapi"
	"github.com/latchauth/latch/internal/httpapi/wire"
	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/metrics"
	"github.com/latchauth/latch/internal/password"
	"github.com/latchauth/latch/internal/ratelimit"
	"github.com/latchauth/latch/internal/store/sqlite"
	"github.com/latchauth/latch/internal/token"
	"github.com/latchauth/latch/internal/webhook"
)

const adminToken = "console-test-admin-token-0123456789"

var quiet = slog.New(slog.DiscardHandler)

// env is a complete latch server on a SQLite file of its own, with a clock
// tests move, an in-memory rate limiter on that clock, and (with hooks) a
// webhook dispatcher that may deliver to 127.0.0.1.
type env struct {
	URL     string
	Server  *httptest.Server
	Store   *sqlite.DB
	Service *identity.Service
	Metrics *metrics.Metrics
	Samples *console.Sampler
	Hooks   *webhook.Dispatcher
	offset  *atomic.Int64
	secret  []byte
	keys    *token.Keyring
}

type options struct {
	adminToken string // "" in a test of the console's absence; use adminToken otherwise
	trusted    []netip.Prefix
	hooks      bool
	tls        bool       // serve over TLS (a test certificate)
	store      *sqlite.DB // another instance on this store
	offset     *atomic.Int64
}

func (e *env) Now() time.Time          { return time.Now().Add(time.Duration(e.offset.Load())) }
func (e *env) Advance(d time.Duration) { e.offset.Add(int64(d)) }

func start(t *testing.T, o options) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{offset: o.offset, secret: []byte("console test secret, at least 32 bytes"), Store: o.store}
	if e.offset == nil {
		e.offset = new(atomic.Int64)
	}
	if e.Store == nil {
		db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "latch.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		e.Store = db
	}
	var err error
	e.keys, err = token.NewKeyring(ctx, e.Store, token.KeyringConfig{Secret: e.secret, Alg: token.AlgEdDSA, Issuer: "https://latch.test",
		AccessTTL: 15 * time.Minute, Now: e.Now})
	if err != nil {
		t.Fatal(err)
	}
	hasher, err := password.New(password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32})
	if err != nil {
		t.Fatal(err)
	}
	if o.hooks {
		e.Hooks = &webhook.Dispatcher{Store: e.Store, Client: webhook.Guard{AllowPrivate: true}.Client(5 * time.Second),
			RetryBase: 50 * time.Millisecond, Poll: 20 * time.Millisecond, SampleEvery: time.Hour, Logger: quiet, Now: e.Now}
	}
	deps := identity.Deps{Store: e.Store, Passwords: hasher, Signer: e.keys, Codec: token.NewCodec(e.secret), Now: e.Now, Logger: quiet,
		TOTPSealer: token.NewSealer(e.secret, token.LabelTOTP), WebhookSealer: token.NewSealer(e.secret, token.LabelWebhook),
		MigrationSealer: token.NewSealer(e.secret, token.LabelMigration), Limiter: ratelimit.NewMemory(e.Now), Config: identity.Config{IPLimit: ratelimit.Limit{Count: 1000, Period: time.Minute}},
		AdminToken: o.adminToken}
	if e.Hooks != nil {
		deps.EventsWritten = e.Hooks.Wake
	}
	e.Service = identity.New(deps)
	e.Metrics = metrics.New()
	e.Samples = console.NewSampler(e.Metrics)
	server := httpapi.Deps{Service: e.Service, Store: e.Store, Keys: e.keys, Metrics: e.Metrics, AdminToken: o.adminToken, Version: "test",
		Logger: quiet, Clients: &wire.ClientResolver{Trusted: o.trusted}, ConsoleSamples: e.Samples}
	if e.Hooks != nil {
		e.Hooks.Secret, e.Hooks.Render = e.Service.Webhooks.Secret, httpapi.WebhookPayload(e.Service.Webhooks)
		server.Webhooks = e.Hooks
		dctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { e.Hooks.Run(dctx); close(done) }()
		t.Cleanup(func() { cancel(); <-done })
	}
	if o.tls {
		e.Server = httptest.NewTLSServer(httpapi.NewServer(server))
	} else {
		e.Server = httptest.NewServer(httpapi.NewServer(server))
	}
	e.URL = e.Server.URL
	t.Cleanup(e.Server.Close)
	return e
}

// loopback is the test client's address, trusted as a proxy where a test
// speaks for other addresses or says it came over TLS.
var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// response is an answer read in full.
type response struct {
	Status int
	Header http.Header
	Body   string
}

// browser is an HTTP client with a cookie jar that does not follow
// redirects, so that tests see every answer.
type browser struct {
	t   *testing.T
	e   *env
	c   *http.Client
	jar *cookiejar.Jar
}

func (e *env) browser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, e: e, jar: jar, c: &http.Client{Jar: jar, Transport: e.Server.Client().Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) do(method, path string, form url.Values, headers ...string) *response {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.e.URL+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	buf, _ := io.ReadAll(res.Body)
	return &response{Status: res.StatusCode, Header: res.Header, Body: string(buf)}
}

func (b *browser) get(path string) *response { b.t.Helper(); return b.do("GET", path, nil) }

// post sends a form with the CSRF token of the session's pages.
func (b *browser) post(path string, form url.Values) *response {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", b.csrf())
	return b.do("POST", path, form)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf reads the CSRF token from the overview's forms.
func (b *browser) csrf() string {
	b.t.Helper()
	m := csrfRE.FindStringSubmatch(b.get("/console/").Body)
	if m == nil {
		b.t.Fatal("no CSRF token on the overview: not signed in?")
	}
	return m[1]
}

// signIn signs the browser in and returns the sign-in answer.
func (b *browser) signIn(token string, headers ...string) *response {
	b.t.Helper()
	return b.do("POST", "/console/login", url.Values{"token": {token}}, headers...)
}

// mustSignIn signs in with the admin token.
func (b *browser) mustSignIn() *browser {
	b.t.Helper()
	if r := b.signIn(adminToken); r.Status != http.StatusSeeOther {
		b.t.Fatalf("sign in: %d %s", r.Status, r.Body)
	}
	return b
}

// cookie returns the console cookie as the server set it.
func cookie(t *testing.T, r *response) *http.Cookie {
	t.Helper()
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Name == console.CookieName {
			return c
		}
	}
	t.Fatalf("no %s cookie in %v", console.CookieName, r.Header)
	return nil
}

// mustTenant creates a tenant through the identity use case.
func (e *env) mustTenant(t *testing.T, alias string) *identity.Tenant {
	t.Helper()
	name := "Tenant " + alias
	tn, err := e.Service.Admin.CreateTenant(context.Background(), identity.TenantInput{Name: &name, Alias: &alias})
	if err != nil {
		t.Fatal(err)
	}
	return tn
}

// mustUser creates a user with a password.
func (e *env) mustUser(t *testing.T, tid, email string) *identity.User {
	t.Helper()
	pw := "correct horse battery"
	u, err := e.Service.Admin.CreateUser(context.Background(), tid, identity.UserInput{Email: &email, Password: &pw})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// login logs a user in through accounts-v3 and returns the refresh token.
func (e *env) login(t *testing.T, tid, email string) string {
	t.Helper()
	body := `{"accountId":"` + tid + `","email":"` + email + `","password":"correct horse battery"}`
	res, err := http.Post(e.URL+"/v3/accounts/login", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("accounts-v3 login: %d %s", res.StatusCode, b)
	}
	m := regexp.MustCompile(`"refreshToken":"([^"]+)"`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no refresh token in %s", b)
	}
	return string(m[1])
}
