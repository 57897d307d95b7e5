package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/latchauth/latch/internal/token"
)

// rotateKeys publishes a new signing key that starts signing later. The
// new key's algorithm is the active key's; another one only when
// --signing-alg names it on the command line, since a LATCH_SIGNING_ALG
// left in the environment must not switch a deployment's algorithm.
func rotateKeys(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	s := newSettings("keys rotate", getenv, stderr)
	s.about = `Add a signing key for access tokens. It is published in /.well-known/jwks.json at once (running
servers reload keys every 30 s) and signs from --activate-in later, so that verifiers holding a
cached key set learn it first. The previous key stays published until its last token expires.
The new key has the active key's algorithm; --signing-alg switches the deployment to another.`
	store := addStore(s, "sqlite:latch.db")
	sec := addSecret(s)
	alg := s.add("signing-alg", "LATCH_SIGNING_ALG", "", "algorithm of the new key: EdDSA, ES256 or RS256 (default: the active key's)")
	ttl := s.add("access-ttl", "LATCH_ACCESS_TTL", "15m", "access token lifetime (how long the old key stays published)")
	in := s.add("activate-in", "LATCH_KEY_ACTIVATE_IN", token.DefaultActivateIn.String(), "delay before the new key signs; covers JWKS caches (5 min) and instance reloads (30 s)")
	if err := s.parse(args); err != nil {
		return err
	}
	secret, err := sec.value(true)
	if err != nil {
		return err
	}
	accessTTL, err := ttl.duration(time.Minute, 24*time.Hour)
	if err != nil {
		return err
	}
	delay, err := in.duration(token.MinActivateIn, 24*time.Hour)
	if err != nil {
		return err
	}
	switch *alg.val {
	case "", token.AlgEdDSA, token.AlgES256, token.AlgRS256:
	default:
		return alg.badValue("must be EdDSA, ES256 or RS256")
	}
	db, name, err := store.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	kr, err := token.LoadKeyring(ctx, db, token.KeyringConfig{Secret: secret, AccessTTL: accessTTL})
	if err != nil {
		return err
	}
	active := kr.Active()
	if active == nil {
		return fmt.Errorf("no active signing key in %s: start latch serve once, it creates the first key", name)
	}
	newAlg := *alg.val
	if newAlg != "" && newAlg != active.Alg && alg.source != "flag" {
		return usagef("the active signing key is %s but LATCH_SIGNING_ALG says %s: to switch the deployment to %s, say so on the command line (--signing-alg %s); to keep %s, unset LATCH_SIGNING_ALG",
			active.Alg, newAlg, newAlg, newAlg, active.Alg)
	}
	k, err := kr.Rotate(ctx, newAlg, delay)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "new %s signing key %s\n  published in /.well-known/jwks.json by every running server within %s (they reload keys every %s)\n  signs from %s (in %s)\n"+
		"  the previous key stays published until its last token expires (%s after that)\n",
		k.Alg, k.ID, token.ReloadEvery, token.ReloadEvery, k.ActivateAt.Format(time.RFC3339), delay, accessTTL+time.Minute)
	if k.Alg != active.Alg {
		fmt.Fprintf(stdout, "  the deployment switches from %s to %s: set LATCH_SIGNING_ALG=%s on the servers too (until then they warn, and sign with the newest active key)\n",
			active.Alg, k.Alg, k.Alg)
	}
	return nil
}
