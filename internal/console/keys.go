package console

import (
	"net/http"

	"github.com/latchauth/latch/internal/identity"
)

func (c *Console) apiKeysPage(w http.ResponseWriter, r *http.Request, s *session) {
	c.showAPIKeys(w, r, s, view{})
}

// showAPIKeys lists the tenant's API keys: each identifies an application
// (token-login's APIKey header).
func (c *Console) showAPIKeys(w http.ResponseWriter, r *http.Request, s *session, v view) {
	t, ok := c.tenant(w, r, s)
	if !ok {
		return
	}
	keys, err := c.d.Service.Admin.ListAPIKeys(r.Context(), t.ID)
	if err != nil {
		c.failErr(w, r, s, err)
		return
	}
	c.show(w, r, s, "apikeys", &page{Title: "API keys · " + t.Name, Tenant: t, Section: "api-keys",
		Data: map[string]any{"Keys": keys, "Created": v.once}}, v)
}

// createAPIKey makes a key and shows it on the answer to this POST, the
// only time it is ever shown (only its hash is kept).
func (c *Console) createAPIKey(w http.ResponseWriter, r *http.Request, s *session) {
	k, secret, err := c.d.Service.Admin.CreateAPIKey(r.Context(), r.PathValue("tid"), r.PostForm.Get("name"))
	if err != nil {
		c.showAPIKeys(w, r, s, view{err: err, form: r.PostForm})
		return
	}
	c.showAPIKeys(w, r, s, view{status: http.StatusCreated, once: map[string]string{"Name": k.Name, "Key": secret}})
}

func (c *Console) revokeAPIKey(w http.ResponseWriter, r *http.Request, s *session) {
	tid := r.PathValue("tid")
	if err := c.d.Service.Admin.RevokeAPIKey(r.Context(), tid, r.PathValue("kid")); err != nil {
		if identity.ErrorCode(err) == identity.ENOTFOUND {
			c.failErr(w, r, s, err)
			return
		}
		c.showAPIKeys(w, r, s, view{err: err})
		return
	}
	redirect(w, r, tenantPath(tid)+"/api-keys", "key-revoked")
}
