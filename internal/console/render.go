package console

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"maps"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/latchauth/latch/internal/httpapi/wire"
	"github.com/latchauth/latch/internal/identity"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// page is what every template gets: the layout's parts and the page's Data.
type page struct {
	Title   string
	CSRF    string // "" when nobody is signed in
	Tenant  *identity.Tenant
	Section string // the tenant's sub-page: settings, users, api-keys, webhooks, events
	Flash   string
	Error   string
	Form    url.Values // what the operator typed, kept after an error
	Data    any
}

// view is how a page is to be shown besides its data: after an action
// (flash or error, with the status to answer), and what to show once.
type view struct {
	status int
	flash  string
	err    error
	form   url.Values
	once   any // a secret or a result shown this once
}

// pages holds one template set per page, each the layout plus the page.
type pages struct {
	sets map[string]*template.Template
}

func loadPages(now func() time.Time) *pages {
	funcs := template.FuncMap{
		"when": func(t time.Time) string {
			if t.IsZero() {
				return "—"
			}
			return t.UTC().Format("2006-01-02 15:04:05 UTC")
		},
		"iso": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"ago": func(t time.Time) string { return ago(now(), t) },
		"ms": func(d time.Duration) string {
			return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64) + " ms"
		},
		"short": func(id string) string {
			if len(id) > 8 {
				return id[:8]
			}
			return id
		},
		"join":  strings.Join,
		"pairs": pairs,
		"has":   slices.Contains[[]string],
		"past":  func(t time.Time) bool { return !t.IsZero() && t.Before(now()) },
	}
	base := template.Must(template.New("").Funcs(funcs).ParseFS(templateFiles, "templates/layout.html"))
	names, _ := fs.Glob(templateFiles, "templates/*.html")
	p := &pages{sets: map[string]*template.Template{}}
	for _, n := range names {
		name := strings.TrimSuffix(path.Base(n), ".html")
		if name == "layout" {
			continue
		}
		p.sets[name] = template.Must(template.Must(base.Clone()).ParseFS(templateFiles, n))
	}
	return p
}

// ago says how long before now t was, coarsely ("in …" for the future).
func ago(now, t time.Time) string {
	switch d := now.Sub(t); {
	case t.IsZero():
		return "never"
	case d < 0:
		return "in " + span(-d)
	case d < time.Minute:
		return "just now"
	default:
		return span(d) + " ago"
	}
}

func span(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h", int(d.Hours()))
	}
	return fmt.Sprintf("%d days", int(d.Hours()/24))
}

// pairs renders event data as sorted key=value strings; nested values as
// JSON-ish text. Event data never holds a secret (identity keeps them out).
func pairs(m map[string]any) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		v := m[k]
		var s string
		switch x := v.(type) {
		case string:
			s = x
		case []any:
			parts := make([]string, len(x))
			for i, e := range x {
				parts[i] = fmt.Sprint(e)
			}
			s = "[" + strings.Join(parts, ", ") + "]"
		default:
			s = fmt.Sprint(x)
		}
		if s == "" || s == "[]" {
			continue
		}
		out = append(out, k+"="+identity.Printable(s, 300))
	}
	return out
}

// render writes the page name with p, answering status. Rendering into a
// buffer first means a template error is a clean 500, never half a page.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, p *page) {
	var buf bytes.Buffer
	if err := c.pages.sets[name].ExecuteTemplate(&buf, "layout", p); err != nil {
		c.d.Logger.ErrorContext(r.Context(), "console template", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// show renders a signed-in page as v says.
func (c *Console) show(w http.ResponseWriter, r *http.Request, s *session, name string, p *page, v view) {
	status := v.status
	if status == 0 {
		status = http.StatusOK
	}
	if s != nil {
		p.CSRF = s.csrf
	}
	p.Flash = v.flash
	if p.Flash == "" {
		p.Flash = flashes[r.URL.Query().Get("done")]
	}
	p.Form = v.form
	if v.err != nil {
		var msg string
		status, msg = c.problem(r, v.err)
		p.Error = msg
	}
	c.render(w, r, status, name, p)
}

// fail renders the error page.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, s *session, status int, msg string) {
	p := &page{Title: http.StatusText(status), Error: msg, Data: status}
	if s != nil {
		p.CSRF = s.csrf
	}
	c.render(w, r, status, "error", p)
}

// failErr renders the error page for an identity error.
func (c *Console) failErr(w http.ResponseWriter, r *http.Request, s *session, err error) {
	status, msg := c.problem(r, err)
	c.fail(w, r, s, status, msg)
}

// statuses maps identity error codes to the console's answers.
var statuses = map[string]int{
	identity.EINVALID:         http.StatusBadRequest,
	identity.ENOTFOUND:        http.StatusNotFound,
	identity.ECONFLICT:        http.StatusConflict,
	identity.EUNAUTHENTICATED: http.StatusUnauthorized,
	identity.ETOKENINVALID:    http.StatusUnauthorized,
	identity.ERATELIMITED:     http.StatusTooManyRequests,
	identity.EUNAVAILABLE:     http.StatusServiceUnavailable,
}

// problem is the status and the message an operator sees for err; an
// internal error's detail goes to the log only.
func (c *Console) problem(r *http.Request, err error) (int, string) {
	e := identity.AsError(err)
	status, ok := statuses[e.Code]
	if !ok {
		c.d.Logger.ErrorContext(r.Context(), "console request failed", "route", r.Pattern, "err", err)
		return http.StatusInternalServerError, "Something went wrong on the server; the log has the details."
	}
	msg := e.Message
	if msg != "" {
		msg = strings.ToUpper(msg[:1]) + msg[1:]
	}
	if e.Field != "" {
		msg = e.Field + ": " + e.Message // the field as the API names it
	}
	if (e.Code == identity.ERATELIMITED || e.Code == identity.EUNAVAILABLE) && e.RetryAfter > 0 {
		msg = fmt.Sprintf("%s (retry in %s s)", strings.TrimSuffix(msg, "; retry after the time in Retry-After"), wire.RetryAfterSeconds(e))
	}
	return status, msg
}

// flashes are the messages a redirect after an action may name (?done=):
// fixed texts, so that a link cannot make the console say anything else.
var flashes = map[string]string{
	"tenant-created":   "Tenant created.",
	"settings-saved":   "Settings saved.",
	"user-created":     "User created.",
	"user-enabled":     "User enabled.",
	"user-disabled":    "User disabled; their sessions were revoked.",
	"totp-reset":       "Two-factor authentication turned off; the user logs in with the password alone until they enrol again.",
	"throttle-lifted":  "Login throttling lifted for this user.",
	"session-revoked":  "Session revoked.",
	"sessions-revoked": "All sessions revoked.",
	"key-revoked":      "API key revoked.",
	"webhook-enabled":  "Endpoint re-enabled: its queued events go out now.",
	"redelivered":      "Delivery queued: it goes out within a few seconds (watch its attempts below).",
	"signed-out":       "Signed out.",
}

// redirect answers a successful action with 303 to a page and a flash.
func redirect(w http.ResponseWriter, r *http.Request, to, done string) {
	if done != "" {
		to += "?done=" + done
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// handleStatic serves the stylesheet, the script and the icon, which
// hold nothing secret and are the same for everybody.
func handleStatic() http.Handler {
	sub, _ := fs.Sub(staticFiles, "static")
	files := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/" + r.PathValue("file")
		files.ServeHTTP(w, r2)
	})
}
