// Package display makes strings that come from peers, notes or files fit
// to show a person on a terminal: one line of plain text with no escape
// sequences, control characters or bidirectional overrides (a title or a
// name must not move the cursor, recolour the screen or reverse the text
// after it), and IDs shortened to the part that tells them apart. The
// command line and the terminal app both show strings through it.
package display
