package storetest

// gateTests cover the scanner tables (scans, devices).
var gateTests = []subtest{}
