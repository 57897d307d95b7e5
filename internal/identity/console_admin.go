package identity

import "context"

// The admin use cases the console needs beyond the admin API's: one
// session revoked, endpoints and their delivery log read through the
// core, and a delivery sent again.

// RevokeSession ends one session of the user (a re-authentication grant
// included), audited as admin.session.revoked. ENOTFOUND when the session
// is not the user's; revoking a revoked session changes nothing.
func (s *Service) RevokeSession(ctx context.Context, tenantID, userID, sessionID string) error {
	u, err := s.GetUser(ctx, tenantID, userID)
	if err != nil {
		return err
	}
	sid, err := wellFormed("session", sessionID)
	if err != nil {
		return err
	}
	sess, err := s.Sessions.GetSession(ctx, sid)
	if ErrorCode(err) == ENOTFOUND || (err == nil && (sess.TenantID != u.TenantID || sess.UserID != u.ID)) {
		return &Error{Code: ENOTFOUND, Message: "session not found"}
	} else if err != nil {
		return err
	}
	if sess.Revoked() {
		return nil
	}
	if err := s.Sessions.RevokeSession(ctx, sess.ID, s.now(), "revoked by admin", nil); err != nil {
		return err
	}
	s.audit(ctx, u.TenantID, u.ID, "session", "revoked", sess.ID, nil)
	return nil
}

// ListWebhooks returns the tenant's endpoints; ENOTFOUND when the tenant
// does not exist.
func (s *Service) ListWebhooks(ctx context.Context, tenantID string) ([]*WebhookEndpoint, error) {
	t, err := s.GetTenant(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	return s.Webhooks.ListWebhooks(ctx, t.ID)
}

// GetWebhook returns an endpoint of the tenant; ENOTFOUND when there is
// none, or when either id is not an id at all.
func (s *Service) GetWebhook(ctx context.Context, tenantID, id string) (*WebhookEndpoint, error) {
	tenantID, err := wellFormed("tenant", tenantID)
	if err != nil {
		return nil, err
	}
	if id, err = wellFormed("webhook", id); err != nil {
		return nil, err
	}
	return s.Webhooks.GetWebhook(ctx, tenantID, id)
}

// DeliveryRecord is a delivery with its logged attempts, newest first.
type DeliveryRecord struct {
	Delivery *Delivery
	Attempts []*DeliveryAttempt
}

// DeliveryLog returns a page of an endpoint's deliveries, newest first,
// each with its logged attempts (a delivery listed from the event log has
// none: it went through on its first attempt, or has not been tried).
func (s *Service) DeliveryLog(ctx context.Context, tenantID, webhookID string, p Page) ([]DeliveryRecord, string, error) {
	w, err := s.GetWebhook(ctx, tenantID, webhookID)
	if err != nil {
		return nil, "", err
	}
	ds, next, err := s.Webhooks.ListDeliveries(ctx, w.TenantID, w.ID, p)
	if err != nil {
		return nil, "", err
	}
	out := make([]DeliveryRecord, 0, len(ds))
	for _, d := range ds {
		as, err := s.Webhooks.ListDeliveryAttempts(ctx, d.ID)
		if err != nil {
			return nil, "", err
		}
		out = append(out, DeliveryRecord{Delivery: d, Attempts: as})
	}
	return out, next, nil
}

// Redeliver sends an event to an endpoint once more: its delivery is
// made pending and due now (kept with its attempts and first payload when
// it has a row, else written from the event), and the dispatcher is woken.
// Its attempts are logged, the first and any retries on the usual
// schedule while the event is younger than the retry period. A suspended
// endpoint sends it once re-enabled. ENOTFOUND when the endpoint, or an
// event of its types since its creation, does not exist (retention may
// have removed it). Audited as admin.delivery.redelivered.
func (s *Service) Redeliver(ctx context.Context, tenantID, webhookID, eventID string) (*Delivery, error) {
	w, err := s.GetWebhook(ctx, tenantID, webhookID)
	if err != nil {
		return nil, err
	}
	if eventID, err = wellFormed("event", eventID); err != nil {
		return nil, err
	}
	d, err := s.Webhooks.Redeliver(ctx, w.TenantID, w.ID, eventID, s.now())
	if err != nil {
		return nil, err
	}
	s.eventsWritten()
	s.audit(ctx, w.TenantID, "", "delivery", "redelivered", d.ID, nil, "webhook_id", w.ID, "event_id", d.EventID)
	return d, nil
}
