package app

import (
	"context"
	"testing"
	"time"
)

func TestReserve(t *testing.T) {
	parent, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	dl, _ := parent.Deadline()

	// The reserve decides when the budget reaches past it.
	ctx, stop := reserve(parent, 2*time.Hour, 10*time.Minute)
	if got, _ := ctx.Deadline(); !got.Equal(dl.Add(-10 * time.Minute)) {
		t.Errorf("reserve: deadline %v, want %v", got, dl.Add(-10*time.Minute))
	}
	stop()

	// The budget decides when it ends first.
	before := time.Now()
	ctx, stop = reserve(parent, time.Minute, 10*time.Minute)
	got, _ := ctx.Deadline()
	if got.Before(before.Add(time.Minute)) || got.After(time.Now().Add(time.Minute)) {
		t.Errorf("budget: deadline %v not a minute from now", got)
	}
	stop()

	// No budget: only the reserve.
	ctx, stop = reserve(parent, 0, time.Minute)
	if got, _ := ctx.Deadline(); !got.Equal(dl.Add(-time.Minute)) {
		t.Errorf("no budget: deadline %v, want %v", got, dl.Add(-time.Minute))
	}
	stop()

	// Without a deadline, only the budget.
	ctx, stop = reserve(context.Background(), 0, time.Minute)
	if _, ok := ctx.Deadline(); ok {
		t.Error("no deadline and no budget gave a deadline")
	}
	stop()
}
