package ingest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/calibd/calibd/devices"
)

// Store retry backoff: doubles from retryMin up to retryMax, until the
// batch commits or Close gives up. A batch is never dropped.
const (
	retryMin = 100 * time.Millisecond
	retryMax = 5 * time.Second
	// storeTimeout bounds one commit attempt.
	storeTimeout = 30 * time.Second
)

// work takes batches off the queue until it is closed and empty.
func (i *Ingest) work() {
	for {
		batch, more := i.nextBatch()
		if len(batch) > 0 {
			i.process(batch)
		}
		if !more {
			return
		}
	}
}

// nextBatch waits for one message, then takes more until BatchSize or
// until BatchWait has passed since the first (with BatchWait < 0, only
// those already queued). more is false once the queue is closed and
// empty.
func (i *Ingest) nextBatch() (batch []delivery, more bool) {
	first, ok := <-i.queue
	if !ok {
		return nil, false
	}
	batch = append(make([]delivery, 0, min(i.cfg.BatchSize, 64)), first)
	// With no wait (BatchWait < 0) timeout stays nil and the worker takes
	// only what is queued now: an idle worker commits a message at once,
	// and under load messages queue while the workers commit, so batches
	// grow with the load.
	var timeout <-chan time.Time
	if i.cfg.BatchWait >= 0 {
		timer := time.NewTimer(i.cfg.BatchWait)
		defer timer.Stop()
		timeout = timer.C
	}
	for len(batch) < i.cfg.BatchSize {
		var d delivery
		var ok bool
		if timeout == nil {
			select {
			case d, ok = <-i.queue:
			default:
				return batch, true
			}
		} else {
			select {
			case d, ok = <-i.queue:
			case <-timeout:
				return batch, true
			}
		}
		if !ok {
			return batch, false
		}
		batch = append(batch, d)
	}
	return batch, true
}

// decoded is a batch message after Decode: msg, or the dead letter it
// became.
type decoded struct {
	msg    devices.Message
	letter *devices.DeadLetter
}

// process commits a batch, retrying until it succeeds or Close gives up,
// then acknowledges all of its messages.
func (i *Ingest) process(batch []delivery) {
	start := time.Now()
	now := start.UTC()
	items := make([]decoded, len(batch))
	for k, d := range batch {
		msg, err := devices.Decode(d.msg.Topic(), d.msg.Payload(), now, i.cfg.Limits)
		if err != nil {
			reason := devices.ReasonNotJSON
			var de *devices.DecodeError
			if errors.As(err, &de) {
				reason = de.Reason
			}
			items[k].letter = deadLetter(d, reason, err.Error())
			continue
		}
		items[k].msg = msg
	}
	var res commitResult
	wait := retryMin
	for attempt := 1; ; attempt++ {
		err := i.commit(items, batch, now, &res)
		if err == nil {
			break
		}
		if i.workCtx.Err() != nil {
			i.log.Warn("batch left unacknowledged at shutdown; the broker will redeliver it", "messages", len(batch), "error", err)
			return
		}
		i.m.retries.Inc()
		if ok, suppressed := i.storeWarn.Allow(time.Now()); ok {
			i.log.Warn("store batch", "error", err, "messages", len(batch), "attempt", attempt,
				"retry_in", wait, "suppressed", suppressed)
		}
		select {
		case <-time.After(wait):
		case <-i.workCtx.Done():
			i.log.Warn("batch left unacknowledged at shutdown; the broker will redeliver it", "messages", len(batch))
			return
		}
		wait = min(2*wait, retryMax)
	}
	committed := time.Now()
	i.m.commit.Observe(committed.Sub(start).Seconds())
	for _, ts := range res.stamps {
		i.m.age.Observe(committed.Sub(ts).Seconds())
	}
	for _, d := range batch {
		i.m.held.Observe(committed.Sub(d.received).Seconds())
	}
	i.m.batchSize.Observe(float64(len(batch)))
	i.m.stored.Add(float64(res.stored))
	i.m.duplicates.Add(float64(res.valid - res.stored))
	for _, l := range res.letters {
		i.m.deadLettered.WithLabelValues(l.Reason).Inc()
	}
	if len(res.letters) > 0 {
		if ok, suppressed := i.letterLog.Allow(time.Now()); ok {
			l := res.letters[0]
			i.log.Warn("message dead-lettered", "topic", l.Topic, "reason", l.Reason, "error", l.Detail,
				"in_batch", len(res.letters), "suppressed", suppressed)
		}
	}
	i.acks.done(batch)
}

// commitResult is what a batch's commit did. stored adds up over attempts:
// an attempt whose messages were saved but whose dead letters were not is
// retried whole, and the store then skips the messages it has.
type commitResult struct {
	valid   int // messages handed to SaveMessages, in-batch repeats included
	stored  int // of those, new ones
	letters []devices.DeadLetter
	stamps  []time.Time // the timestamps of the messages saved
}

// commit looks the batch's devices up, turns the messages no device can
// take into dead letters, and saves the rest and the dead letters.
func (i *Ingest) commit(items []decoded, batch []delivery, now time.Time, res *commitResult) error {
	ctx, cancel := context.WithTimeout(i.workCtx, storeTimeout)
	defer cancel()
	var ids []string
	seen := map[string]bool{}
	for _, it := range items {
		if it.letter == nil && !seen[it.msg.DeviceID()] {
			seen[it.msg.DeviceID()] = true
			ids = append(ids, it.msg.DeviceID())
		}
	}
	var devs map[string]devices.IngestDevice
	if len(ids) > 0 {
		var err error
		if devs, err = i.devices.lookup(ctx, ids, i.store.IngestDevices); err != nil {
			return fmt.Errorf("look up devices: %w", err)
		}
	}
	type key struct {
		id  string
		seq int64
	}
	keys := map[key]bool{}
	var msgs []devices.Message
	var letters []devices.DeadLetter
	valid := 0
	for k, it := range items {
		if it.letter != nil {
			letters = append(letters, *it.letter)
			continue
		}
		if reason, detail := admit(it.msg, devs); reason != "" {
			letters = append(letters, *deadLetter(batch[k], reason, detail))
			continue
		}
		valid++
		// A redelivery can reach the queue while the first copy still
		// waits in it: keep one per batch, so the store never sees the
		// same key twice in one write.
		kk := key{it.msg.DeviceID(), it.msg.Seq()}
		if keys[kk] {
			continue
		}
		keys[kk] = true
		msgs = append(msgs, it.msg)
	}
	if len(msgs) > 0 {
		n, err := i.store.SaveMessages(ctx, msgs, now)
		if err != nil {
			return fmt.Errorf("save %d messages: %w", len(msgs), err)
		}
		res.stored += n
		res.stamps = res.stamps[:0]
		for _, m := range msgs {
			res.stamps = append(res.stamps, m.TS())
		}
	}
	if len(letters) > 0 {
		if err := i.store.SaveDeadLetters(ctx, letters); err != nil {
			return fmt.Errorf("save %d dead letters: %w", len(letters), err)
		}
	}
	res.valid, res.letters = valid, letters
	return nil
}

// admit says why a decoded message cannot be stored for its device, or
// returns an empty reason. Checks come from thermometers, telemetry from
// lifts, events from either (thermometers report self-check faults, lifts
// their faults: devices.DeviceEventCodes). A check's value must lie in the
// thermometer's measuring range when the range is known (max above min).
func admit(m devices.Message, devs map[string]devices.IngestDevice) (reason, detail string) {
	dev, ok := devs[m.DeviceID()]
	switch {
	case !ok:
		return ReasonUnknownDevice, "no device " + m.DeviceID()
	case dev.Retired:
		return ReasonUnknownDevice, "device " + m.DeviceID() + " is retired"
	}
	switch m.Kind {
	case devices.MessageChecks:
		if dev.Kind != devices.DeviceThermometer {
			return ReasonWrongDeviceKind, fmt.Sprintf("checks come from thermometers; device %s is a %s", dev.ID, dev.Kind)
		}
		if dev.RangeMaxC > dev.RangeMinC && !m.Check.InRange(dev.RangeMinC, dev.RangeMaxC) {
			return ReasonOutOfRange, fmt.Sprintf("value %.2f °C outside the measuring range %.2f to %.2f °C",
				m.Check.ValueC, dev.RangeMinC, dev.RangeMaxC)
		}
	case devices.MessageTelemetry:
		if dev.Kind != devices.DeviceElevator {
			return ReasonWrongDeviceKind, fmt.Sprintf("telemetry comes from lifts; device %s is a %s", dev.ID, dev.Kind)
		}
	}
	return "", ""
}

func deadLetter(d delivery, reason, detail string) *devices.DeadLetter {
	p := d.msg.Payload()
	return &devices.DeadLetter{
		Topic:    d.msg.Topic(),
		Reason:   reason,
		Detail:   detail,
		Payload:  append([]byte(nil), p[:min(len(p), devices.DeadLetterPayloadBytes)]...),
		Received: d.received.UTC(),
	}
}
