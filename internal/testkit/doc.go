// Package testkit holds helpers that tests of several packages share:
// building key presses the way Bubble Tea delivers them, reading a note
// back from disk the way another process would, and bounded waits.
package testkit
