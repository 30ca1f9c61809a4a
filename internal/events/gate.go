package events

// The gate contracts: the documents the gate API (internal/scanner) serves
// to scanners, kept as schemas beside the event types so that the same
// lock, compatibility check and published catalog cover them. Scanners do
// not choose a version: each new gate version may only make compatible
// changes to the one before it (Check refuses any breaking difference), and
// a scanner ignores fields it does not know and refuses on a result or
// status it does not know.
const (
	// GateFeedEntry is one entry of a venue feed: an item of a feed page's
	// changes (or a snapshot's) and the data of a "change" event.
	GateFeedEntry = "feed.entry"
	// GateScanAnswer is the answer of an online scan (POST /v1/scans).
	GateScanAnswer = "scan.answer"
	// GateBatchResult is the reconciled outcome of one offline scan, an item
	// of the results of POST /v1/scans/batch.
	GateBatchResult = "scan.batch_result"
)

// GateVersion is the one version of the gate contracts.
const GateVersion = V20261201
