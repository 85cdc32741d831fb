package devices_test

import (
	"errors"
	"testing"

	"github.com/calibd/calibd/devices"
)

func TestAlertStateMachine(t *testing.T) {
	tests := []struct {
		from devices.AlertState
		act  devices.AlertAction
		want devices.AlertState // "" for invalid_transition
	}{
		{devices.AlertOpen, devices.AlertAcknowledge, devices.AlertAcknowledged},
		{devices.AlertOpen, devices.AlertResolve, devices.AlertResolved},
		{devices.AlertAcknowledged, devices.AlertResolve, devices.AlertResolved},
		{devices.AlertAcknowledged, devices.AlertAcknowledge, ""},
		{devices.AlertResolved, devices.AlertResolve, ""},
		{devices.AlertResolved, devices.AlertAcknowledge, ""},
	}
	for _, tt := range tests {
		got, err := tt.from.Next(tt.act)
		var ce *devices.ConflictError
		switch {
		case tt.want != "" && (err != nil || got != tt.want):
			t.Errorf("%s.Next(%s) = %q, %v; want %q", tt.from, tt.act, got, err, tt.want)
		case tt.want == "" && (!errors.As(err, &ce) || ce.Code != "invalid_transition"):
			t.Errorf("%s.Next(%s) = %q, %v; want invalid_transition", tt.from, tt.act, got, err)
		}
	}
}
