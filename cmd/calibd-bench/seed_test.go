package main

import (
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestNextIDIsIncreasingV7(t *testing.T) {
	g := &deviceGen{}
	prev := g.nextID()
	for range 10000 {
		id := g.nextID()
		if id.Version() != 7 || id.Variant() != uuid.RFC4122 {
			t.Fatalf("%s is not a UUIDv7", id)
		}
		if id.String() <= prev.String() {
			t.Fatalf("%s does not follow %s", id, prev)
		}
		prev = id
	}
	sec, nsec := prev.Time().UnixTime()
	if d := time.Since(time.Unix(sec, nsec)); d < -time.Second || d > time.Minute {
		t.Errorf("the last id carries a time %v away from now", d)
	}
}

func TestDeviceRowsAreAPureFunctionOfTheIndex(t *testing.T) {
	venues := make([]uuid.UUID, 5)
	for i := range venues {
		venues[i] = uuid.New()
	}
	g := &deviceGen{cfg: seedConfig{perVenue: 500, hotEvery: 50}, venues: venues,
		profiles: map[string]profile{"jjf1107_forehead": {interval: 365}, "jjg1164_ear": {interval: 365},
			"jjf1107_screening": {interval: 365}, "jjg1162_contact": {interval: 365}}, now: time.Now()}
	inService, hot := 0, 0
	for i := range 2000 {
		r := g.row(i)
		if r[6] != serialOf(i) {
			t.Fatalf("row %d serial %v", i, r[6])
		}
		if r[14] == "in_service" {
			inService++
		}
		if r[1] == pgUUID(venues[0]) {
			hot++
		}
	}
	if inService < 1500 || inService > 1700 {
		t.Errorf("%d of 2000 in service, want about 80%%", inService)
	}
	if hot != 40 {
		t.Errorf("%d of 2000 in the hot venue, want 40", hot)
	}
}
