// Package upstreamtest runs fake hosted login APIs for lazy-migration
// tests: each answers its dialect's login route in the reference page's
// shape, knows one user, counts the calls it gets and can be made to fail,
// stall or answer a status of the test's choosing.
package upstreamtest

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/latchauth/latch/internal/identity"
)

// The user every fake upstream knows.
const (
	Email     = "grace@example.com"
	UserName  = "grace"
	Password  = "upstream password 1"
	AccountID = "0c7b4a3e-7c1a-4c38-9f6c-1f6f0e6b9a11" // accounts-v3's account
	AppID     = "6f1c2b8e-3d4a-4e5f-8a9b-0c1d2e3f4a5b" // app-auth's app
	APIKey    = "upstream-api-key-1"                   // token-login's APIKey
	UserID    = "8ec1a795-8688-4430-9af2-53dc591dde9b" // the user's id upstream
)

// Server is one fake upstream.
type Server struct {
	*httptest.Server
	Dialect string
	hits    atomic.Int64
	mu      sync.Mutex
	status  int           // answer this status to every call; 0: check the credentials
	block   chan struct{} // when set, calls wait for it to close
	last    Request
}

// Request is what the last call sent.
type Request struct {
	Method, Path string
	Header       http.Header
	Body         map[string]any
}

// New starts a fake upstream speaking dialect (an identity.Upstream*
// name); it stops when tb ends.
func New(tb testing.TB, dialect string) *Server {
	tb.Helper()
	s := &Server{Dialect: dialect}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	tb.Cleanup(func() {
		s.Release()
		s.Close()
	})
	return s
}

// Migration is the tenant setting that points at s.
func (s *Server) Migration() identity.TenantMigration {
	m := identity.TenantMigration{Dialect: s.Dialect, BaseURL: s.URL}
	switch s.Dialect {
	case identity.UpstreamAccountsV3:
		m.AccountID = AccountID
	case identity.UpstreamAppAuth:
		m.AppID = AppID
	case identity.UpstreamTokenLogin:
		m.APIKey = APIKey
	}
	return m
}

// Hits is how many calls s has had.
func (s *Server) Hits() int { return int(s.hits.Load()) }

// Last is what the last call sent.
func (s *Server) Last() Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// Fail makes every call answer status (0: back to checking credentials).
func (s *Server) Fail(status int) {
	s.mu.Lock()
	s.status = status
	s.mu.Unlock()
}

// Block makes calls wait until Release: a timeout without a sleep.
func (s *Server) Block() {
	s.mu.Lock()
	s.block = make(chan struct{})
	s.mu.Unlock()
}

// Release lets blocked calls finish.
func (s *Server) Release() {
	s.mu.Lock()
	if s.block != nil {
		close(s.block)
		s.block = nil
	}
	s.mu.Unlock()
}

// ClosedURL is the URL of a port nothing listens on: an upstream that is down.
func ClosedURL(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.hits.Add(1)
	var body map[string]any
	json.NewDecoder(r.Body).Decode(&body)
	s.mu.Lock()
	s.last = Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body}
	status, block := s.status, s.block
	s.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-r.Context().Done():
			return
		}
	}
	if status != 0 {
		w.WriteHeader(status)
		return
	}
	str := func(k string) string { v, _ := body[k].(string); return v }
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	switch s.Dialect {
	case identity.UpstreamAccountsV3:
		if r.URL.Path != "/v3/accounts/login" || str("accountId") != AccountID || str("email") != Email || str("password") != Password {
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(map[string]string{"code": "INVALID_CREDENTIALS", "message": "The email or password is incorrect."})
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"accessToken": "upstream.access.token", "refreshToken": "upstream-refresh"})
	case identity.UpstreamAppAuth:
		if r.URL.Path != "/api/v1/"+AppID+"/auth/login" || str("email") != Email || str("password") != Password {
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": "invalid_credentials", "message": "Invalid credentials"}})
			return
		}
		w.Write([]byte(appAuthAnswer))
	case identity.UpstreamTokenLogin:
		if r.URL.Path != "/api/v1/Authentication/Login" || r.Header.Get("APIKey") != APIKey || str("password") != Password ||
			(str("userName") != Email && str("userName") != UserName) {
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(map[string]string{"Message": "Authorization has been denied for this request."})
			return
		}
		w.Write([]byte(tokenLoginAnswer))
	}
}

// appAuthAnswer is the reference page's login answer, filled in for the
// known user (every key of the page, in its place).
const appAuthAnswer = `{
  "access_token": "upstream.access.token", "expires_in": 3600, "refresh_token": "upstream-refresh", "token_type": "Bearer",
  "user": {
    "additions": {"loyalty": "gold"},
    "address": {"city": "Arlington", "country": "United States", "country_code": "US", "street": "1 Navy Way", "zip_code": "22201"},
    "app_id": "` + AppID + `",
    "attributes": [],
    "communication_preferences": {"allow_email": true, "allow_postal": false, "allow_sms": false},
    "created_at": "2019-08-24T14:15:22Z",
    "email": "Grace@Example.com",
    "email_verified": true,
    "files": [],
    "first_name": "Grace",
    "id": "` + UserID + `",
    "is_super_admin": false,
    "language": "en",
    "last_login_at": "2024-01-02T03:04:05Z",
    "last_name": "Hopper",
    "market": "us",
    "market_currency": "USD",
    "market_id": "m-1",
    "organisations": [],
    "phone_number": "+1 555 0100",
    "status": "active",
    "store_group": "",
    "store_group_id": "",
    "tags": [{"id": "t1", "key": "vip", "name": "vip"}],
    "updated_at": "2024-01-02T03:04:05Z"
  }
}`

// tokenLoginAnswer is the reference page's LoginData for the known user.
const tokenLoginAnswer = `{
  "Authenticated": true,
  "ReAuthenticationToken": "",
  "Me": {"ID": "` + UserID + `", "FirstName": "Grace", "LastName": "Hopper", "ImageURL": "https://img.example/grace.png"},
  "SessionToken": "upstream-session"
}`
