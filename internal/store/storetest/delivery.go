package storetest

// deliveryTests cover the delivery lanes' tables (subscriptions, attempts).
var deliveryTests = []subtest{}
