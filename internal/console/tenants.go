package console

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/latchauth/latch/internal/identity"
)

const pageSize = 50

func (c *Console) tenantsPage(w http.ResponseWriter, r *http.Request, s *session) {
	c.showTenants(w, r, s, view{})
}

func (c *Console) showTenants(w http.ResponseWriter, r *http.Request, s *session, v view) {
	cursor := r.URL.Query().Get("cursor")
	ts, next, err := c.d.Service.Admin.ListTenants(r.Context(), identity.Page{Limit: pageSize, Cursor: cursor})
	if err != nil {
		c.failErr(w, r, s, err)
		return
	}
	c.show(w, r, s, "tenants", &page{Title: "Tenants", Data: map[string]any{"Tenants": ts, "Next": next, "Paged": cursor != ""}}, v)
}

func (c *Console) createTenant(w http.ResponseWriter, r *http.Request, s *session) {
	name, alias := r.PostForm.Get("name"), r.PostForm.Get("alias")
	t, err := c.d.Service.Admin.CreateTenant(r.Context(), identity.TenantInput{Name: &name, Alias: &alias})
	if err != nil {
		c.showTenants(w, r, s, view{err: err, form: r.PostForm})
		return
	}
	redirect(w, r, tenantPath(t.ID), "tenant-created")
}

func tenantPath(tid string) string { return Prefix + "tenants/" + tid }

// tenant loads the path's tenant for a page under it, answering 404
// itself when there is none.
func (c *Console) tenant(w http.ResponseWriter, r *http.Request, s *session) (*identity.Tenant, bool) {
	t, err := c.d.Service.Admin.GetTenant(r.Context(), r.PathValue("tid"))
	if err != nil {
		c.failErr(w, r, s, err)
		return nil, false
	}
	return t, true
}

func (c *Console) tenantPage(w http.ResponseWriter, r *http.Request, s *session) {
	c.showTenant(w, r, s, view{})
}

func (c *Console) showTenant(w http.ResponseWriter, r *http.Request, s *session, v view) {
	t, ok := c.tenant(w, r, s)
	if !ok {
		return
	}
	if v.form == nil {
		v.form = tenantForm(t)
	}
	c.show(w, r, s, "tenant", &page{Title: t.Name, Tenant: t, Section: "settings"}, v)
}

// tenantForm is the settings form filled in with the tenant as it is.
func tenantForm(t *identity.Tenant) url.Values {
	st := t.Settings
	num := func(n int64) string {
		if n == 0 {
			return ""
		}
		return strconv.FormatInt(n, 10)
	}
	f := url.Values{
		"name": {t.Name}, "alias": {t.Alias},
		"session_lifetime_seconds": {num(st.SessionLifetimeSeconds)}, "session_idle_timeout_seconds": {num(st.SessionIdleTimeoutSeconds)},
		"refresh_grace_seconds": {num(st.RefreshGraceSeconds)}, "rate_limit_ip": {st.RateLimitIP}, "rate_limit_account": {st.RateLimitAccount},
		"cors_origins": {strings.Join(st.CORSOrigins, "\n")}, "mail_from": {st.MailFrom},
		"password_reset_url": {st.PasswordResetURL}, "email_verified_url": {st.EmailVerifiedURL},
	}
	if st.RequireVerifiedEmail {
		f.Set("require_verified_email", "on")
	}
	if st.AllowSingleFactorDialects {
		f.Set("allow_single_factor_dialects", "on")
	}
	if st.RotateReauthTokens {
		f.Set("rotate_reauthentication_tokens", "on")
	}
	return f
}

// updateTenant saves the settings form. It starts from the settings as
// stored and sets what the form holds, so that a setting the form does
// not show (one added later) is kept, never cleared.
func (c *Console) updateTenant(w http.ResponseWriter, r *http.Request, s *session) {
	t, ok := c.tenant(w, r, s)
	if !ok {
		return
	}
	f := r.PostForm
	st := t.Settings
	for _, n := range []struct {
		field string
		dst   *int64
	}{{"session_lifetime_seconds", &st.SessionLifetimeSeconds}, {"session_idle_timeout_seconds", &st.SessionIdleTimeoutSeconds},
		{"refresh_grace_seconds", &st.RefreshGraceSeconds}} {
		v := strings.TrimSpace(f.Get(n.field))
		if v == "" {
			*n.dst = 0
			continue
		}
		x, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			c.showTenant(w, r, s, view{err: identity.Invalid("settings."+n.field, "must be a whole number of seconds, or empty for the deployment's default"), form: f})
			return
		}
		*n.dst = x
	}
	st.AllowSingleFactorDialects = f.Get("allow_single_factor_dialects") != ""
	st.RotateReauthTokens = f.Get("rotate_reauthentication_tokens") != ""
	st.RateLimitIP, st.RateLimitAccount = strings.TrimSpace(f.Get("rate_limit_ip")), strings.TrimSpace(f.Get("rate_limit_account"))
	st.CORSOrigins = lines(f.Get("cors_origins"))
	st.RequireVerifiedEmail = f.Get("require_verified_email") != ""
	st.MailFrom, st.PasswordResetURL = strings.TrimSpace(f.Get("mail_from")), strings.TrimSpace(f.Get("password_reset_url"))
	st.EmailVerifiedURL = strings.TrimSpace(f.Get("email_verified_url"))
	// The lazy-migration upstream (settings.migration) is shown, not
	// edited, here: it is kept as stored (its sealed API key included).
	name, alias := f.Get("name"), f.Get("alias")
	if _, err := c.d.Service.Admin.UpdateTenant(r.Context(), t.ID, identity.TenantInput{Name: &name, Alias: &alias, Settings: &st}); err != nil {
		c.showTenant(w, r, s, view{err: err, form: f})
		return
	}
	redirect(w, r, tenantPath(t.ID), "settings-saved")
}

// lines splits a textarea into its non-empty lines (commas separate too).
func lines(s string) []string {
	var out []string
	for _, l := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' || r == ',' }) {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}
