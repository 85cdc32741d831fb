package store

import (
	"context"

	"github.com/calibd/calibd/devices"
)

// ListProfiles implements devices.ProfileStore.
func (s *Store) ListProfiles(ctx context.Context) ([]devices.ToleranceProfile, error) {
	var rows []profileRow
	if err := s.db.WithContext(ctx).Order("code").Find(&rows).Error; err != nil {
		return nil, translate(err, "tolerance profiles")
	}
	out := make([]devices.ToleranceProfile, len(rows))
	for i, r := range rows {
		out[i] = r.toProfile()
	}
	return out, nil
}

// GetProfile implements devices.ProfileStore.
func (s *Store) GetProfile(ctx context.Context, code string) (devices.ToleranceProfile, error) {
	var row profileRow
	if err := s.db.WithContext(ctx).Where("code = ?", code).Take(&row).Error; err != nil {
		return devices.ToleranceProfile{}, translate(err, "tolerance profile")
	}
	return row.toProfile(), nil
}
