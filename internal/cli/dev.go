package cli

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"

	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/store/sqlite"
)

// Demo account created by `serve --dev`.
const (
	devAlias    = "demo"
	devEmail    = "demo@example.com"
	devPassword = "correct-horse-battery"
)

func randomString(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// devSecrets fills in the secret and admin token from the dev database,
// generating them on first start, unless the operator set them.
func devSecrets(ctx context.Context, db *sqlite.DB, cfg *serveConfig) error {
	if len(cfg.secret) == 0 {
		v, err := db.SetMetaIfAbsent(ctx, "dev_secret", randomString(48))
		if err != nil {
			return err
		}
		cfg.secret = []byte(v)
	}
	if cfg.adminToken == "" {
		v, err := db.SetMetaIfAbsent(ctx, "dev_admin_token", "dev_"+randomString(24))
		if err != nil {
			return err
		}
		cfg.adminToken = v
	}
	return nil
}

// devSetup makes sure the demo tenant and user exist and prints how to use them.
func devSetup(ctx context.Context, admin *identity.Admin, db *sqlite.DB, cfg *serveConfig, addr string, out io.Writer) error {
	t, err := db.GetTenantByAlias(ctx, devAlias)
	if identity.ErrorCode(err) == identity.ENOTFOUND {
		name, alias := "Demo", devAlias
		t, err = admin.CreateTenant(ctx, identity.TenantInput{Name: &name, Alias: &alias})
	}
	if err != nil {
		return fmt.Errorf("dev tenant: %w", err)
	}
	if _, err := db.GetUserByEmail(ctx, t.ID, devEmail); identity.ErrorCode(err) == identity.ENOTFOUND {
		email, pw, first, last := devEmail, devPassword, "Demo", "User"
		if _, err := admin.CreateUser(ctx, t.ID, identity.UserInput{Email: &email, Password: &pw, FirstName: &first, LastName: &last}); err != nil {
			return fmt.Errorf("dev user: %w", err)
		}
	} else if err != nil {
		return err
	}
	// The token-login dialect needs an API key. Keys are shown once, so
	// the dev database keeps this one's plaintext (dev only) to print it
	// on every start.
	apiKey, err := db.GetMeta(ctx, "dev_api_key")
	if err != nil {
		return err
	}
	if apiKey == "" {
		_, key, err := admin.CreateAPIKey(ctx, t.ID, "dev")
		if err != nil {
			return fmt.Errorf("dev API key: %w", err)
		}
		if apiKey, err = db.SetMetaIfAbsent(ctx, "dev_api_key", key); err != nil {
			return err
		}
	}
	base := "http://" + addr
	fmt.Fprintf(out, `
latch is running in development mode (data in %s; secrets generated and kept there).

  admin token:  %s
  console:      %s/console/ (sign in with the admin token)
  demo tenant:  %s (alias %q)
  demo user:    %s / %s

Try it:

  # log in (accounts-v3 dialect)
  curl -s %s/v3/accounts/login -H 'Content-Type: application/json' \
    -d '{"accountId":"%s","email":"%s","password":"%s"}'

  # renew: paste the refreshToken from the answer above
  curl -s %s/v3/accounts/login-refresh-token -H 'Content-Type: application/json' \
    -d '{"refreshToken":"PASTE_REFRESH_TOKEN"}'

  # log in (app-auth dialect)
  curl -s %s/api/v1/%s/auth/login -H 'Content-Type: application/json' \
    -d '{"email":"%s","password":"%s"}'

  # log in (token-login dialect), asking for a re-authentication token
  curl -s '%s/api/v1/Authentication/Login?APIKey=%s' -H 'Content-Type: application/json' \
    -d '{"userName":"%s","password":"%s","generateReAuthenticationToken":true,"deviceName":"laptop"}'

  # admin API: list the demo tenant's users
  curl -s %s/admin/v1/tenants/%s/users -H %s

  # the same with the latch CLI (go run ./cmd/latch … in a checkout)
  export LATCH_URL=%s LATCH_ADMIN_TOKEN=%s
  latch user list --tenant %s

  # public keys for verifying access tokens
  curl -s %s/.well-known/jwks.json

Not for production: set LATCH_SECRET and LATCH_ADMIN_TOKEN and drop --dev.

`, cfg.dbName, cfg.adminToken, base, t.ID, devAlias, devEmail, devPassword,
		base, t.ID, devEmail, devPassword, base,
		base, t.ID, devEmail, devPassword,
		base, apiKey, devEmail, devPassword,
		base, t.ID, shellQuote("Authorization: Bearer "+cfg.adminToken), base, shellQuote(cfg.adminToken), devAlias, base)
	return nil
}
