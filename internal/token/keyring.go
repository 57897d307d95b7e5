package token

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/latchauth/latch/internal/identity"
)

// Signing algorithms a deployment may choose.
const (
	AlgEdDSA = "EdDSA"
	AlgES256 = "ES256"
	AlgRS256 = "RS256"
)

// ErrSecretMismatch is returned when stored signing keys cannot be
// decrypted with the configured secret.
var ErrSecretMismatch = errors.New("signing key cannot be decrypted: LATCH_SECRET differs from the one that encrypted it")

// Claims are the claims of a latch access token.
type Claims struct {
	jwt.RegisteredClaims
	TenantID  string   `json:"tid"`
	SessionID string   `json:"sid"`
	Email     string   `json:"email"`
	Roles     []string `json:"roles"`
	AMR       []string `json:"amr"`
}

// KeyringConfig configures a Keyring.
type KeyringConfig struct {
	Secret []byte
	// Alg is the algorithm of the first key of a new deployment; later
	// keys are chosen at rotation (see NewKeyring).
	Alg       string
	Issuer    string
	AccessTTL time.Duration
	Now       func() time.Time
}

// Keyring signs access tokens with the current key and publishes the
// public keys that tokens in circulation may have been signed with. The key
// set lives in the store, so every instance signs and publishes the same.
type Keyring struct {
	store identity.KeyStore
	seal  *Sealer
	cfg   KeyringConfig

	mu   sync.RWMutex
	keys []*loadedKey // ascending ActivateAt
	jwks []byte
	etag string
	at   time.Time // when jwks was computed
}

type loadedKey struct {
	meta   *identity.SigningKey
	signer crypto.Signer
	method jwt.SigningMethod
	header string // the token's first segment (jwtHeader)
}

// ReloadEvery is how often a running server reloads the key set, so that
// a key added by another instance or by `latch keys rotate` is published
// (and later used) everywhere.
const ReloadEvery = 30 * time.Second

// MinActivateIn is the shortest delay Rotate accepts before a new key
// signs: every running server has reloaded the key set (ReloadEvery) and
// its JWKS cache (10 s) has expired, so the key is in every server's JWKS
// before the first token it signs. Verifiers that cache the JWKS longer
// (it is served with max-age=300) need DefaultActivateIn.
const MinActivateIn = time.Minute

// DefaultActivateIn covers the JWKS max-age (5 min) and the reload.
const DefaultActivateIn = 6 * time.Minute

// LoadKeyring loads the stored keys and creates none: for commands that
// work on a deployment's keys without serving (latch keys rotate).
func LoadKeyring(ctx context.Context, store identity.KeyStore, cfg KeyringConfig) (*Keyring, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	k := &Keyring{store: store, seal: NewSealer(cfg.Secret, LabelSigningKeys), cfg: cfg}
	if err := k.Reload(ctx); err != nil {
		return nil, err
	}
	return k, nil
}

// NewKeyring loads the stored keys and, when no key is active (a new
// database), creates one of cfg.Alg that signs at once: no token exists
// yet, so there is nobody to announce it to. A deployment that has an
// active key keeps signing with it whatever cfg.Alg says: a key of another
// algorithm created here would sign before any verifier had seen it in the
// JWKS. Changing the algorithm is a rotation (Rotate with the new
// algorithm), published ahead of use like any other.
func NewKeyring(ctx context.Context, store identity.KeyStore, cfg KeyringConfig) (*Keyring, error) {
	if _, err := methodFor(cfg.Alg); err != nil {
		return nil, err
	}
	k, err := LoadKeyring(ctx, store, cfg)
	if err != nil {
		return nil, err
	}
	if k.current() != nil {
		return k, nil
	}
	// Several instances may start at once on an empty database: the store
	// inserts only the first key, and every instance then loads that one,
	// so they all sign with and publish the same key.
	meta, err := k.newKey(k.cfg.Alg, 0)
	if err != nil {
		return nil, err
	}
	if _, err := store.InsertFirstSigningKey(ctx, meta); err != nil {
		return nil, fmt.Errorf("store signing key: %w", err)
	}
	if err := k.Reload(ctx); err != nil {
		return nil, err
	}
	if k.current() == nil {
		return nil, errors.New("no signing key is active after creating one")
	}
	return k, nil
}

// Active returns the key that signs now, or nil when none is active.
func (k *Keyring) Active() *identity.SigningKey {
	if cur := k.current(); cur != nil {
		return cur.meta
	}
	return nil
}

// Reload reads the key set from the store; call it periodically so that a
// rotation made elsewhere is picked up.
func (k *Keyring) Reload(ctx context.Context) error {
	metas, err := k.store.ListSigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("load signing keys: %w", err)
	}
	k.mu.RLock()
	known := make(map[string]*loadedKey, len(k.keys))
	for _, lk := range k.keys {
		known[lk.meta.ID] = lk
	}
	k.mu.RUnlock()
	keys := make([]*loadedKey, 0, len(metas))
	for _, m := range metas {
		if lk, ok := known[m.ID]; ok {
			keys = append(keys, lk)
			continue
		}
		lk, err := k.open(m)
		if err != nil {
			return err
		}
		keys = append(keys, lk)
	}
	slices.SortStableFunc(keys, func(a, b *loadedKey) int { return a.meta.ActivateAt.Compare(b.meta.ActivateAt) })
	k.mu.Lock()
	k.keys = keys
	k.jwks = nil
	k.mu.Unlock()
	return nil
}

// Rotate creates a key of algorithm alg ("" for the active key's) that
// starts signing after activateIn, at least MinActivateIn. It is published
// at once, so that verifiers holding a cached JWKS learn it before the
// first token it signs; the previous key stays published until every
// token it signed has expired.
func (k *Keyring) Rotate(ctx context.Context, alg string, activateIn time.Duration) (*identity.SigningKey, error) {
	if activateIn < MinActivateIn {
		return nil, fmt.Errorf("a new key must be published at least %v before it signs (got %v)", MinActivateIn, activateIn)
	}
	if alg == "" {
		cur := k.current()
		if cur == nil {
			return nil, errors.New("no active signing key to rotate from: start latch serve once, it creates the first key")
		}
		alg = cur.meta.Alg
	}
	meta, err := k.newKey(alg, activateIn)
	if err != nil {
		return nil, err
	}
	if err := k.store.InsertSigningKey(ctx, meta); err != nil {
		return nil, fmt.Errorf("store signing key: %w", err)
	}
	return meta, k.Reload(ctx)
}

// newKey generates a key of algorithm alg, sealed for storage.
func (k *Keyring) newKey(alg string, activateIn time.Duration) (*identity.SigningKey, error) {
	signer, err := generate(alg)
	if err != nil {
		return nil, err
	}
	priv, err := x509.MarshalPKCS8PrivateKey(signer)
	if err != nil {
		return nil, err
	}
	pub, err := x509.MarshalPKIXPublicKey(signer.Public())
	if err != nil {
		return nil, err
	}
	now := k.cfg.Now().UTC()
	id := uuid.Must(uuid.NewV7()).String()
	return &identity.SigningKey{
		ID: id, Alg: alg, PublicDER: pub, CreatedAt: now, ActivateAt: now.Add(activateIn),
		PrivateEnc: k.seal.Seal(priv, []byte(id)),
	}, nil
}

func (k *Keyring) open(m *identity.SigningKey) (*loadedKey, error) {
	der, err := k.seal.Open(m.PrivateEnc, []byte(m.ID))
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", m.ID, ErrSecretMismatch)
	}
	pk, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", m.ID, err)
	}
	signer, ok := pk.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("signing key %s: unsupported key type %T", m.ID, pk)
	}
	method, err := methodFor(m.Alg)
	if err != nil {
		return nil, err
	}
	return &loadedKey{meta: m, signer: signer, method: method, header: jwtHeader(method, m.ID)}, nil
}

// current returns the newest key whose activation time has come.
func (k *Keyring) current() *loadedKey {
	k.mu.RLock()
	defer k.mu.RUnlock()
	now := k.cfg.Now()
	for i := len(k.keys) - 1; i >= 0; i-- {
		if !k.keys[i].meta.ActivateAt.After(now) {
			return k.keys[i]
		}
	}
	return nil
}

// Sign signs c with the current key, filling iss, iat, nbf, exp and jti.
// It returns the token and its expiry.
func (k *Keyring) Sign(c Claims) (string, time.Time, error) {
	key := k.current()
	if key == nil {
		return "", time.Time{}, errors.New("no active signing key")
	}
	now := k.cfg.Now().Truncate(time.Second)
	exp := now.Add(k.cfg.AccessTTL)
	c.Issuer = k.cfg.Issuer
	c.IssuedAt = jwt.NewNumericDate(now)
	c.NotBefore = jwt.NewNumericDate(now)
	c.ExpiresAt = jwt.NewNumericDate(exp)
	c.ID = uuid.Must(uuid.NewV7()).String()
	s, err := key.sign(&c)
	return s, exp, err
}

// Verify parses and verifies an access token against the published keys.
func (k *Keyring) Verify(s string) (*Claims, error) {
	var c Claims
	_, err := jwt.ParseWithClaims(s, &c, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		k.mu.RLock()
		defer k.mu.RUnlock()
		for _, lk := range k.keys {
			if lk.meta.ID == kid {
				if t.Method.Alg() != lk.meta.Alg {
					return nil, errors.New("algorithm does not match key")
				}
				return lk.signer.Public(), nil
			}
		}
		return nil, errors.New("unknown key id")
	}, jwt.WithValidMethods([]string{AlgEdDSA, AlgES256, AlgRS256}), jwt.WithIssuer(k.cfg.Issuer),
		jwt.WithTimeFunc(k.cfg.Now), jwt.WithExpirationRequired())
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// JWKS returns the RFC 7517 key set to publish and an ETag for it: pending
// keys, the current key, and retired keys until tokens they signed have
// expired (activation of the successor + access TTL + one minute of skew).
func (k *Keyring) JWKS() ([]byte, string) {
	now := k.cfg.Now()
	k.mu.RLock()
	if k.jwks != nil && now.Sub(k.at) < 10*time.Second {
		defer k.mu.RUnlock()
		return k.jwks, k.etag
	}
	type jwk struct {
		Kty string `json:"kty"`
		Use string `json:"use"`
		Alg string `json:"alg"`
		Kid string `json:"kid"`
		Crv string `json:"crv,omitempty"`
		X   string `json:"x,omitempty"`
		Y   string `json:"y,omitempty"`
		N   string `json:"n,omitempty"`
		E   string `json:"e,omitempty"`
	}
	set := struct {
		Keys []jwk `json:"keys"`
	}{Keys: []jwk{}}
	enc := base64.RawURLEncoding
	for i, lk := range k.keys {
		if i+1 < len(k.keys) {
			succ := k.keys[i+1].meta.ActivateAt
			if !succ.After(now) && now.Sub(succ) > k.cfg.AccessTTL+time.Minute {
				continue // every token this key signed has expired
			}
		}
		j := jwk{Use: "sig", Alg: lk.meta.Alg, Kid: lk.meta.ID}
		switch pub := lk.signer.Public().(type) {
		case ed25519.PublicKey:
			j.Kty, j.Crv, j.X = "OKP", "Ed25519", enc.EncodeToString(pub)
		case *ecdsa.PublicKey:
			b, _ := pub.Bytes() // uncompressed point 0x04 ‖ X ‖ Y
			j.Kty, j.Crv, j.X, j.Y = "EC", "P-256", enc.EncodeToString(b[1:33]), enc.EncodeToString(b[33:])
		case *rsa.PublicKey:
			j.Kty, j.N, j.E = "RSA", enc.EncodeToString(pub.N.Bytes()), enc.EncodeToString(big.NewInt(int64(pub.E)).Bytes())
		}
		set.Keys = append(set.Keys, j)
	}
	k.mu.RUnlock()
	b, _ := json.Marshal(set)
	sum := sha256.Sum256(b)
	etag := `"` + enc.EncodeToString(sum[:12]) + `"`
	k.mu.Lock()
	k.jwks, k.etag, k.at = b, etag, now
	k.mu.Unlock()
	return b, etag
}

func methodFor(alg string) (jwt.SigningMethod, error) {
	switch alg {
	case AlgEdDSA:
		return jwt.SigningMethodEdDSA, nil
	case AlgES256:
		return jwt.SigningMethodES256, nil
	case AlgRS256:
		return jwt.SigningMethodRS256, nil
	}
	return nil, fmt.Errorf("unsupported signing algorithm %q (want EdDSA, ES256 or RS256)", alg)
}

func generate(alg string) (crypto.Signer, error) {
	switch alg {
	case AlgEdDSA:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		return priv, err
	case AlgES256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case AlgRS256:
		return rsa.GenerateKey(rand.Reader, 2048)
	}
	return nil, fmt.Errorf("unsupported signing algorithm %q", alg)
}

// SignAccess implements identity.AccessSigner.
func (k *Keyring) SignAccess(c identity.AccessClaims) (string, time.Time, error) {
	return k.Sign(Claims{
		RegisteredClaims: jwt.RegisteredClaims{Subject: c.Subject, Audience: jwt.ClaimStrings{c.TenantID}},
		TenantID:         c.TenantID, SessionID: c.SessionID, Email: c.Email, Roles: nonNil(c.Roles), AMR: nonNil(c.AMR),
	})
}

// VerifyAccess implements identity.AccessSigner: the token must carry a
// signature by one of the published keys (kid and algorithm agreeing),
// this deployment's issuer and an expiry still ahead, as any JWT client
// of latch would check it.
func (k *Keyring) VerifyAccess(tok string) (*identity.AccessClaims, error) {
	c, err := k.Verify(tok)
	if err != nil {
		return nil, err
	}
	return &identity.AccessClaims{Subject: c.Subject, TenantID: c.TenantID, SessionID: c.SessionID, Email: c.Email,
		Roles: c.Roles, AMR: c.AMR}, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
