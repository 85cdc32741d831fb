package broker

import "time"

// SetOfferWait shortens how long a message waits for room in the Sink,
// until the returned restore is called.
func SetOfferWait(d time.Duration) (restore func()) {
	old := offerWait.Swap(int64(d))
	return func() { offerWait.Store(old) }
}
