package usher

import "time"

// Scan modes: decided here while the device was online, or decided by the
// device offline and uploaded later.
const (
	ScanOnline  = "online"
	ScanOffline = "offline"
)

// Scan is one presentation of a code at a gate, as recorded. Decision is what
// the device was told (online) or decided itself (offline); Result is the
// reconciled outcome, which an offline upload of an earlier scan of the same
// ticket may later change from admitted to duplicate_entry.
type Scan struct {
	ID         int64
	VenueID    string
	Nonce      string
	DeviceID   string
	CodeHash   string
	TicketID   string
	ShowID     string
	Mode       string
	Decision   string
	Result     string
	Reason     string
	ScannedAt  time.Time // the device's clock
	RecordedAt time.Time // ours
	UpdatedAt  time.Time
}

// Admission is the scan that let a ticket in: its earliest admitting scan by
// device time.
type Admission struct {
	TicketID   string
	VenueID    string
	ScanID     int64
	DeviceID   string
	Nonce      string
	AdmittedAt time.Time // the device's clock at the scan
	UpdatedAt  time.Time
}

// FeedState is what a venue's health shows of its feed.
type FeedState struct {
	VenueID string
	// Head is the venue's last sequence number; 0 before its first change.
	Head int64
	// PrunedThrough is the last sequence number removed from history: a
	// cursor before it needs a snapshot.
	PrunedThrough int64
	// DeliveredSeq is the highest sequence number a feed read has served, and
	// DeliveredAt when it first did.
	DeliveredSeq int64
	DeliveredAt  time.Time
	// Last is the change at Head, when it is still retained.
	Last TicketChange
	// OldestUndelivered is when the first change after DeliveredSeq was
	// committed; zero when every change has been served.
	OldestUndelivered time.Time
	// LastScanAt is when the venue's last scan was recorded.
	LastScanAt time.Time
}
