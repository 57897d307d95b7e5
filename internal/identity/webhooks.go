package identity

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Webhook endpoint statuses (DESIGN §7): unhealthy after a failed delivery,
// suspended after SuspendAfter failures in a row; a suspended endpoint keeps
// its deliveries queued until an admin sets it healthy again.
const (
	WebhookHealthy   = "healthy"
	WebhookUnhealthy = "unhealthy"
	WebhookSuspended = "suspended"
)

// Delivery statuses.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed" // retried for three days without success
)

// WebhookEndpoint is a receiver of a tenant's events.
type WebhookEndpoint struct {
	ID                  string
	TenantID            string
	URL                 string
	Events              []string // event types delivered
	Signing             string   // webhook.SigningStandard or webhook.SigningAccountsV3
	SecretSealed        []byte   // the whsec_ secret, sealed (associated data: WebhookSealAD)
	Status              string
	ConsecutiveFailures int
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

// WebhookSealAD binds a sealed endpoint secret to its endpoint.
func WebhookSealAD(endpointID string) []byte { return []byte("webhook:" + endpointID) }

// Delivery is one event on its way to one endpoint. Its id is the event's
// id and the endpoint's, so fanning an event out twice cannot queue it twice.
type Delivery struct {
	ID             string
	TenantID       string
	EndpointID     string
	EventID        string
	EventType      string
	UserID         string
	EventAt        time.Time
	Status         string
	Attempts       int
	NextAttemptAt  time.Time
	LastStatusCode int
	LastError      string
	Payload        []byte // rendered at the first attempt, then sent unchanged
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// DeliveryAttempt is one POST to an endpoint, for the delivery log.
type DeliveryAttempt struct {
	DeliveryID string
	At         time.Time
	StatusCode int // 0 when no answer came
	Duration   time.Duration
	Error      string
	Response   string // the start of the answer's body
}

// ClaimedDelivery is a delivery leased to one dispatcher, with what it
// needs to send it.
type ClaimedDelivery struct {
	Delivery
	Endpoint WebhookEndpoint
}

// DeliveryResult is how an attempt ended, written back in one transaction
// with the attempt's log row and the endpoint's health.
type DeliveryResult struct {
	Attempt       DeliveryAttempt
	Delivered     bool
	NextAttemptAt time.Time // zero with Delivered false: failed for good
	Payload       []byte    // the body sent, kept for retries
	SuspendAfter  int       // consecutive failures that suspend the endpoint
}

// Settle says what a delivery becomes after the attempt: delivered,
// pending until NextAttemptAt, or failed for good.
func (r DeliveryResult) Settle() (status string, next time.Time) {
	switch {
	case r.Delivered:
		return DeliveryDelivered, r.Attempt.At
	case r.NextAttemptAt.IsZero():
		return DeliveryFailed, r.Attempt.At
	}
	return DeliveryPending, r.NextAttemptAt
}

// WebhookStore persists endpoints and deliveries. Events are the outbox:
// they are written in the same transaction as the change they describe,
// and FanOutEvents turns them into deliveries.
type WebhookStore interface {
	CreateWebhook(ctx context.Context, w *WebhookEndpoint) error
	GetWebhook(ctx context.Context, tenantID, id string) (*WebhookEndpoint, error)
	ListWebhooks(ctx context.Context, tenantID string) ([]*WebhookEndpoint, error)
	// UpdateWebhook replaces URL, events, signing and status; setting
	// status healthy resets the failure count. ENOTFOUND.
	UpdateWebhook(ctx context.Context, w *WebhookEndpoint) error
	// DeleteWebhook removes the endpoint and its deliveries. ENOTFOUND.
	DeleteWebhook(ctx context.Context, tenantID, id string) error
	// FanOutEvents takes up to limit events not yet fanned out, queues a
	// delivery for every endpoint of the event's tenant subscribed to its
	// type, and marks them fanned out, in one transaction. It returns how
	// many events it took.
	FanOutEvents(ctx context.Context, now time.Time, limit int) (int, error)
	// ClaimDeliveries leases up to limit pending deliveries that are due at
	// now, of endpoints that are not suspended, until now+lease; of
	// concurrent callers on any instances, each delivery goes to one.
	ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*ClaimedDelivery, error)
	// FinishDelivery records an attempt of a claimed delivery: the log row,
	// the delivery's new state and the endpoint's health, together.
	FinishDelivery(ctx context.Context, d *ClaimedDelivery, r DeliveryResult) error
	// ListDeliveries returns an endpoint's deliveries, newest first.
	ListDeliveries(ctx context.Context, tenantID, endpointID string, p Page) ([]*Delivery, string, error)
	// ListDeliveryAttempts returns a delivery's attempts, newest first.
	ListDeliveryAttempts(ctx context.Context, deliveryID string) ([]*DeliveryAttempt, error)
	// NextDeliveryAt is when the earliest pending delivery of a
	// non-suspended endpoint is due (for a leased one, when its lease
	// ends), or zero when none is.
	NextDeliveryAt(ctx context.Context) (time.Time, error)
	// PendingDeliveries counts the deliveries not yet delivered or failed.
	PendingDeliveries(ctx context.Context) (int, error)
	// PruneDeliveries deletes delivered and failed deliveries (and their
	// attempts) last touched before before, and returns how many.
	PruneDeliveries(ctx context.Context, before time.Time) (int, error)
}

// WebhookInput creates or patches an endpoint.
type WebhookInput struct {
	URL     *string   `json:"url"`
	Events  *[]string `json:"events"`
	Signing *string   `json:"signing"`
	Status  *string   `json:"status"`
}

// Signing schemes an endpoint may use, as package webhook names them.
var webhookSignings = []string{"standard-webhooks", "accounts-v3"}

func (in *WebhookInput) apply(w *WebhookEndpoint, create bool) error {
	if in.URL != nil || create {
		if in.URL == nil || *in.URL == "" {
			return Invalid("url", "is required")
		}
		u, err := url.Parse(*in.URL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || len(*in.URL) > 2048 {
			return Invalid("url", "must be an http:// or https:// URL without credentials, at most 2048 characters")
		}
		w.URL = *in.URL
	}
	if in.Events != nil || create {
		if in.Events == nil || len(*in.Events) == 0 {
			return Invalid("events", "name at least one of %s", strings.Join(EventTypes, ", "))
		}
		var evs []string
		for _, e := range *in.Events {
			if !slices.Contains(EventTypes, e) {
				return Invalid("events", "%q is not an event type; use %s", e, strings.Join(EventTypes, ", "))
			}
			if !slices.Contains(evs, e) {
				evs = append(evs, e)
			}
		}
		w.Events = evs
	}
	if in.Signing != nil {
		if !slices.Contains(webhookSignings, *in.Signing) {
			return Invalid("signing", "must be standard-webhooks or accounts-v3")
		}
		w.Signing = *in.Signing
	} else if create {
		w.Signing = webhookSignings[0]
	}
	if in.Status != nil {
		if create || *in.Status != WebhookHealthy {
			return Invalid("status", "can only be set to healthy, to re-enable an endpoint")
		}
		w.Status, w.ConsecutiveFailures = WebhookHealthy, 0
	} else if create {
		w.Status = WebhookHealthy
	}
	return nil
}

// CreateWebhook validates in and stores a new endpoint with a fresh secret,
// returning the endpoint and the secret (shown this once).
func (s *Service) CreateWebhook(ctx context.Context, tenantID string, in WebhookInput, newSecret func() string) (*WebhookEndpoint, string, error) {
	if _, err := s.Tenants.GetTenant(ctx, tenantID); err != nil {
		return nil, "", err
	}
	now := s.now()
	w := &WebhookEndpoint{ID: NewID(), TenantID: tenantID, CreatedAt: now, UpdatedAt: now}
	if err := in.apply(w, true); err != nil {
		return nil, "", err
	}
	secret := newSecret()
	w.SecretSealed = s.WebhookSealer.Seal([]byte(secret), WebhookSealAD(w.ID))
	if err := s.Webhooks.CreateWebhook(ctx, w); err != nil {
		return nil, "", err
	}
	s.audit(ctx, w.TenantID, "", "webhook", "created", w.ID, []string{"url", "events", "signing"})
	return w, secret, nil
}

// UpdateWebhook patches an endpoint; status "healthy" re-enables a
// suspended one (its queued deliveries go out again).
func (s *Service) UpdateWebhook(ctx context.Context, tenantID, id string, in WebhookInput) (*WebhookEndpoint, error) {
	w, err := s.Webhooks.GetWebhook(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	if err := in.apply(w, false); err != nil {
		return nil, err
	}
	w.UpdatedAt = s.now()
	if err := s.Webhooks.UpdateWebhook(ctx, w); err != nil {
		return nil, err
	}
	s.audit(ctx, w.TenantID, "", "webhook", "updated", w.ID, in.fields())
	return w, nil
}

// WebhookSecret opens an endpoint's secret for signing.
func (s *Service) WebhookSecret(w *WebhookEndpoint) (string, error) {
	plain, err := s.WebhookSealer.Open(w.SecretSealed, WebhookSealAD(w.ID))
	if err != nil {
		return "", Internal(err)
	}
	return string(plain), nil
}
