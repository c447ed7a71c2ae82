package participant

import (
	"errors"
	"time"

	"github.com/signalwire-lambda/participants/internal/rfc2822"
)

// errDate is returned for any value ParseDate cannot read.
var errDate = errors.New("not an RFC 2822 date")

// ParseDate reads a date as SignalWire writes it (RFC 2822, leniently: see
// package rfc2822) and returns it in UTC.
func ParseDate(s string) (time.Time, error) {
	t, ok := rfc2822.Parse(s)
	if !ok {
		return time.Time{}, errDate
	}
	return t, nil
}
