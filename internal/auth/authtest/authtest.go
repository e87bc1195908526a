// Package authtest signs the bearer tokens that the APIs' tests send to an auth-enabled service.
package authtest

import (
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Key is a signing key of the 32 bytes the contract asks for at the least.
const Key = "0123456789abcdef0123456789abcdef"

// Token returns a compact HS256 JWT signed with key whose only claim is exp = expires.
func Token(t testing.TB, key string, expires time.Time) string {
	t.Helper()
	signed, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"exp": expires.Unix()}).SignedString([]byte(key))
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

// Bearer returns an Authorization value with a token signed with key that is valid for an hour.
func Bearer(t testing.TB, key string) string {
	t.Helper()
	return "Bearer " + Token(t, key, time.Now().Add(time.Hour))
}
