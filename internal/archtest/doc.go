// Package archtest holds the architecture tests: rules on which packages
// may depend on which, checked with go list so that a forbidden import
// fails the build's tests the day it comes back. It has no code of its own.
package archtest
