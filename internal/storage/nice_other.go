//go:build !linux

package storage

import "errors"

func setThreadNice(int) error { return errors.New("per-thread nice values need Linux") }
