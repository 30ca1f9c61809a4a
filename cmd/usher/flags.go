package main

import (
	"time"
)

// durationFlag is a time.Duration flag whose zero value means "not set".
type durationFlag struct{ d time.Duration }

func (f *durationFlag) String() string {
	if f.d == 0 {
		return ""
	}
	return f.d.String()
}

func (f *durationFlag) Set(v string) error {
	d, err := time.ParseDuration(v)
	f.d = d
	return err
}

func (*durationFlag) Type() string { return "duration" }

// envOr returns the environment variable key, or def when it is empty.
func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}
