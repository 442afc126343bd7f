package policy

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Next returns the occurrence that follows the one keyed after (the first
// when after is ""), exactly as Schedule would list it, without building the
// list: the work is one pass over the steps, whatever their repeats. ok is
// false after the last occurrence, and when after names none.
//
// Schedule moves an occurrence that would fall before the one listed ahead
// of it to that one's time, so an occurrence's time is the latest of its own
// and of every earlier one's. A step's repeats are evenly spaced, so the
// latest of a step's occurrences is its first or its last one: the earlier
// steps weigh in with two times each.
func (p Policy) Next(issued, due time.Time, after string) (Planned, bool) {
	i, n := 0, 0
	if after != "" {
		var ok bool
		if i, n, ok = p.locate(after); !ok {
			return Planned{}, false
		}
		if r := p.Steps[i].Repeat; r != nil && n < r.Times {
			n++
		} else {
			i, n = i+1, 0
		}
	}
	if i >= len(p.Steps) {
		return Planned{}, false
	}
	return p.occurrence(issued, due, i, n), true
}

// occurrence is the n-th repeat (0: the step itself) of step i.
func (p Policy) occurrence(issued, due time.Time, i, n int) Planned {
	first := func(s Step) time.Time {
		if s.Anchor == AnchorIssue {
			return issued.Add(s.Offset.Std())
		}
		return due.Add(s.Offset.Std())
	}
	repeat := func(s Step, k int) time.Time {
		at := first(s)
		if k > 0 {
			at = at.Add(time.Duration(k) * s.Repeat.Every.Std())
		}
		return at
	}
	s := p.Steps[i]
	at := repeat(s, n)
	if f := first(s); f.After(at) {
		at = f
	}
	for j := 0; j < i; j++ {
		e := p.Steps[j]
		if f := first(e); f.After(at) {
			at = f
		}
		if e.Repeat != nil && e.Repeat.Times > 0 {
			if l := repeat(e, e.Repeat.Times); l.After(at) {
				at = l
			}
		}
	}
	key := s.ID
	if n > 0 {
		key = fmt.Sprintf("%s#%d", s.ID, n+1)
	}
	return Planned{Step: s, Key: key, At: at}
}

// locate finds the step and repeat a key names ("overdue-30" is step
// overdue-30 itself, "overdue-30#2" its first repeat).
func (p Policy) locate(key string) (step, n int, ok bool) {
	for i, s := range p.Steps {
		if s.ID == key {
			return i, 0, true
		}
	}
	if cut := strings.LastIndexByte(key, '#'); cut >= 0 {
		id, num := key[:cut], key[cut+1:]
		k, err := strconv.Atoi(num)
		if err != nil || k < 2 || strconv.Itoa(k) != num {
			return 0, 0, false
		}
		for i, s := range p.Steps {
			if s.ID == id && s.Repeat != nil && k-1 <= s.Repeat.Times {
				return i, k - 1, true
			}
		}
	}
	return 0, 0, false
}
