package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Signing schemes, chosen per endpoint.
const (
	// SigningStandard is Standard Webhooks: webhook-id, webhook-timestamp
	// and webhook-signature "v1,<base64 HMAC-SHA256(key, id.timestamp.body)>",
	// the key being the base64-decoded part of the whsec_ secret.
	SigningStandard = "standard-webhooks"
	// SigningAccountsV3 is what receivers written for the accounts-v3
	// reference API check: Webhook-Signature "<base64 HMAC-SHA256(secret,
	// body)>", the key being the whole secret string's bytes.
	SigningAccountsV3 = "accounts-v3"
)

// Signings lists the schemes an endpoint may use.
var Signings = []string{SigningStandard, SigningAccountsV3}

const secretPrefix = "whsec_"

// NewSecret returns a fresh endpoint secret: whsec_ and the base64 of 32
// random bytes.
func NewSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return secretPrefix + base64.StdEncoding.EncodeToString(b)
}

// ErrSecret means a stored secret is not a whsec_ secret.
var ErrSecret = errors.New("webhook: malformed endpoint secret")

// standardKey is the HMAC key of a secret under Standard Webhooks.
func standardKey(secret string) ([]byte, error) {
	raw, ok := strings.CutPrefix(secret, secretPrefix)
	if !ok {
		return nil, ErrSecret
	}
	key, err := base64.StdEncoding.DecodeString(raw)
	if err != nil || len(key) == 0 {
		return nil, ErrSecret
	}
	return key, nil
}

// Sign returns the headers a delivery of body carries under scheme: the
// content type, webhook-id (the event's id, the same on every retry, for
// receivers to de-duplicate), and the signature.
func Sign(scheme, secret, id string, at time.Time, body []byte) (http.Header, error) {
	h := http.Header{}
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("webhook-id", id)
	switch scheme {
	case SigningStandard:
		key, err := standardKey(secret)
		if err != nil {
			return nil, err
		}
		ts := strconv.FormatInt(at.Unix(), 10)
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(id + "." + ts + "."))
		mac.Write(body)
		h.Set("webhook-timestamp", ts)
		h.Set("webhook-signature", "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	case SigningAccountsV3:
		if !strings.HasPrefix(secret, secretPrefix) {
			return nil, ErrSecret
		}
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(body)
		h.Set("Webhook-Signature", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	default:
		return nil, errors.New("webhook: unknown signing scheme " + strconv.Quote(scheme))
	}
	return h, nil
}
