// Package openapitest checks the HTTP exchanges of test suites against
// latch's OpenAPI document, so that the document cannot drift from what
// the server does: every answer must have a documented status and, for a
// JSON body, the documented schema; a request the server accepts (2xx)
// must be one the document allows. A request the document rejects that
// the server rejects too is a test sending bad input on purpose: only its
// answer is checked.
//
// httpapitest records every Env's exchanges on the server side; the
// black-box tests in cmd/latch record theirs with Transport.
package openapitest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	verrors "github.com/pb33f/libopenapi-validator/errors"

	"github.com/latchauth/latch/internal/httpapi"
)

// MaxBody is the most of a body that is kept for checking; an exchange
// with a longer body is only checked for its status.
const MaxBody = 1 << 20

// Checker validates exchanges against the document. It is built once per
// test process (Shared), as building the validator costs far more than
// using it.
type Checker struct {
	mu     sync.Mutex // the validator's caches are not documented as safe for concurrent use
	v      validator.Validator
	routes []route
}

// route is a documented path, matched exactly: the validator also takes
// "/a//b" and "/a/b/" for "/a/b", which the server does not serve.
type route struct {
	path    *regexp.Regexp
	methods map[string]map[string]bool // method → documented statuses
}

var (
	sharedOnce sync.Once
	shared     *Checker
	sharedErr  error
)

// Shared returns the process's Checker, built from httpapi.OpenAPI: the
// bytes /openapi.json serves.
func Shared() (*Checker, error) {
	sharedOnce.Do(func() { shared, sharedErr = New(httpapi.OpenAPI("test")) })
	return shared, sharedErr
}

// New builds a Checker for an OpenAPI 3.1 document.
func New(doc []byte) (*Checker, error) {
	d, err := libopenapi.NewDocument(doc)
	if err != nil {
		return nil, err
	}
	// Forms (token-login) are checked like JSON; the admin token itself
	// is the server's to check: a wrong one is deliberate, and answered
	// 401 as documented.
	v, errs := validator.NewValidator(d, config.WithURLEncodedBodyValidation(), config.WithoutSecurityValidation())
	if len(errs) > 0 {
		return nil, fmt.Errorf("openapi validator: %v", errs)
	}
	var parsed struct {
		Paths map[string]map[string]json.RawMessage
	}
	if err := json.Unmarshal(doc, &parsed); err != nil {
		return nil, err
	}
	c := &Checker{v: v}
	for p, ops := range parsed.Paths {
		segs := strings.Split(p, "/")
		for i, seg := range segs {
			if strings.HasPrefix(seg, "{") {
				segs[i] = "[^/]+"
			} else {
				segs[i] = regexp.QuoteMeta(seg)
			}
		}
		re := "^" + strings.Join(segs, "/") + "$"
		rt := route{path: regexp.MustCompile(re), methods: map[string]map[string]bool{}}
		for method, op := range ops {
			var o struct{ Responses map[string]json.RawMessage }
			json.Unmarshal(op, &o)
			rt.methods[strings.ToUpper(method)] = map[string]bool{}
			for status := range o.Responses {
				rt.methods[strings.ToUpper(method)][status] = true
			}
		}
		c.routes = append(c.routes, rt)
	}
	return c, nil
}

// documented returns the statuses the document lists for r's method and
// path, or nil when it does not describe them.
func (c *Checker) documented(r *http.Request) map[string]bool {
	for _, rt := range c.routes {
		if statuses, ok := rt.methods[r.Method]; ok && rt.path.MatchString(r.URL.EscapedPath()) {
			return statuses
		}
	}
	return nil
}

// statusClientClosed is what the server logs for a client that left
// before the answer (wire.StatusClientClosed): no client sees it.
const statusClientClosed = 499

// Exchange is one request and its answer, with their bodies read.
type Exchange struct {
	Request      *http.Request // its Body is ignored
	RequestBody  []byte
	BodyComplete bool // RequestBody is the whole body (not cut at MaxBody)
	Status       int
	Header       http.Header
	Body         []byte
	AnswerWhole  bool // Body is the whole answer
}

// Check returns how x disagrees with the document, or nil. Exchanges on
// paths and methods the document does not describe (unrouted requests,
// the console's pages, HEAD) are not checked.
func (c *Checker) Check(x Exchange) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	req := x.Request.Clone(x.Request.Context())
	if req.URL.Opaque != "" {
		// A path sent as is (dot segments, %00): checked as the server
		// parses it.
		u, err := url.ParseRequestURI(req.URL.Opaque)
		if err != nil {
			return nil
		}
		req.URL.Opaque, req.URL.Path, req.URL.RawPath, req.URL.RawQuery = "", u.Path, u.RawPath, u.RawQuery
	}
	req.Body = io.NopCloser(bytes.NewReader(x.RequestBody))
	req.ContentLength = int64(len(x.RequestBody))
	if len(x.RequestBody) > 0 && req.Header.Get("Content-Type") == "" {
		// The server reads a body without a Content-Type as JSON
		// (wire.DecodeJSON), so it is checked as JSON.
		req.Header.Set("Content-Type", "application/json")
	}
	statuses := c.documented(req)
	if statuses == nil || x.Status == statusClientClosed {
		return nil
	}
	reqOK, reqErrs := c.v.ValidateHttpRequest(req)
	var out []string
	what := x.Request.Method + " " + x.Request.URL.RequestURI() + " → " + strconv.Itoa(x.Status)
	if !reqOK && x.BodyComplete && x.Status/100 == 2 && !suppressed(x.Request) {
		out = append(out, what+": the server accepted a request the document rejects: "+describe(reqErrs))
	}
	if !x.AnswerWhole {
		return out
	}
	if len(x.Body) == 0 && x.Header.Get("Content-Type") == "" {
		// No body (a 204, token-login's Logout): only the status is
		// checked, as a response that may also carry JSON (the error of
		// suppressResponseCodes) lists a content type.
		if !statuses[strconv.Itoa(x.Status)] {
			out = append(out, what+": the status is not documented")
		}
		return out
	}
	req.Body = io.NopCloser(bytes.NewReader(x.RequestBody))
	res := &http.Response{StatusCode: x.Status, Header: x.Header, Body: io.NopCloser(bytes.NewReader(x.Body)),
		ContentLength: int64(len(x.Body)), Request: req}
	if ok, errs := c.v.ValidateHttpResponse(req, res); !ok {
		out = append(out, what+": the answer is not as documented: "+describe(errs)+"; body: "+short(x.Body))
	}
	return out
}

// suppressed reports a token-login request with suppressResponseCodes,
// whose errors are answered 200 (documented as the 200's second shape).
func suppressed(r *http.Request) bool {
	for k, vs := range r.URL.Query() {
		if strings.EqualFold(k, "suppressResponseCodes") && slices.ContainsFunc(vs, func(v string) bool { return strings.EqualFold(v, "true") }) {
			return true
		}
	}
	return false
}

func describe(errs []*verrors.ValidationError) string {
	var parts []string
	for _, e := range errs {
		s := e.Message
		if e.Reason != "" && e.Reason != e.Message {
			s += " (" + e.Reason + ")"
		}
		for _, f := range e.SchemaValidationErrors {
			s += "; " + f.FieldPath + ": " + f.Reason
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " | ")
}

func short(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}

// Recorder keeps the disagreements found while a test runs and reports
// them when it ends.
type Recorder struct {
	c        *Checker
	mu       sync.Mutex
	failures map[string]int // message → times seen
	checked  int
	queue    chan Exchange // Handler's exchanges, checked by one goroutine
	done     chan struct{} // closed when that goroutine has checked them all
}

// NewRecorder returns a Recorder that reports to tb when tb ends (after
// the cleanups registered later, such as a server's, have run).
func NewRecorder(tb testing.TB) *Recorder {
	tb.Helper()
	c, err := Shared()
	if err != nil {
		tb.Fatal(err)
	}
	r := &Recorder{c: c, failures: map[string]int{}}
	tb.Cleanup(func() { r.Report(tb) })
	return r
}

// Record checks x and keeps what disagrees.
func (r *Recorder) Record(x Exchange) {
	fails := r.c.Check(x)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.checked++
	for _, f := range fails {
		r.failures[f]++
	}
}

// Report fails tb with every disagreement recorded so far.
func (r *Recorder) Report(tb testing.TB) {
	tb.Helper()
	r.mu.Lock()
	q, done := r.queue, r.done
	r.queue = nil
	r.mu.Unlock()
	if q != nil {
		close(q)
		<-done
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, f := range slices.Sorted(maps.Keys(r.failures)) {
		n := ""
		if r.failures[f] > 1 {
			n = fmt.Sprintf(" (%d times)", r.failures[f])
		}
		tb.Errorf("OpenAPI drift: %s%s", f, n)
	}
	clear(r.failures)
}

// Checked is how many exchanges were checked.
func (r *Recorder) Checked() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.checked
}

// Handler records every exchange next serves. The checks run on a
// goroutine of their own, so that a test's timing is not the checker's;
// Report waits for them.
func (r *Recorder) Handler(next http.Handler) http.Handler {
	r.mu.Lock()
	if r.queue == nil {
		r.queue, r.done = make(chan Exchange, 1024), make(chan struct{})
		q, done := r.queue, r.done
		go func() {
			for x := range q {
				r.Record(x)
			}
			close(done)
		}()
	}
	q := r.queue // Report closes it once the server is closed
	r.mu.Unlock()
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		x := Exchange{Request: req.Clone(req.Context())}
		body := &capture{r: req.Body}
		req.Body = body
		cw := &captureWriter{ResponseWriter: w}
		next.ServeHTTP(cw, req)
		if !body.eof {
			// The handler stopped early (a 401 before the body, a 413):
			// read the rest, so that the request is checked whole.
			body.drain()
		}
		x.RequestBody, x.BodyComplete = body.buf.Bytes(), body.eof && !body.over
		x.Status, x.Header, x.Body, x.AnswerWhole = cw.status(), cw.header, cw.buf.Bytes(), !cw.over
		if x.Header == nil {
			x.Header = w.Header().Clone()
		}
		q <- x
	})
}

// capture keeps up to MaxBody of what is read through it.
type capture struct {
	r         io.ReadCloser
	buf       bytes.Buffer
	eof, over bool
}

func (c *capture) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.keep(p[:n])
	if err == io.EOF {
		c.eof = true
	}
	return n, err
}

func (c *capture) keep(p []byte) {
	if c.buf.Len()+len(p) > MaxBody {
		c.over = true
		return
	}
	c.buf.Write(p)
}

func (c *capture) drain() {
	b, err := io.ReadAll(io.LimitReader(c.r, MaxBody+1))
	c.keep(b)
	c.eof = err == nil && len(b) <= MaxBody
}

func (c *capture) Close() error { return c.r.Close() }

// captureWriter keeps the status, headers and up to MaxBody of the body.
type captureWriter struct {
	http.ResponseWriter
	code   int
	header http.Header
	buf    bytes.Buffer
	over   bool
}

func (w *captureWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code, w.header = code, w.ResponseWriter.Header().Clone()
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *captureWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.buf.Len()+len(p) > MaxBody {
		w.over = true
	} else {
		w.buf.Write(p)
	}
	return w.ResponseWriter.Write(p)
}

func (w *captureWriter) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}

// Unwrap lets http.ResponseController reach the connection.
func (w *captureWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush passes flushes on.
func (w *captureWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Transport records the exchanges with the servers Watch names, for
// tests that talk to a latch process over the network. Exchanges with
// other hosts pass through unchecked.
type Transport struct {
	Base  http.RoundTripper
	mu    sync.Mutex
	hosts map[string]*Recorder
}

// Watch records the exchanges with host (host:port) until tb ends, and
// reports them then.
func (t *Transport) Watch(tb testing.TB, host string) {
	tb.Helper()
	rec := NewRecorder(tb)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.hosts == nil {
		t.hosts = map[string]*Recorder{}
	}
	t.hosts[host] = rec
	tb.Cleanup(func() { // runs before rec reports
		t.mu.Lock()
		defer t.mu.Unlock()
		delete(t.hosts, host)
	})
}

// RoundTrip sends req with Base and records the exchange when its host
// is watched.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.mu.Lock()
	rec := t.hosts[req.URL.Host]
	t.mu.Unlock()
	if rec == nil {
		return t.Base.RoundTrip(req)
	}
	var reqBody []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		reqBody = b
		req.Body = io.NopCloser(bytes.NewReader(b))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	}
	res, err := t.Base.RoundTrip(req)
	if err != nil {
		return res, err
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	res.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return res, nil // the caller meets a short body; nothing to check
	}
	rec.Record(Exchange{Request: req, RequestBody: reqBody, BodyComplete: true, Status: res.StatusCode,
		Header: res.Header, Body: body, AnswerWhole: true})
	return res, nil
}
