package testkit

import (
	"sync/atomic"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
)

// Driver runs a Bubble Tea model the way a Program does, but under the
// test's control: Update on the test's goroutine, commands on goroutines of
// their own, their messages queued until the test delivers them (Step,
// Settle). Holding messages back is how a test makes a UI see the world
// late: a remote change already applied to the note, not yet on screen.
type Driver struct {
	tb       testing.TB
	Model    tea.Model
	msgs     chan tea.Msg
	inflight atomic.Int32
	Quit     bool
}

// NewDriver runs m's Init and a window of w×h cells. Commands still
// running when the test ends are waited for (bounded).
func NewDriver(tb testing.TB, m tea.Model, w, h int) *Driver {
	d := &Driver{tb: tb, Model: m, msgs: make(chan tea.Msg, 1024)}
	tb.Cleanup(func() {
		deadline := time.After(10 * time.Second)
		for d.inflight.Load() > 0 {
			select {
			case <-d.msgs:
			case <-deadline:
				tb.Errorf("%d commands still running after the test", d.inflight.Load())
				return
			}
		}
	})
	d.run(m.Init())
	d.Send(tea.WindowSizeMsg{Width: w, Height: h})
	return d
}

func (d *Driver) run(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	d.inflight.Add(1)
	go func() {
		m := cmd()
		d.inflight.Add(-1)
		d.msgs <- m
	}()
}

// Send delivers msg to the model now.
func (d *Driver) Send(msg tea.Msg) {
	switch m := msg.(type) {
	case nil:
		return
	case tea.BatchMsg:
		for _, c := range m {
			d.run(c)
		}
		return
	case tea.QuitMsg:
		d.Quit = true
		return
	}
	var cmd tea.Cmd
	d.Model, cmd = d.Model.Update(msg)
	d.run(cmd)
}

// Keys sends key presses (see Key); "type:hello" types a string.
func (d *Driver) Keys(ks ...string) {
	for _, k := range ks {
		if s, ok := cutPrefix(k, "type:"); ok {
			for _, r := range s {
				d.Send(tea.KeyPressMsg{Code: r, Text: string(r)})
			}
			continue
		}
		d.Send(Key(k))
	}
}

func cutPrefix(s, p string) (string, bool) {
	if len(s) >= len(p) && s[:len(p)] == p {
		return s[len(p):], true
	}
	return s, false
}

// Step delivers at most n queued messages without waiting for more, and
// reports how many it delivered.
func (d *Driver) Step(n int) int {
	for i := range n {
		select {
		case m := <-d.msgs:
			d.Send(m)
		default:
			return i
		}
	}
	return n
}

// Settle delivers messages until none came for quiet.
func (d *Driver) Settle(quiet time.Duration) {
	for {
		select {
		case m := <-d.msgs:
			d.Send(m)
		case <-time.After(quiet):
			return
		}
	}
}

// Until delivers messages until cond holds, failing after timeout.
func (d *Driver) Until(timeout time.Duration, what string, cond func() bool) {
	d.tb.Helper()
	deadline := time.After(timeout)
	for !cond() {
		select {
		case m := <-d.msgs:
			d.Send(m)
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			d.tb.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
	}
}

// Next waits up to timeout for one message and delivers it; false if none
// came.
func (d *Driver) Next(timeout time.Duration) bool {
	select {
	case m := <-d.msgs:
		d.Send(m)
		return true
	case <-time.After(timeout):
		return false
	}
}
