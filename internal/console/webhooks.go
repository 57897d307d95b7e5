package console

import (
	"net/http"

	"github.com/latchauth/latch/internal/identity"
)

func webhookPath(tid, wid string) string { return tenantPath(tid) + "/webhooks/" + wid }

func (c *Console) webhooksPage(w http.ResponseWriter, r *http.Request, s *session) {
	c.showWebhooks(w, r, s, view{})
}

// showWebhooks lists the tenant's endpoints with their health.
func (c *Console) showWebhooks(w http.ResponseWriter, r *http.Request, s *session, v view) {
	t, ok := c.tenant(w, r, s)
	if !ok {
		return
	}
	eps, err := c.d.Service.Webhooks.List(r.Context(), t.ID)
	if err != nil {
		c.failErr(w, r, s, err)
		return
	}
	if v.form == nil {
		v.form = map[string][]string{"events": {identity.EventLoggedIn}}
	}
	c.show(w, r, s, "webhooks", &page{Title: "Webhooks · " + t.Name, Tenant: t, Section: "webhooks",
		Data: map[string]any{"Endpoints": eps, "Created": v.once, "EventTypes": identity.EventTypes, "Signings": []string{"standard-webhooks", "accounts-v3"}}}, v)
}

// createWebhook registers an endpoint and shows its secret on the answer
// to this POST, the only time it is shown.
func (c *Console) createWebhook(w http.ResponseWriter, r *http.Request, s *session) {
	f := r.PostForm
	in := identity.WebhookInput{URL: opt(f.Get("url")), Signing: opt(f.Get("signing"))}
	events := f["events"]
	in.Events = &events
	ep, secret, err := c.d.Service.Webhooks.Create(r.Context(), r.PathValue("tid"), in, c.d.NewSecret)
	if err != nil {
		c.showWebhooks(w, r, s, view{err: err, form: f})
		return
	}
	c.showWebhooks(w, r, s, view{status: http.StatusCreated, once: map[string]string{"ID": ep.ID, "URL": ep.URL, "Secret": secret}})
}

func (c *Console) webhookPage(w http.ResponseWriter, r *http.Request, s *session) {
	c.showWebhook(w, r, s, view{})
}

// showWebhook is an endpoint's health and its delivery log: each
// delivery with every logged attempt (status, latency, the start of the
// answer) and a button to send it again.
func (c *Console) showWebhook(w http.ResponseWriter, r *http.Request, s *session, v view) {
	t, ok := c.tenant(w, r, s)
	if !ok {
		return
	}
	ep, err := c.d.Service.Webhooks.Get(r.Context(), t.ID, r.PathValue("wid"))
	if err != nil {
		c.failErr(w, r, s, err)
		return
	}
	cursor := r.URL.Query().Get("cursor")
	log, next, err := c.d.Service.Webhooks.DeliveryLog(r.Context(), t.ID, ep.ID, identity.Page{Limit: pageSize, Cursor: cursor})
	if err != nil {
		v.err = err
	}
	c.show(w, r, s, "webhook", &page{Title: "Webhook · " + t.Name, Tenant: t, Section: "webhooks",
		Data: map[string]any{"Endpoint": ep, "Log": log, "Next": next, "Paged": cursor != "", "Ping": v.once, "CanPing": c.d.Pinger != nil}}, v)
}

// enableWebhook sets an endpoint healthy again: a suspended one resumes
// with the events it kept, and its retries are due at once.
func (c *Console) enableWebhook(w http.ResponseWriter, r *http.Request, s *session) {
	tid, wid := r.PathValue("tid"), r.PathValue("wid")
	healthy := identity.WebhookHealthy
	if _, err := c.d.Service.Webhooks.Update(r.Context(), tid, wid, identity.WebhookInput{Status: &healthy}); err != nil {
		c.failErr(w, r, s, err)
		return
	}
	redirect(w, r, webhookPath(tid, wid), "webhook-enabled")
}

// testWebhook sends a signed ping now, outside the queue, and shows how
// the endpoint answered.
func (c *Console) testWebhook(w http.ResponseWriter, r *http.Request, s *session) {
	ep, err := c.d.Service.Webhooks.Get(r.Context(), r.PathValue("tid"), r.PathValue("wid"))
	if err != nil {
		c.failErr(w, r, s, err)
		return
	}
	if c.d.Pinger == nil {
		c.showWebhook(w, r, s, view{err: &identity.Error{Code: identity.EUNAVAILABLE, Message: "webhook delivery is not running in this process"}})
		return
	}
	a := c.d.Pinger.Ping(r.Context(), ep)
	c.showWebhook(w, r, s, view{once: &a})
}

func (c *Console) redeliver(w http.ResponseWriter, r *http.Request, s *session) {
	tid, wid := r.PathValue("tid"), r.PathValue("wid")
	if _, err := c.d.Service.Webhooks.Redeliver(r.Context(), tid, wid, r.PathValue("eid")); err != nil {
		c.failErr(w, r, s, err)
		return
	}
	redirect(w, r, webhookPath(tid, wid), "redelivered")
}
