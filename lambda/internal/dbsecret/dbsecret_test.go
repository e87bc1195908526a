package dbsecret

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

const (
	testARN      = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-0123-AbCdEf"
	testPassword = `p@ss:/word?#%"`
)

// fakeSecretsManager answers Secrets Manager's JSON protocol (awsJson1_1) the way AWS does: one POST to
// "/", the operation in X-Amz-Target. reply writes the answer of call number n (1-based).
func fakeSecretsManager(t *testing.T, reply func(n int, w http.ResponseWriter, r *http.Request)) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var calls atomic.Int32
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(calls.Add(1))
		if r.Method != http.MethodPost || r.URL.Path != "/" {
			t.Errorf("request %s %s", r.Method, r.URL.Path)
		}
		if got := r.Header.Get("X-Amz-Target"); got != "secretsmanager.GetSecretValue" {
			t.Errorf("X-Amz-Target = %q", got)
		}
		if got := r.Header.Get("Content-Type"); got != "application/x-amz-json-1.1" {
			t.Errorf("Content-Type = %q", got)
		}
		// Signed (SigV4) with the static credentials, for the region and service.
		if got := r.Header.Get("Authorization"); !strings.HasPrefix(got, "AWS4-HMAC-SHA256 Credential=AKIDFAKE/") ||
			!strings.Contains(got, "/eu-west-1/secretsmanager/aws4_request") {
			t.Errorf("Authorization = %q", got)
		}
		var input struct{ SecretId string }
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &input); err != nil || input.SecretId != testARN {
			t.Errorf("body %s", body)
		}
		reply(n, w, r)
	}))
	t.Cleanup(server.Close)
	return server, &calls
}

func answer(w http.ResponseWriter, secret string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"ARN": testARN, "Name": "rds!db-0123", "SecretString": secret, "VersionId": "v1",
		"VersionStages": []string{"AWSCURRENT"}, "CreatedDate": 1.7e9,
	})
}

func awsError(w http.ResponseWriter, status int, kind, message string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", kind)
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"__type":%q,"message":%q}`, kind, message)
}

// local points the SDK at the fake with static credentials and no shared configuration of this machine.
func local(t *testing.T, endpoint string) []func(*awsconfig.LoadOptions) error {
	t.Helper()
	none := filepath.Join(t.TempDir(), "none")
	for _, name := range []string{"AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"} {
		t.Setenv(name, none)
	}
	for _, name := range []string{"AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_REGION"} {
		t.Setenv(name, "")
	}
	return []func(*awsconfig.LoadOptions) error{
		awsconfig.WithRegion("eu-west-1"),
		awsconfig.WithBaseEndpoint(endpoint),
		awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKIDFAKE", "fake-secret-key", "")),
	}
}

var fast = limits{timeout: 5 * time.Second, attemptTimeout: 2 * time.Second, maxBackoff: 10 * time.Millisecond, maxAttempts: 4}

func TestFetchReadsUsernameAndPassword(t *testing.T) {
	secret, _ := json.Marshal(map[string]string{"username": "bench", "password": testPassword, "engine": "postgres"})
	server, calls := fakeSecretsManager(t, func(_ int, w http.ResponseWriter, _ *http.Request) { answer(w, string(secret)) })
	got, err := Fetch(context.Background(), testARN, local(t, server.URL)...)
	if err != nil {
		t.Fatal(err)
	}
	if got != (Credentials{Username: "bench", Password: testPassword}) || calls.Load() != 1 {
		t.Fatalf("got %v after %d calls", got, calls.Load())
	}
}

func TestFetchRetriesServerErrorsAndThrottling(t *testing.T) {
	server, calls := fakeSecretsManager(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		switch n {
		case 1:
			awsError(w, http.StatusInternalServerError, "InternalServiceError", "try again")
		case 2:
			awsError(w, http.StatusBadRequest, "ThrottlingException", "Rate exceeded")
		default:
			answer(w, `{"username":"bench","password":"pw"}`)
		}
	})
	got, err := fetch(context.Background(), testARN, fast, local(t, server.URL)...)
	if err != nil || got.Password != "pw" || calls.Load() != 3 {
		t.Fatalf("got %v, %v after %d calls", got, err, calls.Load())
	}
}

func TestFetchDoesNotRetryAccessDenied(t *testing.T) {
	server, calls := fakeSecretsManager(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		awsError(w, http.StatusBadRequest, "AccessDeniedException", "not authorized to perform secretsmanager:GetSecretValue")
	})
	_, err := fetch(context.Background(), testARN, fast, local(t, server.URL)...)
	if err == nil || !strings.Contains(err.Error(), "AccessDeniedException") || calls.Load() != 1 {
		t.Fatalf("got %v after %d calls", err, calls.Load())
	}
}

func TestFetchIsBoundedWhenSecretsManagerHangs(t *testing.T) {
	release := make(chan struct{})
	server, calls := fakeSecretsManager(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		select { // never answers in time
		case <-r.Context().Done():
		case <-release:
		}
	})
	defer close(release)
	l := limits{timeout: 900 * time.Millisecond, attemptTimeout: 200 * time.Millisecond, maxBackoff: 10 * time.Millisecond, maxAttempts: 10}
	start := time.Now()
	_, err := fetch(context.Background(), testARN, l, local(t, server.URL)...)
	elapsed := time.Since(start)
	if err == nil || elapsed > 2*time.Second {
		t.Fatalf("got %v after %s", err, elapsed)
	}
	if calls.Load() < 2 { // a hung attempt is cut and retried
		t.Fatalf("%d attempts", calls.Load())
	}
}

func TestSecretWithoutPasswordIsAnErrorThatQuotesNothing(t *testing.T) {
	for _, secret := range []string{`{"username":"bench"}`, `{"password":""}`, `{"password":42}`, `s3cret-not-json`, ``} {
		_, err := parse(secret)
		if err == nil || strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "42") {
			t.Errorf("%q: got %v", secret, err)
		}
	}
	got, err := parse(`{"password":"only"}`)
	if err != nil || got != (Credentials{Password: "only"}) {
		t.Fatalf("got %v, %v", got, err)
	}
}

func TestCredentialsNeverPrintThePassword(t *testing.T) {
	c := Credentials{Username: "bench", Password: "s3cret"}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("x", "credentials", c)
	for _, text := range []string{fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s", c, c, c, c), logged.String()} {
		if strings.Contains(text, "s3cret") || !strings.Contains(text, "bench") {
			t.Errorf("%s", text)
		}
	}
}

func TestFetchTextReadsTheSecretAsItIs(t *testing.T) {
	const key = ` a JWT key of 32 bytes or more, "as is" `
	server, calls := fakeSecretsManager(t, func(_ int, w http.ResponseWriter, _ *http.Request) { answer(w, key) })
	got, err := FetchText(context.Background(), testARN, local(t, server.URL)...)
	if err != nil || got != key || calls.Load() != 1 {
		t.Fatalf("got %q, %v after %d calls", got, err, calls.Load())
	}
}
