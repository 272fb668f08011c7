// Package paper replays the paper editing trace into notes for benchmarks
// across packages, so each measures the same histories.
package paper
