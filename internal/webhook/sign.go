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

// signer signs the deliveries of one endpoint, its key decoded once:
// sign returns the headers a delivery of body carries under the scheme —
// the content type, webhook-id (the event's id, the same on every retry,
// for receivers to de-duplicate), and the signature.
type signer struct {
	scheme string
	key    []byte
	err    error
}

func newSigner(scheme, secret string) *signer {
	s := &signer{scheme: scheme}
	switch scheme {
	case SigningStandard:
		s.key, s.err = standardKey(secret)
	case SigningAccountsV3:
		if !strings.HasPrefix(secret, secretPrefix) {
			s.err = ErrSecret
		}
		s.key = []byte(secret)
	default:
		s.err = errors.New("webhook: unknown signing scheme " + strconv.Quote(scheme))
	}
	return s
}

func (s *signer) sign(id string, at time.Time, body []byte) (http.Header, error) {
	if s.err != nil {
		return nil, s.err
	}
	mac := hmac.New(sha256.New, s.key)
	h := http.Header{"Content-Type": {"application/json; charset=utf-8"}, "Webhook-Id": {id}}
	if s.scheme == SigningAccountsV3 {
		mac.Write(body)
		h["Webhook-Signature"] = []string{base64.StdEncoding.EncodeToString(mac.Sum(nil))}
		return h, nil
	}
	ts := strconv.FormatInt(at.Unix(), 10)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	h["Webhook-Timestamp"] = []string{ts}
	h["Webhook-Signature"] = []string{"v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))}
	return h, nil
}
