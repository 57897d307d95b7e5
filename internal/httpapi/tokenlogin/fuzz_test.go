package tokenlogin_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/latchauth/latch/internal/httpapi/httpapitest"
)

// FuzzDecode sends arbitrary bodies, content types and query strings to
// every route: never a 500, and every error in the ASP.NET shape.
func FuzzDecode(f *testing.F) {
	for _, s := range []struct{ body, ct, query string }{
		{`{"userName":"ada@example.com","password":"correct horse battery"}`, "application/json", ""},
		{`{"USERNAME":"a@b.c","username":"x"}`, "text/json", "fields=Me"},
		{"userName=ada%40example.com&password=correct+horse+battery", "application/x-www-form-urlencoded", "suppressResponseCodes=true"},
		{"%zz", "application/x-www-form-urlencoded", ""},
		{`{"generateReAuthenticationToken":"TRUE","deviceName":null}`, "", "fields=,&fields=x"},
		{`{"reAuthenticationToken":"lra1.AAAA.BBBB"}`, "application/json", "suppressResponseCodes=1"},
		{"\xff\xfe", "text/json", ""},
	} {
		f.Add(s.body, s.ct, s.query)
	}
	env := httpapitest.New(f, httpapitest.CheapArgon)
	tid := env.MustTenant(f, "fuzz")
	env.MustUser(f, tid, map[string]any{"email": "ada@example.com", "password": "correct horse battery"})
	key := env.Admin(f, "POST", "/admin/v1/tenants/"+tid+"/api-keys", map[string]any{"name": "fuzz"}).JSON(f)["key"].(string)
	f.Fuzz(func(t *testing.T, body, contentType, query string) {
		// The query as a client library would send it (a raw space would
		// be refused by net/http before any handler runs).
		q, err := url.ParseQuery(query)
		if err != nil {
			q = nil
		}
		query = q.Encode()
		for _, route := range []string{"Login", "TokenLogin", "Logout"} {
			hdr := []string{"APIKey", key}
			if contentType != "" && strings.IndexFunc(contentType, func(r rune) bool { return r < 0x20 || r > 0x7e }) < 0 {
				hdr = append(hdr, "Content-Type", contentType)
			}
			r := env.Do(t, "POST", "/api/v1/Authentication/"+route+"?"+query, body, hdr...)
			if r.Status >= 500 {
				t.Fatalf("%s %q %q %q: %d %s", route, body, contentType, query, r.Status, r.Body)
			}
			if r.Status >= 400 && !strings.Contains(string(r.Body), `"StatusCode":`) {
				t.Fatalf("%s: error not in the ASP.NET shape: %d %s", route, r.Status, r.Body)
			}
			if r.Status == http.StatusOK && len(r.Body) > 0 && !strings.HasPrefix(string(r.Body), "{") {
				t.Fatalf("%s: 200 without a JSON object: %s", route, r.Body)
			}
		}
	})
}
