package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/collab-editor/collab/sync/engine"
)

// One collab process per notebook runs the peer (the TUI or `collab serve`):
// it holds peer.lock and answers on control.sock, a Unix socket inside the
// notebook's 0700 directory, so only this user reaches it. Commands such as
// `collab invite` or `collab join` in another shell ask that process rather
// than starting a second peer with the same identity.
const (
	peerLockName   = "peer.lock"
	controlName    = "control.sock"
	controlTimeout = 2 * time.Minute // a join may wait on a slow peer
	maxControlLine = 1 << 20
)

var errNoPeerProcess = errors.New("no collab process is running for this notebook")

// peerLock is held by the process that runs the notebook's peer.
type peerLock struct{ f *os.File }

// lockPeer takes the notebook's peer lock, or reports errPeerRunning.
func lockPeer(home string) (*peerLock, error) {
	f, err := os.OpenFile(filepath.Join(home, peerLockName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("peer lock: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, errPeerRunning
		}
		return nil, fmt.Errorf("peer lock: %w", err)
	}
	return &peerLock{f: f}, nil
}

var errPeerRunning = errors.New("another collab process is already running the peer for this notebook")

func (l *peerLock) release() { l.f.Close() }

// controlRequest is one call to the running peer process.
type controlRequest struct {
	Op     string `json:"op"`
	Note   string `json:"note,omitempty"`
	Ticket string `json:"ticket,omitempty"`
	Addr   string `json:"addr,omitempty"`
}

// controlResponse carries whichever results the operation has.
type controlResponse struct {
	Error string `json:"error,omitempty"`
	// Causes are the raw causes behind Error's plain words (libp2p's),
	// which the command shows only under --log-level debug.
	Causes []string        `json:"causes,omitempty"`
	Text   string          `json:"text,omitempty"` // ready-to-print output
	Result json.RawMessage `json:"result,omitempty"`
}

type controlHandler func(ctx context.Context, req controlRequest) (text string, result any, err error)

// serveControl answers requests on the notebook's control socket until ctx
// ends. The caller owns the goroutine it runs on; connections are handled
// on goroutines it waits for before returning.
func serveControl(ctx context.Context, home string, handle controlHandler) error {
	path := filepath.Join(home, controlName)
	// We hold the peer lock, so a socket file left here is a dead process's.
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("control socket: %w", err)
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("control socket: %w", err)
	}
	os.Chmod(path, 0o600)
	var wg sync.WaitGroup
	defer wg.Wait()
	go func() {
		<-ctx.Done()
		l.Close()
	}()
	for {
		conn, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				os.Remove(path)
				return nil
			}
			return fmt.Errorf("control socket: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer conn.Close()
			answerControl(ctx, conn, handle)
		}()
	}
}

func answerControl(ctx context.Context, conn net.Conn, handle controlHandler) {
	conn.SetDeadline(time.Now().Add(controlTimeout))
	r := bufio.NewReader(&limitedConn{conn, maxControlLine})
	var req controlRequest
	if err := json.NewDecoder(r).Decode(&req); err != nil {
		json.NewEncoder(conn).Encode(controlResponse{Error: "bad request: " + err.Error()})
		return
	}
	ctx, cancel := context.WithTimeout(ctx, controlTimeout)
	defer cancel()
	text, result, err := handle(ctx, req)
	resp := controlResponse{Text: text}
	if err != nil {
		resp.Error, resp.Causes = err.Error(), engine.RawCauses(err)
	} else if result != nil {
		resp.Result, _ = json.Marshal(result)
	}
	json.NewEncoder(conn).Encode(resp)
}

type limitedConn struct {
	net.Conn
	left int
}

func (c *limitedConn) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, errors.New("control request too large")
	}
	if len(p) > c.left {
		p = p[:c.left]
	}
	n, err := c.Conn.Read(p)
	c.left -= n
	return n, err
}

// callControl sends one request to the running peer process. It returns
// errNoPeerProcess when none is running.
func callControl(ctx context.Context, home string, req controlRequest, result any) (string, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", filepath.Join(home, controlName))
	if err != nil {
		return "", errNoPeerProcess
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	} else {
		conn.SetDeadline(time.Now().Add(controlTimeout))
	}
	if err := json.NewEncoder(conn).Encode(req); err != nil {
		return "", fmt.Errorf("ask the running collab: %w", err)
	}
	var resp controlResponse
	if err := json.NewDecoder(bufio.NewReader(conn)).Decode(&resp); err != nil {
		return "", fmt.Errorf("ask the running collab: %w", err)
	}
	if resp.Error != "" {
		return resp.Text, &remoteError{msg: resp.Error, causes: resp.Causes}
	}
	if result != nil && len(resp.Result) > 0 {
		if err := json.Unmarshal(resp.Result, result); err != nil {
			return resp.Text, fmt.Errorf("ask the running collab: %w", err)
		}
	}
	return resp.Text, nil
}

// remoteError is an error the running collab answered with: its plain
// words, and the raw causes behind them (see engine.RawCauses).
type remoteError struct {
	msg    string
	causes []string
}

func (e *remoteError) Error() string { return e.msg }

func (e *remoteError) Raw() string { return strings.Join(e.causes, "; ") }
