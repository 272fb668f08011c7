package interop

import (
	"context"
	"os/exec"
	"testing"
	"time"
)

// TestNodeSelftest runs selftest.mjs: two repo-peer.mjs processes (JS on
// both sides) find, edit and create documents over libp2p, which checks the
// Node peer the other tests drive.
func TestNodeSelftest(t *testing.T) {
	dir := nodeInterop(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "selftest.mjs")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node selftest.mjs: %v\n%s", err, out)
	}
	t.Logf("node selftest.mjs:\n%s", out)
}
