// Package layers holds the check that every import points down the layers
// (layers_test.go, run by go test ./...); it has no code of its own.
package layers
