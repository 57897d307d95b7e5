// Package httpapitest starts a complete latch HTTP server on a temporary
// SQLite store for tests and benchmarks, with a clock they can move.
package httpapitest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/httpapi"
	"github.com/latchauth/latch/internal/httpapi/openapitest"
	"github.com/latchauth/latch/internal/httpapi/wire"
	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/metrics"
	"github.com/latchauth/latch/internal/password"
	"github.com/latchauth/latch/internal/store/sqlite"
	"github.com/latchauth/latch/internal/token"
	"github.com/latchauth/latch/internal/webhook"
)

// AdminToken is the admin bearer token of every Env.
const AdminToken = "test-admin-token-0123456789"

// CheapArgon keeps tests fast; benchmarks that measure hashing pass their own.
var CheapArgon = password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// Env is a running server and handles on its parts.
type Env struct {
	URL     string
	Server  *httptest.Server
	Store   identity.Store
	Keys    *token.Keyring
	Service *identity.Service
	Hasher  *password.Hasher
	offset  *atomic.Int64
	cfg     Config
	// requests counts the requests in flight, for the dispatcher to give
	// way to them as it does in latch serve.
	requests webhook.Requests
}

// Now is the Env's clock: real time plus whatever Advance added.
func (e *Env) Now() time.Time { return time.Now().Add(time.Duration(e.offset.Load())) }

// Advance moves the clock forward.
func (e *Env) Advance(d time.Duration) { e.offset.Add(int64(d)) }

// New starts a server for tb with argon2 parameters p, on a SQLite file of
// its own.
func New(tb testing.TB, p password.Params) *Env {
	tb.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "latch.db"))
	if err != nil {
		tb.Fatal(err)
	}
	return NewOn(tb, p, db)
}

// NewOn starts a server for tb on db, which it closes when tb ends.
func NewOn(tb testing.TB, p password.Params, db identity.Store) *Env {
	tb.Helper()
	return Start(tb, Config{Argon: p, Store: db})
}

// Config is what Start needs; only Argon is required.
type Config struct {
	Argon       password.Params
	Store       identity.Store // nil: a SQLite file of the test's own
	CORSOrigins []string       // LATCH_CORS_ORIGINS
	Logger      *slog.Logger   // nil: discarded
	Metrics     *metrics.Metrics
	Upstream    identity.Upstream // lazy migration's upstream client; nil: none
}

// Start starts a server for tb as c says.
func Start(tb testing.TB, c Config) *Env {
	tb.Helper()
	ctx := context.Background()
	var err error
	db := c.Store
	if db == nil {
		if db, err = sqlite.Open(ctx, filepath.Join(tb.TempDir(), "latch.db")); err != nil {
			tb.Fatal(err)
		}
	}
	if c.Logger == nil {
		c.Logger = quiet
	}
	if c.Metrics == nil {
		c.Metrics = metrics.New()
	}
	p := c.Argon
	e := &Env{Store: db, offset: new(atomic.Int64), cfg: c}
	secret := []byte("httpapitest secret, at least 32 bytes")
	e.Keys, err = token.NewKeyring(ctx, db, token.KeyringConfig{Secret: secret, Alg: token.AlgEdDSA,
		Issuer: "https://latch.test", AccessTTL: 15 * time.Minute, Now: e.Now})
	if err != nil {
		tb.Fatal(err)
	}
	if e.Hasher, err = password.New(p); err != nil {
		tb.Fatal(err)
	}
	e.Service = identity.New(identity.Deps{Store: db, Passwords: e.Hasher, Signer: e.Keys, Codec: token.NewCodec(secret), Now: e.Now, Logger: quiet,
		TOTPSealer: token.NewSealer(secret, token.LabelTOTP), WebhookSealer: token.NewSealer(secret, token.LabelWebhook),
		MigrationSealer: token.NewSealer(secret, token.LabelMigration), Upstream: c.Upstream})
	e.Server = httptest.NewServer(record(tb, e.handler()))
	e.URL = e.Server.URL
	tb.Cleanup(func() {
		e.Server.Close()
		db.Close()
	})
	return e
}

// record checks every exchange h serves against the OpenAPI document
// (package openapitest), failing tb with each disagreement when it ends.
// Benchmarks are not checked: they measure the server alone.
func record(tb testing.TB, h http.Handler) http.Handler {
	tb.Helper()
	if _, bench := tb.(*testing.B); bench {
		return h
	}
	return openapitest.NewRecorder(tb).Handler(h)
}

func (e *Env) handler() http.Handler {
	// The test client is the only caller and sits on loopback; trusting it
	// as a proxy lets tests speak for other addresses with X-Forwarded-For.
	clients := &wire.ClientResolver{Trusted: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}}
	m := e.cfg.Metrics
	if m == nil {
		m = metrics.New()
	}
	log := e.cfg.Logger
	if log == nil {
		log = quiet
	}
	return e.requests.Handler(httpapi.NewServer(httpapi.Deps{Service: e.Service, Store: e.Store, Keys: e.Keys, CORSOrigins: e.cfg.CORSOrigins,
		Metrics: m, Clients: clients, AdminToken: AdminToken, Version: "test", Logger: log}))
}

// Twin starts a second server on the same store, keys and clock, as a
// second instance of one deployment. Its Auth is a copy, so that it can
// be given its own limiter.
func (e *Env) Twin(tb testing.TB) *Env {
	svc, auth := *e.Service, *e.Service.Auth
	svc.Auth = &auth
	t := &Env{Store: e.Store, Keys: e.Keys, Hasher: e.Hasher, Service: &svc, offset: e.offset, cfg: Config{CORSOrigins: e.cfg.CORSOrigins}}
	t.Server = httptest.NewServer(record(tb, t.handler()))
	t.URL = t.Server.URL
	tb.Cleanup(t.Server.Close)
	return t
}

// Deliver starts a webhook dispatcher on the Env's store and clock, woken
// by its logins and refreshes, sending to private addresses (receivers in
// tests listen on 127.0.0.1) with timeout; options change it before it
// runs. It stops when tb ends.
func (e *Env) Deliver(tb testing.TB, timeout time.Duration, options ...func(*webhook.Dispatcher)) *webhook.Dispatcher {
	d := &webhook.Dispatcher{Store: e.Store, Secret: e.Service.Webhooks.Secret, Render: httpapi.WebhookPayload(e.Service.Webhooks),
		Client: webhook.Guard{AllowPrivate: true}.Client(timeout), Logger: quiet, Now: e.Now, Requests: &e.requests}
	for _, o := range options {
		o(d)
	}
	e.Service.Auth.EventsWritten = d.Wake
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	tb.Cleanup(func() { cancel(); <-done })
	return d
}

// Response is a decoded answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a map.
func (r *Response) JSON(tb testing.TB) map[string]any {
	tb.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		tb.Fatalf("body is not a JSON object: %v: %s", err, r.Body)
	}
	return m
}

// Do sends a request; body may be a string (sent as is) or any value (sent
// as JSON). headers are name, value pairs.
func (e *Env) Do(tb testing.TB, method, path string, body any, headers ...string) *Response {
	tb.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	default:
		buf, _ := json.Marshal(b)
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, e.URL+path, rd)
	if err != nil {
		tb.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := e.Server.Client().Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return &Response{Status: res.StatusCode, Header: res.Header, Body: b}
}

// Admin sends an authenticated admin request.
func (e *Env) Admin(tb testing.TB, method, path string, body any) *Response {
	tb.Helper()
	return e.Do(tb, method, path, body, "Authorization", "Bearer "+AdminToken)
}

// MustTenant creates a tenant with alias through the admin API.
func (e *Env) MustTenant(tb testing.TB, alias string) string {
	tb.Helper()
	r := e.Admin(tb, "POST", "/admin/v1/tenants", map[string]any{"name": "Tenant " + alias, "alias": alias})
	if r.Status != http.StatusCreated {
		tb.Fatalf("create tenant: %d %s", r.Status, r.Body)
	}
	return r.JSON(tb)["id"].(string)
}

// MustUser creates a user through the admin API and returns its id.
func (e *Env) MustUser(tb testing.TB, tenantID string, fields map[string]any) string {
	tb.Helper()
	r := e.Admin(tb, "POST", "/admin/v1/tenants/"+tenantID+"/users", fields)
	if r.Status != http.StatusCreated {
		tb.Fatalf("create user: %d %s", r.Status, r.Body)
	}
	return r.JSON(tb)["id"].(string)
}

var quiet = slog.New(slog.DiscardHandler)

// Buffer collects what goroutines write (a server's log, a process's
// output) for the test to read while they run.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
