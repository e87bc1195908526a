package auth

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const testKey = "0123456789abcdef0123456789abcdef" // 32 bytes

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func sign(t *testing.T, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	token, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return token
}

func hs256(t *testing.T, claims jwt.MapClaims) string {
	return sign(t, jwt.SigningMethodHS256, []byte(testKey), claims)
}

// unsigned builds a compact JWS by hand, for headers a library refuses to produce.
func unsigned(header, payload, signature string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(header)) + "." + enc([]byte(payload)) + "." + signature
}

func TestCheck(t *testing.T) {
	valid := jwt.MapClaims{"sub": "lab", "exp": now.Add(time.Hour).Unix()}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, issuer, audience, header string
		want                           error
	}{
		{"valid", "", "", "Bearer " + hs256(t, valid), nil},
		{"scheme in any case", "", "", "bEARER " + hs256(t, valid), nil},
		{"missing header", "", "", "", ErrMissingToken},
		{"wrong scheme", "", "", "Basic " + hs256(t, valid), ErrMissingToken},
		{"scheme without a space", "", "", "Bearer" + hs256(t, valid), ErrMissingToken},
		{"empty token", "", "", "Bearer ", ErrMissingToken},
		{"scheme only", "", "", "Bearer", ErrMissingToken},
		{"malformed", "", "", "Bearer not.a.token", ErrInvalidToken},
		{"two segments", "", "", "Bearer " + strings.Join(strings.Split(hs256(t, valid), ".")[:2], "."), ErrInvalidToken},
		{"bad signature", "", "", "Bearer " + sign(t, jwt.SigningMethodHS256, []byte(strings.Repeat("x", 32)), valid), ErrInvalidToken},
		{"alg none", "", "", "Bearer " + sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, valid), ErrInvalidToken},
		{"alg none with an HS256 signature", "", "", "Bearer " + unsigned(`{"alg":"none","typ":"JWT"}`, `{"exp":9999999999}`,
			strings.Split(hs256(t, valid), ".")[2]), ErrInvalidToken},
		{"alg in lower case", "", "", "Bearer " + unsigned(`{"alg":"hs256"}`, `{"exp":9999999999}`, "x"), ErrInvalidToken},
		{"HS512 under the same key", "", "", "Bearer " + sign(t, jwt.SigningMethodHS512, []byte(testKey), valid), ErrInvalidToken},
		{"HS384 under the same key", "", "", "Bearer " + sign(t, jwt.SigningMethodHS384, []byte(testKey), valid), ErrInvalidToken},
		{"RS256", "", "", "Bearer " + sign(t, jwt.SigningMethodRS256, rsaKey, valid), ErrInvalidToken},
		{"exp missing", "", "", "Bearer " + hs256(t, jwt.MapClaims{"sub": "lab"}), ErrInvalidToken},
		{"exp not a number", "", "", "Bearer " + hs256(t, jwt.MapClaims{"exp": "9999999999"}), ErrInvalidToken},
		{"expired beyond the leeway", "", "", "Bearer " + hs256(t, jwt.MapClaims{"exp": now.Add(-31 * time.Second).Unix()}), ErrInvalidToken},
		{"expired exactly the leeway ago", "", "", "Bearer " + hs256(t, jwt.MapClaims{"exp": now.Add(-30 * time.Second).Unix()}), ErrInvalidToken},
		{"expired within the leeway", "", "", "Bearer " + hs256(t, jwt.MapClaims{"exp": now.Add(-29 * time.Second).Unix()}), nil},
		{"nbf beyond the leeway", "", "", "Bearer " + hs256(t, jwt.MapClaims{"exp": now.Add(time.Hour).Unix(), "nbf": now.Add(31 * time.Second).Unix()}), ErrInvalidToken},
		{"nbf exactly at the leeway", "", "", "Bearer " + hs256(t, jwt.MapClaims{"exp": now.Add(time.Hour).Unix(), "nbf": now.Add(30 * time.Second).Unix()}), nil},
		{"nbf not a number", "", "", "Bearer " + hs256(t, jwt.MapClaims{"exp": now.Add(time.Hour).Unix(), "nbf": "soon"}), ErrInvalidToken},
		{"iat in the future is ignored", "", "", "Bearer " + hs256(t, jwt.MapClaims{"exp": now.Add(time.Hour).Unix(), "iat": now.Add(time.Hour).Unix()}), nil},
		{"other claims of any type are ignored", "", "", "Bearer " + hs256(t, jwt.MapClaims{"exp": now.Add(time.Hour).Unix(), "iss": 7, "aud": false}), nil},
		{"issuer matches", "lab", "", "Bearer " + hs256(t, jwt.MapClaims{"exp": now.Add(time.Hour).Unix(), "iss": "lab"}), nil},
		{"issuer mismatch", "lab", "", "Bearer " + hs256(t, jwt.MapClaims{"exp": now.Add(time.Hour).Unix(), "iss": "other"}), ErrInvalidToken},
		{"issuer missing", "lab", "", "Bearer " + hs256(t, valid), ErrInvalidToken},
		{"audience as a string", "", "events", "Bearer " + hs256(t, jwt.MapClaims{"exp": now.Add(time.Hour).Unix(), "aud": "events"}), nil},
		{"audience in an array", "", "events", "Bearer " + hs256(t, jwt.MapClaims{"exp": now.Add(time.Hour).Unix(), "aud": []string{"a", "events"}}), nil},
		{"audience mismatch", "", "events", "Bearer " + hs256(t, jwt.MapClaims{"exp": now.Add(time.Hour).Unix(), "aud": []string{"a", "b"}}), ErrInvalidToken},
		{"audience missing", "", "events", "Bearer " + hs256(t, valid), ErrInvalidToken},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := newVerifier(func() []byte { return []byte(testKey) }, c.issuer, c.audience, func() time.Time { return now })
			if err := v.Check(c.header); !errors.Is(err, c.want) || (c.want == nil && err != nil) {
				t.Fatalf("Check = %v, want %v", err, c.want)
			}
		})
	}
}

func TestANilVerifierAcceptsEverything(t *testing.T) {
	var off *Verifier
	if err := off.Check(""); err != nil {
		t.Fatal(err)
	}
}

func TestTheKeyIsReadAtEachCheck(t *testing.T) {
	key := testKey
	v := New(func() []byte { return []byte(key) }, "", "")
	token := "Bearer " + hs256(t, jwt.MapClaims{"exp": time.Now().Add(time.Hour).Unix()})
	if err := v.Check(token); err != nil {
		t.Fatal(err)
	}
	key = strings.Repeat("k", 32) // rotated: tokens signed with the old key stop verifying
	if err := v.Check(token); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("after the rotation: %v", err)
	}
}
