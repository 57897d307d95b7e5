package console

import (
	"net/http"
	"time"

	"github.com/latchauth/latch/internal/httpapi/wire"
	"github.com/latchauth/latch/internal/identity"
)

// handleHome is the overview for an operator, the sign-in form for anyone else.
func (c *Console) handleHome(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if s := c.current(r); s != nil {
		c.overviewPage(w, r.WithContext(identity.Via(r.Context(), "console")), s)
		return
	}
	c.signInPage(w, r, http.StatusOK, "", r.URL.Query().Get("next"))
}

func (c *Console) signInPage(w http.ResponseWriter, r *http.Request, status int, msg, next string) {
	p := &page{Title: "Sign in", Error: msg, Flash: flashes[r.URL.Query().Get("done")], Data: safeNext(next)}
	c.render(w, r, status, "signin", p)
}

// handleLogin checks the form field token against the admin token and
// starts a console session in a cookie: HttpOnly, SameSite=Strict, Secure
// when the operator came over TLS, Path=/console, for the session's
// lifetime. The cookie holds a random id; the admin token never leaves
// the form.
func (c *Console) handleLogin(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		c.signInPage(w, r, http.StatusBadRequest, "The form could not be read.", "")
		return
	}
	next := r.PostForm.Get("next")
	id, sess, err := c.d.Service.Console.SignIn(r.Context(), r.PostForm.Get("token"), c.d.Clients.Client(r, "console"))
	if err != nil {
		status, msg := c.problem(r, err)
		if e := identity.AsError(err); e.Code == identity.ERATELIMITED || e.Code == identity.EUNAVAILABLE {
			w.Header().Set("Retry-After", wire.RetryAfterSeconds(e))
		}
		c.signInPage(w, r, status, msg, next)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: id, Path: "/console", Expires: sess.ExpiresAt,
		MaxAge: int(identity.ConsoleSessionLifetime / time.Second), HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: c.secure(r)})
	http.Redirect(w, r, safeNext(next), http.StatusSeeOther)
}

// handleLogout ends the session on the server and in the browser.
func (c *Console) handleLogout(w http.ResponseWriter, r *http.Request, s *session) {
	if err := c.d.Service.Console.SignOut(r.Context(), s.id); err != nil {
		c.failErr(w, r, s, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/console", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: c.secure(r)})
	redirect(w, r, Prefix, "signed-out")
}
