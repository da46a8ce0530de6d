// Package configs holds iwom's default configuration and watch-list, embedded
// in the binary so that iwom runs from any directory with no files.
package configs

import _ "embed"

// DefaultYAML is configs/iwom.yaml: every key with its default and comment.
//
//go:embed iwom.yaml
var DefaultYAML []byte

// BrandsYAML is the default brand watch-list, configs/brands.yaml.
//
//go:embed brands.yaml
var BrandsYAML []byte

// AlertsYAML is the default alert rules file, configs/alerts.yaml.
//
//go:embed alerts.yaml
var AlertsYAML []byte
