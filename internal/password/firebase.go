package password

import (
	"encoding/base64"
	"fmt"
)

// FirebaseProject is a Firebase project's password hash parameters, as the
// Firebase console shows them ("Password Hash Parameters"): the same for
// every user of the project, so an import takes them once.
type FirebaseProject struct {
	SignerKey     string // base64_signer_key
	SaltSeparator string // base64_salt_separator
	Rounds        int    // rounds: scrypt's r
	MemCost       int    // mem_cost: log2 of scrypt's N
}

// Encode returns the stored form of one exported user's hash (the
// passwordHash and salt fields of `firebase auth:export`, both base64),
// self-contained so that it verifies without the project's parameters:
// $firescrypt$ln=<mem_cost>,r=<rounds>,p=1$<salt>$<hash>$<separator>$<signer key>.
// The result is checked like any imported hash, cost caps included.
func (f FirebaseProject) Encode(salt, hash string) (string, error) {
	for _, v := range []struct{ name, val string }{{"signer key", f.SignerKey}, {"salt separator", f.SaltSeparator}, {"salt", salt}, {"hash", hash}} {
		if _, err := base64.StdEncoding.DecodeString(v.val); err != nil {
			return "", malformed("firebase %s is not padded base64", v.name)
		}
	}
	s := fmt.Sprintf("$firescrypt$ln=%d,r=%d,p=1$%s$%s$%s$%s", f.MemCost, f.Rounds, salt, hash, f.SaltSeparator, f.SignerKey)
	if err := Check(s); err != nil {
		return "", err
	}
	return s, nil
}
