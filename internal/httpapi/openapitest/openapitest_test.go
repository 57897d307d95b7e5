package openapitest_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/latchauth/latch/internal/httpapi/openapitest"
)

const tenant = "/admin/v1/tenants/01a22a47-f0aa-7cf3-a882-0c33f04eb094"

// tenantJSON is a tenant as the admin API answers it.
const tenantJSON = `{"id":"01a22a47-f0aa-7cf3-a882-0c33f04eb094","name":"T","alias":"t","created_at":"2026-01-01T00:00:00Z",` +
	`"updated_at":"2026-01-01T00:00:00Z","settings":{"session_lifetime_seconds":0,"session_idle_timeout_seconds":0,` +
	`"refresh_grace_seconds":0,"allow_single_factor_dialects":false,"rate_limit_ip":"","rate_limit_account":"","require_verified_email":false,` +
	`"rotate_reauthentication_tokens":false}}`

func exchange(method, path, reqBody string, status int, body string) openapitest.Exchange {
	r := httptest.NewRequest(method, path, nil)
	r.Header.Set("Authorization", "Bearer x")
	if reqBody != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	h := http.Header{}
	if body != "" {
		h.Set("Content-Type", "application/json")
		if status >= 400 && strings.HasPrefix(path, "/admin/") {
			h.Set("Content-Type", "application/problem+json")
		}
	}
	return openapitest.Exchange{Request: r, RequestBody: []byte(reqBody), BodyComplete: true, Status: status, Header: h,
		Body: []byte(body), AnswerWhole: true}
}

// Ensure the checker finds drift of each kind, and takes what the
// document says: an answer with a renamed, missing or extra field, an
// undocumented status, a request the document rejects that the server
// accepted; while a bad request answered with the documented error, and
// an unrouted path, pass.
func TestCheckerFindsDrift(t *testing.T) {
	c, err := openapitest.Shared()
	if err != nil {
		t.Fatal(err)
	}
	problem := `{"type":"x","title":"Bad Request","status":400,"detail":"d","code":"invalid","errors":[{"field":"name","message":"m"}]}`
	for _, tc := range []struct {
		name  string
		x     openapitest.Exchange
		drift string // "" when none
	}{
		{"as documented", exchange("GET", tenant, "", 200, tenantJSON), ""},
		{"renamed field", exchange("GET", tenant, "", 200, strings.Replace(tenantJSON, `"name"`, `"title"`, 1)), "not as documented"},
		{"extra field", exchange("GET", tenant, "", 200, strings.Replace(tenantJSON, `{"id"`, `{"secret":"s","id"`, 1)), "not as documented"},
		{"wrong type", exchange("GET", tenant, "", 200, strings.Replace(tenantJSON, `"name":"T"`, `"name":1`, 1)), "not as documented"},
		{"undocumented status", exchange("GET", tenant, "", 418, problem), "not as documented"},
		{"no body, undocumented status", exchange("DELETE", tenant, "", 202, ""), "status is not documented"},
		{"accepted a bad request", exchange("PATCH", tenant, `{"name":7}`, 200, tenantJSON), "accepted a request the document rejects"},
		{"rejected a bad request", exchange("PATCH", tenant, `{"name":7}`, 400, problem), ""},
		{"bad request, answer drifted", exchange("PATCH", tenant, `{"name":7}`, 400, `{"error":"x"}`), "not as documented"},
		{"alias alone", exchange("POST", "/v3/accounts/login", `{"accountAlias":"a","email":"a@example.com","password":"12345678"}`, 200,
			`{"accessToken":"a","refreshToken":"r"}`), ""},
		{"neither id nor alias", exchange("POST", "/v3/accounts/login", `{"accountId":"","email":"a@example.com","password":"12345678"}`, 200,
			`{"accessToken":"a","refreshToken":"r"}`), "accepted a request the document rejects"},
		{"unrouted", exchange("GET", tenant+"/nope", "", 404, problem), ""},
		{"double slash", exchange("GET", "/admin/v1//tenants", "", 404, problem), ""},
	} {
		got := strings.Join(c.Check(tc.x), "\n")
		if tc.drift == "" && got != "" {
			t.Errorf("%s: drift reported: %s", tc.name, got)
		}
		if tc.drift != "" && !strings.Contains(got, tc.drift) {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.drift)
		}
	}
}

// BenchmarkCheck measures one exchange's check (a tenant's PATCH and its
// answer): what the suites pay per request.
func BenchmarkCheck(b *testing.B) {
	c, err := openapitest.Shared()
	if err != nil {
		b.Fatal(err)
	}
	x := exchange("PATCH", tenant, `{"name":"T"}`, 200, tenantJSON)
	for b.Loop() {
		if d := c.Check(x); d != nil {
			b.Fatal(d)
		}
	}
}
