package main

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// sample is a set of measurements of one quantity.
type sample []float64

// sorted returns a sorted copy.
func (s sample) sorted() []float64 {
	c := slices.Clone([]float64(s))
	slices.Sort(c)
	return c
}

// median is the middle value (the mean of the two middle ones for an even
// count); NaN when empty.
func (s sample) median() float64 { return s.quantile(0.5) }

// quantile interpolates linearly between the closest ranks; NaN when empty.
func (s sample) quantile(q float64) float64 {
	c := s.sorted()
	if len(c) == 0 {
		return math.NaN()
	}
	pos := q * float64(len(c)-1)
	lo := int(math.Floor(pos))
	hi := int(math.Ceil(pos))
	return c[lo] + (c[hi]-c[lo])*(pos-float64(lo))
}

func (s sample) min() float64 {
	if len(s) == 0 {
		return math.NaN()
	}
	return slices.Min(s)
}

func (s sample) max() float64 {
	if len(s) == 0 {
		return math.NaN()
	}
	return slices.Max(s)
}

// ratios divides a by b element-wise (paired measurements of the same run).
func ratios(a, b sample) sample {
	n := min(len(a), len(b))
	out := make(sample, 0, n)
	for i := range n {
		if b[i] != 0 {
			out = append(out, a[i]/b[i])
		}
	}
	return out
}

// ms converts durations to milliseconds.
func ms(ds ...time.Duration) sample {
	out := make(sample, len(ds))
	for i, d := range ds {
		out[i] = float64(d) / float64(time.Millisecond)
	}
	return out
}

// fmtMedian renders "median [min–max]" with the given unit and precision.
func fmtMedian(s sample, prec int, unit string) string {
	if len(s) == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.*f %s [%.*f–%.*f]", prec, s.median(), unit, prec, s.min(), prec, s.max())
}

// fmtRatio renders a ratio and, when paired ratios exist, their range. With
// pairs (measurements of the same round or run), the ratio shown is their
// median, which resists the load drifting between rounds better than the
// ratio of the two medians; without, it is num/den. "1.23× [1.10–1.40]".
func fmtRatio(num, den float64, paired sample) string { return fmtRatioPrec(num, den, paired, 2) }

// fmtRatioPrec is fmtRatio with prec decimals (3 where a target such as
// 1.01× would hide the verdict in the rounding).
func fmtRatioPrec(num, den float64, paired sample, prec int) string {
	r := headlineRatio(num, den, paired)
	if math.IsNaN(r) {
		return "n/a"
	}
	s := fmt.Sprintf("%.*f×", prec, r)
	if len(paired) > 1 {
		s += fmt.Sprintf(" [%.*f–%.*f]", prec, paired.min(), prec, paired.max())
	}
	return s
}

// headlineRatio is the ratio fmtRatio shows and the targets are checked on.
func headlineRatio(num, den float64, paired sample) float64 {
	if len(paired) > 0 {
		return paired.median()
	}
	if den == 0 {
		return math.NaN()
	}
	return num / den
}

// fmtBytes renders a byte count in MiB.
func fmtBytes(n int64) string { return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20)) }
