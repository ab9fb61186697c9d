//go:build race

package tabular

// raceEnabled is true under the race detector, whose own allocations make
// heap measurements meaningless and large inputs slow.
const raceEnabled = true
