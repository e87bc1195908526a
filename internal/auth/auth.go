// Package auth checks the bearer tokens of the contract (contract/CONTRACT.md, "Authentication") for
// every Go API: HS256 JWS in compact form, exp required, nbf when present, iss and aud when configured,
// 30 seconds of leeway. Verification is github.com/golang-jwt/jwt/v5's; this package only decides which
// header holds the token and which key verifies it.
package auth

import (
	"errors"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Messages of the contract.
const (
	MsgMissingToken = "missing bearer token"
	MsgInvalidToken = "invalid token"
)

// Leeway is the clock skew allowed on exp and nbf.
const Leeway = 30 * time.Second

// ErrMissingToken: no Authorization header, another scheme, or an empty token.
// ErrInvalidToken: a token that fails any check. Test with errors.Is.
var (
	ErrMissingToken = errors.New(MsgMissingToken)
	ErrInvalidToken = errors.New(MsgInvalidToken)
)

// Challenge is the WWW-Authenticate value of a 401.
const Challenge = "Bearer"

const bearerPrefix = "bearer "

// Verifier checks tokens. A nil *Verifier is authentication turned off: it accepts every request.
type Verifier struct {
	parser *jwt.Parser
	key    func() []byte
}

// New returns a verifier whose HMAC key is key() at the time of each check, so a key refreshed from the
// secrets store verifies the requests that arrive after it. issuer and audience are checked when not empty.
func New(key func() []byte, issuer, audience string) *Verifier {
	return newVerifier(key, issuer, audience, time.Now)
}

func newVerifier(key func() []byte, issuer, audience string, now func() time.Time) *Verifier {
	options := []jwt.ParserOption{
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(Leeway),
		jwt.WithTimeFunc(now),
	}
	if issuer != "" {
		options = append(options, jwt.WithIssuer(issuer))
	}
	if audience != "" {
		options = append(options, jwt.WithAudience(audience))
	}
	return &Verifier{parser: jwt.NewParser(options...), key: key}
}

// Check verifies the value of an Authorization header (gRPC: the authorization metadata): nil when the
// token is valid or v is nil, else ErrMissingToken or ErrInvalidToken. The reason a token failed is not
// returned: the client gets the same answer for every failure.
func (v *Verifier) Check(authorization string) error {
	if v == nil {
		return nil
	}
	// The scheme in any case, then one space (RFC 9110 §11.1: auth-scheme is case-insensitive).
	if len(authorization) < len(bearerPrefix) || !strings.EqualFold(authorization[:len(bearerPrefix)], bearerPrefix) {
		return ErrMissingToken
	}
	token := authorization[len(bearerPrefix):]
	if token == "" {
		return ErrMissingToken
	}
	// MapClaims parse a claim only when a check needs it: a claim the contract ignores may hold any JSON.
	_, err := v.parser.Parse(token, func(*jwt.Token) (any, error) { return v.key(), nil })
	if err != nil {
		return ErrInvalidToken
	}
	return nil
}
