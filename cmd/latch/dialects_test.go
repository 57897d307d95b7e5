package main_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// send makes a request with a body of a content type and returns status and body.
func send(t testing.TB, method, url, contentType, body string, hdr ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func field(t *testing.T, body, key string) any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("not a JSON object: %s", body)
	}
	return m[key]
}

// Ensure the app-auth and token-login dialects work through the built
// binary as a client of the hosted APIs would use them, error paths
// included, and show up in the metrics under their dialect labels.
func TestDialectsThroughBinary(t *testing.T) {
	bin := buildLatch(t)
	const admin = "dialects-admin-token-0123456789"
	p := start(t, bin, t.TempDir(), []string{"LATCH_SECRET=dialect test secret of at least 32 bytes", "LATCH_ADMIN_TOKEN=" + admin,
		"LATCH_LISTEN=127.0.0.1:0"}, "serve", "--db", "sqlite:d.db")
	base := "http://" + p.addr
	auth := []string{"Authorization", "Bearer " + admin}
	const j = "application/json"
	_, tb := send(t, "POST", base+"/admin/v1/tenants", j, `{"name":"Shop","alias":"shop"}`, auth...)
	tid := field(t, tb, "id").(string)
	if st, b := send(t, "POST", base+"/admin/v1/tenants/"+tid+"/users", j, `{"email":"ada@example.com","password":"correct horse battery","first_name":"Ada"}`, auth...); st != 201 {
		t.Fatalf("user: %d %s", st, b)
	}
	_, kb := send(t, "POST", base+"/admin/v1/tenants/"+tid+"/api-keys", j, `{"name":"app"}`, auth...)
	key := url.QueryEscape(field(t, kb, "key").(string))
	creds := `{"email":"ada@example.com","password":"correct horse battery"}`

	type step struct {
		name, url, ct, body string
		hdr                 []string
		status              int
		contains            string
	}
	check := func(s step) string {
		t.Helper()
		st, b := send(t, "POST", s.url, s.ct, s.body, s.hdr...)
		if st != s.status || !strings.Contains(b, s.contains) {
			t.Fatalf("%s: %d %s; want %d containing %q", s.name, st, b, s.status, s.contains)
		}
		return b
	}

	// app-auth
	app := base + "/api/v1/" + tid + "/auth/"
	login := check(step{"app-auth login", app + "login", j, creds, nil, 200, `"token_type":"Bearer"`})
	rt := field(t, login, "refresh_token").(string)
	refreshed := check(step{"app-auth refresh", app + "refresh", j, `{"refresh_token":"` + rt + `"}`, nil, 200, `"expires_in":900`})
	rt2 := field(t, refreshed, "refresh_token").(string)
	check(step{"app-auth malformed app_id", base + "/api/v1/nope/auth/login", j, creds, nil, 400, `"field":"app_id"`})
	check(step{"app-auth unknown app_id", base + "/api/v1/01a20d52-23de-705b-80e8-68db7b74bd2b/auth/login", j, creds, nil, 404, `"app_not_found"`})
	check(step{"app-auth short password", app + "login", j, `{"email":"ada@example.com","password":"short"}`, nil, 400, `"field":"password"`})
	check(step{"app-auth form body", app + "login", "application/x-www-form-urlencoded", "email=a", nil, 415, `"unsupported_media_type"`})
	check(step{"app-auth JSON as text/plain", app + "login", "text/plain;charset=UTF-8", creds, nil, 200, `"token_type":"Bearer"`})
	check(step{"app-auth not JSON", app + "login", j, `{"email"`, nil, 400, `"invalid_json"`})
	check(step{"app-auth logout", app + "logout", j, `{"refresh_token":"` + rt2 + `"}`, nil, 204, ""})
	check(step{"app-auth refresh after logout", app + "refresh", j, `{"refresh_token":"` + rt2 + `"}`, nil, 401, `"invalid_refresh_token"`})

	// token-login
	tl := base + "/api/v1/Authentication/"
	ld := check(step{"token-login login", tl + "Login?APIKey=" + key, j,
		`{"userName":"ada@example.com","password":"correct horse battery","generateReAuthenticationToken":true,"deviceName":"phone"}`, nil, 200, `"Authenticated":true`})
	reauth := field(t, ld, "ReAuthenticationToken").(string)
	only := check(step{"token-login fields", tl + "Login?APIKey=" + key + "&fields=sessiontoken", j, `{"userName":"ada@example.com","password":"correct horse battery"}`, nil, 200, `"SessionToken"`})
	if strings.Contains(only, "Authenticated") {
		t.Fatalf("fields did not filter: %s", only)
	}
	check(step{"token-login suppressed failure", tl + "Login?APIKey=" + key + "&suppressResponseCodes=true", j,
		`{"userName":"ada@example.com","password":"wrong password"}`, nil, 200, `"Authenticated":false`})
	check(step{"token-login form body, lower-case route", base + "/api/v1/authentication/login?apikey=" + key, "application/x-www-form-urlencoded",
		"username=ada%40example.com&password=correct+horse+battery", nil, 200, `"Authenticated":true`})
	again := check(step{"token-login TokenLogin (text/json)", tl + "TokenLogin", "text/json", `{"reAuthenticationToken":"` + reauth + `"}`,
		[]string{"APIKey", field(t, kb, "key").(string)}, 200, `"ReAuthenticationToken":"` + reauth + `"`})
	session := field(t, again, "SessionToken").(string)
	check(step{"token-login logout", tl + "Logout?APIKey=" + key + "&APIToken=" + url.QueryEscape(session), "", "", nil, 200, ""})
	check(step{"token-login TokenLogin after logout", tl + "TokenLogin?APIKey=" + key, j, `{"reAuthenticationToken":"` + reauth + `"}`, nil, 401, `"StatusCode":401`})
	check(step{"token-login no APIKey", tl + "Login", j, `{"userName":"ada@example.com","password":"x"}`, nil, 401, `"StatusCode":401`})
	check(step{"token-login bad suppressResponseCodes", tl + "Login?APIKey=" + key + "&suppressResponseCodes=maybe", j, `{}`, nil, 400, `"suppressResponseCodes"`})
	check(step{"token-login empty fields: the full object", tl + "Login?APIKey=" + key + "&fields=", j,
		`{"userName":"ada@example.com","password":"correct horse battery"}`, nil, 200, `"Authenticated":true`})
	check(step{"token-login XML", tl + "Login?APIKey=" + key, "application/xml", "<x/>", nil, 415, `"StatusCode":415`})
	check(step{"token-login oversize", tl + "Login?APIKey=" + key, j, `{"password":"` + strings.Repeat("a", 70<<10) + `"}`, nil, 400, `"StatusCode":400`})
	check(step{"token-login missing deviceName", tl + "Login?APIKey=" + key, j,
		`{"userName":"ada@example.com","password":"correct horse battery","generateReAuthenticationToken":true}`, nil, 400, `"deviceName"`})

	res, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{`latch_logins_total{dialect="app-auth",outcome="success"}`, `latch_logins_total{dialect="token-login",outcome="success"}`,
		`latch_refreshes_total{dialect="token-login",outcome="reauthenticated"}`, `latch_logouts_total{dialect="app-auth",outcome="success"}`} {
		if !strings.Contains(string(m), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	p.stop(t)
}
