package tokenlogin_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/latchauth/latch/internal/httpapi/httpapitest"
)

const pw = "correct horse battery"

type fixture struct {
	*httpapitest.Env
	tenant, user, key string
}

func setup(t *testing.T) *fixture {
	t.Helper()
	env := httpapitest.New(t, httpapitest.CheapArgon)
	f := &fixture{Env: env}
	f.tenant = env.MustTenant(t, "fourdx")
	f.user = env.MustUser(t, f.tenant, map[string]any{"email": "ada@example.com", "password": pw, "first_name": "Ada",
		"last_name": "Lovelace", "profile": map[string]any{"image_url": "https://img.example/ada.png"}})
	r := env.Admin(t, "POST", "/admin/v1/tenants/"+f.tenant+"/api-keys", map[string]any{"name": "mobile app"})
	if r.Status != http.StatusCreated {
		t.Fatalf("api key: %d %s", r.Status, r.Body)
	}
	f.key = r.JSON(t)["key"].(string)
	return f
}

// call posts to a token-login route with the APIKey in the query (plus
// extra query), a JSON body unless body is a string.
func (f *fixture) call(t *testing.T, route string, query string, body any, headers ...string) *httpapitest.Response {
	t.Helper()
	q := "APIKey=" + url.QueryEscape(f.key)
	if query != "" {
		q += "&" + query
	}
	return f.Do(t, "POST", "/api/v1/Authentication/"+route+"?"+q, body, headers...)
}

func (f *fixture) login(t *testing.T, body map[string]any) map[string]any {
	t.Helper()
	r := f.call(t, "Login", "", body)
	if r.Status != http.StatusOK {
		t.Fatalf("login: %d %s", r.Status, r.Body)
	}
	return r.JSON(t)
}

func wantError(t *testing.T, r *httpapitest.Response, status int, modelStateField string) map[string]any {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	m := r.JSON(t)
	if m["Message"] == "" || m["StatusCode"] != float64(status) {
		t.Fatalf("not an ASP.NET error with StatusCode %d: %s", status, r.Body)
	}
	if modelStateField != "" {
		ms, _ := m["ModelState"].(map[string]any)
		if _, ok := ms[modelStateField]; !ok {
			t.Fatalf("ModelState does not name %s: %s", modelStateField, r.Body)
		}
	}
	return m
}

// Ensure LoginData has exactly the reference's keys and types.
func TestLoginDataShapeMatchesReference(t *testing.T) {
	f := setup(t)
	r := f.call(t, "Login", "", map[string]any{"userName": "ada@example.com", "password": pw, "generateReAuthenticationToken": true, "deviceName": "phone"})
	var got any
	json.Unmarshal(r.Body, &got)
	if diffs := httpapitest.SameShape(httpapitest.ReadJSON(t, "testdata/reference-logindata.json"), got); len(diffs) > 0 {
		t.Fatalf("shape differs:\n%s", strings.Join(diffs, "\n"))
	}
	m := r.JSON(t)
	me := m["Me"].(map[string]any)
	if m["Authenticated"] != true || me["ID"] != f.user || me["FirstName"] != "Ada" || me["ImageURL"] != "https://img.example/ada.png" ||
		!strings.HasPrefix(m["SessionToken"].(string), "lst1.") || !strings.HasPrefix(m["ReAuthenticationToken"].(string), "lra1.") {
		t.Fatalf("values: %s", r.Body)
	}
	if plain := f.login(t, map[string]any{"userName": "ada@example.com", "password": pw}); plain["ReAuthenticationToken"] != "" {
		t.Fatalf("a token nobody asked for: %v", plain)
	}
}

// Ensure TokenLogin opens a new session with the token unchanged, a new
// login for the same device replaces the token, and logout ends the
// session and the device's token.
func TestReauthenticationLifecycle(t *testing.T) {
	f := setup(t)
	first := f.login(t, map[string]any{"userName": "ada@example.com", "password": pw, "generateReAuthenticationToken": true, "deviceName": "phone"})
	tok := first["ReAuthenticationToken"].(string)
	r := f.call(t, "TokenLogin", "", map[string]any{"reAuthenticationToken": tok})
	if r.Status != http.StatusOK {
		t.Fatalf("TokenLogin: %d %s", r.Status, r.Body)
	}
	m := r.JSON(t)
	if m["ReAuthenticationToken"] != tok || m["SessionToken"] == first["SessionToken"] || m["Authenticated"] != true {
		t.Fatalf("TokenLogin answer: %s", r.Body)
	}
	// A new token for the same device replaces the old one; another device keeps its own.
	tablet := f.login(t, map[string]any{"userName": "ada@example.com", "password": pw, "generateReAuthenticationToken": true, "deviceName": "tablet"})
	second := f.login(t, map[string]any{"userName": "ada@example.com", "password": pw, "generateReAuthenticationToken": true, "deviceName": "phone"})
	wantError(t, f.call(t, "TokenLogin", "", map[string]any{"reAuthenticationToken": tok}), http.StatusUnauthorized, "")
	if r := f.call(t, "TokenLogin", "", map[string]any{"reAuthenticationToken": tablet["ReAuthenticationToken"]}); r.Status != http.StatusOK {
		t.Fatalf("the other device's token: %d %s", r.Status, r.Body)
	}
	// Logout with the session's APIToken (header) ends it and the phone's token.
	r = f.call(t, "Logout", "", nil, "APIToken", second["SessionToken"].(string))
	if r.Status != http.StatusOK {
		t.Fatalf("logout: %d %s", r.Status, r.Body)
	}
	wantError(t, f.call(t, "TokenLogin", "", map[string]any{"reAuthenticationToken": second["ReAuthenticationToken"]}), http.StatusUnauthorized, "")
	if r := f.call(t, "Logout", "APIToken="+url.QueryEscape(second["SessionToken"].(string)), nil); r.Status != http.StatusOK {
		t.Fatalf("second logout: %d", r.Status)
	}
	if m := wantError(t, f.call(t, "Logout", "APIToken=garbage", nil), http.StatusUnauthorized, ""); m["Message"] != "the APIToken is not a session token this server issued" {
		t.Fatalf("garbage APIToken: %v", m["Message"]) // the dialect's words for identity's
	}
	wantError(t, f.call(t, "Logout", "", nil), http.StatusUnauthorized, "")
	sessions := f.Admin(t, "GET", "/admin/v1/tenants/"+f.tenant+"/users/"+f.user+"/sessions", nil).JSON(t)["sessions"].([]any)
	for _, s := range sessions {
		s := s.(map[string]any)
		if s["dialect"] != "token-login" || s["ip"] == "" || s["user_agent"] == "" {
			t.Fatalf("session without dialect, IP or user agent: %v", s)
		}
	}
}

// Ensure a tenant that rotates re-authentication tokens returns a new one
// each time and retires the one presented.
func TestReauthenticationRotation(t *testing.T) {
	f := setup(t)
	f.Admin(t, "PATCH", "/admin/v1/tenants/"+f.tenant, map[string]any{"settings": map[string]any{"rotate_reauthentication_tokens": true}})
	tok := f.login(t, map[string]any{"userName": "ada@example.com", "password": pw, "generateReAuthenticationToken": true, "deviceName": "phone"})["ReAuthenticationToken"].(string)
	r := f.call(t, "TokenLogin", "", map[string]any{"reAuthenticationToken": tok})
	next := r.JSON(t)["ReAuthenticationToken"].(string)
	if r.Status != http.StatusOK || next == tok {
		t.Fatalf("rotation: %d %s", r.Status, r.Body)
	}
	wantError(t, f.call(t, "TokenLogin", "", map[string]any{"reAuthenticationToken": tok}), http.StatusUnauthorized, "")
	if r := f.call(t, "TokenLogin", "", map[string]any{"reAuthenticationToken": next}); r.Status != http.StatusOK {
		t.Fatalf("successor: %d %s", r.Status, r.Body)
	}
}

// Ensure fields keeps the named top-level properties, case-insensitively,
// repeated or comma-separated; unknown names are ignored and none matching
// gives the full object; an empty fields is a 400.
func TestFields(t *testing.T) {
	f := setup(t)
	body := map[string]any{"userName": "ada@example.com", "password": pw}
	keys := func(r *httpapitest.Response) string {
		var m map[string]any
		json.Unmarshal(r.Body, &m)
		var ks []string
		for k := range m {
			ks = append(ks, k)
		}
		slices.Sort(ks)
		return strings.Join(ks, ",")
	}
	for q, want := range map[string]string{
		"fields=SessionToken":           "SessionToken",
		"fields=sessiontoken&fields=ME": "Me,SessionToken",
		"Fields=authenticated,me":       "Authenticated,Me",
		"fields=Authenticated,nonsense": "Authenticated",
		"fields=nonsense":               "Authenticated,Me,ReAuthenticationToken,SessionToken",
		"fields=%20SessionToken%20,%20": "SessionToken",
	} {
		if got := keys(f.call(t, "Login", q, body)); got != want {
			t.Errorf("%s: keys %s, want %s", q, got, want)
		}
	}
	// No usable name: the full object, as the reference says.
	for _, q := range []string{"fields=", "fields=,,", "fields=%20&fields="} {
		if got := keys(f.call(t, "Login", q, body)); got != "Authenticated,Me,ReAuthenticationToken,SessionToken" {
			t.Errorf("%s: keys %s, want the full object", q, got)
		}
	}
}

// Ensure suppressResponseCodes answers 200 with the error (and
// Authenticated false on a failed login), and that a bad value is a 400.
func TestSuppressResponseCodes(t *testing.T) {
	f := setup(t)
	r := f.call(t, "Login", "suppressResponseCodes=true", map[string]any{"userName": "ada@example.com", "password": "wrong password"})
	m := r.JSON(t)
	if r.Status != http.StatusOK || m["Authenticated"] != false || m["StatusCode"] != 401.0 || m["Message"] == "" {
		t.Fatalf("suppressed failed login: %d %s", r.Status, r.Body)
	}
	r = f.Do(t, "POST", "/api/v1/Authentication/Login?suppressResponseCodes=True", map[string]any{"userName": "ada@example.com", "password": pw})
	if r.Status != http.StatusOK || r.JSON(t)["StatusCode"] != 401.0 {
		t.Fatalf("suppressed missing APIKey: %d %s", r.Status, r.Body)
	}
	r = f.call(t, "Login", "suppressResponseCodes=true", map[string]any{"password": pw})
	if m := r.JSON(t); r.Status != http.StatusOK || m["StatusCode"] != 400.0 || m["ModelState"] == nil {
		t.Fatalf("suppressed validation error: %d %s", r.Status, r.Body)
	}
	if r := f.call(t, "Login", "suppressResponseCodes=false", map[string]any{"userName": "ada@example.com", "password": pw}); r.Status != http.StatusOK {
		t.Fatalf("false: %d", r.Status)
	}
	wantError(t, f.call(t, "Login", "suppressResponseCodes=yes", map[string]any{}), http.StatusBadRequest, "suppressResponseCodes")
	wantError(t, f.call(t, "Login", "suppressResponseCodes=true&suppressResponseCodes=false", map[string]any{}), http.StatusBadRequest, "suppressResponseCodes")
}

// Ensure JSON, text/json and form bodies work, names match
// case-insensitively, and routes match in any case.
func TestBodiesAndRouteCase(t *testing.T) {
	f := setup(t)
	for _, c := range []struct {
		name, path, body, contentType string
	}{
		{"json", "/api/v1/Authentication/Login", `{"userName":"ada@example.com","password":"` + pw + `"}`, "application/json"},
		{"text/json", "/api/v1/Authentication/Login", `{"UserName":"ada@example.com","Password":"` + pw + `"}`, "text/json; charset=utf-8"},
		{"form", "/api/v1/Authentication/Login", "username=ada%40example.com&password=" + url.QueryEscape(pw) + "&generateReAuthenticationToken=true&deviceName=kiosk", "application/x-www-form-urlencoded"},
		{"email alias", "/api/v1/Authentication/Login", `{"email":"ada@example.com","password":"` + pw + `"}`, "application/json"},
		{"lower-case route", "/api/v1/authentication/login", `{"userName":"ada@example.com","password":"` + pw + `"}`, "application/json"},
		{"upper-case route", "/API/V1/AUTHENTICATION/LOGIN", `{"userName":"ada@example.com","password":"` + pw + `"}`, "application/json"},
	} {
		r := f.Do(t, "POST", c.path+"?apikey="+url.QueryEscape(f.key), c.body, "Content-Type", c.contentType)
		if r.Status != http.StatusOK || r.JSON(t)["Authenticated"] != true {
			t.Errorf("%s: %d %s", c.name, r.Status, r.Body)
		}
	}
	if r := f.Do(t, "POST", "/api/v1/authentication/tokenlogin", map[string]any{"reAuthenticationToken": "x"}, "APIKey", f.key); r.Status != http.StatusUnauthorized {
		t.Errorf("lower-case TokenLogin with the key in a header: %d %s", r.Status, r.Body)
	}
}

// Ensure every bad input is a clear 4xx in the ASP.NET shape, never a 500.
func TestBadInput(t *testing.T) {
	f := setup(t)
	ok := map[string]any{"userName": "ada@example.com", "password": pw}
	cases := []struct {
		name   string
		do     func() *httpapitest.Response
		status int
		field  string
	}{
		{"no APIKey", func() *httpapitest.Response { return f.Do(t, "POST", "/api/v1/Authentication/Login", ok) }, 401, ""},
		{"unknown APIKey", func() *httpapitest.Response {
			return f.Do(t, "POST", "/api/v1/Authentication/Login?APIKey=lak1_nope", ok)
		}, 401, ""},
		{"conflicting APIKeys", func() *httpapitest.Response {
			return f.Do(t, "POST", "/api/v1/Authentication/Login?APIKey="+url.QueryEscape(f.key), ok, "APIKey", "other")
		}, 400, "APIKey"},
		{"missing userName", func() *httpapitest.Response { return f.call(t, "Login", "", map[string]any{"password": pw}) }, 400, "userName"},
		{"missing password", func() *httpapitest.Response {
			return f.call(t, "Login", "", map[string]any{"userName": "ada@example.com"})
		}, 400, "password"},
		{"userName and email differ", func() *httpapitest.Response {
			return f.call(t, "Login", "", map[string]any{"userName": "ada@example.com", "email": "bob@example.com", "password": pw})
		}, 400, "userName"},
		{"same name twice in other case", func() *httpapitest.Response {
			return f.call(t, "Login", "", `{"userName":"ada@example.com","USERNAME":"x@example.com","password":"p"}`)
		}, 400, "userName"},
		{"deviceName required", func() *httpapitest.Response {
			return f.call(t, "Login", "", map[string]any{"userName": "ada@example.com", "password": pw, "generateReAuthenticationToken": true})
		}, 400, "deviceName"},
		{"non-boolean generate", func() *httpapitest.Response {
			return f.call(t, "Login", "", map[string]any{"userName": "ada@example.com", "password": pw, "generateReAuthenticationToken": "maybe"})
		}, 400, "generateReAuthenticationToken"},
		{"wrong type", func() *httpapitest.Response { return f.call(t, "Login", "", `{"userName": 7, "password": "p"}`) }, 400, "userName"},
		{"not json", func() *httpapitest.Response { return f.call(t, "Login", "", `{"userName":`) }, 400, "body"},
		{"wrong content type", func() *httpapitest.Response { return f.call(t, "Login", "", "<x/>", "Content-Type", "application/xml") }, 415, "Content-Type"},
		{"form field twice", func() *httpapitest.Response {
			return f.call(t, "Login", "", "userName=a%40b.c&userName=c%40d.e&password=p", "Content-Type", "application/x-www-form-urlencoded")
		}, 400, "userName"},
		{"too large", func() *httpapitest.Response {
			return f.call(t, "Login", "", `{"password":"`+strings.Repeat("a", 70<<10)+`"}`)
		}, 400, "body"},
		{"missing reAuthenticationToken", func() *httpapitest.Response { return f.call(t, "TokenLogin", "", map[string]any{}) }, 400, "reAuthenticationToken"},
		{"garbage reAuthenticationToken", func() *httpapitest.Response {
			return f.call(t, "TokenLogin", "", map[string]any{"reAuthenticationToken": "lra1.x.y"})
		}, 401, ""},
		{"wrong password", func() *httpapitest.Response {
			return f.call(t, "Login", "", map[string]any{"userName": "ada@example.com", "password": "wrong password"})
		}, 401, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { wantError(t, c.do(), c.status, c.field) })
	}
	if m := wantError(t, cases[1].do(), http.StatusUnauthorized, ""); m["Message"] != "the APIKey is missing, unknown or revoked" {
		t.Fatalf("unknown APIKey: %v", m["Message"])
	}
	// A revoked key stops working at once.
	keys := f.Admin(t, "GET", "/admin/v1/tenants/"+f.tenant+"/api-keys", nil).JSON(t)["api_keys"].([]any)
	f.Admin(t, "DELETE", "/admin/v1/tenants/"+f.tenant+"/api-keys/"+keys[0].(map[string]any)["id"].(string), nil)
	wantError(t, f.call(t, "Login", "", ok), http.StatusUnauthorized, "")
}

// Ensure NUL in any body field is a 400 naming the field, and a userName
// that is not an email is not refused as malformed: it is looked up (and
// here, where no user has it, is a wrong credential).
func TestEdgeInputs(t *testing.T) {
	f := setup(t)
	for field, body := range map[string]map[string]any{
		"userName":   {"userName": "ada@example.com\u0000", "password": pw},
		"password":   {"userName": "ada@example.com", "password": pw + "\u0000"},
		"deviceName": {"userName": "ada@example.com", "password": pw, "generateReAuthenticationToken": true, "deviceName": "ph\u0000ne"},
	} {
		wantError(t, f.call(t, "Login", "", body), http.StatusBadRequest, field)
	}
	wantError(t, f.call(t, "TokenLogin", "", map[string]any{"reAuthenticationToken": "lra1.\u0000"}), http.StatusBadRequest, "reAuthenticationToken")
	wantError(t, f.call(t, "Login", "", "userName=ada&deviceName=%00&password=x", "Content-Type", "application/x-www-form-urlencoded"),
		http.StatusBadRequest, "deviceName")
	wantError(t, f.call(t, "Login", "", map[string]any{"userName": "ada", "password": pw}), http.StatusUnauthorized, "")
}

// Ensure userName matches the user's user name as well as the email (4DX
// users log in with user names), case-insensitively, and that an unknown
// user name is the same 401 as a wrong password.
func TestLoginByUserName(t *testing.T) {
	f := setup(t)
	if r := f.Admin(t, "PATCH", "/admin/v1/tenants/"+f.tenant+"/users/"+f.user, map[string]any{"username": "ada.l"}); r.Status != http.StatusOK {
		t.Fatalf("set username: %d %s", r.Status, r.Body)
	}
	for _, name := range []string{"ada.l", "ADA.L", "ada@example.com"} {
		m := f.login(t, map[string]any{"userName": name, "password": pw})
		if m["Authenticated"] != true || m["Me"].(map[string]any)["ID"] != f.user {
			t.Fatalf("login as %q: %v", name, m)
		}
	}
	wrong := f.call(t, "Login", "", map[string]any{"userName": "ada.l", "password": "wrong password here"})
	unknown := f.call(t, "Login", "", map[string]any{"userName": "nobody", "password": pw})
	if wrong.Status != http.StatusUnauthorized || unknown.Status != http.StatusUnauthorized || string(wrong.Body) != string(unknown.Body) {
		t.Fatalf("wrong password %d %s; unknown user name %d %s", wrong.Status, wrong.Body, unknown.Status, unknown.Body)
	}
}
