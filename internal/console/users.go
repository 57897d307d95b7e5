package console

import (
	"net/http"
	"strings"

	"github.com/latchauth/latch/internal/identity"
)

// maxSessionsShown bounds the sessions listed on a user's page.
const maxSessionsShown = 50

func userPath(tid, uid string) string { return tenantPath(tid) + "/users/" + uid }

func (c *Console) usersPage(w http.ResponseWriter, r *http.Request, s *session) {
	c.showUsers(w, r, s, view{})
}

// showUsers lists the tenant's users whose email starts with ?q=, in
// creation order, a page at a time.
func (c *Console) showUsers(w http.ResponseWriter, r *http.Request, s *session, v view) {
	t, ok := c.tenant(w, r, s)
	if !ok {
		return
	}
	q := r.URL.Query()
	prefix, cursor := strings.TrimSpace(q.Get("q")), q.Get("cursor")
	us, next, err := c.d.Service.Admin.ListUsers(r.Context(), t.ID, identity.UserFilter{EmailPrefix: prefix}, identity.Page{Limit: pageSize, Cursor: cursor})
	if err != nil {
		v.err = err
	}
	c.show(w, r, s, "users", &page{Title: "Users · " + t.Name, Tenant: t, Section: "users",
		Data: map[string]any{"Users": us, "Next": next, "Query": prefix, "Paged": cursor != ""}}, v)
}

// opt is nil for an empty form field, so that an optional field left
// empty is not set at all.
func opt(s string) *string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	return &s
}

func (c *Console) createUser(w http.ResponseWriter, r *http.Request, s *session) {
	f := r.PostForm
	email := f.Get("email")
	in := identity.UserInput{Email: &email, Username: opt(f.Get("username")), Password: opt(f.Get("password")),
		FirstName: opt(f.Get("first_name")), LastName: opt(f.Get("last_name"))}
	u, err := c.d.Service.Admin.CreateUser(r.Context(), r.PathValue("tid"), in)
	if err != nil {
		f.Del("password") // never sent back to the browser
		c.showUsers(w, r, s, view{err: err, form: f})
		return
	}
	redirect(w, r, userPath(u.TenantID, u.ID), "user-created")
}

func (c *Console) userPage(w http.ResponseWriter, r *http.Request, s *session) {
	c.showUser(w, r, s, view{})
}

// showUser is everything an operator asks about one user: the profile,
// status, two-factor state, sessions and recent events.
func (c *Console) showUser(w http.ResponseWriter, r *http.Request, s *session, v view) {
	t, ok := c.tenant(w, r, s)
	if !ok {
		return
	}
	ctx := r.Context()
	u, err := c.d.Service.Admin.GetUser(ctx, t.ID, r.PathValue("uid"))
	if err != nil {
		c.failErr(w, r, s, err)
		return
	}
	totp, err := c.d.Service.SecondFactor.TOTPStatus(ctx, t.ID, u.ID)
	if identity.ErrorCode(err) == identity.ENOTFOUND {
		totp, err = nil, nil
	}
	if err != nil {
		c.failErr(w, r, s, err)
		return
	}
	sessions, _, err := c.d.Service.Admin.ListUserSessions(ctx, t.ID, u.ID, identity.Page{Limit: 500})
	if err != nil {
		c.failErr(w, r, s, err)
		return
	}
	events, more, err := c.d.Service.Admin.ListEvents(ctx, t.ID, identity.EventFilter{UserID: u.ID}, identity.Page{Limit: 20})
	if err != nil {
		c.failErr(w, r, s, err)
		return
	}
	live := 0
	for _, x := range sessions {
		if !x.Revoked() && c.d.Now().Before(x.ExpiresAt) {
			live++
		}
	}
	// A user who logs in often has many sessions: the newest are shown,
	// and revoke-all ends the others too.
	hidden := max(0, len(sessions)-maxSessionsShown)
	sessions = sessions[:len(sessions)-hidden]
	c.show(w, r, s, "user", &page{Title: u.Email + " · " + t.Name, Tenant: t, Section: "users",
		Data: map[string]any{"User": u, "TOTP": totp, "Sessions": sessions, "Hidden": hidden, "Live": live, "Events": events, "MoreEvents": more != ""}}, v)
}

// act runs an action on the path's user and goes back to the user's page
// with done, or shows the page with the error.
func (c *Console) act(w http.ResponseWriter, r *http.Request, s *session, done string, do func(tid, uid string) error) {
	tid, uid := r.PathValue("tid"), r.PathValue("uid")
	if err := do(tid, uid); err != nil {
		if identity.ErrorCode(err) == identity.ENOTFOUND {
			c.failErr(w, r, s, err)
			return
		}
		c.showUser(w, r, s, view{err: err})
		return
	}
	redirect(w, r, userPath(tid, uid), done)
}

func (c *Console) setUserStatus(w http.ResponseWriter, r *http.Request, s *session) {
	status := r.PostForm.Get("status")
	done := "user-enabled"
	if status == identity.StatusDisabled {
		done = "user-disabled"
	}
	c.act(w, r, s, done, func(tid, uid string) error {
		_, err := c.d.Service.Admin.UpdateUser(r.Context(), tid, uid, identity.UserInput{Status: &status})
		return err
	})
}

func (c *Console) resetTOTP(w http.ResponseWriter, r *http.Request, s *session) {
	c.act(w, r, s, "totp-reset", func(tid, uid string) error { return c.d.Service.SecondFactor.DisableTOTP(r.Context(), tid, uid) })
}

func (c *Console) liftThrottle(w http.ResponseWriter, r *http.Request, s *session) {
	c.act(w, r, s, "throttle-lifted", func(tid, uid string) error { return c.d.Service.Auth.LiftThrottle(r.Context(), tid, uid) })
}

// revokeSessions revokes the session named by the form field session, or
// every session of the user when it is "all".
func (c *Console) revokeSessions(w http.ResponseWriter, r *http.Request, s *session) {
	which := r.PostForm.Get("session")
	if which == "all" {
		c.act(w, r, s, "sessions-revoked", func(tid, uid string) error {
			_, err := c.d.Service.Admin.RevokeUserSessions(r.Context(), tid, uid)
			return err
		})
		return
	}
	if which == "" {
		c.showUser(w, r, s, view{err: identity.Invalid("session", "name the session to revoke, or all")})
		return
	}
	c.act(w, r, s, "session-revoked", func(tid, uid string) error { return c.d.Service.Admin.RevokeSession(r.Context(), tid, uid, which) })
}
