package httpapi

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/latchauth/latch/internal/httpapi/tokenlogin"
	"github.com/latchauth/latch/internal/httpapi/wire"
	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/metrics"
)

// JWKSource publishes the access-token public keys (token.Keyring).
type JWKSource interface {
	JWKS() (body []byte, etag string)
}

// Pinger reports whether the store answers.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Deps are the server's dependencies, all required but Logger.
type Deps struct {
	Service    *identity.Service
	Store      identity.Store
	Keys       JWKSource
	Metrics    *metrics.Metrics
	Clients    *wire.ClientResolver
	AdminToken string        // "" disables the admin API
	Webhooks   WebhookPinger // nil when webhook delivery is not running
	Hashing    Saturation    // the password-hashing pool; nil: no shedding at the edge
	Version    string
	Logger     *slog.Logger
}

// WebhookPinger sends a test event to a webhook endpoint (package webhook).
type WebhookPinger interface {
	Ping(ctx context.Context, w *identity.WebhookEndpoint) identity.DeliveryAttempt
}

// NewServer returns the complete HTTP handler.
func NewServer(d Deps) http.Handler {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Clients == nil {
		d.Clients = &wire.ClientResolver{}
	}
	mux := http.NewServeMux()
	addRoutes(mux, d)
	return recoverer(d.Logger, tokenlogin.CanonicalPaths(observe(d.Metrics, d.Logger, shed(d.Hashing, d.Metrics, mux))))
}
