// Package crashtest tries hard to break usher's delivery guarantees: it runs
// usher as a real child process and kills it with SIGKILL in the middle of a
// burst, replays the same webhooks many times at once, takes the queue or the
// store away while webhooks arrive, and fills the queue and the disk. Every
// test then checks the same promise: each webhook that got a 2xx is applied
// exactly once, no seat is sold twice and nothing acknowledged is lost.
//
// The package has tests only; run them with
//
//	go test -race -count=1 ./internal/crashtest/
package crashtest
