package accountsv3_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/httpapi/httpapitest"
	"github.com/latchauth/latch/internal/password"
	"github.com/latchauth/latch/internal/store/postgres"
	"github.com/latchauth/latch/internal/store/postgres/postgrestest"
)

// pgEnv is a server on a PostgreSQL schema of its own; dbURL may point
// through a proxy.
func pgEnv(tb testing.TB, p password.Params, dbURL string) *httpapitest.Env {
	tb.Helper()
	db, err := postgres.Open(context.Background(), dbURL)
	if err != nil {
		tb.Fatal(err)
	}
	return httpapitest.NewOn(tb, p, db)
}

// Ensure the accounts-v3 flow holds on PostgreSQL: login, rotation, the
// grace window and reuse detection.
func TestPostgresLoginRefreshReuse(t *testing.T) {
	env := pgEnv(t, httpapitest.CheapArgon, postgrestest.URL(t))
	f := &fixture{Env: env, alias: "pg"}
	f.tenant = env.MustTenant(t, f.alias)
	f.user = env.MustUser(t, f.tenant, map[string]any{"email": "ada@example.com", "password": pw})
	_, first := f.mustLogin(t)
	r := f.refresh(t, first)
	if r.Status != http.StatusOK {
		t.Fatalf("refresh: %d %s", r.Status, r.Body)
	}
	second := r.JSON(t)["refreshToken"].(string)
	if again := f.refresh(t, first); again.Status != http.StatusOK || again.JSON(t)["refreshToken"] != second {
		t.Fatalf("grace retry: %d %s", again.Status, again.Body)
	}
	f.Advance(11 * time.Second)
	wantError(t, f.refresh(t, first), http.StatusConflict, "REFRESH_TOKEN_REUSED")
	wantError(t, f.refresh(t, second), http.StatusBadRequest, "INVALID_REFRESH_TOKEN")
}

// tcpProxy forwards connections to target until stopped; started again,
// it listens on the same address.
type tcpProxy struct {
	addr, target string
	mu           sync.Mutex
	ln           net.Listener
	conns        map[net.Conn]bool
}

func newProxy(t *testing.T, target string) *tcpProxy {
	p := &tcpProxy{target: target, conns: map[net.Conn]bool{}}
	p.start(t, "127.0.0.1:0")
	t.Cleanup(p.stop)
	return p
}

func (p *tcpProxy) start(t *testing.T, addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns[c], p.conns[up] = true, true
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
}

// stop closes the listener and cuts every connection, as a database
// restart or a network partition would.
func (p *tcpProxy) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ln.Close()
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

// Ensure that when the database goes away, /readyz turns 503 and logins and
// refreshes answer 503 with Retry-After (never 500, never a panic), and
// that the server recovers by itself when the database is back.
func TestPostgresOutage(t *testing.T) {
	dbURL, err := url.Parse(postgrestest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	proxy := newProxy(t, dbURL.Host)
	dbURL.Host = proxy.addr
	env := pgEnv(t, httpapitest.CheapArgon, dbURL.String())
	f := &fixture{Env: env, alias: "outage"}
	f.tenant = env.MustTenant(t, f.alias)
	f.user = env.MustUser(t, f.tenant, map[string]any{"email": "ada@example.com", "password": pw})
	_, rt := f.mustLogin(t)

	proxy.stop()
	r := f.Do(t, "GET", "/readyz", nil)
	if r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" {
		t.Fatalf("readyz during the outage: %d %q", r.Status, r.Header.Get("Retry-After"))
	}
	for range 3 {
		r = f.login(t, map[string]any{"accountId": f.tenant, "email": "ada@example.com", "password": pw})
		wantError(t, r, http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE")
		retryAfter(t, r)
		r = f.refresh(t, rt)
		wantError(t, r, http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE")
		retryAfter(t, r)
	}

	proxy.start(t, proxy.addr)
	deadline := time.Now().Add(30 * time.Second)
	for f.Do(t, "GET", "/readyz", nil).Status != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("readyz did not recover within 30 s of the database's return")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if r := f.refresh(t, rt); r.Status != http.StatusOK {
		t.Fatalf("refresh after recovery: %d %s", r.Status, r.Body)
	}
	f.mustLogin(t)
}
