// Package keys is the stored form of an API key, shared by everything that
// checks one: the API's bearer authentication, the collectors' page sign-in
// and the CLI that mints keys. Only a key's SHA-256 is ever stored.
package keys

import (
	"crypto/sha256"
	"encoding/hex"
)

// Hash is the stored form of a key's secret: its SHA-256, in hex.
func Hash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}
