package main

import (
	"math"
	"slices"
	"time"
)

// Summary describes a sample of durations.
type Summary struct {
	N                  int
	P50, P90, P99, Max time.Duration
	Mean               time.Duration
}

// Percentile is the nearest-rank percentile p (0 < p <= 100) of sorted
// values: the smallest value with at least p% of the sample at or below it.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// Summarize sorts a copy of d and returns its percentiles.
func Summarize(d []time.Duration) Summary {
	s := slices.Clone(d)
	slices.Sort(s)
	out := Summary{N: len(s)}
	if len(s) == 0 {
		return out
	}
	var sum time.Duration
	for _, v := range s {
		sum += v
	}
	out.Mean = sum / time.Duration(len(s))
	out.P50, out.P90, out.P99 = Percentile(s, 50), Percentile(s, 90), Percentile(s, 99)
	out.Max = s[len(s)-1]
	return out
}

// Median of a sample of floats (the mean of the middle two for even sizes).
func Median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// Ratio is a/b, or 0 when b is 0.
func Ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}
