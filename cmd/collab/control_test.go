package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestControlSocketRoundTrip(t *testing.T) {
	home := t.TempDir()
	lock, err := lockPeer(home)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.release()
	if _, err := lockPeer(home); !errors.Is(err, errPeerRunning) {
		t.Fatalf("second peer lock: %v", err)
	}
	ctx := context.Background()
	if _, err := callControl(ctx, home, controlRequest{Op: "id"}, nil); !errors.Is(err, errNoPeerProcess) {
		t.Fatalf("call with nobody listening: %v", err)
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- serveControl(sctx, home, func(ctx context.Context, req controlRequest) (string, any, error) {
			switch req.Op {
			case "echo":
				return "said " + req.Note, map[string]int{"n": 7}, nil
			default:
				return "", nil, errors.New("unknown operation " + req.Op)
			}
		})
	}()
	deadline := time.Now().Add(5 * time.Second)
	var out map[string]int
	var text string
	for {
		text, err = callControl(ctx, home, controlRequest{Op: "echo", Note: "hi"}, &out)
		if !errors.Is(err, errNoPeerProcess) || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil || text != "said hi" || out["n"] != 7 {
		t.Fatalf("echo: %q %v %v", text, out, err)
	}
	if _, err := callControl(ctx, home, controlRequest{Op: "nope"}, nil); err == nil || !strings.Contains(err.Error(), "unknown operation") {
		t.Fatalf("unknown op: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
