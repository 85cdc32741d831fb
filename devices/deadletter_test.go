package devices_test

import (
	"strings"
	"testing"

	"github.com/calibd/calibd/devices"
)

// TestDeadLetterDevice: a dead letter belongs to the device its topic
// names, whatever else is wrong with the topic.
func TestDeadLetterDevice(t *testing.T) {
	id := "0195a2f1-0000-7000-8000-00000000abcd"
	for topic, want := range map[string]string{
		devices.TopicPrefix + id + "/checks":                        id,
		devices.TopicPrefix + strings.ToUpper(id) + "/checks/senml": id,
		devices.TopicPrefix + id:                                    id,
		devices.TopicPrefix + id + "x/checks":                       "",
		devices.TopicPrefix + "not-a-uuid/checks":                   "",
		"other/v1/devices/" + id + "/checks":                        "",
		"":                                                          "",
	} {
		if got := devices.DeadLetterDevice(topic); got != want {
			t.Errorf("DeadLetterDevice(%q) = %q, want %q", topic, got, want)
		}
	}
}
