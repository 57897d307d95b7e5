package main_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/httpapi/httpapitest"
)

// Ensure no malformed request makes latch answer 5xx, panic, hang or
// answer outside the route's error shape: every route the OpenAPI document
// lists is driven, against the binary on SQLite and on PostgreSQL, with
// invalid JSON, wrong types and null per field, NUL, invalid UTF-8, 4-byte
// characters and over-long strings per field, empty, 10 MB and deeply
// nested bodies, duplicate keys, odd Content-Types, odd header values,
// wrong methods, dot segments and %00/%ff in ids and query parameters.
func TestBadInputSweep(t *testing.T) {
	bin := buildLatch(t)
	onEachStore(t, func(t *testing.T, db string) { sweep(t, bin, db) })
}

// startLogged is start, keeping every log line.
func startLogged(t *testing.T, bin, dir string, env []string, args ...string) (*proc, *httpapitest.Buffer) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	stderr, _ := cmd.StderrPipe()
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	logs := &httpapitest.Buffer{}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			logs.Write(append(sc.Bytes(), '\n'))
			var line map[string]any
			if json.Unmarshal(sc.Bytes(), &line) == nil && line["msg"] == "latch listening" {
				addr <- line["addr"].(string)
			}
		}
	}()
	select {
	case a := <-addr:
		checked.Watch(t, a)
		return &proc{cmd: cmd, addr: a}, logs
	case <-time.After(30 * time.Second):
		t.Fatalf("server did not start:\n%s", logs.String())
	}
	return nil, nil
}

// probe is one malformed request.
type probe struct {
	method, path, route string // path as sent; route is the OpenAPI operation
	kind                string // what is malformed, for the report
	contentType         string
	body                []byte
	header              []string
	want404             bool // a dot segment: must be 404, never a redirect
}

const sweepAdmin = "sweep-admin-token-0123456789abcdef"

func sweep(t *testing.T, bin, db string) {
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	defer rcv.Close()
	p, logs := startLogged(t, bin, t.TempDir(), []string{"LATCH_DB=" + db, "LATCH_SECRET=sweep secret of at least thirty-two bytes",
		"LATCH_ADMIN_TOKEN=" + sweepAdmin, "LATCH_LISTEN=127.0.0.1:0", "LATCH_LOG_FORMAT=json", "LATCH_WEBHOOK_ALLOW_PRIVATE=true",
		"LATCH_RATE_LIMIT_IP=off", "LATCH_RATE_LIMIT_ACCOUNT=off", "LATCH_ARGON2_MEMORY=64", "LATCH_ARGON2_TIME=1",
		"LATCH_CORS_ORIGINS=https://app.example"}, "serve")
	base := "http://" + p.addr
	auth := []string{"Authorization", "Bearer " + sweepAdmin}
	const j = "application/json"

	// The fixture every path id and valid body points at.
	const email, password = "ada@example.com", "correct horse battery"
	_, tb := send(t, "POST", base+"/admin/v1/tenants", j, `{"name":"Sweep","alias":"sweep"}`, auth...)
	ids := map[string]string{"tid": field(t, tb, "id").(string)}
	ids["app_id"] = ids["tid"]
	tenant := base + "/admin/v1/tenants/" + ids["tid"]
	_, ub := send(t, "POST", tenant+"/users", j, `{"email":"`+email+`","password":"`+password+`"}`, auth...)
	ids["uid"] = field(t, ub, "id").(string)
	_, ob := send(t, "POST", tenant+"/organisations", j, `{"name":"Org"}`, auth...)
	ids["oid"] = field(t, ob, "id").(string)
	_, kb := send(t, "POST", tenant+"/api-keys", j, `{"name":"k"}`, auth...)
	ids["kid"], ids["key"] = field(t, kb, "id").(string), field(t, kb, "key").(string)
	_, wb := send(t, "POST", tenant+"/webhooks", j, `{"url":"`+rcv.URL+`","events":["account.logged-in"]}`, auth...)
	ids["wid"] = field(t, wb, "id").(string)
	_, lb := send(t, "POST", base+"/v3/accounts/login", j, `{"accountId":"`+ids["tid"]+`","email":"`+email+`","password":"`+password+`"}`)
	refresh := field(t, lb, "refreshToken").(string)
	_, tlb := send(t, "POST", base+"/api/v1/Authentication/Login?APIKey="+ids["key"], j,
		`{"userName":"`+email+`","password":"`+password+`","generateReAuthenticationToken":true,"deviceName":"d"}`)
	reauth := field(t, tlb, "ReAuthenticationToken").(string)
	// The self-service routes act as a user of their own, whose sessions
	// the admin probes (on ada) leave alone: its access token, and
	// another of its sessions for {sid}.
	send(t, "POST", tenant+"/users", j, `{"email":"me@example.com","password":"`+password+`"}`, auth...)
	meLogin := `{"accountId":"` + ids["tid"] + `","email":"me@example.com","password":"` + password + `"}`
	send(t, "POST", base+"/v3/accounts/login", j, meLogin)
	_, mb := send(t, "POST", base+"/v3/accounts/login", j, meLogin)
	me := []string{"Authorization", "Bearer " + field(t, mb, "accessToken").(string)}
	_, sb := send(t, "GET", base+"/auth/v1/me/sessions", "", "", me...)
	var mine struct{ Sessions []struct{ ID string } }
	json.Unmarshal([]byte(sb), &mine)
	if len(mine.Sessions) != 2 {
		t.Fatalf("me's sessions: %s", sb)
	}
	ids["sid"] = mine.Sessions[1].ID // the older, not the token's

	// Valid bodies, to break one part at a time.
	valid := map[string]map[string]any{
		"/v3/accounts/login":                                      map[string]any{"accountId": ids["tid"], "email": email, "password": password},
		"/v3/accounts/login-refresh-token":                        {"refreshToken": refresh},
		"/api/v1/{app_id}/auth/login":                             {"email": email, "password": password},
		"/api/v1/{app_id}/auth/refresh":                           {"refresh_token": refresh},
		"/api/v1/{app_id}/auth/logout":                            {"refresh_token": "lrt1.AAAA.BBBB"},
		"/api/v1/Authentication/Login":                            {"userName": email, "password": password, "generateReAuthenticationToken": true, "deviceName": "d"},
		"/api/v1/Authentication/TokenLogin":                       {"reAuthenticationToken": reauth},
		"/admin/v1/tenants":                                       {"name": "T", "alias": "t-x"},
		"/admin/v1/tenants/{tid}":                                 {"name": "Sweep"},
		"/admin/v1/tenants/{tid}/api-keys":                        {"name": "k2"},
		"/admin/v1/tenants/{tid}/users":                           {"email": "new@example.com", "password": password, "first_name": "A", "profile": map[string]any{"a": "b"}},
		"/admin/v1/tenants/{tid}/users/{uid}":                     {"first_name": "Ada"},
		"/admin/v1/tenants/{tid}/users/{uid}/totp/confirm":        {"code": "123456"},
		"/admin/v1/tenants/{tid}/organisations":                   {"name": "O2", "tags": []string{"a"}},
		"/admin/v1/tenants/{tid}/organisations/{oid}":             {"name": "O"},
		"/admin/v1/tenants/{tid}/webhooks":                        {"url": rcv.URL, "events": []string{"account.logged-in"}},
		"/admin/v1/tenants/{tid}/webhooks/{wid}":                  {"events": []string{"account.logged-in"}},
		"/admin/v1/tenants/{tid}/users/{uid}/totp":                nil,
		"/admin/v1/tenants/{tid}/users/{uid}/totp/recovery-codes": nil,
		"/auth/v1/me/totp":                                        nil,
		"/auth/v1/me/totp/confirm":                                {"code": "123456"},
		"/auth/v1/me/recovery-codes":                              {"code": "123456"},
	}

	// The routes, from the OpenAPI document the server publishes.
	res, err := http.Get(base + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths      map[string]map[string]json.RawMessage
		Components struct{ Schemas schemas }
	}
	json.NewDecoder(res.Body).Decode(&doc)
	res.Body.Close()

	fill := func(tmpl string, override map[string]string) string {
		out := tmpl
		for k, v := range ids {
			if o, ok := override[k]; ok {
				v = o
			}
			out = strings.ReplaceAll(out, "{"+k+"}", v)
		}
		return out
	}
	query := func(tmpl string) string {
		if strings.HasPrefix(tmpl, "/api/v1/Authentication/") {
			q := "?APIKey=" + ids["key"]
			if strings.HasSuffix(tmpl, "Logout") {
				q += "&APIToken=lst1.AAAA.BBBB"
			}
			return q
		}
		return ""
	}
	hdrs := func(tmpl string, extra ...string) []string {
		if strings.HasPrefix(tmpl, "/admin/") {
			return append(slices.Clone(auth), extra...)
		}
		if strings.HasPrefix(tmpl, "/auth/") {
			return append(slices.Clone(me), extra...)
		}
		return extra
	}

	var probes []probe
	add := func(pr probe) { probes = append(probes, pr) }
	paths := make([]string, 0, len(doc.Paths))
	for p := range doc.Paths {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	allMethods := []string{"GET", "POST", "PUT", "PATCH", "DELETE"}
	for _, tmpl := range paths {
		ops := doc.Paths[tmpl]
		served := map[string]bool{}
		for m := range ops {
			if m != "parameters" {
				served[strings.ToUpper(m)] = true
			}
		}
		// Wrong methods: 405 in the route's shape.
		for _, m := range allMethods {
			if !served[m] && !(m == "GET" && served["HEAD"]) {
				add(probe{method: m, path: fill(tmpl, nil) + query(tmpl), route: tmpl, kind: "wrong method " + m, header: hdrs(tmpl)})
			}
		}
		for m := range served {
			route := m + " " + tmpl
			target := fill(tmpl, nil) + query(tmpl)
			// Ids: malformed ones never reach a store as such, and dot
			// segments are 404, never a redirect.
			for _, param := range []string{"tid", "uid", "oid", "kid", "wid", "app_id", "sid"} {
				if !strings.Contains(tmpl, "{"+param+"}") {
					continue
				}
				for _, bad := range []string{"..", ".", "%2e%2e", "%2E", "%00", "%ff", "%c0%ae", "not-a-uuid", "%20", "a%2Fb",
					strings.Repeat("a", 300), "00000000-0000-0000-0000-000000000000", "%F0%9F%98%80", strings.ToUpper(ids[param])} {
					if m == "DELETE" && bad == strings.ToUpper(ids[param]) {
						continue // might be the fixture itself
					}
					dot := bad == ".." || bad == "." || strings.EqualFold(bad, "%2e%2e") || strings.EqualFold(bad, "%2e")
					add(probe{method: m, path: fill(tmpl, map[string]string{param: bad}) + query(tmpl), route: route,
						kind: "id " + param + "=" + short(bad), header: hdrs(tmpl), want404: dot})
				}
			}
			if m == "DELETE" {
				continue // everything else would delete the fixture
			}
			// Headers.
			for _, h := range [][]string{
				{"User-Agent", "caf\xe9/1.0"}, {"Origin", "http://caf\xe9.example"}, {"User-Agent", strings.Repeat("\xff", 8000)},
				{"X-Forwarded-For", "[::1]:x, 999.1.1.1, \xe9"}, {"APIKey", "\xe9\xff"}, {"APIToken", "lst1.\xe9"},
				{"Origin", "null"}, {"Authorization", "Bearer \xe9"},
			} {
				add(probe{method: m, path: target, route: route, kind: "header " + h[0], header: hdrs(tmpl, h...),
					body: mustJSON(valid[tmpl]), contentType: j})
			}
			// Query parameters.
			if m == "GET" || strings.HasPrefix(tmpl, "/api/v1/Authentication/") {
				for _, q := range []string{"limit=-1", "limit=abc", "limit=99999999999999999999", "limit=%00", "cursor=%00", "cursor=%ff",
					"cursor=!!!", "cursor=" + strings.Repeat("A", 2000), "email=%00", "email=%ff", "type=%ff", "user_id=%00",
					"fields=%00", "fields=", "suppressResponseCodes=%ff", "APIKey=%00", "APIToken=%ff"} {
					sep := "?"
					if strings.Contains(target, "?") {
						sep = "&"
					}
					add(probe{method: m, path: target + sep + q, route: route, kind: "query " + short(q), header: hdrs(tmpl)})
				}
			}
			if m != "POST" && m != "PATCH" && m != "PUT" {
				continue
			}
			body, hasBody := valid[tmpl]
			// The body as a whole.
			deep := strings.Repeat("[", 30000) + strings.Repeat("]", 30000)
			for kind, b := range map[string]string{
				"empty body": "", "not JSON": "{nope", "truncated": `{"a":`, "array": `[{}]`, "string": `"x"`, "null body": "null",
				"number": "1", "empty object": "{}", "two objects": "{} {}", "invalid UTF-8 body": "{\"a\":\"\xff\xfe\"}",
				"deep nesting": `{"a":` + deep + `}`, "deep objects": strings.Repeat(`{"a":`, 20000) + "1" + strings.Repeat("}", 20000),
				"10 MB": `{"a":"` + strings.Repeat("x", 10<<20) + `"}`, "BOM": "\xef\xbb\xbf{}", "trailing garbage": "{}x",
				"duplicate keys": dupKeys(body),
			} {
				add(probe{method: m, path: target, route: route, kind: kind, contentType: j, body: []byte(b), header: hdrs(tmpl)})
			}
			for _, ct := range []string{"", "text/plain", "text/plain; charset=utf-16", "application/xml", "multipart/form-data; boundary=x",
				"application/x-www-form-urlencoded", "application/json; charset=latin1", "invalid/", ";;", "text/json", "application/problem+json"} {
				add(probe{method: m, path: target, route: route, kind: "Content-Type " + ct, contentType: ct, body: mustJSON(body), header: hdrs(tmpl)})
			}
			if !hasBody {
				continue
			}
			// Each field, broken in every way.
			fields := map[string]bool{}
			for k := range body {
				fields[k] = true
			}
			for _, k := range doc.Components.Schemas.propertiesOf(ops, m) {
				fields[k] = true
			}
			if strings.HasPrefix(tmpl, "/api/v1/Authentication/") {
				// token-login also takes forms: the same breakage, form-encoded.
				for k := range fields {
					for kind, v := range map[string]string{"NUL": "a%00b", "invalid UTF-8": "%ff%fe", "over-long": strings.Repeat("a", 20000),
						"empty": "", "twice": "a&" + k + "=b", "control chars": "%01%1f%7f"} {
						add(probe{method: m, path: target, route: route, kind: "form " + k + " " + kind, contentType: "application/x-www-form-urlencoded",
							body: []byte(k + "=" + v + "&password=x"), header: hdrs(tmpl)})
					}
				}
			}
			for k := range fields {
				for kind, v := range map[string]string{
					"null": "null", "number": "-1", "float": "1.5e300", "bool": "true", "array": `["x"]`, "object": `{"a":"b"}`,
					"NUL": `"a\u0000b"`, "NUL only": `"\u0000"`, "invalid UTF-8": "\"\xff\xfe\"", "lone surrogate": `"\ud800"`,
					"4-byte": `"😀😀😀😀😀😀😀😀😀😀"`, "over-long": `"` + strings.Repeat("a", 20000) + `"`, "empty": `""`,
					"NUL in object": `{"a":"\u0000","\u0000":"b"}`, "NUL in array": `["\u0000"]`, "control chars": `"a\u0001\u001f\u007f"`,
					"deep": strings.Repeat("[", 5000) + strings.Repeat("]", 5000), "huge number": "1" + strings.Repeat("0", 400),
				} {
					add(probe{method: m, path: target, route: route, kind: k + " " + kind, contentType: j, body: withField(body, k, v), header: hdrs(tmpl)})
				}
			}
		}
	}
	// Unknown paths, and the same with dot segments and NUL under each prefix.
	for _, pth := range []string{"/nope", "/v3/nope", "/api/nope", "/auth/v1/me/nope", "/auth/v1/me/sessions/%00", "/api/v1/authentication/nope", "/admin/v1/nope", "/admin/v1/tenants/" + ids["tid"] + "/../..",
		"/v3/accounts/./login", "/api/v1/Authentication/%2e%2e/Login", "/admin/v1/%00", "/metrics/%ff"} {
		add(probe{method: "POST", path: pth, route: "unrouted", kind: "unrouted", header: auth, want404: true})
	}

	client := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var mu sync.Mutex
	failures := map[string][]string{}
	fail := func(pr probe, what string) {
		mu.Lock()
		defer mu.Unlock()
		key := pr.route + " | " + pr.kind
		failures[key] = append(failures[key], what)
	}
	var sent atomic.Int64
	var classes [6]atomic.Int64 // answers by status class
	work := make(chan probe)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for pr := range work {
				sent.Add(1)
				status, hdr, body, err := do(client, base, pr)
				classes[min(status/100, 5)].Add(1)
				switch {
				case err != nil:
					fail(pr, "no answer within 5 s: "+err.Error())
				case status >= 500:
					fail(pr, fmt.Sprintf("%d %s", status, short(string(body))))
				case status >= 300 && status < 400:
					fail(pr, fmt.Sprintf("redirect %d to %s", status, hdr.Get("Location")))
				case pr.want404 && status != http.StatusNotFound:
					fail(pr, fmt.Sprintf("%d, want 404: %s", status, short(string(body))))
				case status >= 400 || isSuppressed(pr, body):
					if got, want := shapeOf(hdr, body), shapeFor(pr.path); got != want {
						fail(pr, fmt.Sprintf("%d in shape %q, want %q: %s", status, got, want, short(string(body))))
					}
				}
			}
		})
	}
	for _, pr := range probes {
		work <- pr
	}
	close(work)
	wg.Wait()

	// Headers no client library sends: NUL and control characters.
	for _, h := range []string{"User-Agent: a\x00b", "Origin: \x01", "X-Forwarded-For: \x00", "APIKey: \x7f"} {
		sent.Add(1)
		status, line := rawRequest(t, p.addr, "POST /v3/accounts/login HTTP/1.1\r\nHost: x\r\n"+h+"\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
		if status >= 500 || status == 0 {
			fail(probe{route: "POST /v3/accounts/login", kind: "raw header " + short(h)}, line)
		}
	}

	if r, err := http.Get(base + "/healthz"); err != nil || r.StatusCode != 200 {
		t.Fatalf("latch no longer answers after the sweep: %v", err)
	}
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, `"msg":"panic"`) || strings.HasPrefix(line, "panic:") || strings.Contains(line, "goroutine ") {
			t.Errorf("panic in the log: %s", line)
		}
	}
	keys := make([]string, 0, len(failures))
	for k := range failures {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t.Errorf("%s: %d× %s", k, len(failures[k]), failures[k][0])
	}
	t.Logf("sweep: %d requests over %d paths (answers: %d 2xx, %d 3xx, %d 4xx, %d 5xx, %d none), %d failing (route, input) pairs",
		sent.Load(), len(paths), classes[2].Load(), classes[3].Load(), classes[4].Load(), classes[5].Load(), classes[0].Load(), len(keys))
}

// schemaDoc is enough of a JSON schema to list an object's properties.
type schemaDoc struct {
	Ref        string `json:"$ref"`
	Properties map[string]json.RawMessage
}

type schemas map[string]schemaDoc

// propertiesOf lists the request body properties of the operation method
// of ops.
func (s schemas) propertiesOf(ops map[string]json.RawMessage, method string) []string {
	var op struct {
		RequestBody struct {
			Content map[string]struct{ Schema schemaDoc }
		}
	}
	json.Unmarshal(ops[strings.ToLower(method)], &op)
	sc, ok := op.RequestBody.Content["application/json"]
	if !ok {
		return nil
	}
	d := sc.Schema
	if d.Ref != "" {
		d = s[strings.TrimPrefix(d.Ref, "#/components/schemas/")]
	}
	var out []string
	for k := range d.Properties {
		out = append(out, k)
	}
	return out
}

func do(c *http.Client, base string, pr probe) (int, http.Header, []byte, error) {
	req, err := http.NewRequest(pr.method, base, bytes.NewReader(pr.body))
	if err != nil {
		return 0, nil, nil, err
	}
	req.URL.Opaque = pr.path
	if pr.contentType != "" {
		req.Header.Set("Content-Type", pr.contentType)
	}
	for i := 0; i+1 < len(pr.header); i += 2 {
		req.Header.Set(pr.header[i], pr.header[i+1])
	}
	res, err := c.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, b, err
}

// rawRequest writes req on a new connection and returns the status and
// the status line of the answer.
func rawRequest(t *testing.T, addr, req string) (int, string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, req)
	line, _ := bufio.NewReader(c).ReadString('\n')
	var status int
	fmt.Sscanf(line, "HTTP/1.1 %d", &status)
	return status, strings.TrimSpace(line)
}

// shapeFor is the error shape of a path: the dialect whose prefix it is
// under, problem+json elsewhere.
func shapeFor(path string) string {
	p, _, _ := strings.Cut(path, "?")
	switch {
	case strings.HasPrefix(p, "/v3/"):
		return "accounts-v3"
	case len(p) >= 23 && strings.EqualFold(p[:23], "/api/v1/authentication/"):
		return "token-login"
	case strings.HasPrefix(p, "/api/"):
		return "app-auth"
	}
	return "problem"
}

func shapeOf(h http.Header, body []byte) string {
	var m map[string]any
	if json.Unmarshal(body, &m) != nil {
		return "not a JSON object"
	}
	switch {
	case strings.HasPrefix(h.Get("Content-Type"), "application/problem+json"):
		if m["type"] != nil && m["status"] != nil && m["code"] != nil {
			return "problem"
		}
	case m["StatusCode"] != nil && m["Message"] != nil:
		return "token-login"
	case m["code"] != nil && m["message"] != nil:
		return "accounts-v3"
	case m["error"] != nil:
		if e, ok := m["error"].(map[string]any); ok && e["code"] != nil && e["message"] != nil {
			return "app-auth"
		}
	}
	return "unknown"
}

// isSuppressed reports a token-login answer whose error status was
// suppressed into a 200.
func isSuppressed(pr probe, body []byte) bool {
	return shapeFor(pr.path) == "token-login" && bytes.Contains(body, []byte(`"StatusCode":`))
}

func mustJSON(v map[string]any) []byte {
	if v == nil {
		return nil
	}
	b, _ := json.Marshal(v)
	return b
}

// withField returns body with field k set to the raw JSON v.
func withField(body map[string]any, k, v string) []byte {
	var parts []string
	for name, val := range body {
		if name != k {
			b, _ := json.Marshal(val)
			parts = append(parts, fmt.Sprintf("%q:%s", name, b))
		}
	}
	parts = append(parts, fmt.Sprintf("%q:%s", k, v))
	return []byte("{" + strings.Join(parts, ",") + "}")
}

// dupKeys repeats each key of body with a different value.
func dupKeys(body map[string]any) string {
	if len(body) == 0 {
		return `{"a":1,"a":"x","A":null}`
	}
	var parts []string
	for k, v := range body {
		b, _ := json.Marshal(v)
		parts = append(parts, fmt.Sprintf("%q:%s,%q:%q,%q:null", k, b, k, "other", strings.ToUpper(k)))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func short(s string) string {
	if len(s) > 120 {
		return s[:120] + fmt.Sprintf("…(%d bytes)", len(s))
	}
	return s
}
