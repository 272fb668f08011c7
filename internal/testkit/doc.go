// Package testkit holds helpers that tests of several packages share:
// building key presses the way Bubble Tea delivers them, reading a note
// back from disk the way another process would, bounded waits, and
// checking that no goroutine is left running (goleak).
package testkit
