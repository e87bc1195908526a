package pb

import (
	"os/exec"
	"testing"
)

// The generated files are committed; this fails when someone edits the proto and forgets to regenerate.
func TestGeneratedCodeIsInSyncWithProto(t *testing.T) {
	if _, err := exec.LookPath("protoc"); err != nil {
		t.Skip("protoc not installed")
	}
	out, err := exec.Command("./generate.sh", "--check").CombinedOutput()
	if err != nil {
		t.Fatalf("generated code is stale; run internal/pb/generate.sh\n%s", out)
	}
}
